"""The login throttle: failed logins counted per account and per client address, in the database
so the limit holds across every web process.

Ten failures for one address within the window lock that address for ``LOCK`` (whether or not an
account has it: the answer is the same either way); a client address with ``IP_LIMIT`` failures is
locked the same way. A good login clears its account's count (not the address's). While locked,
even the right password is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from publisher.db import Database
from publisher.db.schema import login_throttle as t

ACCOUNT_LIMIT = 10
IP_LIMIT = 50
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:300]


def ip_key(ip: str) -> str:
    return "ip:" + ip[:64]


class LoginThrottle:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def locked_until(self, *keys: str) -> datetime | None:
        """The latest time any of ``keys`` is locked until, if any is locked now."""
        now = self.clock()
        with self.db.connect() as conn:
            until = conn.execute(
                sa.select(sa.func.max(t.c.locked_until)).where(t.c.key.in_(keys), t.c.locked_until > now)
            ).scalar_one_or_none()
        return until

    def failed(self, key: str, limit: int) -> datetime | None:
        """Count one failure of ``key``; returns the time it is now locked until, if it is."""
        now = self.clock()
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
        stale = now - WINDOW  # a count begun before this starts again
        with self.db.begin() as conn:
            conn.execute(
                insert.values(key=key, failures=1, first_at=now, locked_until=None)
                .on_conflict_do_update(index_elements=[t.c.key], set_={
                    "failures": sa.case((t.c.first_at < stale, 1), else_=t.c.failures + 1),
                    "first_at": sa.case((t.c.first_at < stale, now), else_=t.c.first_at),
                })
            )  # fmt: skip
            failures = conn.execute(sa.select(t.c.failures).where(t.c.key == key)).scalar_one()
            if failures < limit:
                return None
            until = now + LOCK
            # Locked: the count starts again once the lock passes.
            conn.execute(
                t.update().where(t.c.key == key).values(locked_until=until, failures=0, first_at=now)
            )
            return until

    def clear(self, key: str) -> None:
        with self.db.begin() as conn:
            conn.execute(t.delete().where(t.c.key == key))
