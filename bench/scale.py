"""One morning at list scale on PostgreSQL: 1,000,000 subscribers in 36 time zones.

Creates a throw-away database on PUBLISHER_TEST_POSTGRES_URL (dropped at the end) and loads N
subscribers with COPY (setup, not measured). Then, through the App's own entry points:

- freezes the day's edition of a "07:00 in each reader's zone" schedule and times the ledger fill
  (one INSERT ... SELECT, each row due at its zone's 07:00, or at the reader's own hour there for
  the one reader in 20 who chose one), and the same fill again (the no-op
  every later sweep of the day repeats);
- times ``edition status`` and a ``/metrics`` scrape (the ASGI app, in-process) with the rows
  pending, again with them queued, and again once all are marked sent (one UPDATE standing in for
  the morning's sends); the medians of 5 calls;
- times the sweep at the last zone's due time: claiming every row and enqueueing the batch tasks
  on a real Redis under a private key prefix (no worker consumes; the keys are deleted at the end),
  so nothing is sent;
- reports the process's peak RSS.

Targets for 1,000,000: fill >= 75,000 rows/s, status and scrape < 200 ms each, RSS < 300 MB.

Usage: python bench/scale.py [--subscribers N] [--json]
(--json prints one line: subscribers, fill_rows_per_s, sweep_s, status_ms, metrics_ms, peak_rss_mb;
status_ms and metrics_ms are the slowest of the pending, queued and sent measurements.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.app import App
from publisher.article import Article
from publisher.schedule.model import edition_schedule
from publisher.settings import Settings

POSTGRES = os.environ.get("PUBLISHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("PUBLISHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DAY = date(2026, 6, 10)
# UTC+14 to UTC-11, with the half- and quarter-hour zones: the whole 26-hour spread of one 07:00.
ZONES = (
    "Pacific/Kiritimati", "Pacific/Auckland", "Australia/Sydney", "Australia/Adelaide", "Asia/Tokyo",
    "Asia/Shanghai", "Asia/Singapore", "Asia/Jakarta", "Asia/Yangon", "Asia/Dhaka", "Asia/Kathmandu",
    "Asia/Kolkata", "Asia/Karachi", "Asia/Kabul", "Asia/Dubai", "Asia/Tehran", "Europe/Moscow",
    "Africa/Nairobi", "Europe/Athens", "Africa/Cairo", "Europe/Berlin", "Africa/Lagos", "Europe/London",
    "UTC", "Atlantic/Azores", "Atlantic/South_Georgia", "America/Sao_Paulo", "America/St_Johns",
    "America/Halifax", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "Pacific/Pago_Pago",
)  # fmt: skip
COPY_CHUNK = 50_000  # rows per COPY write: a few MB of text at a time, never the whole list
TIMED_CALLS = 5
SENT_SQL = """
UPDATE deliveries SET status = 'sent', attempts = 1, message_id = 'bench-' || id,
    claimed_at = :start + (id / 50) * interval '1 second',
    sent_at = :start + (id / 50) * interval '1 second' + interval '200 milliseconds'
