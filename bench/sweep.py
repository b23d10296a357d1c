"""Sweep speed on PostgreSQL: claim and enqueue 100,000 due ledger rows.

Sets up a throw-away PostgreSQL database with N subscribers, freezes an edition for a schedule
(filling its ledger: one INSERT ... SELECT), then times the sweep at the due time: claiming every
due row (UPDATE ... FOR UPDATE SKIP LOCKED, in chunks) and enqueueing the batch tasks on a real
Redis broker (under a private key prefix, purged afterwards). Target (issue 6): < 5 s for 100,000.

Usage: python bench/sweep.py [--rows N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.app import App
from publisher.article import Article
from publisher.db.schema import deliveries
from publisher.schedule.model import edition_schedule
from publisher.settings import Settings

POSTGRES = os.environ.get("PUBLISHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("PUBLISHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DUE = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
SUBSCRIBERS_SQL = """
INSERT INTO subscribers (email, email_key, name, timezone, sections, section_keys, status, created_at)
SELECT 'r' || g || '@example.com', 'r' || g || '@example.com', '', 'UTC', '', '', 'active', now()
FROM generate_series(1, :n) g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    name = f"publisher_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-{name}:"
    admin = sa.create_engine(Settings(database_url=POSTGRES).sqlalchemy_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        database_url=url, redis_url=REDIS, redis_prefix=prefix,
        var_dir="/tmp/publisher-bench", feeds_dir="/tmp/publisher-bench/feeds",
    )  # fmt: skip
    app = App(settings)
    try:
        result = run(app, args.rows)
    finally:
        app.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"rows:                   {result['rows']:,}")
        rate = result["rows"] / result["fill_s"]
        print(f"ledger fill (freeze):   {result['fill_s']:.2f} s  ({rate:,.0f} rows/s)")
        print(f"sweep: claim + enqueue: {result['sweep_s']:.2f} s  (target < 5 s), {result['tasks']} tasks")


def run(app: App, rows: int) -> dict[str, float | int]:
    app.db.upgrade()
    with app.db.begin() as conn:  # subscribers in one statement: setup, not what is measured
        conn.execute(sa.text(SUBSCRIBERS_SQL), {"n": rows})
    article = Article(slug="lead", title="Lead", section="World", summary="s", quick_looks=("b",))
    app.articles.save_many([article], published_at=DUE - timedelta(hours=20))
    app.schedules.add(edition_schedule("morning", at="07:00", timezone="UTC"))
    # The dispatcher talks to the real broker; no worker consumes, the queue is purged at the end.
    started = time.perf_counter()
    created = app.scheduler.sweep(now=DUE - timedelta(minutes=5))  # freezes the edition, fills the ledger
    fill_s = time.perf_counter() - started
    assert created.filled == rows, created
    started = time.perf_counter()
    report = app.scheduler.sweep(now=DUE)
    sweep_s = time.perf_counter() - started
    assert report.queued == rows, report
    with app.db.connect() as conn:
        queued = conn.execute(
            sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.status == "queued")
        ).scalar_one()
    assert queued == rows
    depth = redis.Redis.from_url(REDIS).llen(f"{app.settings.redis_prefix}deliveries")
    return {"rows": rows, "fill_s": round(fill_s, 3), "sweep_s": round(sweep_s, 3), "tasks": int(depth)}


if __name__ == "__main__":
    main()
