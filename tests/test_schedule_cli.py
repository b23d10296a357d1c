"""``publisher schedule ...``: schedules stored as data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest

from publisher.app import App
from publisher.schedule.model import edition_schedule, feed_schedule
from publisher.schedule.store import ScheduleExistsError


def test_store_round_trip(any_db_app: App) -> None:
    store = any_db_app.schedules
    added = store.add(
        edition_schedule("morning", at="07:00", days="mon,fri", sections=["World"], window_hours=12)
    )
    assert store.get("morning") == added
    with pytest.raises(ScheduleExistsError):
        store.add(edition_schedule("morning", at="08:00"))
    store.set_paused("morning", True)
    assert store.get("morning").paused is True  # type: ignore[union-attr]
    assert store.feed_refresh().interval_minutes == 5
    assert [s.name for s in store.list()] == ["feeds", "morning"]
    assert store.remove("morning") and not store.remove("morning")


def test_mark_run_is_compare_and_set(any_db_app: App) -> None:
    from datetime import UTC, datetime

    store = any_db_app.schedules
    store.add(feed_schedule("feeds", every_minutes=5))
    first = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    assert store.mark_run("feeds", first, previous=None)
    assert not store.mark_run("feeds", first, previous=None)  # a second sweep lost the race
    assert store.mark_run("feeds", first.replace(minute=5), previous=first)


def test_due_times_across_spring_forward(cli) -> None:  # type: ignore[no-untyped-def]
    cli("schedule", "add", "morning", "--at", "07:30")
    cli("schedule", "add", "early", "--at", "02:30", "--edition", "morning")
    out = cli("schedule", "due-times", "early", "--date", "2026-03-08", "--timezone", "America/New_York",
              "--timezone", "Asia/Kathmandu", "--json")  # fmt: skip
    assert json.loads(out) == [
        {"timezone": "America/New_York", "local": "2026-03-08T03:30:00-04:00", "utc": "2026-03-08T07:30:00Z"},
        {"timezone": "Asia/Kathmandu", "local": "2026-03-08T02:30:00+05:45", "utc": "2026-03-07T20:45:00Z"},
    ]


def test_fixed_zone_policy_sends_everyone_at_once(cli) -> None:  # type: ignore[no-untyped-def]
    cli("schedule", "add", "ny", "--at", "07:00", "--timezone", "America/New_York", "--days", "sun",
        "--edition", "morning")  # fmt: skip
    out = cli("schedule", "due-times", "ny", "--date", "2026-11-01", "--timezone", "Europe/London",
              "--timezone", "UTC", "--json")  # fmt: skip
    rows = json.loads(out)
    assert {r["utc"] for r in rows} == {"2026-11-01T12:00:00Z"}
    assert rows[0]["local"] == "2026-11-01T12:00:00+00:00"
    assert date(2026, 11, 2).weekday() == 0
    no_run = cli("schedule", "due-times", "ny", "--date", "2026-11-02", "--timezone", "UTC", "--json")
    assert json.loads(no_run) == []


def test_list_pause_resume_remove_and_errors(cli) -> None:  # type: ignore[no-untyped-def]
    assert "added  morning: edition 'morning' at 07:00" in cli("schedule", "add", "morning", "--at", "07:00")
    assert "feed refresh every 10 min" in cli("schedule", "add", "feeds", "--every", "10")
    cli("schedule", "pause", "morning")
    listed = {s["name"]: s for s in json.loads(cli("schedule", "list", "--json"))}
    assert listed["morning"]["paused"] is True and listed["feeds"]["every_minutes"] == 10
    cli("schedule", "resume", "morning")
    assert "(paused)" not in cli("schedule", "list")
    assert "exists already" in cli("schedule", "add", "morning", "--at", "08:00", code=1)
    assert "HH:MM" in cli("schedule", "add", "bad", "--at", "7 am", code=1)
    assert "IANA" in cli("schedule", "add", "bad", "--at", "07:00", "--timezone", "Mars/Base", code=1)
    assert "not a weekday" in cli("schedule", "add", "bad", "--at", "07:00", "--days", "caturday", code=1)
    assert "either --at" in cli("schedule", "add", "bad", code=2)
    assert "IANA" in cli(
        "schedule", "due-times", "morning", "--date", "2026-01-01", "--timezone", "X/Y", code=1
    )
    assert "removed  morning" in cli("schedule", "remove", "morning")
    assert "no schedule named 'morning'" in cli("schedule", "remove", "morning", code=1)
