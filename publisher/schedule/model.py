"""A schedule: plain data with its validation and its due times (pure)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

from publisher.errors import ScheduleError
from publisher.schedule.clock import (
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
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


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


# Bounds of what a person may set: beyond them a value is a typo, and the sweep's date arithmetic
# would overflow on it every minute.
MAX_WINDOW_HOURS = 720  # 30 days of articles
MAX_INTERVAL_MINUTES = 24 * 60
# The fields of a schedule as the CLI and the API name them.
FIELDS = ("name", "at", "days", "timezone", "sections", "window_hours", "edition", "every_minutes", "paused")


class InvalidScheduleError(ScheduleError):
    """Every problem of one schedule at once: ``problems`` is [(field, message)], in field order;
    ``field`` is the first of them."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems), field=problems[0][0])


def build_schedule(
    values: Mapping[str, Any],
    *,
    current: Schedule | None = None,
    edition_names: Collection[str] | None = None,
) -> Schedule:
    """The one validation of a schedule, for adding (``current`` None) and changing (``values`` are
    the fields given, on top of ``current``), from the CLI and the API alike.

    An edition schedule has ``at``; a feed refresh has ``every_minutes``. With ``edition_names``
    (the editions PUBLISHER_EDITION_NAMES defines) the edition built must be one of them. Raises
    InvalidScheduleError naming every bad field, never just the first.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidScheduleError([(name, "not a schedule field") for name in unknown])
    problems: list[tuple[str, str]] = []

    def check(field_name: str, func: Any, *args: Any) -> Any:
        """``func(*args)``, or None with the problem noted under ``field_name``."""
        try:
            return func(*args)
        except (ScheduleError, ValueError, TypeError) as exc:
            problems.append((field_name, str(exc)))
            return None

    given = {k: v for k, v in values.items() if v is not None or current is not None}
    if current is None:
        name = str(values.get("name") or "")
        check("name", check_name, name)
        if (values.get("at") is None) == (values.get("every_minutes") is None):
            problems.append(("at", "give either 'at' (an edition) or 'every_minutes' (a feed refresh)"))
            raise InvalidScheduleError(_ordered(problems))
        kind = EDITION if values.get("at") is not None else FEEDS
        base = Schedule(name=name, kind=kind)
    else:
        if "name" in given and given["name"] != current.name:
            problems.append(("name", "a schedule cannot be renamed; add a new one"))
        base = current
    kind = base.kind
    allowed = {"name", "paused"} | ({"every_minutes"} if kind == FEEDS else set(FIELDS) - {"every_minutes"})
    for field_name in sorted(set(given) - allowed):
        problems.append((field_name, "not a feed refresh setting" if kind == FEEDS
                         else "an edition schedule has no refresh interval"))  # fmt: skip
    changes: dict[str, Any] = {}
    if "paused" in given:
        changes["paused"] = bool(given["paused"])
    if kind == FEEDS:
        if "every_minutes" in given:
            changes["interval_minutes"] = check("every_minutes", _interval, given["every_minutes"])
    else:
        if "at" in given:
            changes["send_time"] = check("at", lambda v: parse_hhmm(_text(v)), given["at"])
        if "days" in given:
            changes["days"] = check("days", lambda v: parse_days(_text(v)), given["days"])
        if "timezone" in given:
            changes["timezone"] = check("timezone", lambda v: _policy(_text(v)), given["timezone"])
        if "sections" in given:
            changes["sections"] = check("sections", _sections, given["sections"])
        if "window_hours" in given:
            changes["window_hours"] = check("window_hours", _window, given["window_hours"])
        if "edition" in given:
            changes["edition_name"] = check("edition", _text, given["edition"] or "")
            changes["edition_name"] = (changes["edition_name"] or "").strip()
        # Checked when set (adding, or changing it): a schedule stored before the check keeps working.
        edition = changes.get("edition_name", base.edition_name) or base.name
        if (
            edition_names is not None
            and (current is None or "edition" in given)
            and edition not in edition_names
            and not _has(problems, "name")
        ):
            known = ", ".join(sorted(edition_names)) or "none"
            problems.append(("edition", f"unknown edition {edition!r} (PUBLISHER_EDITION_NAMES: {known})"))
    if problems:
        raise InvalidScheduleError(_ordered(problems))
    return replace(base, **changes)


def _has(problems: list[tuple[str, str]], field_name: str) -> bool:
    return any(f == field_name for f, _ in problems)


def _ordered(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rank = {name: i for i, name in enumerate(FIELDS)}
    return sorted(problems, key=lambda p: rank.get(p[0], len(rank)))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ScheduleError(f"expected text, got {value!r}")
    return value


def _whole(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError(f"{what} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ScheduleError(f"{what} must be {low} to {high}, got {value}")
    return value


def _window(value: Any) -> int | None:
    return None if value is None else _whole(value, 1, MAX_WINDOW_HOURS, "window (hours)")


def _interval(value: Any) -> int:
    return _whole(value, 1, MAX_INTERVAL_MINUTES, "feed refresh interval (minutes)")


def _policy(value: str) -> str:
    if value != SUBSCRIBER:
        zone(value)
    return value


def _sections(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(s, str) for s in value or ()):
        raise ScheduleError("expected a list of section names")
    return tuple(s.strip() for s in value or () if s.strip())


def edition_schedule(
    name: str,
    *,
    at: str,
    days: str = "daily",
    timezone: str = SUBSCRIBER,
    sections: list[str] | tuple[str, ...] = (),
    window_hours: int | None = None,
    edition_name: str = "",
    edition_names: Collection[str] | None = None,
) -> Schedule:
    """Validate user input into an edition schedule (``build_schedule``)."""
    return build_schedule(
        {"name": name, "at": at, "days": days, "timezone": timezone, "sections": list(sections),
         "window_hours": window_hours, "edition": edition_name},
        edition_names=edition_names,
    )  # fmt: skip


def feed_schedule(name: str, *, every_minutes: int) -> Schedule:
    return build_schedule({"name": name, "every_minutes": every_minutes})


def check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ScheduleError(f"schedule name must be lowercase letters, digits, - and _: {name!r}")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
