"""The distributed deployment end to end: PostgreSQL, Redis, `publisher beat` and `publisher worker`
subprocesses, a recording SMTP server on loopback, and the ops API.

- a schedule created through the API fires;
- pause stops a running send within seconds and resume finishes it, nobody mailed twice;
- cancel stops it and skips the rest; what the SMTP server got is what the ledger says was sent;
- a beat killed with SIGKILL and replaced neither skips nor repeats the edition.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.db.schema import deliveries, editions
from publisher.settings import Settings
from publisher.subscribers.model import NewSubscriber
from tests.conftest import EXAMPLES, RedisPlace, _empty_tables
from tests.smtp_recorder import Recorder, SmtpServer

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
PUBLISHER = str(Path(sys.executable).with_name("publisher"))
READERS = 120
TOKEN = "integration-token"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Stack:
    """The environment of one deployment, and the processes started in it."""

    def __init__(self, env: dict[str, str], app: App, recorder: Recorder, logs: Path) -> None:
        self.env = env
        self.app = app
        self.recorder = recorder
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{args[0]}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([PUBLISHER, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def ledger(self, edition_id: int) -> dict[str, int]:
        return self.app.delivery.ledger.counts(edition_id)

    def editions(self) -> list[tuple[int, str, str]]:
        with self.app.db.connect() as conn:
            rows = conn.execute(sa.select(editions.c.id, editions.c.name, editions.c.status)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def stack(postgres_url: str, redis_url: RedisPlace, tmp_path: Path) -> Iterator[Stack]:
    recorder = Recorder()
    with SmtpServer(recorder) as smtp:
        values = {
            "PUBLISHER_DATABASE_URL": postgres_url,
            "PUBLISHER_REDIS_URL": redis_url.url,
            "PUBLISHER_REDIS_PREFIX": redis_url.prefix,
            "PUBLISHER_SMTP_URL": smtp.url,
            "PUBLISHER_API_TOKEN": TOKEN,
            "PUBLISHER_FEEDS_DIR": str(tmp_path / "feeds"),
            "PUBLISHER_VAR_DIR": str(tmp_path / "var"),
            "PUBLISHER_SWEEP_INTERVAL": "1",
            "PUBLISHER_BEAT_LOCK_TIMEOUT": "6",
            "PUBLISHER_DELIVERY_BATCH_SIZE": "10",
            "PUBLISHER_RATE_LIMIT": "25",  # slow enough to pause and cancel in the middle
            "PUBLISHER_EDITION_NAMES": "morning=Morning Edition,evening=Evening Edition",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")} | values
        app = App(Settings.load(values, config_file=tmp_path / "absent.toml"))
        _empty_tables(app)
        list(app.ingest([EXAMPLES / "articles"], published_at=datetime.now(UTC) - timedelta(hours=3)))
        app.subscribers.upsert_many(
            [NewSubscriber(f"reader{i:03d}@example.org", f"Reader {i}", "UTC", ()) for i in range(READERS)]
        )
        running = Stack(env, app, recorder, tmp_path)
        try:
            yield running
        finally:
            running.stop_all()
            app.close()


def _api(stack: Stack) -> TestClient:
    from publisher.web import create_app

    client = TestClient(create_app(stack.app))
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    return client


def test_schedule_fires_through_beat_survives_a_killed_beat_and_pauses(stack: Stack) -> None:
    stack.start("worker", "--concurrency", "2")
    first_beat = stack.start("beat")
    time.sleep(2)
    first_beat.send_signal(signal.SIGKILL)  # it dies holding the redbeat lock
    first_beat.wait()
    api = _api(stack)
    now = datetime.now(UTC)
    created = api.post(
        "/api/schedules", json={"name": "morning", "at": now.strftime("%H:%M"), "timezone": "UTC"}
    )
    assert created.status_code == 201, created.text
    stack.start("beat")  # the standby: takes the lock once the dead beat's lock times out

    wait_for("the first messages", lambda: len(stack.recorder.messages) >= 20)
    [(edition_id, name, _status)] = stack.editions()
    assert name == "morning"
    assert api.post(f"/api/editions/{edition_id}/pause").json()["status"] == "paused"
    time.sleep(1.5)  # a message in the middle of its send finishes
    held = len(stack.recorder.messages)
    time.sleep(3)
    assert len(stack.recorder.messages) == held < READERS  # stopped within seconds
    counts = stack.ledger(edition_id)
    assert counts["queued"] == counts["sending"] == 0
    assert counts["sent"] == held

    assert api.post(f"/api/editions/{edition_id}/resume").status_code == 200
    wait_for("every reader", lambda: len(stack.recorder.messages) >= READERS)
    time.sleep(2)  # a duplicate would arrive now
    assert set(stack.recorder.counts().values()) == {1}
    assert len(stack.recorder.counts()) == READERS
    assert stack.ledger(edition_id)["sent"] == READERS

    # Another beat replaces the second one: the sweeps go on and the edition is not repeated.
    stack.processes[2].send_signal(signal.SIGKILL)
    stack.start("beat")
    time.sleep(8)
    assert stack.editions() == [(edition_id, "morning", "sent")]
    assert len(stack.recorder.messages) == READERS


def test_cancel_in_the_middle_of_a_send(stack: Stack) -> None:
    stack.start("worker", "--concurrency", "2")
    stack.start("beat")
    api = _api(stack)
    # The next edition's date: its 24 hours before the 07:00 UTC cut-off hold the articles.
    day = (datetime.now(UTC) + timedelta(hours=17)).date()
    started = api.post("/api/editions", json={"name": "evening", "date": day.isoformat()})
    assert started.status_code == 201, started.text
    edition_id = started.json()["edition_id"]
    wait_for("the first messages", lambda: len(stack.recorder.messages) >= 20)
    cancelled = api.post(f"/api/editions/{edition_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["rows"] > 0
    time.sleep(3)
    got = stack.recorder.counts()
    assert set(got.values()) == {1}
    counts = stack.ledger(edition_id)
    assert counts["sent"] == len(got) < READERS
    assert counts["skipped"] == READERS - counts["sent"] - counts["failed"]
    assert counts["pending"] == counts["queued"] == counts["sending"] == 0
    with stack.app.db.connect() as conn:
        reasons = (
            conn.execute(
                sa.select(deliveries.c.last_error).where(deliveries.c.status == "skipped").distinct()
            )
            .scalars()
            .all()
        )
    assert reasons == ["edition cancelled"]
