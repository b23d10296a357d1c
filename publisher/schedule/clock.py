"""Local send times → UTC instants, correct across daylight-saving changes (pure functions).

Celery's crontab has open DST bugs (docs/dependencies.md), so publisher computes every due time itself with
zoneinfo:
- a local time that does not exist (spring forward) moves forward by the gap: 02:30 → 03:30;
- an ambiguous one (fall back) takes its first occurrence.
Both follow from PEP 495's ``fold=0``: the offset in force *before* the transition is used, which is
exactly "forward by the gap" for a missing time and "the first one" for a repeated time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.errors import ScheduleError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# The first zone to reach a local time is UTC+14 and the last UTC-12: a day's sends for one local
# time spread over 26 hours, from (local - 14 h) to (local + 12 h) in UTC.
EARLIEST_OFFSET = timedelta(hours=14)
LATEST_OFFSET = timedelta(hours=12)


class ClockError(ScheduleError):
    """A bad time, day list or zone; the message names the value."""


def parse_hhmm(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise ClockError(f"not a time of day as HH:MM: {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(value: str) -> frozenset[int]:
    """``daily`` or ``mon,wed,fri`` → weekday numbers (Monday = 0)."""
    text = value.strip().lower()
    if text in ("daily", "", "all"):
        return frozenset(range(7))
    days = set()
    for part in text.split(","):
        name = part.strip()[:3]
        if name not in WEEKDAYS:
            raise ClockError(f"not a weekday: {part.strip()!r} (use daily or mon,tue,...)")
        days.add(WEEKDAYS.index(name))
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    return "daily" if days == frozenset(range(7)) else ",".join(WEEKDAYS[d] for d in sorted(days))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"not an IANA time zone: {name!r}") from None


@dataclass(frozen=True, slots=True)
class DueTime:
    timezone: str
    local: datetime  # aware, in ``timezone``, after any gap adjustment
    utc: datetime  # aware, UTC

    def to_json(self) -> dict[str, str]:
        return {
            "timezone": self.timezone,
            "local": self.local.isoformat(),
            "utc": self.utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def due_time(day: date, at: time, timezone: str) -> DueTime:
    """When ``at`` o'clock on ``day`` happens in ``timezone``."""
    tz = zone(timezone)
    wall = datetime.combine(day, at, tzinfo=tz)  # fold=0: see the module docstring
    utc = wall.astimezone(UTC)
    return DueTime(timezone, utc.astimezone(tz), utc)


def window_utc(day: date, at: time) -> tuple[datetime, datetime]:
    """The UTC span in which ``at`` on ``day`` happens somewhere on Earth."""
    naive = datetime.combine(day, at, tzinfo=UTC)
    return naive - EARLIEST_OFFSET, naive + LATEST_OFFSET
