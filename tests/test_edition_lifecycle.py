"""An edition's life: the verbs × states table, halting on our own faults, and a state machine that
throws random sequences of ops verbs, worker crashes and a broken template at a real SMTP server.

The dispatcher here is a plain FIFO that a rule drains one task at a time (as a worker would), so
rows can wait in 'queued' while ops act on the edition; the Celery path of the same tasks is tested
against Redis in test_delivery_worker.py.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from publisher.app import App
from publisher.db.schema import deliveries, editions, subscribers
from publisher.delivery.states import EDITION_MOVES, EditionState, Verb
from publisher.edition.selection import EditionSpec
from publisher.edition.templates import _shipped_dir
from publisher.errors import EditionStateError, TransientDeliveryError
from publisher.subscribers.model import NewSubscriber
from publisher.tasks import run_task
from tests.conftest import EXAMPLES
from tests.smtp_recorder import Recorder, SmtpServer

READERS = [f"reader{i}@example.org" for i in range(5)]
TEST_ADDRESS = "desk@example.net"
BROKEN = "{% if %}\n"  # a template that does not compile


class FifoDispatcher:
    """Tasks wait here until a rule runs them, one at a time, like a worker would."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, dict[str, Any]]] = []

    def enqueue(self, name: str, **kwargs: Any) -> None:
        if name.startswith(("deliveries.", "editions.")):
            self.tasks.append((name, kwargs))


def _make_app(settings: Any) -> tuple[App, FifoDispatcher]:
    app = App(settings)
    fifo = FifoDispatcher()
    app.dispatcher = fifo  # type: ignore[misc]  # before any service is built: they receive it
    return app, fifo


def _overrides(folder: Path) -> Path:
    """A template folder with copies of the shipped ones, so breaking one is seen at once."""
    shutil.copytree(_shipped_dir(), folder, dirs_exist_ok=True)
    return folder / "morning_edition" / "body.txt"


def _state(app: App, edition_id: int) -> tuple[str, str | None]:
    with app.db.connect() as conn:
        query = sa.select(editions.c.status, editions.c.error).where(editions.c.id == edition_id)
        row = conn.execute(query).one()
    return row.status, row.error


def _rows(app: App, edition_id: int) -> Counter[str]:
    query = sa.select(deliveries.c.status).where(deliveries.c.edition_id == edition_id)
    with app.db.connect() as conn:
        return Counter(conn.execute(query).scalars())


def _drain(app: App, fifo: FifoDispatcher) -> None:
    while fifo.tasks:
        name, kwargs = fifo.tasks.pop(0)
        run_task(app, name, kwargs)


def _seed(app: App) -> int:
    list(app.ingest([EXAMPLES / "articles"]))
    app.subscribers.upsert_many([NewSubscriber(r, "", "UTC", ()) for r in READERS])
    return app.delivery.create_edition("morning", _next_day(app))


def _next_day(app: App) -> date:
    """The next edition's date: its 24 hours before the cut-off hold articles ingested now."""
    return EditionSpec.from_settings(app.settings).next_date(datetime.now(UTC))


# -- the table, verb by verb ---------------------------------------------------------------------


def test_the_table_names_every_state() -> None:
    for verb, move in EDITION_MOVES.items():
        assert move.leaves <= set(EditionState), verb
    assert EditionState.HALTED in EDITION_MOVES[Verb.RESUME].leaves
    assert EditionState.PAUSED not in EDITION_MOVES[Verb.SEND].leaves


def test_send_refuses_a_paused_edition_whose_rows_wait(make_settings, tmp_path: Path) -> None:
    """Found: `edition send` on a paused edition sent it to everybody and left it 'paused'."""
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        app, fifo = _make_app(make_settings(smtp_url=server.url))
        edition_id = _seed(app)
        app.delivery.start(edition_id)  # rows queued, the tasks not yet run
        assert _rows(app, edition_id)["queued"] == len(READERS)
        app.editions.pause(edition_id)
        with pytest.raises(EditionStateError) as refused:
            app.delivery.start(edition_id)
        hint = f"`publisher edition resume {edition_id}` first"
        assert str(refused.value) == f"edition {edition_id} is paused: {hint}"
        _drain(app, fifo)  # the batch tasks queued before the pause
        # The lease sweep, long after: a paused edition's rows stay where they are.
        assert app.lifecycle.requeue_expired(60, now=datetime.now(UTC) + timedelta(hours=1)) == {}
        _drain(app, fifo)
        assert recorder.messages == []
        assert _state(app, edition_id)[0] == "paused" and _rows(app, edition_id)["pending"] == len(READERS)
        app.editions.resume(edition_id)
        _drain(app, fifo)
        assert sorted(recorder.counts()) == READERS and set(recorder.counts().values()) == {1}
        assert _state(app, edition_id)[0] == "sent"
        app.close()


