"""The morning at a glance, read: what the console's Today page shows.

- the editions on the move (sending, paused, halted, and those finished in the last hours), each
  with its wave through the time zones (``delivery/wave.py``), its commonest SMTP replies of failed
  rows and its hard bounces, soft bounces and complaints (``delivery/reputation.py``);
- the next editions: frozen drafts waiting for their first zone, then the next day of each edition
  schedule not frozen yet, with its send window and freeze time (``schedule/plan.py``);
- each feed's item count and newest item (``feeds/freshness.py``) and when the feeds were last built;
- the queue: ledger rows queued and being sent, and the broker's queues when there is one;
- recent errors: halted editions' causes, failed rows' replies of the last two days' editions.

Readers only; every query is indexed or bounded (a few editions, a few rows each), so the page and
its JSON, polled every two seconds, stay cheap at a million ledger rows.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.delivery.editions import EditionRecord, EditionStore
from publisher.delivery.ledger import Ledger
from publisher.delivery.reputation import Reputation, ReputationGuard
from publisher.delivery.states import DeliveryState, EditionState
from publisher.delivery.wave import Wave, WaveReader
from publisher.feeds.freshness import FeedFreshness, FeedFreshnessReader
from publisher.schedule.clock import parse_hhmm
from publisher.schedule.model import EDITION, SUBSCRIBER
from publisher.schedule.plan import send_window
from publisher.schedule.store import ScheduleStore
from publisher.stats import Stat, StatsStore

E = EditionState
ON_THE_MOVE = (E.SENDING, E.PAUSED, E.HALTED)
FINISHED = (E.SENT, E.CANCELLED)
RECENTLY = timedelta(hours=12)  # a finished edition stays on the page this long
MOST_SHOWN = 4  # editions on the move shown at once (newest first)
ERROR_DAYS = 2  # failed replies of the editions of this many days
HOURS_TTL = 60.0  # seconds the readers' own hours are kept between reads (a DISTINCT over readers)


@dataclass(frozen=True, slots=True)
class Running:
    """An edition on the move, or just finished."""

    edition: EditionRecord
    wave: Wave
    reports: Reputation
    errors: list[tuple[str, int]]  # the commonest replies of its failed rows

    def to_json(self) -> dict[str, Any]:
        return {**self.edition.to_json(), "wave": self.wave.to_json(), "reports": self.reports.to_json(),
                "errors": [{"reply": r, "count": n} for r, n in self.errors]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Upcoming:
    """An edition still to go: frozen (``edition_id``) or only scheduled."""

    name: str
    day: date
    first: datetime | None  # when its first readers are due (None: frozen with no rows yet)
    last: datetime | None  # when its last readers are due
    edition_id: int | None = None
    status: str | None = None  # a frozen one's state
    schedule: str | None = None  # the schedule that makes it
    freeze_at: datetime | None = None  # when a scheduled one's articles are frozen

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "date": self.day.isoformat(), "first": iso_utc(self.first),
                "last": iso_utc(self.last), "edition_id": self.edition_id, "status": self.status,
                "schedule": self.schedule, "freeze_at": iso_utc(self.freeze_at)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Queue:
    queued: int  # ledger rows waiting for a worker
    sending: int  # ledger rows a worker holds
    broker: dict[str, int] | None  # tasks waiting per broker queue; None without a broker

    def to_json(self) -> dict[str, Any]:
        return {"queued": self.queued, "sending": self.sending, "broker": self.broker}


@dataclass(frozen=True, slots=True)
class Problem:
    """A recent error: a halted edition's cause, or a reply failed rows got (``count`` of them)."""

    edition_id: int
    edition: str  # name
    day: date
    kind: str  # "halted" | "failed"
    text: str
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"edition_id": self.edition_id, "edition": self.edition, "date": self.day.isoformat(),
                "kind": self.kind, "text": self.text, "count": self.count}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Today:
    at: datetime
    running: list[Running]
    upcoming: list[Upcoming]
    feeds: list[FeedFreshness]
    feeds_built: Stat | None  # the last feed build (any process): when, and how long it took
    queue: Queue
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        built = self.feeds_built
        return {
            "at": iso_utc(self.at),
            "running": [r.to_json() for r in self.running],
            "upcoming": [u.to_json() for u in self.upcoming],
            "feeds": [f.to_json() for f in self.feeds],
            "feeds_built": None if built is None else {"at": iso_utc(built.updated_at),
                                                       "seconds": round(built.last, 3)},
            "queue": self.queue.to_json(),
            "problems": [p.to_json() for p in self.problems],
        }  # fmt: skip


