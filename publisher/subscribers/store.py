"""Subscribers in the database: read, list, page, export a reader's data, save their preferences.

Status changes and imports are the lifecycle's (``lifecycle.py``): an import adds new readers in a
handful of round trips per thousands of rows, updates known ones' name, time zone and sections, and
never changes a status nor touches a suppressed address: importing a list must not resubscribe
anyone who left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscriber_events as ev
from publisher.db.schema import subscribers as t
from publisher.subscribers.lifecycle import SubscriberLifecycle, record
from publisher.subscribers.model import NewSubscriber, Status, Subscriber, encode_section_keys
from publisher.subscribers.states import Source


def now_utc() -> datetime:
    return datetime.now(UTC)


class SubscriberStore:
    """Reading readers, and the entry points that change them (each status change is the
    lifecycle's, which records it); ``set_preferences`` writes what the reader chose."""

    def __init__(self, db: Database, lifecycle: SubscriberLifecycle) -> None:
        self.db = db
        self.lifecycle = lifecycle

    def upsert_many(self, items: Sequence[NewSubscriber]) -> tuple[int, int]:
        """Add new subscribers and update known ones (by address, case-insensitively); suppressed
        addresses and readers' own choices are left alone (``import_many`` says which).

        Returns (added, updated).
        """
        out = self.lifecycle.import_many(items)
        return out.added, out.updated

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

    def page(self, *, status: Status | None = None, q: str = "", after: int = 0, limit: int = 100
             ) -> list[Subscriber]:  # fmt: skip
        """One page of readers by id (keyset: ``after`` is the last id of the previous page);
        ``q`` matches part of the address or name, case-insensitively."""
        query = sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(limit)
        if status is not None:
            query = query.where(t.c.status == str(status))
        if q:
            pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(sa.or_(t.c.email_key.like(pattern, escape="\\"),
                                       sa.func.lower(t.c.name).like(pattern, escape="\\")))  # fmt: skip
        with self.db.connect() as conn:
            return [_subscriber(row) for row in conn.execute(query).mappings()]

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

    def active_slots(self) -> list[tuple[str, str | None]]:
        """The distinct (time zone, own hour or None) of active readers: one due time each."""
        query = sa.select(t.c.timezone, t.c.send_time).where(t.c.status == str(Status.ACTIVE)).distinct()
        with self.db.connect() as conn:
            return sorted(((z, h) for z, h in conn.execute(query)), key=lambda p: (p[0], p[1] or ""))

    def events(self, subscriber_id: int) -> list[dict[str, Any]]:
        query = sa.select(ev).where(ev.c.subscriber_id == subscriber_id).order_by(ev.c.id)
        with self.db.connect() as conn:
            return [{"at": iso_utc(r.at), "kind": r.kind, "source": r.source, "detail": r.detail}
                    for r in conn.execute(query)]  # fmt: skip

    def export_data(self, subscriber_id: int) -> dict[str, Any] | None:
        """Everything held about a reader: profile, events, and their rows of the delivery ledger."""
        subscriber = self.get(subscriber_id)
        if subscriber is None:
            return None
        query = (
            sa.select(d.c.edition_id, e.c.name, e.c.date, d.c.status, d.c.due_at, d.c.sent_at, d.c.message_id,
                      d.c.last_error)
            .join(e, e.c.id == d.c.edition_id).where(d.c.subscriber_id == subscriber_id).order_by(d.c.id)
        )  # fmt: skip
        with self.db.connect() as conn:
            deliveries = [
                {"edition_id": r.edition_id, "edition": r.name, "date": r.date.isoformat(),
                 "status": r.status, "due_at": iso_utc(r.due_at), "sent_at": iso_utc(r.sent_at),
                 "message_id": r.message_id, "last_error": r.last_error}
                for r in conn.execute(query)
            ]  # fmt: skip
        events = self.events(subscriber_id)
        return {"profile": subscriber.to_json(), "events": events, "deliveries": deliveries}

    def remove(self, email: str) -> bool:
        """Unsubscribe on the reader's behalf (ops): record and history stay. False if unknown."""
        found = self.find(email)
        if found is None:
            return False
        return self.lifecycle.unsubscribe(found.id, source=Source.OPS, detail="removed by ops")

    def unsubscribe(self, subscriber_id: int, source: Source = Source.ONE_CLICK) -> bool:
        """Idempotent: the first call sets the time; later calls change nothing. False if unknown."""
        return self.lifecycle.unsubscribe(subscriber_id, source=source)

    def set_preferences(
        self, subscriber_id: int, *, name: str, timezone: str, sections: tuple[str, ...],
        hour: str | None = None,
    ) -> bool:  # fmt: skip
        """The reader's own changes (the preferences page): name, time zone, followed sections
        (empty = all) and their hour (None = the schedule's). The status is not touched: saving
        preferences never resubscribes anyone. An import never overwrites them afterwards."""
        now = now_utc()
        values = {"name": name, "timezone": timezone, "sections": ";".join(sections),
                  "section_keys": encode_section_keys(sections), "send_time": hour,
                  "preferences_at": now}  # fmt: skip
        with self.db.begin() as conn:
            changed = conn.execute(t.update().where(t.c.id == subscriber_id).values(values)).rowcount == 1
            if changed:
                record(conn, subscriber_id, "preferences", Source.PREFERENCES, at=now)
            return changed

    def mark_bounced(self, subscriber_id: int, reply: str) -> None:
        self.lifecycle.bounce(subscriber_id, reply)


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
        confirmed_at=row["confirmed_at"],
        send_time=row["send_time"],
        preferences_at=row["preferences_at"],
    )
