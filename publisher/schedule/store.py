"""Schedules in the database: created, changed, paused and removed at run time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import schedules as t
from publisher.errors import ConflictError, ScheduleError
from publisher.schedule.clock import format_days, parse_days, parse_hhmm
from publisher.schedule.model import FEEDS, Schedule, feed_schedule

DEFAULT_FEED_SCHEDULE = "feeds"
DEFAULT_FEED_INTERVAL = 5


class ScheduleExistsError(ConflictError, ScheduleError):
    """A conflict with what is stored (409), though the input itself was well formed."""


class ScheduleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, schedule: Schedule) -> Schedule:
        now = datetime.now(UTC)
        stored = replace(schedule, created_at=now, updated_at=now)
        with self.db.begin() as conn:
            if conn.execute(sa.select(t.c.id).where(t.c.name == schedule.name)).first():
                raise ScheduleExistsError(f"a schedule named {schedule.name!r} exists already")
            conn.execute(t.insert().values(_row(stored)))
        return stored

    def save(self, schedule: Schedule) -> Schedule:
        """Replace an existing schedule's settings (PATCH)."""
        stored = replace(schedule, updated_at=datetime.now(UTC))
        row = _row(stored)
        row.pop("created_at")
        with self.db.begin() as conn:
            conn.execute(t.update().where(t.c.name == schedule.name).values(row))
        return stored

    def get(self, name: str) -> Schedule | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.name == name)).mappings().first()
        return _schedule(row) if row else None

    def list(self) -> list[Schedule]:
        with self.db.connect() as conn:
            return [_schedule(r) for r in conn.execute(sa.select(t).order_by(t.c.name)).mappings()]

    def set_paused(self, name: str, paused: bool) -> Schedule | None:
        with self.db.begin() as conn:
            conn.execute(
                t.update().where(t.c.name == name).values(paused=paused, updated_at=datetime.now(UTC))
            )
        return self.get(name)

    def remove(self, name: str) -> bool:
        with self.db.begin() as conn:
            return conn.execute(t.delete().where(t.c.name == name)).rowcount > 0

    def mark_run(self, name: str, at: datetime, *, previous: datetime | None) -> bool:
        """Record a run; False if another sweep recorded it first (compare-and-set on last_run_at)."""
        where = t.c.last_run_at.is_(None) if previous is None else t.c.last_run_at == previous
        with self.db.begin() as conn:
            return (
                conn.execute(t.update().where(t.c.name == name, where).values(last_run_at=at)).rowcount == 1
            )

    def feed_refresh(self) -> Schedule:
        """The feed refresh schedule, created with the default interval on first use."""
        for schedule in self.list():
            if schedule.kind == FEEDS:
                return schedule
        try:
            return self.add(feed_schedule(DEFAULT_FEED_SCHEDULE, every_minutes=DEFAULT_FEED_INTERVAL))
        except ScheduleExistsError:
            return self.get(DEFAULT_FEED_SCHEDULE) or feed_schedule(
                DEFAULT_FEED_SCHEDULE, every_minutes=DEFAULT_FEED_INTERVAL
            )


def _row(s: Schedule) -> dict[str, Any]:
    return {
        "name": s.name,
        "kind": s.kind,
        "edition_name": s.edition_name,
        "send_time": s.send_time.strftime("%H:%M") if s.send_time else None,
        "days": format_days(s.days),
        "timezone": s.timezone,
        "sections": list(s.sections),
        "window_hours": s.window_hours,
        "interval_minutes": s.interval_minutes,
        "paused": s.paused,
        "last_run_at": s.last_run_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _schedule(row: Any) -> Schedule:
    return Schedule(
        name=row["name"],
        kind=row["kind"],
        edition_name=row["edition_name"],
        send_time=parse_hhmm(row["send_time"]) if row["send_time"] else None,
        days=parse_days(row["days"]),
        timezone=row["timezone"],
        sections=tuple(row["sections"] or ()),
        window_hours=row["window_hours"],
        interval_minutes=row["interval_minutes"],
        paused=bool(row["paused"]),
        last_run_at=row["last_run_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
