"""What the sweep should do at a given instant (pure functions of schedules and the clock).

An edition of day D at local time T reaches its first readers at T in UTC+14 and its last at T in
UTC-12 (subscriber policy; readers who chose their own hour widen that to their earliest and latest
hour), or everyone at T in the fixed zone. Its articles are frozen ``lead``
before the first of those instants, so every zone gets the same edition; rows still unsent more than
``lateness`` after their own due time are skipped — no morning edition at lunchtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from publisher.schedule.clock import due_time, window_utc
from publisher.schedule.model import EDITION, FEEDS, SUBSCRIBER, Schedule


def send_window(schedule: Schedule, day: date, hours: Iterable[time] = ()) -> tuple[datetime, datetime]:
    """First and last due instant (UTC) of ``day``'s edition of ``schedule``; ``hours`` are the
    readers' own hours in use (subscriber policy), which widen the window."""
    assert schedule.send_time is not None
    if schedule.timezone == SUBSCRIBER:
        times = [schedule.send_time, *hours]
        return window_utc(day, min(times))[0], window_utc(day, max(times))[1]
    instant = due_time(day, schedule.send_time, schedule.timezone).utc
    return instant, instant


def editions_to_create(
    schedule: Schedule, now: datetime, *, lead: timedelta, lateness: timedelta, hours: Iterable[time] = ()
) -> list[date]:
    """The days whose edition should exist at ``now``: frozen from ``first - lead`` until the
    last zone's due time plus the lateness limit (so a sweep after downtime still catches up)."""
    if schedule.kind != EDITION or schedule.paused or schedule.send_time is None:
        return []
    days = []
    today = now.date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        if not schedule.runs_on(day):
            continue
        first, last = send_window(schedule, day, hours)
        if first - lead <= now <= last + lateness:
            days.append(day)
    return days


def feed_refresh_due(schedule: Schedule, now: datetime) -> bool:
    if schedule.kind != FEEDS or schedule.paused or not schedule.interval_minutes:
        return False
    if schedule.last_run_at is None:
        return True
    return now - schedule.last_run_at >= timedelta(minutes=schedule.interval_minutes) - timedelta(seconds=1)
