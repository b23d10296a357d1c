"""Every write to ``users.status``: nobody else changes it.

Each move is one ``UPDATE ... WHERE status IN (the states it leaves)`` (``states.py``), so two
admins racing move a user at most once. Disabling a user deletes their console sessions and revokes
their API tokens in the same transaction: the next request of either kind is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from publisher.accounts.roles import Role
from publisher.accounts.states import MOVES, UserMove
from publisher.accounts.users import normalise_email
from publisher.db import Database
from publisher.db.schema import api_tokens, console_sessions
from publisher.db.schema import users as t
from publisher.errors import ConflictError, NotFoundError


def _leaves(move: UserMove) -> Any:
    return t.c.status.in_(sorted(str(s) for s in MOVES[move].leaves))


def _to(move: UserMove) -> str:
    return str(MOVES[move].to)


class UserLifecycle:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def add(self, email: str, role: Role) -> int:
        """A new active user without a password; ConflictError if the address has one already."""
        key = normalise_email(email)
        now = self.clock()
        with self.db.begin() as conn:
            if conn.execute(sa.select(t.c.id).where(t.c.email == key)).first() is not None:
                raise ConflictError(f"user {key!r} exists already", field="email")
            stmt = t.insert().values(email=key, role=str(role), status=_to(UserMove.ADD), created_at=now,
                                     updated_at=now).returning(t.c.id)  # fmt: skip
            return int(conn.execute(stmt).scalar_one())

    def disable(self, user_id: int) -> bool:
        """active → disabled, their sessions deleted and tokens revoked; False if already disabled."""
        now = self.clock()
        with self.db.begin() as conn:
            moved = self._move(conn, UserMove.DISABLE, user_id, now)
            # Whatever the state was: nothing of a disabled user may keep working.
            conn.execute(console_sessions.delete().where(console_sessions.c.user_id == user_id))
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return moved

    def enable(self, user_id: int) -> bool:
        """disabled → active (their old tokens stay revoked); False if already active."""
        with self.db.begin() as conn:
            return self._move(conn, UserMove.ENABLE, user_id, self.clock())

    def _move(self, conn: Any, move: UserMove, user_id: int, now: datetime) -> bool:
        result = conn.execute(
            t.update().where(t.c.id == user_id, _leaves(move)).values(status=_to(move), updated_at=now)
        )
        if result.rowcount:
            return True
        if conn.execute(sa.select(t.c.id).where(t.c.id == user_id)).first() is None:
            raise NotFoundError(f"no user {user_id}", field="email")
        return False