class TodayReader:
    def __init__(
        self,
        db: Database,
        *,
        editions: EditionStore,
        ledger: Ledger,
        waves: WaveReader,
        reputation: ReputationGuard,
        schedules: ScheduleStore,
        reader_slots: Callable[[], list[tuple[str, str | None]]],
        feeds: FeedFreshnessReader,
        stats: StatsStore,
        queue_lengths: Callable[[], dict[str, int] | None],
        freeze_lead: timedelta,
    ) -> None:
        self.db = db
        self.editions = editions
        self.ledger = ledger
        self.waves = waves
        self.reputation = reputation
        self.schedules = schedules
        self.reader_slots = reader_slots
        self.feeds = feeds
        self.stats = stats
        self.queue_lengths = queue_lengths
        self.freeze_lead = freeze_lead
        self._hours: tuple[float, set[time]] | None = None
        self._lock = threading.Lock()

    def today(self, now: datetime | None = None) -> Today:
        now = now or datetime.now(UTC)
        records = self._on_the_move(now)
        running = [self.running(record, now) for record in records]
        return Today(
            at=now,
            running=running,
            upcoming=self.upcoming(now),
            feeds=self.feeds.feeds(),
            feeds_built=self.stats.all().get("feed_build"),
            queue=self.queue(),
            problems=self.problems(now),
        )

    def running(self, record: EditionRecord, now: datetime | None = None) -> Running:
        now = now or datetime.now(UTC)
        return Running(
            edition=record,
            wave=self.waves.wave(record.id, str(record.status), now),
            reports=self.reputation.of(record.id),
            errors=self.ledger.errors(record.id, limit=5),
        )

    def _on_the_move(self, now: datetime) -> list[EditionRecord]:
        moving = e.c.status.in_([str(s) for s in ON_THE_MOVE])
        just_done = sa.and_(e.c.status.in_([str(s) for s in FINISHED]), e.c.finished_at >= now - RECENTLY)
        query = (
            sa.select(e.c.id).where(sa.or_(moving, just_done))
            .order_by(e.c.date.desc(), e.c.id.desc()).limit(MOST_SHOWN)
        )  # fmt: skip
        with self.db.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return [record for record in map(self.editions.get, ids) if record is not None]

    def upcoming(self, now: datetime) -> list[Upcoming]:
        """Frozen drafts first (by day), then the next day of each edition schedule not frozen yet."""
        with self.db.connect() as conn:
            drafts = conn.execute(
                sa.select(e.c.id, e.c.name, e.c.date, e.c.status).where(e.c.status == str(E.DRAFT))
                .order_by(e.c.date, e.c.id).limit(MOST_SHOWN)
            ).all()  # fmt: skip
            stored = {(r.name, r.date) for r in conn.execute(
                sa.select(e.c.name, e.c.date).where(e.c.date >= now.date() - timedelta(days=1)))}  # fmt: skip
        found = []
        for row in drafts:
            first, last = self.ledger.due_window(row.id)
            found.append(Upcoming(row.name, row.date, first, last, edition_id=row.id, status=row.status))
        scheduled = []
        for schedule in self.schedules.list():
            if schedule.kind != EDITION or schedule.paused or schedule.send_time is None:
                continue
            hours = self._reader_hours() if schedule.timezone == SUBSCRIBER else set()
            for offset in range(-1, 8):
                day = now.date() + timedelta(days=offset)
                if not schedule.runs_on(day) or (schedule.edition, day) in stored:
                    continue
                first, last = send_window(schedule, day, hours)
                if last < now:
                    continue
                scheduled.append(Upcoming(schedule.edition, day, first, last, schedule=schedule.name,
                                          freeze_at=first - self.freeze_lead))  # fmt: skip
                break
        scheduled.sort(key=lambda u: (u.first or now, u.name))
        return found + scheduled

    def _reader_hours(self) -> set[time]:
        """The readers' own hours in use (they widen a send window), kept for HOURS_TTL seconds."""
        with self._lock:
            if self._hours is not None and clock.monotonic() - self._hours[0] < HOURS_TTL:
                return self._hours[1]
        hours = {parse_hhmm(hour) for _zone, hour in self.reader_slots() if hour}
        with self._lock:
            self._hours = (clock.monotonic(), hours)
        return hours

    def queue(self) -> Queue:
        """Rows queued and sending, counted along ``ix_deliveries_status_claimed`` (the rows in
        flight, not the ledger); the broker's queues when there is one."""
        query = (
            sa.select(d.c.status, sa.func.count())
            .where(d.c.status.in_([str(DeliveryState.QUEUED), str(DeliveryState.SENDING)]))
            .group_by(d.c.status)
        )
        with self.db.connect() as conn:
            counts = dict(conn.execute(query).all())
        queued, sending = (
            int(counts.get(str(state), 0)) for state in (DeliveryState.QUEUED, DeliveryState.SENDING)
        )
        return Queue(queued, sending, self.queue_lengths())

    def problems(self, now: datetime) -> list[Problem]:
        """Halted editions' causes, then the commonest failed replies of recent editions."""
        since = now.date() - timedelta(days=ERROR_DAYS - 1)
        with self.db.connect() as conn:
            halted = conn.execute(
                sa.select(e.c.id, e.c.name, e.c.date, e.c.error).where(e.c.status == str(E.HALTED))
                .order_by(e.c.date.desc(), e.c.id.desc()).limit(MOST_SHOWN)
            ).all()  # fmt: skip
            recent = conn.execute(
                sa.select(e.c.id, e.c.name, e.c.date).where(e.c.date >= since)
                .order_by(e.c.date.desc(), e.c.id.desc()).limit(MOST_SHOWN)
            ).all()  # fmt: skip
        found = [Problem(r.id, r.name, r.date, "halted", r.error or "halted") for r in halted]
        failed = [
            Problem(r.id, r.name, r.date, "failed", reply, n)
            for r in recent
            for reply, n in self.ledger.errors(r.id, limit=5)
        ]
        failed.sort(key=lambda p: (-p.count, -p.edition_id, p.text))
        return found + failed[:8]