WHERE edition_id = :edition_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    name = f"publisher_scale_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-{name}:"
    url = sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        database_url=url, redis_url=REDIS, redis_prefix=prefix,
        var_dir="/tmp/publisher-scale", feeds_dir="/tmp/publisher-scale/feeds",
        # One sweep claims every zone's rows: none may count as late meanwhile.
        schedule_lateness_hours=48.0,
    )  # fmt: skip
    admin = sa.create_engine(Settings(database_url=POSTGRES).sqlalchemy_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    app = App(settings)
    try:
        result = run(app, args.subscribers)
    finally:
        app.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
    if args.json:
        keys = ("subscribers", "fill_rows_per_s", "sweep_s", "status_ms", "metrics_ms", "peak_rss_mb")
        print(json.dumps({key: result[key] for key in keys}))
    else:
        print_table(result)


def run(app: App, n: int) -> dict[str, Any]:
    app.db.upgrade()
    started = time.perf_counter()
    copy_subscribers(app, n)
    load_s = time.perf_counter() - started

    lead = Article(slug="lead", title="Lead", section="World", summary="s", quick_looks=("b",))
    midnight = datetime.combine(DAY, datetime.min.time(), UTC)
    app.articles.save_many([lead], published_at=midnight - timedelta(hours=12))
    schedule = app.schedules.add(edition_schedule("morning", at="07:00"))
    record, _ = app.scheduler.freeze(schedule, DAY)
    due = app.scheduler.due_times(schedule, DAY)
    assert isinstance(due, dict) and len({zone for zone, _hour in due}) == len(ZONES), due

    started = time.perf_counter()
    filled = app.lifecycle.fill(record.id, record.section_keys, due_at=due)
    fill_s = time.perf_counter() - started
    assert filled == n, (filled, n)
    started = time.perf_counter()
    assert app.lifecycle.fill(record.id, record.section_keys, due_at=due) == 0
    refill_s = time.perf_counter() - started

    # The same note pytest is told to ignore (pyproject.toml): the test client works as it is.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from publisher.web import create_app

    client = TestClient(create_app(app))
    status_pending = median_ms(lambda: app.editions.status(record.id))
    metrics_pending = median_ms(lambda: scrape(client))

    last_due = max(due.values())
    started = time.perf_counter()
    report = app.scheduler.sweep(now=last_due + timedelta(minutes=1))
    sweep_s = time.perf_counter() - started
    assert report.queued == n, report
    tasks = redis.Redis.from_url(REDIS).llen(f"{app.settings.redis_prefix}deliveries")
    status = app.editions.status(record.id)
    assert status["counts"]["queued"] == n, status["counts"]

    status_queued = median_ms(lambda: app.editions.status(record.id))
    metrics_queued = median_ms(lambda: scrape(client))

    # The morning after, simulated in one statement (no mail is sent): every row sent, one second
    # of sends per 50 rows; the queries that read sent rows (send rate, latency) now have work.
    with app.db.begin() as conn:
        conn.execute(sa.text(SENT_SQL), {"edition_id": record.id, "start": last_due})
    status_sent = median_ms(lambda: app.editions.status(record.id))
    metrics_sent = median_ms(lambda: scrape(client))
    # That UPDATE left a million dead row versions and a cleared visibility map, which a real
    # morning's sends, spread over minutes, leave to autovacuum as they go. Measured again once
    # vacuumed, as the figure a reader of status sees; the row above is the worst case.
    with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE deliveries"))
    status_vacuumed = median_ms(lambda: app.editions.status(record.id))
    metrics_vacuumed = median_ms(lambda: scrape(client))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "subscribers": n,
        "load_s": round(load_s, 2),
        "fill_s": round(fill_s, 2),
        "fill_rows_per_s": round(n / fill_s),
        "refill_s": round(refill_s, 2),
        "sweep_s": round(sweep_s, 2),
        "tasks": int(tasks),
        "status_pending_ms": round(status_pending, 1),
        "status_queued_ms": round(status_queued, 1),
        "metrics_pending_ms": round(metrics_pending, 1),
        "metrics_queued_ms": round(metrics_queued, 1),
        "status_sent_ms": round(status_sent, 1),
        "metrics_sent_ms": round(metrics_sent, 1),
        "status_vacuumed_ms": round(status_vacuumed, 1),
        "metrics_vacuumed_ms": round(metrics_vacuumed, 1),
        "status_ms": round(max(status_pending, status_queued, status_sent), 1),
        "metrics_ms": round(max(metrics_pending, metrics_queued, metrics_sent), 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }


def copy_subscribers(app: App, n: int) -> None:
    """N active subscribers, spread evenly over ZONES, following every section; one COPY."""
    raw = app.db.engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            columns = "email, email_key, name, timezone, sections, section_keys, status, created_at"
            with cursor.copy(f"COPY subscribers ({columns}) FROM STDIN") as copy:
                for start in range(0, n, COPY_CHUNK):
                    copy.write("".join(
                        f"r{i}@example.com\tr{i}@example.com\tReader {i}\t{ZONES[i % len(ZONES)]}\t\t\t"
                        "active\t2026-01-01 00:00:00\n"
                        for i in range(start, min(n, start + COPY_CHUNK))
                    ))  # fmt: skip
            # One reader in 20 chose their own hour (05:00-10:00 on the quarter hour): the fill's
            # second CASE, on (zone, hour), is measured too.
            cursor.execute("UPDATE subscribers SET send_time = to_char(time '05:00' + (id % 21) * interval "
                           "'15 minutes', 'HH24:MI') WHERE id % 20 = 0")  # fmt: skip
            cursor.execute("ANALYZE subscribers")
        raw.commit()
    finally:
        raw.close()


def scrape(client: Any) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200 and b"publisher_deliveries" in response.content


def median_ms(call: Callable[[], object]) -> float:
    times = []
    for _ in range(TIMED_CALLS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def print_table(r: dict[str, Any]) -> None:
    def ok(good: bool) -> str:
        return "ok" if good else "MISSED"

    rows = [
        ("subscribers (COPY, setup)", f"{r['subscribers']:,} in {r['load_s']:.1f} s", "", ""),
        (
            "ledger fill",
            f"{r['fill_rows_per_s']:,} rows/s ({r['fill_s']:.2f} s)",
            ">= 75,000 rows/s",
            ok(r["fill_rows_per_s"] >= 75_000),
        ),
        ("same fill again (no-op)", f"{r['refill_s']:.2f} s", "", ""),
        ("sweep: claim + enqueue", f"{r['sweep_s']:.2f} s, {r['tasks']:,} tasks", "", ""),
    ]
    for what, key in (("edition status", "status"), ("/metrics", "metrics")):
        for state in ("pending", "queued", "sent", "vacuumed"):
            value = r[f"{key}_{state}_ms"]
            label = "rows sent, vacuumed" if state == "vacuumed" else f"rows {state}"
            rows.append((f"{what}, {label}", f"{value:.0f} ms", "< 200 ms", ok(value < 200)))
    rows += [
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MB", "< 300 MB", ok(r["peak_rss_mb"] < 300)),
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])


if __name__ == "__main__":
    main()