def test_send_refuses_a_cancelled_edition(make_settings) -> None:
    app, fifo = _make_app(make_settings())
    edition_id = _seed(app)
    app.editions.cancel(edition_id)
    with pytest.raises(EditionStateError, match=f"edition {edition_id} is cancelled"):
        app.delivery.start(edition_id)
    assert _rows(app, edition_id) == Counter() and fifo.tasks == []
    app.close()


def test_cli_refusal_is_one_line_and_exit_4(cli, app: App) -> None:
    edition_id = _seed(app)
    cli("edition", "pause", str(edition_id))
    day = app.delivery.editions.get(edition_id).date.isoformat()
    out = cli("edition", "send", "--date", day, code=4)
    assert f"edition {edition_id} is paused: `publisher edition resume {edition_id}` first" in out
    assert not list((Path(app.settings.var_dir) / "outbox" / "new").glob("*"))


def test_a_broken_template_halts_the_edition_and_fails_nobody(make_settings, tmp_path: Path) -> None:
    """Found: a setting or template that made every message unrenderable failed every row and
    marked the edition sent; sending again reached nobody."""
    body = _overrides(tmp_path / "templates")
    good = body.read_text(encoding="utf-8")
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        app, fifo = _make_app(make_settings(smtp_url=server.url, templates_dir=str(tmp_path / "templates")))
        edition_id = _seed(app)
        body.write_text(BROKEN, encoding="utf-8")
        app.delivery.start(edition_id)
        _drain(app, fifo)
        state, error = _state(app, edition_id)
        assert state == "halted" and error is not None
        assert error.startswith("RenderError: ") and "body.txt" in error
        assert _rows(app, edition_id) == Counter({"pending": len(READERS)})
        assert recorder.messages == []
        status = app.editions.status(edition_id)
        assert status["status"] == "halted" and status["error"] == error
        from publisher.metrics import render_metrics

        metrics = render_metrics(app.settings, app.db, app.stats).decode()
        labels = f'date="{status["date"]}",edition_id="{edition_id}",name="morning"'
        assert f"publisher_edition_halted{{{labels}}} 1.0" in metrics
        assert 'publisher_editions{status="halted"} 1.0' in metrics
        with pytest.raises(EditionStateError, match=r"is halted .*: fix the cause, then `publisher edition"):
            app.delivery.start(edition_id)
        body.write_text(good, encoding="utf-8")  # the fix
        assert app.editions.resume(edition_id).status == "sending"
        _drain(app, fifo)
        assert sorted(recorder.counts()) == READERS and set(recorder.counts().values()) == {1}
        assert _state(app, edition_id) == ("sent", None)
        app.close()


