"""Prometheus metrics, read at scrape time from the shared state (database, Redis).

The web process answers ``/metrics`` for the whole deployment, so nothing here is a counter living
in one process's memory: deliveries by status and send latency come from the ledger, queue depth
from the broker, sweep and feed-build timings from ``runtime_stats``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily

from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.tasks import QUEUES

if TYPE_CHECKING:
    from publisher.app import App

STATUSES = ("pending", "queued", "sending", "sent", "failed", "skipped")
LATENCY_SAMPLE = 10_000  # the newest sent rows that the latency quantiles are computed from
QUANTILES = (0.5, 0.9, 0.99)


class PublisherCollector:
    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield self._deliveries()
        yield from self._latency()
        yield self._queue_depth()
        stats = self.app.stats.all()
        for name, metric, doc in (
            ("sweep", "publisher_sweep_duration_seconds", "Duration of the scheduler's sweeps"),
            ("feed_build", "publisher_feed_build_seconds", "Duration of feed builds"),
        ):
            family = SummaryMetricFamily(metric, doc)
            stat = stats.get(name)
            family.add_metric(
                [], count_value=stat.count if stat else 0, sum_value=stat.total if stat else 0.0
            )
            yield family
            last = GaugeMetricFamily(
                f"{metric.removesuffix('_seconds')}_last_seconds", f"{doc}: the last one"
            )
            last.add_metric([], stat.last if stat else 0.0)
            yield last

    def _deliveries(self) -> Metric:
        family = GaugeMetricFamily(
            "publisher_deliveries", "Delivery ledger rows by status", labels=["status"]
        )
        with self.app.db.connect() as conn:
            counts = dict(conn.execute(sa.select(d.c.status, sa.func.count()).group_by(d.c.status)).all())
        for status in STATUSES:
            family.add_metric([status], counts.get(status, 0))
        return family

    def _latency(self) -> tuple[Metric, Metric]:
        """Due (or edition start) to accepted by the SMTP server, over the newest sent rows."""
        started = sa.func.coalesce(d.c.due_at, e.c.started_at, e.c.created_at)
        query = (
            sa.select(d.c.sent_at, started.label("started"))
            .join(e, e.c.id == d.c.edition_id)
            .where(d.c.status == "sent", d.c.sent_at.is_not(None))
            .order_by(d.c.sent_at.desc())
            .limit(LATENCY_SAMPLE)
        )
        with self.app.db.connect() as conn:
            rows = conn.execute(query).all()
        values = sorted(max(0.0, (r.sent_at - r.started).total_seconds()) for r in rows if r.started)
        family = SummaryMetricFamily(
            "publisher_send_latency_seconds", "From due to accepted by the SMTP server (newest sends)"
        )
        family.add_metric([], count_value=len(values), sum_value=sum(values))
        quantiles = GaugeMetricFamily(
            "publisher_send_latency_quantile_seconds", "Send latency quantiles", labels=["quantile"]
        )
        for q in QUANTILES:
            quantiles.add_metric(
                [str(q)], values[min(len(values) - 1, int(q * len(values)))] if values else 0.0
            )
        return family, quantiles

    def _queue_depth(self) -> Metric:
        family = GaugeMetricFamily("publisher_queue_depth", "Tasks waiting in each queue", labels=["queue"])
        depths = dict.fromkeys(QUEUES, 0)
        if self.app.settings.redis_url:
            import redis

            client = redis.Redis.from_url(self.app.settings.redis_url, socket_timeout=2)
            try:
                for queue in QUEUES:
                    depths[queue] = int(client.llen(f"{self.app.settings.redis_prefix}{queue}"))
            except redis.RedisError:
                pass  # the broker being down shows as zero depth; /healthz reports it
            finally:
                client.close()
        for queue, depth in depths.items():
            family.add_metric([queue], depth)
        return family


def render_metrics(app: App) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    collector = PublisherCollector(app)
    registry.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry)
