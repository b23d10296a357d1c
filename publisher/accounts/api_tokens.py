"""Personal API tokens: a user makes one for a script, sees it once, and may revoke it.

The table keeps the token's SHA-256, its name, when it was made and last used, and when it was
revoked. A token acts with its user's role as it is now: a changed role applies at once, a disabled
user's tokens are revoked (``lifecycle.py``) and refused even if one were not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.accounts.digest import digest, new_token
from publisher.accounts.principal import Principal
from publisher.accounts.states import UserStatus
from publisher.accounts.users import User, UserStore
from publisher.db import Database
from publisher.db.schema import api_tokens as t
from publisher.db.schema import users as u
from publisher.errors import InvalidInputError

PREFIX = "pub_"  # tells a personal token from PUBLISHER_API_TOKEN at a glance (and to secret scanners)
MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    email: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "user": self.email, "name": self.name, "created_at": iso(self.created_at),
                "last_used_at": iso(self.last_used_at), "revoked_at": iso(self.revoked_at)}  # fmt: skip


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInputError("give the token a name (what uses it)", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"at most {MAX_NAME} characters", field="name")
    return name


class ApiTokens:
    def __init__(self, db: Database, users: UserStore, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.users = users
        self.clock = clock

    def create(self, user_id: int, name: str) -> tuple[int, str]:
        """(its id, the token): the only time the token exists in the clear."""
        token = PREFIX + new_token()
        with self.db.begin() as conn:
            stmt = t.insert().values(user_id=user_id, name=check_name(name), token_hash=digest(token),
                                     created_at=self.clock()).returning(t.c.id)  # fmt: skip
            return int(conn.execute(stmt).scalar_one()), token

    def resolve(self, token: str) -> User | None:
        """The active user a live token stands for, or None. Notes when it was last used."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        token_hash = digest(token)
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.c.id, t.c.user_id, t.c.last_used_at).join(u, u.c.id == t.c.user_id)
                .where(t.c.token_hash == token_hash, t.c.revoked_at.is_(None),
                       u.c.status == str(UserStatus.ACTIVE))
            ).first()  # fmt: skip
        if row is None:
            return None
        now = self.clock()
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            with self.db.begin() as conn:
                conn.execute(t.update().where(t.c.id == row.id).values(last_used_at=now))
        return self.users.get(row.user_id)

    def principal(self, token: str) -> Principal | None:
        """Who a live token acts as: its user, with their role as it is now."""
        user = self.resolve(token)
        return None if user is None else Principal(user.id, user.email, user.role, "token")

    def get(self, token_id: int) -> ApiToken | None:
        with self.db.connect() as conn:
            row = conn.execute(self._select().where(t.c.id == token_id)).first()
        return None if row is None else ApiToken(*row)

    def list(self, user_id: int | None = None) -> list[ApiToken]:
        """The user's tokens (everyone's with None), newest first, revoked ones included."""
        stmt = self._select().order_by(t.c.id.desc())
        if user_id is not None:
            stmt = stmt.where(t.c.user_id == user_id)
        with self.db.connect() as conn:
            return [ApiToken(*row) for row in conn.execute(stmt)]

    def revoke(self, token_id: int) -> bool:
        """True if it was live and is now revoked."""
        with self.db.begin() as conn:
            result = conn.execute(
                t.update().where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=self.clock())
            )
        return result.rowcount > 0

    @staticmethod
    def _select() -> Any:
        return sa.select(t.c.id, t.c.user_id, u.c.email, t.c.name, t.c.created_at, t.c.last_used_at,
                         t.c.revoked_at).join(u, u.c.id == t.c.user_id)  # fmt: skip
