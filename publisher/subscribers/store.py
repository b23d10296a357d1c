"""Subscribers in the database: bulk upsert, read, list, remove, and the status changes.

An import is one executemany of ``INSERT ... ON CONFLICT (email_key) DO UPDATE`` (SQLite and
PostgreSQL both have it): thousands of rows are a handful of round trips. A re-import updates name,
time zone and sections but never the status: importing a list must not resubscribe anyone who left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from publisher.db import Database
from publisher.db.schema import subscribers as t
from publisher.subscribers.model import NewSubscriber, Status, Subscriber, encode_section_keys

CHUNK = 5000


def now_utc() -> datetime:
    return datetime.now(UTC)


class SubscriberStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert_many(self, items: Sequence[NewSubscriber]) -> tuple[int, int]:
        """Add new subscribers and update known ones (by address, case-insensitively).

        Returns (added, updated).
        """
        if not items:
            return 0, 0
        now = now_utc()
        insert = (postgresql.insert if not self.db.is_sqlite else sqlite.insert)(t)
        stmt = insert.on_conflict_do_update(
            index_elements=[t.c.email_key],
            set_={
                "email": insert.excluded.email,
                "name": insert.excluded.name,
                "timezone": insert.excluded.timezone,
                "sections": insert.excluded.sections,
                "section_keys": insert.excluded.section_keys,
            },
        )
        with self.db.begin() as conn:
            before = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for start in range(0, len(items), CHUNK):
                rows = [_row(item, now) for item in items[start : start + CHUNK]]
                conn.execute(stmt, rows)
            after = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        added = after - before
        return added, len(items) - added

    def get(self, subscriber_id: int) -> Subscriber | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == subscriber_id)).mappings().first()
        return None if row is None else _subscriber(row)

    def find(self, email: str) -> Subscriber | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.email_key == email.strip().lower())).mappings().first()
        return None if row is None else _subscriber(row)

    def list(self, status: Status | None = None) -> Iterator[Subscriber]:
        query = sa.select(t).order_by(t.c.id)
        if status is not None:
            query = query.where(t.c.status == str(status))
        with self.db.connect() as conn:
            for row in conn.execute(query).mappings():
                yield _subscriber(row)

    def count(self, status: Status | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t)
        if status is not None:
            query = query.where(t.c.status == str(status))
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def active_zones(self) -> list[str]:
        """The time zones of active subscribers (the scheduler fills the ledger zone by zone)."""
        query = sa.select(t.c.timezone).where(t.c.status == str(Status.ACTIVE)).distinct()
        with self.db.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def remove(self, email: str) -> bool:
        """Delete the subscriber and (cascade) their ledger rows; False if there was none."""
        with self.db.begin() as conn:
            key = email.strip().lower()
            ids = conn.execute(sa.select(t.c.id).where(t.c.email_key == key)).scalars().all()
            if not ids:
                return False
            # Their ledger rows go with them: ON DELETE CASCADE (SQLite: foreign_keys=ON per connection).
            conn.execute(t.delete().where(t.c.id.in_(ids)))
        return True

    def unsubscribe(self, subscriber_id: int) -> bool:
        """Idempotent: the first call sets the time; later calls change nothing. False if unknown."""
        with self.db.begin() as conn:
            found = conn.execute(sa.select(t.c.id).where(t.c.id == subscriber_id)).first()
            conn.execute(
                t.update()
                .where(t.c.id == subscriber_id, t.c.status == str(Status.ACTIVE))
                .values(status=str(Status.UNSUBSCRIBED), unsubscribed_at=now_utc())
            )
        return found is not None

    def set_preferences(
        self, subscriber_id: int, *, name: str, timezone: str, sections: tuple[str, ...]
    ) -> bool:
        """The reader's own changes (the preferences page): name, time zone and followed sections
        (empty = all). The status is not touched: saving preferences never resubscribes anyone."""
        values = {"name": name, "timezone": timezone, "sections": ";".join(sections),
                  "section_keys": encode_section_keys(sections)}  # fmt: skip
        with self.db.begin() as conn:
            return conn.execute(t.update().where(t.c.id == subscriber_id).values(values)).rowcount == 1

    def mark_bounced(self, subscriber_id: int, reply: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == subscriber_id, t.c.status == str(Status.ACTIVE))
                .values(status=str(Status.BOUNCED), bounced_at=now_utc(), last_error=reply[:1000])
            )


def _row(item: NewSubscriber, now: datetime) -> dict[str, Any]:
    return {
        "email": item.email,
        "email_key": item.email_key,
        "name": item.name,
        "timezone": item.timezone,
        "sections": ";".join(item.sections),
        "section_keys": item.section_keys,
        "status": str(Status.ACTIVE),
        "created_at": now,
    }


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        timezone=row["timezone"],
        sections=tuple(s for s in row["sections"].split(";") if s),
        status=Status(row["status"]),
        created_at=row["created_at"],
        unsubscribed_at=row["unsubscribed_at"],
    )
