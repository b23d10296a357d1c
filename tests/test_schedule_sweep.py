"""The sweep, time-travelled across the 2026 daylight-saving transitions (embedded: in-process
sends into the Maildir outbox). Every subscriber's due time is its local send time, one edition per
name per day, each subscriber mailed once per day, late rows skipped."""

from __future__ import annotations

import mailbox
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from publisher.app import App
from publisher.article import Article
from publisher.db.schema import deliveries, editions, subscribers
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import validate

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kathmandu"]


def _seed(app: App, start: datetime, days: int) -> None:
    """Two subscribers per zone, and an article every 3 hours over the whole span."""
    app.subscribers.upsert_many(
        [
            validate(f"{z.split('/')[1].lower()}{i}@example.com", f"Reader {i}", z)
            for z in ZONES
            for i in (1, 2)
        ]
    )
    articles = []
    for n in range(days * 8 + 16):
        at = start - timedelta(days=2) + timedelta(hours=3 * n)
        articles.append(
            Article(
                slug=f"story-{n}", title=f"Story {n}", section="World", summary="s", quick_looks=("b",)
            ).with_dates(at, at)
        )
    for article in articles:
        app.articles.save_many([article], published_at=article.published_at)


def _sweep_through(app: App, start: datetime, end: datetime, step: timedelta) -> None:
    now = start
    while now <= end:
        with time_machine.travel(now, tick=False):
            app.scheduler.sweep()
        now += step


def _ledger(app: App) -> list[sa.Row]:  # type: ignore[type-arg]
    query = (
        sa.select(subscribers.c.email, subscribers.c.timezone, editions.c.date, deliveries.c.status,
                  deliveries.c.due_at, deliveries.c.sent_at)
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .join(editions, editions.c.id == deliveries.c.edition_id)
    )  # fmt: skip
    with app.db.connect() as conn:
        return list(conn.execute(query))


@pytest.mark.parametrize(
    ("days", "at"),
    [
        # New York falls back on 2026-11-01: 01:30 happens twice, the first counts.
        ((date(2026, 10, 31), date(2026, 11, 2)), "01:30"),
        # London falls back 2026-10-25; Sydney springs forward 2026-10-04 (02:30 does not exist).
        ((date(2026, 10, 3), date(2026, 10, 5)), "02:30"),
        ((date(2026, 3, 28), date(2026, 3, 30)), "07:00"),  # London springs forward 03-29
        ((date(2026, 10, 24), date(2026, 10, 26)), "01:30"),  # London falls back 10-25
        ((date(2026, 4, 4), date(2026, 4, 6)), "02:30"),  # Sydney falls back 04-05: 02:30 twice
    ],
)
def test_each_subscriber_once_a_day_at_local_time(make_settings, days, at: str) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings(sweep_interval=60))
    first_day, last_day = days
    start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with time_machine.travel(start - timedelta(days=3), tick=False):
        _seed(app, start, (end - start).days)
        app.schedules.add(edition_schedule("morning", at=at))
    step = timedelta(minutes=30)
    _sweep_through(app, start, end, step)

    rows = [r for r in _ledger(app) if first_day <= r.date <= last_day]
    assert rows, "no deliveries in the span"
    by_day = Counter((r.email, r.date) for r in rows)
    assert set(by_day.values()) == {1}  # one row per subscriber per day, whatever the DST changes
    assert len(by_day) == 8 * ((last_day - first_day).days + 1)
    hh, mm = map(int, at.split(":"))
    for row in rows:
        zone = ZoneInfo(row.timezone)
        wall = datetime(row.date.year, row.date.month, row.date.day, hh, mm, tzinfo=zone)  # fold=0
        assert row.due_at == wall.astimezone(UTC), (row.email, row.date)
        assert row.status == "sent", (row.email, row.date, row.status)
        assert row.due_at <= row.sent_at < row.due_at + step
    with app.db.connect() as conn:
        per_day = conn.execute(sa.select(editions.c.name, editions.c.date, sa.func.count()).group_by(
            editions.c.name, editions.c.date)).all()  # fmt: skip
    assert all(count == 1 for _name, _day, count in per_day)
    outbox = Counter(message["To"] for message in mailbox.Maildir(app.settings.outbox_dir, create=False))
    sent_rows = Counter(r.email for r in _ledger(app) if r.status == "sent")
    assert {k.split("<")[-1].rstrip(">"): v for k, v in outbox.items()} == dict(sent_rows)
    app.close()


def test_downtime_is_caught_up_except_past_the_lateness_limit(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings())
    day = date(2026, 6, 10)
    start = datetime(2026, 6, 9, 0, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _seed(app, start, 2)
        app.schedules.add(edition_schedule("morning", at="07:00"))
    # The scheduler was down from the day before until 09:30 UTC: London (06:00Z) is 3.5 h late
    # and skipped; New York (11:00Z) is still ahead; Sydney and Kathmandu were due long ago.
    with time_machine.travel(datetime(2026, 6, 10, 9, 30, tzinfo=UTC), tick=False):
        report = app.scheduler.sweep()
    assert report.created == [{"schedule": "morning", "edition_id": 1, "date": day.isoformat()}]
    status = {(r.timezone, r.status) for r in _ledger(app) if r.date == day}
    assert status == {
        ("Europe/London", "skipped"), ("Australia/Sydney", "skipped"), ("Asia/Kathmandu", "skipped"),
        ("America/New_York", "pending"),
    }  # fmt: skip
    assert report.late == 6
    with time_machine.travel(datetime(2026, 6, 10, 11, 0, tzinfo=UTC), tick=False):
        assert app.scheduler.sweep().queued == 2
    app.close()


def test_two_sweeps_at_once_make_one_edition(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings())
    other = App(app.settings)
    now = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        _seed(app, now, 1)
        app.schedules.add(edition_schedule("morning", at="07:00", timezone="Europe/London"))
    with time_machine.travel(now, tick=False):
        first = app.scheduler.sweep()
        second = other.scheduler.sweep()
    assert len(first.created) == 1 and second.created == []
    assert first.queued + second.queued == 8  # London 07:00 BST = 06:00Z: everyone is due now
    app.close()
    other.close()


def test_paused_schedule_and_feed_refresh(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings())
    now = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        app.schedules.add(replace(edition_schedule("morning", at="07:00"), paused=True))
        report = app.scheduler.sweep()
        assert report.created == [] and report.feeds_refreshed
        assert not app.scheduler.sweep().feeds_refreshed  # the 5-minute interval is not over
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        assert app.scheduler.sweep().feeds_refreshed
    app.close()
