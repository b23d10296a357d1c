"""``/metrics``: Prometheus text with deliveries by status, latency, queue depth and timings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from publisher.app import App
from publisher.db.schema import deliveries, editions, subscribers
from publisher.web import create_app

T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def _ledger(app: App) -> None:
    with app.db.begin() as conn:
        conn.execute(editions.insert().values(
            id=1, name="morning", title="Morning Edition", date=date(2026, 11, 25), cutoff=T0,
            status="sending", article_slugs=[], section_keys=[], max_articles=12, created_at=T0,
            started_at=T0,
        ))  # fmt: skip
        conn.execute(subscribers.insert(), [
            {"id": i, "email": f"r{i}@example.com", "email_key": f"r{i}@example.com", "name": "",
             "timezone": "UTC", "sections": "", "section_keys": "", "status": "active", "created_at": T0}
            for i in range(1, 6)
        ])  # fmt: skip
        rows = [("sent", 2), ("sent", 4), ("failed", None), ("pending", None), ("queued", None)]
        conn.execute(deliveries.insert(), [
            {"edition_id": 1, "subscriber_id": i, "status": status, "attempts": 1, "due_at": T0,
             "sent_at": T0 + timedelta(seconds=secs) if secs else None}
            for i, (status, secs) in enumerate(rows, start=1)
        ])  # fmt: skip


def test_metrics(app: App) -> None:
    _ledger(app)
    app.stats.record("sweep", 0.25)
    app.stats.record("sweep", 0.75)
    with TestClient(create_app(app)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("publisher_deliveries", (("status", "sent"),))] == 2
    assert samples[("publisher_deliveries", (("status", "failed"),))] == 1
    assert samples[("publisher_deliveries", (("status", "sending"),))] == 0
    assert samples[("publisher_send_latency_seconds_count", ())] == 2
    assert samples[("publisher_send_latency_seconds_sum", ())] == 6.0
    assert samples[("publisher_sweep_duration_seconds_count", ())] == 2
    assert samples[("publisher_sweep_duration_seconds_sum", ())] == 1.0
    assert samples[("publisher_sweep_duration_last_seconds", ())] == 0.75
    assert samples[("publisher_queue_depth", (("queue", "deliveries"),))] == 0
    assert samples[("publisher_feed_build_seconds_count", ())] == 0
    with app.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 5


def test_feed_builds_are_timed(app: App) -> None:
    app.publish([])  # nothing changed: no refresh
    assert "feed_build" not in app.stats.all()
    from publisher.article import Article

    app.publish([Article(slug="a", title="A", section="World", summary="s")])
    stat = app.stats.all()["feed_build"]
    assert stat.count == 1 and 0 < stat.last < 5
