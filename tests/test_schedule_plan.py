"""When the sweep creates an edition and refreshes feeds (pure planning)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from publisher.schedule.model import edition_schedule, feed_schedule
from publisher.schedule.plan import editions_to_create, feed_refresh_due, send_window

LEAD = timedelta(minutes=10)
LATE = timedelta(hours=3)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_subscriber_policy_window_spans_all_zones() -> None:
    schedule = edition_schedule("morning", at="07:00")
    assert send_window(schedule, date(2026, 11, 25)) == (at("2026-11-24T17:00"), at("2026-11-25T19:00"))


def test_edition_is_created_before_the_first_zone_and_until_the_last_plus_lateness() -> None:
    schedule = edition_schedule("morning", at="07:00")
    day = date(2026, 11, 25)
    yesterday = day - timedelta(days=1)  # still going out to the western zones
    assert editions_to_create(schedule, at("2026-11-24T16:49"), lead=LEAD, lateness=LATE) == [yesterday]
    assert editions_to_create(schedule, at("2026-11-24T16:50"), lead=LEAD, lateness=LATE) == [yesterday, day]
    # Around midnight UTC two days' editions are live at once (yesterday's western zones, today's).
    both = editions_to_create(schedule, at("2026-11-25T17:30"), lead=LEAD, lateness=LATE)
    assert both == [day, day + timedelta(days=1)]
    assert editions_to_create(schedule, at("2026-11-25T22:01"), lead=LEAD, lateness=LATE) == [
        date(2026, 11, 26)
    ]


def test_fixed_zone_days_and_pause() -> None:
    schedule = edition_schedule("ny", at="07:00", timezone="America/New_York", days="wed")
    assert editions_to_create(schedule, at("2026-11-25T11:55"), lead=LEAD, lateness=LATE) == [
        date(2026, 11, 25)
    ]
    assert editions_to_create(schedule, at("2026-11-26T11:55"), lead=LEAD, lateness=LATE) == []  # Thursday
    assert editions_to_create(schedule, at("2026-11-25T15:01"), lead=LEAD, lateness=LATE) == []
    from dataclasses import replace

    paused = replace(schedule, paused=True)
    assert editions_to_create(paused, at("2026-11-25T11:55"), lead=LEAD, lateness=LATE) == []


def test_feed_refresh_interval() -> None:
    from dataclasses import replace

    schedule = feed_schedule("feeds", every_minutes=5)
    now = at("2026-11-25T07:00")
    assert feed_refresh_due(schedule, now)
    ran = replace(schedule, last_run_at=now)
    assert not feed_refresh_due(ran, now + timedelta(minutes=4))
    assert feed_refresh_due(ran, now + timedelta(minutes=5))
    assert not feed_refresh_due(replace(ran, paused=True), now + timedelta(minutes=50))
