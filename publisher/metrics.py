"""Prometheus metrics, read at scrape time from the shared state (database, Redis).

The web process answers ``/metrics`` for the whole deployment, so nothing here is a counter living
in one process's memory: deliveries by status and send latency come from the ledger, queue depth
from the broker, sweep and feed-build timings from ``runtime_stats``.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.reputation import COMPLAINT_LIMIT, ReputationGuard
from publisher.delivery.states import DeliveryState, EditionState
from publisher.queues import queue_lengths
from publisher.settings import Settings
from publisher.stats import StatsStore
from publisher.tasks import QUEUES

LATENCY_SAMPLE = 2_000  # the newest sent rows the latency quantiles come from (p99: the top 20)
QUANTILES = (0.5, 0.9, 0.99)


class PublisherCollector:
    def __init__(self, settings: Settings, db: Database, stats: StatsStore) -> None:
        self.settings = settings
        self.db = db
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        yield self._deliveries()
        yield from self._editions()
        yield from self._reports()
        yield from self._latency()
        yield self._queue_depth()
        stats = self.stats.all()
        limited = CounterMetricFamily(
            "publisher_subscribe_limited", "Signups answered but not acted on: a rate or resend limit hit"
        )
        stat = stats.get("subscribe_limited")
        limited.add_metric([], stat.count if stat else 0)
        yield limited
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
        with self.db.connect() as conn:
            counts = dict(conn.execute(sa.select(d.c.status, sa.func.count()).group_by(d.c.status)).all())
        for status in DeliveryState:
            family.add_metric([str(status)], counts.get(str(status), 0))
        return family

    def _editions(self) -> tuple[Metric, Metric]:
        """Editions by state, and one series per halted edition: an alert rule needs nothing else."""
        by_state = GaugeMetricFamily("publisher_editions", "Editions by state", labels=["status"])
        halted = GaugeMetricFamily(
            "publisher_edition_halted", "Editions halted on publisher's own fault (1 each)",
            labels=["edition_id", "name", "date"],
        )  # fmt: skip
        with self.db.connect() as conn:
            counts = dict(conn.execute(sa.select(e.c.status, sa.func.count()).group_by(e.c.status)).all())
            stopped = conn.execute(
                sa.select(e.c.id, e.c.name, e.c.date).where(e.c.status == str(EditionState.HALTED))
            ).all()
        for state in EditionState:
            by_state.add_metric([str(state)], counts.get(str(state), 0))
        for row in stopped:
            halted.add_metric([str(row.id), row.name, row.date.isoformat()], 1)
        return by_state, halted

    def _reports(self) -> tuple[Metric, Metric, Metric, Metric]:
        """Per recent edition: hard bounces, soft bounces and complaints reported about it, and
        their rates over its sent rows; per recent day, the complaint rate and whether it is over
        0.3 % (Gmail's and Yahoo's limit)."""
        labels = ["edition_id", "name", "date", "kind"]
        counts = GaugeMetricFamily(
            "publisher_edition_reports", "Returned-mail reports about an edition, by kind", labels=labels
        )
        rates = GaugeMetricFamily(
            "publisher_edition_report_rate", "Reports about an edition by kind, over its sent rows",
            labels=labels,
        )  # fmt: skip
        daily = GaugeMetricFamily(
            "publisher_daily_complaint_rate", "Complaints over sent rows of each day's editions",
            labels=["date"],
        )  # fmt: skip
        warning = GaugeMetricFamily(
            "publisher_complaint_rate_warning",
            f"1 for a day whose complaint rate is over {COMPLAINT_LIMIT:.1%}", labels=["date"],
        )  # fmt: skip
        guard = ReputationGuard(self.db, Lifecycle(self.db), self.settings.bounce_pause_rate)
        for row, rep in guard.recent(limit=30):
            base = [str(row.id), row.name, row.date.isoformat()]
            for kind, n in (("hard_bounce", rep.hard_bounces), ("soft_bounce", rep.soft_bounces),
                            ("complaint", rep.complaints)):  # fmt: skip
                counts.add_metric([*base, kind], n)
                rates.add_metric([*base, kind], rep.rate(n) or 0.0)
        for day in guard.daily(days=7):
            daily.add_metric([day["date"]], day["complaint_rate"])
            warning.add_metric([day["date"]], 1 if day["warning"] else 0)
        return counts, rates, daily, warning

    def _latency(self) -> tuple[Metric, Metric]:
        """Due (or edition start) to accepted by the SMTP server, over the newest sent rows."""
        started = sa.func.coalesce(d.c.due_at, e.c.started_at, e.c.created_at)
        # "Newest" by claim time, not sent_at: (status, claimed_at) is indexed, so this reads the
        # last LATENCY_SAMPLE index entries instead of sorting every sent row ever (330 ms at 1M
        # sent rows, growing with each edition; 6 ms this way). A row is sent within its lease of
        # being claimed, so the two orders pick nearly the same rows.
        query = (
            sa.select(d.c.sent_at, started.label("started"))
            .join(e, e.c.id == d.c.edition_id)
            .where(d.c.status == "sent", d.c.sent_at.is_not(None))
            .order_by(d.c.claimed_at.desc())
            .limit(LATENCY_SAMPLE)
        )
        with self.db.connect() as conn:
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
        # No broker, or the broker being down, shows as zero depth; /healthz reports it.
        depths = queue_lengths(self.settings) or dict.fromkeys(QUEUES, 0)
        for queue, depth in depths.items():
            family.add_metric([queue], depth)
        return family


def render_metrics(settings: Settings, db: Database, stats: StatsStore) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    collector = PublisherCollector(settings, db, stats)
    registry.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry)
