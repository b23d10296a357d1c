"""One-time set-password links: ``publisher users add`` prints one; following it, the user chooses
their password. The table keeps the token's SHA-256; a link works once, until it expires.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from publisher.accounts.digest import digest, new_token
from publisher.accounts.states import UserStatus
from publisher.accounts.users import User, UserStore
from publisher.db import Database
from publisher.db.schema import password_links as t
from publisher.db.schema import users as u

TTL = timedelta(hours=72)
PATH = "/console/set-password/"


class PasswordLinks:
    def __init__(self, db: Database, users: UserStore, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.users = users
        self.clock = clock

    def create(self, user_id: int, ttl: timedelta = TTL) -> str:
        """A new link token for the user (earlier unused links of theirs stop working)."""
        token = new_token()
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(t.update().where(t.c.user_id == user_id, t.c.used_at.is_(None)).values(used_at=now))
            conn.execute(t.insert().values(token_hash=digest(token), user_id=user_id, created_at=now,
                                           expires_at=now + ttl))  # fmt: skip
        return token

    def user_of(self, token: str) -> User | None:
        """The active user a live, unused link is for; None for anything else."""
        if len(token) > 200:
            return None
        with self.db.connect() as conn:
            user_id = conn.execute(
                sa.select(t.c.user_id).join(u, u.c.id == t.c.user_id)
                .where(t.c.token_hash == digest(token), t.c.used_at.is_(None), t.c.expires_at > self.clock(),
                       u.c.status == str(UserStatus.ACTIVE))
            ).scalar_one_or_none()  # fmt: skip
        return None if user_id is None else self.users.get(user_id)

    def use(self, token: str, password_hash: str) -> User | None:
        """Spend the link and set the password, in one transaction; None if the link was not live
        (used meanwhile, expired, unknown): then nothing changes."""
        now = self.clock()
        with self.db.begin() as conn:
            user_id = conn.execute(
                t.update()
                .where(t.c.token_hash == digest(token), t.c.used_at.is_(None), t.c.expires_at > now,
                       t.c.user_id.in_(sa.select(u.c.id).where(u.c.status == str(UserStatus.ACTIVE))))
                .values(used_at=now).returning(t.c.user_id)
            ).scalar_one_or_none()  # fmt: skip
            if user_id is None:
                return None
            self.users.set_password_hash(user_id, password_hash, conn=conn)
        return self.users.get(user_id)
