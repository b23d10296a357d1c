"""The console's Today read model on SQLite and PostgreSQL: an edition's wave step by step through
the time zones (counts per state, zones and their local times, due, rate, ETA), the next editions,
feed freshness, the queue (with a real Redis broker), recent errors. Mail goes to a real SMTP
server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from publisher.app import App
from publisher.article import Article
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import validate
from tests.conftest import RedisPlace
from tests.smtp_recorder import Recorder, SmtpServer

T0 = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)  # Kathmandu's 07:00 (01:15Z) has passed; London's has not
READERS = {
    "ktm@example.com": "Asia/Kathmandu",  # 07:00 +05:45 = 01:15Z
    "ldn1@example.com": "Europe/London",  # 07:00 BST = 06:00Z
    "ldn2@example.com": "Europe/London",
    "lagos@example.com": "Africa/Lagos",  # 07:00 WAT = 06:00Z too: the same step as London
    "early@example.com": "Europe/London",  # chose 06:30: 05:30Z
    "ny@example.com": "America/New_York",  # 07:00 EDT = 11:00Z; its server refuses the address
}


def _at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(Recorder(bounce=frozenset({"ny@example.com"}))) as server:
        yield server


@pytest.fixture
def morning(any_db_app: App, smtp: SmtpServer) -> Iterator[App]:
    """Six readers in four zones, three stories, a 07:00 schedule; the App sends to the SMTP server."""
    app = App(any_db_app.settings.replace(smtp_url=smtp.url))
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        app.subscribers.upsert_many([validate(email, "", zone) for email, zone in READERS.items()])
        early = app.subscribers.find("early@example.com")
        assert early is not None
        app.subscribers.set_preferences(
            early.id, name="", timezone="Europe/London", sections=(), hour="06:30"
        )
        for n in range(3):
            article = Article(slug=f"s{n}", title=f"Story {n}", section="World", summary="sum",
                              quick_looks=("bullet",))  # fmt: skip
            app.articles.save_many([article], published_at=T0 - timedelta(hours=20 - n))
        app.schedules.add(edition_schedule("morning", at="07:00"))
    yield app
    app.close()


def _sweep(app: App, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        report = app.scheduler.sweep()
    return int(report.created[0]["edition_id"]) if report.created else 0


def _steps(wave) -> list[tuple[datetime | None, int, dict[str, int]]]:  # type: ignore[no-untyped-def]
    return [(s.due_at, s.readers, {k: v for k, v in s.counts.items() if v}) for s in wave.steps]


def test_the_wave_steps_through_the_zones_with_counts_rate_and_eta(morning: App) -> None:
    app = morning
    edition_id = _sweep(app, T0)  # frozen, filled, Kathmandu sent
    record = app.edition_store.get(edition_id)
    assert record is not None and record.status == "sending"
    wave = app.today.waves.wave(edition_id, record.status, T0)
    assert _steps(wave) == [
        (_at(1, 15), 1, {"sent": 1}),
        (_at(5, 30), 1, {"pending": 1}),
        (_at(6, 0), 3, {"pending": 3}),
        (_at(11, 0), 1, {"pending": 1}),
    ]
    london_step = wave.steps[2]
    assert [(z.timezone, z.readers) for z in london_step.zones] == [("Europe/London", 2), ("Africa/Lagos", 1)]
    assert [z.local.strftime("%H:%M %z") for z in london_step.zones if z.local] == [
        "07:00 +0100",
        "07:00 +0100",
    ]
    assert wave.steps[1].zones[0].local.strftime("%H:%M") == "06:30"  # type: ignore[union-attr]
    assert (wave.readers, wave.due, wave.open, wave.done) == (6, 0, 5, 1)
    assert [s.is_due for s in wave.steps] == [True, False, False, False]
    assert wave.next_due == _at(5, 30)
    # One sent in the last minute: 1/60 per second; each step starts at its due time, one a minute.
    assert wave.rate == pytest.approx(1 / 60)
    assert wave.eta == _at(11, 1)

    # 06:05, before the sweep: London's two steps are due and not sent.
    later = app.today.waves.wave(edition_id, "sending", _at(6, 5))
    assert later.due == 4 and [s.due for s in later.steps] == [0, 1, 3, 0]
    assert later.rate is None and later.eta is None  # nothing sent in the last minute: no guess

    _sweep(app, _at(6, 5))
    after = app.today.waves.wave(edition_id, "sending", _at(6, 5))
    assert after.counts["sent"] == 5 and after.due == 0
    assert after.rate == pytest.approx(4 / 60)
    assert after.eta == _at(11, 0) + timedelta(seconds=15)  # New York's one row at 4 a minute

    _sweep(app, _at(11, 1))  # New York: refused with a 550, failed
    done = app.today.waves.wave(edition_id, "sent", _at(11, 1))
    assert done.counts == {"pending": 0, "queued": 0, "sending": 0, "sent": 5, "failed": 1, "skipped": 0}
    assert done.eta is None and done.open == 0


def test_the_zones_are_read_once_until_a_step_changes(morning: App) -> None:
    app = morning
    edition_id = _sweep(app, T0)
    joins: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "JOIN subscribers" in statement and "GROUP BY subscribers.timezone" in statement:
            joins.append(statement)

    sa.event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        waves = app.today.waves
        for _ in range(3):
            waves.wave(edition_id, "sending", T0)
        assert len(joins) == 1
        _sweep(app, _at(6, 5))  # rows move from pending to sent: the steps keep their totals
        waves.wave(edition_id, "sending", _at(6, 5))
        assert len(joins) == 1
        # New York's row moves to 11:15: its step changed, so the zones are read again.
        assert app.editions.reschedule(edition_id, delay=timedelta(minutes=15)).rows == 1
        moved = waves.wave(edition_id, "sending", _at(6, 5))
        assert len(joins) == 2
        assert moved.steps[-1].due_at == _at(11, 15)
        assert [(z.timezone, z.local.strftime("%H:%M")) for z in moved.steps[-1].zones if z.local] == [
            ("America/New_York", "07:15")
        ]
    finally:
        sa.event.remove(app.db.engine, "before_cursor_execute", count)


def test_today_shows_the_running_edition_the_next_one_feeds_queue_and_errors(morning: App) -> None:
    app = morning
    edition_id = _sweep(app, T0)
    with time_machine.travel(T0, tick=False):
        app.dispatcher.enqueue("feeds.refresh")  # the task, as the beat runs it: timed for the page
    today = app.today.today(T0)
    [running] = today.running
    assert running.edition.id == edition_id and running.wave.readers == 6
    assert running.reports.sent == 1 and running.reports.to_json()["complaint_rate"] == 0.0
    # Tomorrow's edition is next: its first readers are those who chose 06:30 in UTC+14.
    [upcoming] = today.upcoming
    assert (upcoming.name, upcoming.day.isoformat(), upcoming.schedule) == (
        "morning",
        "2026-06-11",
        "morning",
    )
    assert upcoming.first == _at(16, 30)  # 06:30 on the 11th at UTC+14
    assert upcoming.last == _at(19, 0, day=11)  # 07:00 at UTC-12
    assert upcoming.freeze_at == upcoming.first - timedelta(minutes=app.settings.schedule_freeze_minutes)
    # Feeds: the site's and World's, three stories each, the newest published 18 hours before T0.
    assert [(f.path, f.items, f.newest) for f in today.feeds] == [
        ("index.json", 3, T0 - timedelta(hours=18)),
        ("sections/world.json", 3, T0 - timedelta(hours=18)),
    ]
    assert today.feeds_built is not None and today.feeds_built.updated_at == T0
    assert today.queue.to_json() == {"queued": 0, "sending": 0, "broker": None}
    assert today.problems == []

    # Two rows queued as if claimed by the sweep; the New York reader refused by its server.
    assert len(app.lifecycle.queue_pending(edition_id, _at(6, 1))) == 4
    assert app.today.queue().queued == 4
    _sweep(app, _at(11, 1))
    app.lifecycle.halt(edition_id, "DKIM key unreadable")  # too late to halt: it is sent
    problems = app.today.problems(_at(11, 2))
    assert [(p.kind, p.count) for p in problems] == [("failed", 1)]
    assert "550" in problems[0].text and problems[0].edition_id == edition_id
    # A halted edition comes first with its cause.
    app.articles.save_many([Article(slug="s9", title="Story 9", section="World", summary="sum",
                                    quick_looks=("bullet",))], published_at=_at(12))  # fmt: skip
    tomorrow = _sweep(app, _at(18, 0))  # tomorrow's edition is frozen at 16:30 - lead
    assert tomorrow and app.lifecycle.halt(tomorrow, "DKIM key unreadable")
    halted = app.today.problems(_at(18, 1))
    assert (halted[0].kind, halted[0].text, halted[0].edition_id) == (
        "halted",
        "DKIM key unreadable",
        tomorrow,
    )
    moving = app.today.today(_at(18, 1))
    assert [r.edition.id for r in moving.running] == [tomorrow, edition_id]  # the sent one: recently
    assert [r.edition.status for r in moving.running] == ["halted", "sent"]


def test_the_feeds_freshness_reads_a_feed_again_only_when_it_changed(app: App) -> None:
    app.publish([Article(slug="a", title="A", section="World", summary="s")])
    reader = app.today.feeds
    [site, world] = reader.feeds()
    assert (site.items, world.items, world.section) == (1, 1, "world")
    assert reader.feeds()[0] is site  # the same file: not parsed again
    app.publish([Article(slug="b", title="B", section="Sports", summary="s")])
    feeds = reader.feeds()
    assert [(f.path, f.items) for f in feeds] == [("index.json", 2), ("sections/sports.json", 1),
                                                  ("sections/world.json", 1)]  # fmt: skip
    Path(app.settings.feeds_dir, "index.json").write_text("{")
    assert reader.feeds()[0].readable is False


def test_the_broker_queues_are_counted_on_redis(make_settings, redis_url: RedisPlace) -> None:
    from publisher.queues import queue_lengths

    settings = make_settings(redis_url=redis_url.url, redis_prefix=redis_url.prefix)
    app = App(settings)
    try:
        assert app.today.queue().broker == {"editions": 0, "deliveries": 0, "feeds": 0}
        app.dispatcher.enqueue("deliveries.send_batch", edition_id=1, ids=[1, 2])
        app.dispatcher.enqueue("feeds.refresh")
        assert queue_lengths(settings) == {"editions": 0, "deliveries": 1, "feeds": 1}
        assert app.today.queue().broker == {"editions": 0, "deliveries": 1, "feeds": 1}
    finally:
        app.close()
    assert queue_lengths(settings.replace(redis_url="redis://127.0.0.1:1/0")) is None  # nobody there
    assert queue_lengths(make_settings()) is None  # no broker: tasks run in-process
