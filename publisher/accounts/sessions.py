"""Console sessions, kept server-side: the cookie carries a random token (signed by the web side),
the table its SHA-256, the user, when it began, when it was last used and from where.

A session idle for longer than PUBLISHER_CONSOLE_IDLE_MINUTES is refused and deleted. ``last_seen``
is written at most once a minute, so a page polling every few seconds costs no write per poll.
Logging in always makes a new session (a token planted before login is never the session after),
logging out deletes it, and "log out everywhere" deletes every session of the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from publisher.accounts.digest import digest, new_token
from publisher.accounts.states import UserStatus
from publisher.accounts.users import User, UserStore
from publisher.db import Database
from publisher.db.schema import console_sessions as t
from publisher.db.schema import users as u

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    id: str  # the SHA-256 of the token: what CSRF tokens are bound to
    user: User
    created_at: datetime
    last_seen: datetime
    ip: str


class SessionStore:
    def __init__(
        self, db: Database, users: UserStore, idle: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.users = users
        self.idle = idle
        self.clock = clock

    def start(self, user_id: int, ip: str) -> str:
        """A new session for the user; returns the token (the only time it exists in the clear)."""
        token = new_token()
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(t.insert().values(id=digest(token), user_id=user_id, created_at=now, last_seen=now,
                                           ip=ip[:64]))  # fmt: skip
        return token

    def resolve(self, token: str) -> Session | None:
        """The live session of an active user that ``token`` opens, or None (unknown, idle too long,
        the user disabled). Touches ``last_seen``."""
        session_id = digest(token)
        now = self.clock()
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.c.user_id, t.c.created_at, t.c.last_seen, t.c.ip, u.c.status)
                .join(u, u.c.id == t.c.user_id).where(t.c.id == session_id)
            ).first()  # fmt: skip
        if row is None:
            return None
        if row.status != UserStatus.ACTIVE or now - row.last_seen > self.idle:
            self.end(token)
            return None
        user = self.users.get(row.user_id)
        if user is None:
            return None
        last_seen = row.last_seen
        if now - last_seen >= TOUCH_EVERY:
            with self.db.begin() as conn:
                conn.execute(t.update().where(t.c.id == session_id).values(last_seen=now))
            last_seen = now
        return Session(session_id, user, row.created_at, last_seen, row.ip)

    def end(self, token: str) -> None:
        with self.db.begin() as conn:
            conn.execute(t.delete().where(t.c.id == digest(token)))

    def end_all(self, user_id: int) -> int:
        """Log the user out everywhere; returns how many sessions ended."""
        with self.db.begin() as conn:
            return int(conn.execute(t.delete().where(t.c.user_id == user_id)).rowcount)

    def count(self, user_id: int) -> int:
        """The user's sessions not yet idle too long."""
        with self.db.connect() as conn:
            stmt = sa.select(sa.func.count()).where(t.c.user_id == user_id,
                                                    t.c.last_seen >= self.clock() - self.idle)  # fmt: skip
            return int(conn.execute(stmt).scalar_one())

    def sweep(self) -> int:
        """Delete sessions idle too long; returns how many."""
        with self.db.begin() as conn:
            return int(conn.execute(t.delete().where(t.c.last_seen < self.clock() - self.idle)).rowcount)
