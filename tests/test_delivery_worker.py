"""Delivery through Redis and real Celery workers, to a real (and unreliable) SMTP server.

- 2,000 subscribers, the server answering 451 to 20% of messages, dropping 2% of connections
  and refusing some addresses with 550; every batch task delivered twice: each active subscriber
  gets the edition exactly once.
- A ``publisher worker`` SIGKILLed in the middle of a 2,000-subscriber send and a new one started:
  nobody is missing, and at most the stated bound of messages (sent, not yet recorded) goes out
  twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.app import App
from publisher.delivery.send import UNRECORDED_BOUND
from publisher.settings import Settings
from tests.conftest import RedisPlace
from tests.delivery_helpers import reader, seed, wait_until_done
from tests.smtp_recorder import Recorder, SmtpServer

N = 2000


@pytest.mark.redis
def test_exactly_once_under_451s_drops_bounces_and_duplicate_tasks(
    make_settings, redis_url: RedisPlace
) -> None:
    from celery.contrib.testing.worker import start_worker

    bounced = frozenset(reader(i) for i in range(0, N, 400))
    recorder = Recorder(fail_rate=0.2, drop_rate=0.02, bounce=bounced)
    with SmtpServer(recorder) as server:
        settings = make_settings(redis_url=redis_url.url, redis_prefix=redis_url.prefix, smtp_url=server.url,
                                 smtp_retries=12, smtp_retry_delay=0.01, delivery_batch_size=250)  # fmt: skip
        app = App(settings)
        edition_id = seed(app, N)
        celery = app.dispatcher.celery  # type: ignore[attr-defined]
        with start_worker(celery, pool="threads", concurrency=2, perform_ping_check=False,
                          queues=["editions", "deliveries"], shutdown_timeout=30):  # fmt: skip
            app.delivery.start(edition_id)  # fills the ledger, enqueues the batches on Redis
            # Every task delivered a second time, as Redis does after a visibility timeout.
            app.dispatcher.enqueue("editions.start", edition_id=edition_id)
            ids = _row_ids(app, edition_id)
            assert len(ids) == N
            for start in range(0, N, 250):
                app.dispatcher.enqueue(
                    "deliveries.send_batch", edition_id=edition_id, ids=ids[start : start + 250]
                )
            wait_until_done(app, edition_id, timeout=90)
        counts = app.delivery.ledger.counts(edition_id)
        app.close()
    received = recorder.counts()
    expected = {reader(i): 1 for i in range(N) if reader(i) not in bounced}
    assert received == expected
    assert counts == {"pending": 0, "queued": 0, "sending": 0, "sent": N - len(bounced),
                      "failed": len(bounced), "skipped": 0}  # fmt: skip
    assert recorder.replies["451"] > 300 and recorder.replies["drop"] > 20


def _row_ids(app: App, edition_id: int) -> list[int]:
    import sqlalchemy as sa

    from publisher.db.schema import deliveries

    with app.db.connect() as conn:
        query = (
            sa.select(deliveries.c.id).where(deliveries.c.edition_id == edition_id).order_by(deliveries.c.id)
        )
        return list(conn.execute(query).scalars())


def _worker(settings: Settings, cwd: Path) -> subprocess.Popen[bytes]:
    names = ("database_url", "var_dir", "site_url", "secret_key", "redis_url", "redis_prefix", "smtp_url",
             "delivery_lease", "delivery_batch_size", "smtp_retry_delay")  # fmt: skip
    env = {**os.environ, **{f"PUBLISHER_{k.upper()}": str(getattr(settings, k)) for k in names}}
    command = [str(Path(sys.executable).parent / "publisher"), "worker", "--concurrency", "1",
               "--queues", "deliveries", "--loglevel", "warning"]  # fmt: skip
    # A session of its own: killing the group kills the main process and its pool child at once.
    return subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_killed_mid_send_loses_nobody(
    make_settings, postgres_url, redis_url: RedisPlace, tmp_path
) -> None:
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        settings = make_settings(database_url=postgres_url, redis_url=redis_url.url,
                                 redis_prefix=redis_url.prefix, smtp_url=server.url, delivery_lease=3,
                                 delivery_batch_size=100)  # fmt: skip
        app = App(settings)
        from tests.conftest import _empty_tables

        _empty_tables(app)
        edition_id = seed(app, N)
        first = _worker(settings, tmp_path)
        workers = [first]
        try:
            app.delivery.start(edition_id)
            deadline = time.monotonic() + 60
            while sum(recorder.counts().values()) < N // 4:
                assert time.monotonic() < deadline and first.poll() is None, "the first worker did not send"
                time.sleep(0.02)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            sent_before = sum(recorder.counts().values())
            assert sent_before < N
            workers.append(_worker(settings, tmp_path))
            wait_until_done(app, edition_id, timeout=120)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGTERM)
                    worker.wait(timeout=30)
        counts = app.delivery.ledger.counts(edition_id)
        app.close()
    received = recorder.counts()
    assert set(received) == {reader(i) for i in range(N)}  # nobody missing
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= UNRECORDED_BOUND, f"{duplicates} duplicates for one killed worker"
    assert counts["sent"] == N and counts["failed"] == counts["skipped"] == 0


@pytest.mark.redis
def test_tasks_lost_by_redis_are_sent_by_the_lease_sweep(
    make_settings, redis_url: RedisPlace, tmp_path
) -> None:
    """Redis restarted without AOF loses its queues: the rows stay 'queued' in the ledger, and a
    live worker's sweeper queues them again one lease later."""
    import redis

    recorder = Recorder()
    with SmtpServer(recorder) as server:
        settings = make_settings(redis_url=redis_url.url, redis_prefix=redis_url.prefix, smtp_url=server.url,
                                 delivery_lease=2, delivery_batch_size=50)  # fmt: skip
        app = App(settings)
        edition_id = seed(app, 200)
        app.delivery.start(edition_id)  # no worker yet: the tasks wait in Redis
        client = redis.Redis.from_url(redis_url.url)
        lost = client.delete(f"{redis_url.prefix}deliveries")
        assert lost == 1 and app.delivery.ledger.counts(edition_id)["queued"] == 200
        worker = _worker(settings, tmp_path)
        try:
            wait_until_done(app, edition_id, timeout=60)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        app.close()
    assert recorder.counts() == {reader(i): 1 for i in range(200)}


def test_each_celery_app_runs_the_tasks_it_was_made_with(make_settings) -> None:
    """Tests (and any process) may make several Apps, each with its Celery app: every one must run
    its own services' tasks, never the callables of the first app made in the process."""
    from publisher.celery_app import make_celery
    from publisher.tasks import load_all

    first = make_celery(make_settings(), services=lambda: None)  # type: ignore[arg-type,return-value]
    second = make_celery(make_settings(), services=lambda: None)  # type: ignore[arg-type,return-value]
    for name in load_all():
        assert first.tasks[name].run.__func__ is not second.tasks[name].run.__func__, name
