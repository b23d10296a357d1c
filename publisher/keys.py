"""Keys publisher makes for itself, kept in the database so every process and restart shares them.

``get_or_create`` inserts a fresh random key with ``ON CONFLICT DO NOTHING`` and then reads the row:
when several processes start at once, exactly one insert wins and all of them read the winner's key.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from publisher.db import Database
from publisher.db.schema import keys as t

SIGNING_KEY = "signing"
# Keys the suppression list's address hashes (publisher/subscribers/lifecycle.py).
SUPPRESSION_KEY = "suppression"


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, name: str) -> str:
        """The key called ``name``, made (256 random bits) the first time anyone asks."""
        existing = self.get(name)
        if existing is not None:
            return existing
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
        with self.db.begin() as conn:
            conn.execute(
                insert.values(
                    name=name, value=secrets.token_urlsafe(32), created_at=datetime.now(UTC)
                ).on_conflict_do_nothing(index_elements=[t.c.name])
            )
        made = self.get(name)
        assert made is not None, f"key {name!r} vanished right after it was stored"
        return made

    def get(self, name: str) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar_one_or_none()
