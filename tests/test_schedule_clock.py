"""Due times across the 2026 daylight-saving transitions (pure zoneinfo arithmetic)."""

from __future__ import annotations

from datetime import date, time

import pytest

from publisher.schedule.clock import ClockError, due_time, format_days, parse_days, parse_hhmm


@pytest.mark.parametrize(
    ("zone", "day", "at", "local", "utc"),
    [
        # New York springs forward 2026-03-08 02:00 → 03:00: 02:30 does not exist, moves to 03:30.
        ("America/New_York", date(2026, 3, 8), "02:30", "2026-03-08T03:30:00-04:00", "2026-03-08T07:30:00Z"),
        ("America/New_York", date(2026, 3, 8), "07:00", "2026-03-08T07:00:00-04:00", "2026-03-08T11:00:00Z"),
        ("America/New_York", date(2026, 3, 7), "07:00", "2026-03-07T07:00:00-05:00", "2026-03-07T12:00:00Z"),
        # ... and falls back 2026-11-01 02:00 → 01:00: 01:30 happens twice, the first one counts.
        ("America/New_York", date(2026, 11, 1), "01:30", "2026-11-01T01:30:00-04:00", "2026-11-01T05:30:00Z"),
        ("America/New_York", date(2026, 11, 1), "07:00", "2026-11-01T07:00:00-05:00", "2026-11-01T12:00:00Z"),
        # London: 2026-03-29 01:00 → 02:00, and 2026-10-25 02:00 → 01:00.
        ("Europe/London", date(2026, 3, 29), "01:30", "2026-03-29T02:30:00+01:00", "2026-03-29T01:30:00Z"),
        ("Europe/London", date(2026, 3, 29), "07:00", "2026-03-29T07:00:00+01:00", "2026-03-29T06:00:00Z"),
        ("Europe/London", date(2026, 10, 25), "01:30", "2026-10-25T01:30:00+01:00", "2026-10-25T00:30:00Z"),
        ("Europe/London", date(2026, 10, 25), "07:00", "2026-10-25T07:00:00+00:00", "2026-10-25T07:00:00Z"),
        # Sydney (southern hemisphere): falls back 2026-04-05 03:00 → 02:00, springs 2026-10-04 02:00 → 03:00.
        ("Australia/Sydney", date(2026, 4, 5), "02:30", "2026-04-05T02:30:00+11:00", "2026-04-04T15:30:00Z"),
        ("Australia/Sydney", date(2026, 10, 4), "02:30", "2026-10-04T03:30:00+11:00", "2026-10-03T16:30:00Z"),
        ("Australia/Sydney", date(2026, 10, 4), "07:00", "2026-10-04T07:00:00+11:00", "2026-10-03T20:00:00Z"),
        # Kathmandu: +05:45, no daylight saving.
        ("Asia/Kathmandu", date(2026, 3, 8), "07:00", "2026-03-08T07:00:00+05:45", "2026-03-08T01:15:00Z"),
        (
            "Pacific/Kiritimati",
            date(2026, 3, 8),
            "07:00",
            "2026-03-08T07:00:00+14:00",
            "2026-03-07T17:00:00Z",
        ),
    ],
)
def test_due_time(zone: str, day: date, at: str, local: str, utc: str) -> None:
    due = due_time(day, parse_hhmm(at), zone)
    assert due.to_json() == {"timezone": zone, "local": local, "utc": utc}


def test_parse_days_and_times() -> None:
    assert parse_days("daily") == frozenset(range(7))
    assert parse_days("mon,wed, Fri") == frozenset({0, 2, 4})
    assert format_days(parse_days("fri,mon")) == "mon,fri"
    assert parse_hhmm("7:05") == time(7, 5)
    with pytest.raises(ClockError, match="not a weekday: 'funday'"):
        parse_days("mon,funday")
    with pytest.raises(ClockError, match="HH:MM"):
        parse_hhmm("25:00")
    with pytest.raises(ClockError, match="IANA"):
        due_time(date(2026, 1, 1), time(7), "Mars/Olympus")
