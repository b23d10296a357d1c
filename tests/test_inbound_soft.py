"""Soft bounces are counted: the limit-th within the window makes the reader bounced, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from publisher.app import App
from publisher.db.schema import subscriber_events, subscribers
from publisher.inbound.process import Inbound
from publisher.subscribers.lifecycle import now_utc
from publisher.subscribers.model import NewSubscriber

SOFT = (Path(__file__).parent / "data" / "bounces" / "gmail_soft.eml").read_bytes()
OLD_ID = b"Message-ID: <6a4b2c3d.050a0220.1a2b.0002.GMR@mx.google.com>"


def _report(n: int) -> bytes:
    return SOFT.replace(OLD_ID, f"Message-ID: <soft{n}@mx.google.example>".encode())


def _reader(app: App) -> tuple[int, str]:
    with app.db.connect() as conn:
        row = conn.execute(sa.select(subscribers.c.id, subscribers.c.status)).one()
        return int(row.id), row.status


def _count(app: App, kind: str) -> int:
    with app.db.connect() as conn:
        query = sa.select(sa.func.count()).where(subscriber_events.c.kind == kind)
        return int(conn.execute(query).scalar_one())


def test_the_third_soft_bounce_bounces_the_reader(app: App) -> None:
    app.subscriber_lifecycle.import_many([NewSubscriber("frank@gmail.example")])
    inbound = Inbound(app.settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key)
    assert inbound.process(_report(1)).action == "counted (1 of 3 in 14 days)"
    assert inbound.process(_report(1)).action == "none (already counted)"  # the same report again
    assert inbound.process(_report(2)).action == "counted (2 of 3 in 14 days)"
    assert _reader(app)[1] == "active"
    assert inbound.process(_report(3)).action == "bounced"
    assert _reader(app)[1] == "bounced"
    assert app.subscriber_lifecycle.is_suppressed("frank@gmail.example")
    assert inbound.process(_report(4)).action == "none (already bounced)"
    assert _count(app, "soft-bounce") == 3
    assert _count(app, "bounce") == 1


def test_soft_bounces_outside_the_window_do_not_count(app: App) -> None:
    app.subscriber_lifecycle.import_many([NewSubscriber("frank@gmail.example")])
    reader, _ = _reader(app)
    lifecycle = app.subscriber_lifecycle
    now = now_utc()
    for n, days_ago in enumerate((30, 20, 1)):
        recorded, _, moved = lifecycle.soft_bounce(reader, f"soft {n}", limit=3, days=14,
                                                   now=now - timedelta(days=days_ago))  # fmt: skip
        assert recorded and not moved
    assert lifecycle.soft_bounce(reader, "soft 3", limit=3, days=14, now=now) == (True, 2, False)
    assert lifecycle.soft_bounce(reader, "soft 4", limit=3, days=14, now=now) == (True, 3, True)
    assert _reader(app)[1] == "bounced"