def test_an_unreadable_dkim_key_halts_the_edition(make_settings, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = tmp_path / "dkim.pem"
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key.write_bytes(pem)
    dkim = {"dkim_key_file": str(key), "dkim_selector": "s1", "dkim_domain": "example.com"}
    app, fifo = _make_app(make_settings(**dkim))
    edition_id = _seed(app)
    key.unlink()  # gone after start: the settings were fine when the process started
    app.delivery.start(edition_id)
    _drain(app, fifo)
    assert _state(app, edition_id)[0] == "halted"
    assert _rows(app, edition_id) == Counter({"pending": len(READERS)})
    key.write_bytes(pem)
    app.editions.resume(edition_id)
    _drain(app, fifo)
    assert _state(app, edition_id)[0] == "sent" and _rows(app, edition_id) == Counter({"sent": len(READERS)})
    app.close()


# -- the state machine ----------------------------------------------------------------------------

HELD_OR_DONE = {"paused", "halted", "cancelled"}


class EditionLife(RuleBasedStateMachine):
    """Random sequences of send, send again, pause, resume, cancel, reschedule, test-send, worker
    crashes, lease expiry, a broken template and its fix, a reader leaving."""

    app: App
    fifo: FifoDispatcher
    recorder: Recorder
    body: Path
    good: str

    def __init__(self) -> None:
        super().__init__()
        self.recorder.messages.clear()
        with self.app.db.begin() as conn:
            conn.execute(deliveries.delete())
            conn.execute(editions.delete())
            conn.execute(subscribers.update().values(status="active", unsubscribed_at=None))
        self.fifo.tasks.clear()
        self.body.write_text(self.good, encoding="utf-8")
        self.app.delivery._compiled.clear()
        self.edition_id = self.app.delivery.create_edition("morning", _next_day(self.app))
        self.left: set[str] = set()  # readers who unsubscribed
        self.delivered = 0  # readers' messages the server had after the previous step
        self.last_state = self.state()
        # Lease expiry moves this clock a lease on each time; it never goes back, so a row the
        # previous expiry queued again is itself expired at the next.
        self.clock = datetime.now(UTC)

    # -- helpers

    def state(self) -> str:
        return _state(self.app, self.edition_id)[0]

    def readers_mail(self) -> Counter[str]:
        return Counter(r for r, _ in self.recorder.messages if r != TEST_ADDRESS)

    def _verb(self, verb: Verb, call: Any) -> None:
        before = self.state()
        try:
            call()
        except EditionStateError as exc:
            assert before not in EDITION_MOVES[verb].leaves, (verb, before)
            assert exc.state == before
        else:
            assert before in EDITION_MOVES[verb].leaves, (verb, before)

    # -- the verbs

    @rule()
    def send(self) -> None:
        self._verb(Verb.SEND, lambda: self.app.delivery.start(self.edition_id))

    @rule()
    def pause(self) -> None:
        self._verb(Verb.PAUSE, lambda: self.app.editions.pause(self.edition_id))

    @rule()
    def resume(self) -> None:
        self._verb(Verb.RESUME, lambda: self.app.editions.resume(self.edition_id))

    @rule()
    def cancel(self) -> None:
        self._verb(Verb.CANCEL, lambda: self.app.editions.cancel(self.edition_id))

    @rule(minutes=st.integers(min_value=-30, max_value=30))
    def reschedule(self, minutes: int) -> None:
        delay = timedelta(minutes=minutes)
        self._verb(Verb.RESCHEDULE, lambda: self.app.editions.reschedule(self.edition_id, delay=delay))

    @rule()
    def test_send(self) -> None:
        if self.body.read_text(encoding="utf-8") == BROKEN:
            return  # a test-send of a broken template is refused by its own error; not this table
        self._verb(Verb.TEST_SEND, lambda: self.app.editions.test_send(self.edition_id, [TEST_ADDRESS]))

    # -- workers, leases, faults

    @precondition(lambda self: bool(self.fifo.tasks))
    @rule()
    def worker_runs_a_task(self) -> None:
        before = self.state()
        sent_before = sum(self.readers_mail().values())
        name, kwargs = self.fifo.tasks.pop(0)
        try:
            run_task(self.app, name, kwargs)
        except TransientDeliveryError:
            self.fifo.tasks.append((name, kwargs))
        if before in HELD_OR_DONE:
            assert sum(self.readers_mail().values()) == sent_before, "mail went out for a stopped edition"

    @precondition(lambda self: any(name == "deliveries.send_batch" for name, _ in self.fifo.tasks))
    @rule()
    def worker_dies_after_claiming(self) -> None:
        """A worker takes a batch, claims its first row and is killed before sending it."""
        index = next(i for i, (name, _) in enumerate(self.fifo.tasks) if name == "deliveries.send_batch")
        _name, kwargs = self.fifo.tasks.pop(index)
        for row_id in kwargs["ids"]:
            if self.app.lifecycle.claim(row_id).value == "claimed":
                break

    def _expire_leases(self) -> None:
        lease = timedelta(seconds=self.app.settings.delivery_lease + 1)
        self.clock = max(self.clock, datetime.now(UTC)) + lease
        self.app.delivery.sweep(self.clock)

    @rule()
    def leases_expire(self) -> None:
        before = sum(self.readers_mail().values())
        self._expire_leases()
        assert sum(self.readers_mail().values()) == before  # a sweep only queues

    @rule()
    def break_the_template(self) -> None:
        self.body.write_text(BROKEN, encoding="utf-8")
        self.app.delivery._compiled.clear()  # as a worker restarted with the broken file would

    @rule()
    def fix_the_template(self) -> None:
        self.body.write_text(self.good, encoding="utf-8")

    @rule(i=st.integers(min_value=0, max_value=len(READERS) - 1))
    def reader_leaves(self, i: int) -> None:
        found = self.app.subscribers.find(READERS[i])
        assert found is not None
        self.app.subscribers.unsubscribe(found.id)
        self.left.add(READERS[i])

    # -- what must always hold

    @invariant()
    def nobody_twice(self) -> None:
        assert all(n == 1 for n in self.readers_mail().values()), self.readers_mail()

    @invariant()
    def nothing_while_stopped(self) -> None:
        """Once a step left the edition paused, halted or cancelled, no later step sends (what a
        step sent before it stopped the edition was in flight)."""
        state, delivered = self.state(), sum(self.readers_mail().values())
        if state in HELD_OR_DONE and self.last_state in HELD_OR_DONE:
            assert delivered == self.delivered, (self.last_state, state)
        self.last_state, self.delivered = state, delivered

    @invariant()
    def only_the_server_fails_a_row(self) -> None:
        assert _rows(self.app, self.edition_id)["failed"] == 0

    @invariant()
    def state_agrees_with_rows(self) -> None:
        state, rows = self.state(), _rows(self.app, self.edition_id)
        if state == "sent":
            assert rows["pending"] + rows["queued"] + rows["sending"] == 0, rows
        if state in HELD_OR_DONE:
            assert rows["queued"] == 0, (state, rows)
        if state == "cancelled":
            assert rows["pending"] == 0, rows

    def teardown(self) -> None:
        """Ops fix what is broken and let it finish: every row ends terminal, with a reason."""
        self.body.write_text(self.good, encoding="utf-8")
        if self.state() in ("paused", "halted"):
            self.app.editions.resume(self.edition_id)
        if self.state() in ("draft", "sending"):
            self.app.editions.reschedule(self.edition_id, to=datetime.now(UTC) - timedelta(minutes=1))
        if self.state() in ("draft", "sending", "sent"):
            self.app.delivery.start(self.edition_id)
        for _ in range(3):
            _drain(self.app, self.fifo)
            self._expire_leases()
        _drain(self.app, self.fifo)
        state, rows = self.state(), _rows(self.app, self.edition_id)
        assert rows["pending"] + rows["queued"] + rows["sending"] == 0, (state, rows)
        assert state in ("sent", "cancelled"), (state, rows)
        with self.app.db.connect() as conn:
            reasons = conn.execute(
                sa.select(deliveries.c.last_error)
                .where(deliveries.c.edition_id == self.edition_id, deliveries.c.status == "skipped")
            ).scalars().all()  # fmt: skip
        assert all(reasons), reasons
        mail = self.readers_mail()
        assert all(n == 1 for n in mail.values()), mail
        if state == "sent":
            assert set(READERS) - self.left <= set(mail), (mail, self.left)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_edition_state_machine(backend: str, make_settings, request, tmp_path: Path) -> None:
    recorder = Recorder()
    body = _overrides(tmp_path / "templates")
    with SmtpServer(recorder) as server:
        changes: dict[str, Any] = {"smtp_url": server.url, "templates_dir": str(tmp_path / "templates"),
                                   "delivery_batch_size": 2, "delivery_lease": 60}  # fmt: skip
        if backend == "postgresql":
            changes["database_url"] = request.getfixturevalue("postgres_url")
        app, fifo = _make_app(make_settings(**changes))
        with app.db.begin() as conn:
            for table in ("deliveries", "editions", "subscribers"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
        _seed(app)
        EditionLife.app, EditionLife.fifo, EditionLife.recorder = app, fifo, recorder
        EditionLife.body, EditionLife.good = body, body.read_text(encoding="utf-8")
        run_state_machine_as_test(
            EditionLife,
            settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                              suppress_health_check=list(HealthCheck)),
        )  # fmt: skip
        app.close()


def test_cli_shows_a_halted_edition_and_resumes_it(cli, app: App, tmp_path: Path, monkeypatch) -> None:
    body = _overrides(tmp_path / "templates")
    good = body.read_text(encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(tmp_path / "templates"))
    list(app.ingest([EXAMPLES / "articles"]))
    cli("subscribers", "add", READERS[0])
    body.write_text(BROKEN, encoding="utf-8")
    day = _next_day(app).isoformat()
    out = cli("edition", "send", "--date", day, "--wait")  # returns: a halted edition waits for ops
    edition_id = int(out.splitlines()[0])
    assert ", halted, 1 recipients" in out and "halted: RenderError: " in out
    assert f"fix the cause, then: publisher edition resume {edition_id}" in out
    assert "0 sent" in cli("edition", "status", str(edition_id))
    body.write_text(good, encoding="utf-8")
    assert f"edition {edition_id}: sending" in cli("edition", "resume", str(edition_id))
    assert ", sent, 1 recipients" in cli("edition", "status", str(edition_id))
