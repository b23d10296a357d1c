"""The wave of one edition, read: its ledger rows step by step through the time zones.

A morning edition reaches each zone at the same local hour, so its rows fall due in steps: every
reader of one step shares one due instant (Europe/London and Africa/Lagos in summer, the readers of
Asia/Kolkata who chose 06:30, ...). A step is the unit the wave moves in, so this module counts the
rows of each step by state (``states.py``), says which zones (and how many of their readers) the
step holds and at what local time it reaches them, and adds the send rate over the last minute and
an ETA. Readers only: nothing here writes.

Two reads, both cheap at a million rows:
- live, on every call: rows per (state, due instant) of the edition, along
  ``ix_deliveries_edition_status`` (edition_id, status, due_at) alone, never the subscribers table;
- the zones of each step: rows per (reader's zone, due instant), a join with the subscribers,
  run once per edition and again only when a step's total changes (the ledger filled, a step
  rescheduled, a reader erased): the zones of a row never change with its state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscribers as s
from publisher.delivery.ledger import Ledger
from publisher.delivery.states import DONE_ROWS, LIVE, OPEN_ROWS, DeliveryState
from publisher.schedule.clock import ClockError, zone

RATE_WINDOW = timedelta(minutes=1)
KEEP_EDITIONS = 8  # editions whose zones are remembered between calls


@dataclass(frozen=True, slots=True)
class ZoneReaders:
    """The readers of one zone in a step, and the local time the step reaches them."""

    timezone: str
    readers: int
    local: datetime | None  # the step's instant in the zone; None for a step due as soon as possible

    def to_json(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "readers": self.readers,
                "local": None if self.local is None else self.local.isoformat()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class WaveStep:
    """The rows that share one due instant (None: due as soon as possible, an edition sent now)."""

    due_at: datetime | None
    counts: dict[str, int]  # rows per delivery state, every state present
    zones: tuple[ZoneReaders, ...]  # most readers first
    is_due: bool  # its instant has passed

    @property
    def readers(self) -> int:
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        return sum(self.counts[str(state)] for state in OPEN_ROWS)

    @property
    def due(self) -> int:
        """Rows whose due time has passed and that are not done yet."""
        return self.open if self.is_due else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "due_at": iso_utc(self.due_at),
            "is_due": self.is_due,
            "readers": self.readers,
            "due": self.due,
            "counts": self.counts,
            "zones": [z.to_json() for z in self.zones],
        }


@dataclass(frozen=True, slots=True)
class Wave:
    edition_id: int
    status: str
    at: datetime  # when it was read
    steps: tuple[WaveStep, ...]  # in due order; the step due as soon as possible first
    rate: float | None  # messages per second over the last minute; None when nothing went out
    eta: datetime | None  # when the last open row should be sent, at the current rate

    @property
    def counts(self) -> dict[str, int]:
        return {str(state): sum(step.counts[str(state)] for step in self.steps) for state in DeliveryState}

    @property
    def readers(self) -> int:
        return sum(step.readers for step in self.steps)

    @property
    def due(self) -> int:
        return sum(step.due for step in self.steps)

    @property
    def open(self) -> int:
        return sum(step.open for step in self.steps)

    @property
    def done(self) -> int:
        counts = self.counts
        return sum(counts[str(state)] for state in DONE_ROWS)

    @property
    def next_due(self) -> datetime | None:
        """The instant of the next step still to come with rows to send."""
        waiting = [step.due_at for step in self.steps if step.due_at and not step.is_due and step.open]
        return min(waiting) if waiting else None

    def to_json(self) -> dict[str, Any]:
        return {
            "edition_id": self.edition_id,
            "status": self.status,
            "at": iso_utc(self.at),
            "readers": self.readers,
            "counts": self.counts,
            "due": self.due,
            "open": self.open,
            "rate": None if self.rate is None else round(self.rate, 2),
            "eta": iso_utc(self.eta),
            "next_due": iso_utc(self.next_due),
            "steps": [step.to_json() for step in self.steps],
        }


_Key = datetime | None  # a step's due instant


class WaveReader:
    def __init__(self, db: Database, ledger: Ledger) -> None:
        self.db = db
        self.ledger = ledger
        # edition id -> (rows per step when the zones were read, the zones of each step)
        self._zones: OrderedDict[int, tuple[dict[_Key, int], dict[_Key, list[tuple[str, int]]]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def wave(self, edition_id: int, status: str, now: datetime | None = None) -> Wave:
        """The edition's wave as it is now; ``status`` is the edition's state (the caller has read
        its record)."""
        now = now or datetime.now(UTC)
        live = self._counts(edition_id)
        totals = {key: sum(by_state.values()) for key, by_state in live.items()}
        zones = self._zones_of(edition_id, totals)
        steps = tuple(
            WaveStep(
                due_at=key,
                counts={str(state): live[key].get(str(state), 0) for state in DeliveryState},
                zones=_zone_readers(zones.get(key, []), key),
                is_due=key is None or key <= now,
            )
            for key in sorted(live, key=_order)
        )
        rate = None
        recent = self.ledger.sent_since(edition_id, now - RATE_WINDOW)
        if recent:
            rate = recent / RATE_WINDOW.total_seconds()
        eta = _eta(steps, rate, now) if status in LIVE else None
        return Wave(edition_id, status, now, steps, rate, eta)

    def _counts(self, edition_id: int) -> dict[_Key, dict[str, int]]:
        """Rows per due instant and state: the covering index alone."""
        query = (
            sa.select(d.c.status, d.c.due_at, sa.func.count())
            .where(d.c.edition_id == edition_id)
            .group_by(d.c.status, d.c.due_at)
        )
        found: dict[_Key, dict[str, int]] = {}
        with self.db.connect() as conn:
            for state, due_at, n in conn.execute(query):
                found.setdefault(due_at, {})[str(state)] = int(n)
        return found

    def _zones_of(self, edition_id: int, totals: dict[_Key, int]) -> dict[_Key, list[tuple[str, int]]]:
        """The zones of each step: remembered while every step keeps the total it had when read."""
        with self._lock:
            known = self._zones.get(edition_id)
            if known is not None and known[0] == totals:
                self._zones.move_to_end(edition_id)
                return known[1]
        query = (
            sa.select(s.c.timezone, d.c.due_at, sa.func.count())
            .join(s, s.c.id == d.c.subscriber_id)
            .where(d.c.edition_id == edition_id)
            .group_by(s.c.timezone, d.c.due_at)
        )
        zones: dict[_Key, list[tuple[str, int]]] = {}
        read: dict[_Key, int] = {}
        with self.db.connect() as conn:
            for tz, due_at, n in conn.execute(query):
                zones.setdefault(due_at, []).append((str(tz), int(n)))
                read[due_at] = read.get(due_at, 0) + int(n)
        with self._lock:
            # What was read is kept with its own totals: if rows moved between the two reads, the
            # next call sees the difference and reads the zones again.
            self._zones[edition_id] = (read, zones)
            self._zones.move_to_end(edition_id)
            while len(self._zones) > KEEP_EDITIONS:
                self._zones.popitem(last=False)
        return zones


def _order(key: _Key) -> tuple[int, datetime]:
    return (0, datetime.min.replace(tzinfo=UTC)) if key is None else (1, key)


def _zone_readers(found: Iterable[tuple[str, int]], due_at: datetime | None) -> tuple[ZoneReaders, ...]:
    out = []
    for name, readers in sorted(found, key=lambda z: (-z[1], z[0])):
        local = None
        if due_at is not None:
            try:
                local = due_at.astimezone(zone(name))
            except ClockError:  # a zone the system's tz database no longer knows: shown as UTC
                local = due_at
        out.append(ZoneReaders(name, readers, local))
    return tuple(out)


def _eta(steps: tuple[WaveStep, ...], rate: float | None, now: datetime) -> datetime | None:
    """When the last open row goes out if the rate holds: each step's open rows start at its due
    instant or when the steps before it are through, whichever is later. None without a rate."""
    open_steps = [step for step in steps if step.open]
    if not open_steps:
        return None
    if not rate:
        return None
    at = now
    for step in open_steps:
        start = max(at, step.due_at) if step.due_at is not None else at
        at = start + timedelta(seconds=step.open / rate)
    return at
