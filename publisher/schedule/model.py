"""A schedule: plain data with its validation and its due times (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from publisher.schedule.clock import (
    ClockError,
    DueTime,
    due_time,
    format_days,
    parse_days,
    parse_hhmm,
    zone,
)

SUBSCRIBER = "subscriber"  # time-zone policy: each subscriber's own zone
EDITION = "edition"
FEEDS = "feeds"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    kind: str = EDITION
    edition_name: str = ""  # which edition an edition schedule builds (default: its own name)
    send_time: time | None = None
    days: frozenset[int] = frozenset(range(7))
    timezone: str = SUBSCRIBER
    sections: tuple[str, ...] = ()
    window_hours: int | None = None
    interval_minutes: int | None = None
    paused: bool = False
    last_run_at: datetime | None = None
    created_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    @property
    def edition(self) -> str:
        return self.edition_name or self.name

    def runs_on(self, day: date) -> bool:
        return day.weekday() in self.days

    def due_for_zone(self, day: date, timezone: str) -> DueTime:
        """When subscribers in ``timezone`` receive ``day``'s edition of this schedule."""
        assert self.send_time is not None
        if self.timezone == SUBSCRIBER:
            return due_time(day, self.send_time, timezone)
        fixed = due_time(day, self.send_time, self.timezone)
        return DueTime(timezone, fixed.utc.astimezone(zone(timezone)), fixed.utc)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "edition": self.edition if self.kind == EDITION else None,
            "at": self.send_time.strftime("%H:%M") if self.send_time else None,
            "days": format_days(self.days),
            "timezone": self.timezone,
            "sections": list(self.sections),
            "window_hours": self.window_hours,
            "every_minutes": self.interval_minutes,
            "paused": self.paused,
            "last_run_at": _iso(self.last_run_at),
        }


def edition_schedule(
    name: str,
    *,
    at: str,
    days: str = "daily",
    timezone: str = SUBSCRIBER,
    sections: list[str] | tuple[str, ...] = (),
    window_hours: int | None = None,
    edition_name: str = "",
) -> Schedule:
    """Validate user input into an edition schedule; ClockError/ValueError name the bad value."""
    check_name(name)
    if timezone != SUBSCRIBER:
        zone(timezone)
    if window_hours is not None and not 1 <= window_hours <= 24 * 7:
        raise ClockError(f"window must be 1 to 168 hours, got {window_hours}")
    return Schedule(
        name=name,
        kind=EDITION,
        edition_name=edition_name,
        send_time=parse_hhmm(at),
        days=parse_days(days),
        timezone=timezone,
        sections=tuple(s.strip() for s in sections if s.strip()),
        window_hours=window_hours,
    )


def feed_schedule(name: str, *, every_minutes: int) -> Schedule:
    check_name(name)
    if not 1 <= every_minutes <= 24 * 60:
        raise ClockError(f"feed refresh interval must be 1 to 1440 minutes, got {every_minutes}")
    return Schedule(name=name, kind=FEEDS, interval_minutes=every_minutes)


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ClockError(f"schedule name must be lowercase letters, digits, - and _: {name!r}")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
