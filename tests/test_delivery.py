"""Sending an edition in-process (no broker): who gets what, skips, bounces, retries, outages."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from publisher.app import App
from publisher.cli import main
from publisher.db.schema import deliveries, subscribers
from publisher.delivery.send import CLAIMED_AHEAD
from publisher.errors import TransientDeliveryError
from publisher.mail.memory import MemoryMailer
from publisher.subscribers.model import Status
from publisher.unsubscribe import read_token
from tests.delivery_helpers import parse, reader, seed, wait_until_done
from tests.smtp_recorder import Recorder, SmtpServer, free_port


def _ledger(app: App, edition_id: int) -> dict[str, tuple[str, int, str | None, str | None]]:
    """email → (status, attempts, last_error, message_id)"""
    from publisher.db.schema import subscribers

    query = (
        sa.select(subscribers.c.email, deliveries.c.status, deliveries.c.attempts, deliveries.c.last_error,
                  deliveries.c.message_id)
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(deliveries.c.edition_id == edition_id)
    )  # fmt: skip
    with app.db.connect() as conn:
        return {r.email: (r.status, r.attempts, r.last_error, r.message_id) for r in conn.execute(query)}


def _with_memory(app: App, mailer: MemoryMailer) -> MemoryMailer:
    # The services got the App's mailer factory when they were built: hand them the in-memory one.
    app.delivery.open_mailer = app.editions.open_mailer = lambda: mailer
    return mailer


def test_each_subscriber_gets_the_edition_once_with_their_sections(any_db_app) -> None:
    app = any_db_app
    edition_id = seed(app, 6, sections={2: ("Sports",)})
    mailer = _with_memory(app, MemoryMailer())
    assert app.delivery.start(edition_id) == 6
    assert app.delivery.start(edition_id) == 0  # a second start (or a duplicate task) sends nothing
    assert Counter(s.recipients[0] for s in mailer.sent) == {reader(i): 1 for i in range(6)}
    ledger = _ledger(app, edition_id)
    assert {status for status, *_ in ledger.values()} == {"sent"}
    for sent in mailer.sent:
        message = parse(sent.message)
        email_to = sent.recipients[0]
        assert message["To"].addresses[0].addr_spec == email_to
        assert message["Message-ID"] == f"<{ledger[email_to][3]}@news.example.com>"
        url = message["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert url.startswith("https://news.example.com/unsubscribe/")
        subscriber = app.subscribers.find(email_to)
        assert read_token(app.signing_key, url.rsplit("/", 1)[1]) == subscriber.id
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert sent.envelope_from == "editions@news.example.com"
    subjects = {s.recipients[0]: parse(s.message)["Subject"] for s in mailer.sent}
    assert "Lakeshore Relay" in subjects[reader(2)] and "Lakeshore Relay" not in subjects[reader(0)]
    assert app.delivery.editions.get(edition_id).status == "sent"


def test_an_unsubscribe_during_a_running_send_is_honoured(app) -> None:
    # Rows are claimed a group ahead of their turn: a reader who leaves after that is skipped.
    count = CLAIMED_AHEAD + 6
    edition_id = seed(app, count)
    leaving = CLAIMED_AHEAD + 3
    leaver = app.subscribers.find(reader(leaving))

    def unsubscribe_once(_from: str, _to: object) -> None:
        app.subscribers.unsubscribe(leaver.id)

    mailer = _with_memory(app, MemoryMailer(fail=unsubscribe_once))
    app.delivery.start(edition_id)
    assert sorted(s.recipients[0] for s in mailer.sent) == [reader(i) for i in range(count) if i != leaving]
    assert _ledger(app, edition_id)[reader(leaving)][:3] == ("skipped", 0, "subscriber unsubscribed")


def test_transient_failures_are_retried_and_their_replies_kept(make_settings) -> None:
    app = App(make_settings(smtp_retry_delay=0.001, smtp_retries=3))
    edition_id = seed(app, 3)
    tries: Counter[str] = Counter()

    def flaky(_from: str, to: list[str]) -> None:
        tries[to[0]] += 1
        if (to[0] == reader(1) and tries[to[0]] <= 2) or to[0] == reader(2):
            raise TransientDeliveryError("451 4.7.1 greylisted (at RCPT)", code=451)

    mailer = _with_memory(app, MemoryMailer(fail=flaky))
    app.delivery.start(edition_id)
    ledger = _ledger(app, edition_id)
    assert [s.recipients[0] for s in mailer.sent] == [reader(0), reader(1)]
    assert ledger[reader(0)][:3] == ("sent", 1, None)
    assert ledger[reader(1)][:3] == ("sent", 3, "451 4.7.1 greylisted (at RCPT)")
    assert ledger[reader(2)][:3] == ("failed", 4, "451 4.7.1 greylisted (at RCPT)")
    status = app.delivery.status(edition_id)
    assert status.errors == [("451 4.7.1 greylisted (at RCPT)", 1)]
    app.close()


class _GreylistOnce(Recorder):
    """451 at DATA for the first try of one address, over a pipelining connection."""

    greylisted: str = ""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.greylisted in envelope.rcpt_tos and not self.replies["451"]:
            self.replies["451"] += 1
            return "451 4.7.1 greylisted"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("which", [0, 2])
def test_a_retry_asked_for_by_the_last_reply_of_a_batch_is_sent(make_settings, which: int) -> None:
    """Found: with PIPELINING the last message's reply is read after the loop, and a 451 there
    left its row 'sending' until a lease sweep."""
    recorder = _GreylistOnce()
    recorder.greylisted = reader(which)
    with SmtpServer(recorder) as server:
        app = App(make_settings(smtp_url=server.url, smtp_retry_delay=0.001))
        edition_id = seed(app, 3)
        app.delivery.start(edition_id)
        assert recorder.replies["451"] == 1
        assert recorder.counts() == {reader(i): 1 for i in range(3)}
        assert app.delivery.ledger.counts(edition_id)["sent"] == 3
        app.close()


def test_a_hard_bounce_fails_marks_bounced_and_is_not_mailed_again(make_settings) -> None:
    recorder = Recorder(bounce=frozenset({reader(1)}))
    with SmtpServer(recorder) as server:
        settings = make_settings(
            smtp_url=server.url, edition_names="morning=Morning Edition,noon=Noon Edition"
        )
        app = App(settings)
        first = seed(app, 3)
        app.delivery.start(first)
        ledger = _ledger(app, first)
        assert ledger[reader(1)][:3] == ("failed", 1, f"550 5.1.1 <{reader(1)}>: no such user (at RCPT)")
        bounced = app.subscribers.find(reader(1))
        assert bounced.status is Status.BOUNCED
        second = app.delivery.create_edition("noon", app.delivery.editions.get(first).date)
        app.delivery.start(second)
        assert reader(1) not in _ledger(app, second)
        app.close()
    assert recorder.counts() == {reader(0): 2, reader(2): 2}
    assert recorder.replies["550"] == 1


def test_an_unreachable_server_fails_nobody_and_the_sweep_sends_later(make_settings) -> None:
    port = free_port()
    settings = make_settings(smtp_url=f"smtp://127.0.0.1:{port}", smtp_retries=1, smtp_retry_delay=0.01,
                             delivery_lease=1)  # fmt: skip
    app = App(settings)
    edition_id = seed(app, 4)
    app.delivery.start(edition_id)  # in-process: the task's TransientDeliveryError is logged
    counts = app.delivery.ledger.counts(edition_id)
    assert counts["queued"] == 4 and counts["failed"] == 0 and counts["sent"] == 0
    recorder = Recorder()
    with SmtpServer(recorder, port):  # the server is back
        time.sleep(1.1)
        assert app.delivery.sweep() == 4
        wait_until_done(app, edition_id, timeout=10)
    assert recorder.counts() == {reader(i): 1 for i in range(4)}
    app.close()


def test_edition_status_cli(make_settings, monkeypatch) -> None:
    settings = make_settings()
    app = App(settings)
    edition_id = seed(app, 3)
    app.delivery.start(edition_id)
    app.close()
    for name in ("database_url", "var_dir", "secret_key", "site_url"):
        monkeypatch.setenv(f"PUBLISHER_{name.upper()}", str(getattr(settings, name)))
    result = CliRunner().invoke(main, ["edition", "status", str(edition_id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"pending": 0, "queued": 0, "sending": 0, "sent": 3, "failed": 0, "skipped": 0}
    assert (data["id"], data["status"], data["total"], data["errors"]) == (edition_id, "sent", 3, [])
    result = CliRunner().invoke(main, ["edition", "status", "999"])
    assert result.exit_code == 3 and "no edition with id 999" in result.output


@pytest.mark.parametrize("policy", ["resend", "skip"])
def test_stuck_policy_setting(make_settings, policy) -> None:
    app = App(make_settings(delivery_lease=0.001, delivery_stuck_policy=policy))
    edition_id = seed(app, 1)
    ledger = app.lifecycle
    ledger.fill(edition_id, app.delivery.editions.get(edition_id).section_keys)
    ids = ledger.queue_pending(edition_id)
    ledger.claim(ids[0])  # and the worker dies
    mailer = _with_memory(app, MemoryMailer())
    time.sleep(0.01)
    app.delivery.sweep()
    expected = "sent" if policy == "resend" else "skipped"
    assert _ledger(app, edition_id)[reader(0)][0] == expected
    assert len(mailer.sent) == (1 if policy == "resend" else 0)
    app.close()


def test_edition_send_cli_prints_the_id_and_waits(make_settings, monkeypatch) -> None:
    settings = make_settings()
    app = App(settings)
    edition_id = seed(app, 4)  # creates the edition of the next date
    day = app.delivery.editions.get(edition_id).date.isoformat()
    app.close()
    for name in ("database_url", "var_dir", "secret_key", "site_url"):
        monkeypatch.setenv(f"PUBLISHER_{name.upper()}", str(getattr(settings, name)))
    result = CliRunner().invoke(main, ["edition", "send", "--date", day, "--wait"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == str(edition_id)
    assert lines[2] == "  0 pending, 0 queued, 0 sending, 4 sent, 0 failed, 0 skipped"
    assert "4 messages queued" in result.stderr
    import mailbox

    assert len(mailbox.Maildir(str(settings.outbox_dir), create=False)) == 4
    again = CliRunner().invoke(main, ["edition", "send", "--date", day])
    assert again.stdout == f"{edition_id}\n" and "0 messages queued" in again.stderr


def test_sent_but_not_recorded_never_exceeds_the_bound(make_settings, monkeypatch) -> None:
    """With the ledger's commits slowed down, the sender waits for them instead of running ahead:
    when the server accepts a message, at most UNRECORDED_BOUND of the messages it has accepted
    are not yet recorded as sent — and the bound is reached, so it is what holds the sender."""
    from publisher.delivery.lifecycle import Lifecycle
    from publisher.delivery.send import UNRECORDED_BOUND

    recorder = Recorder()
    with SmtpServer(recorder) as server:
        app = App(make_settings(smtp_url=server.url))
        n = 4 * UNRECORDED_BOUND + 3
        edition_id = seed(app, n)
        in_doubt: list[int] = []

        def on_accept(_rcpt: str, _content: bytes) -> None:
            with app.db.connect() as conn:
                query = sa.select(sa.func.count()).where(deliveries.c.status == "sent")
                recorded = conn.execute(query).scalar_one()
            in_doubt.append(len(recorder.messages) + 1 - recorded)

        recorder.on_accept = on_accept
        slow = Lifecycle.mark_sent_many

        def slow_records(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            time.sleep(0.05)
            return slow(self, *args, **kwargs)

        monkeypatch.setattr(Lifecycle, "mark_sent_many", slow_records)
        app.delivery.start(edition_id)
        app.close()
    assert recorder.counts() == {reader(i): 1 for i in range(n)}
    assert max(in_doubt) == UNRECORDED_BOUND


@pytest.mark.parametrize("pipelining", [True, False])
def test_with_a_bounce_address_each_message_goes_under_its_rows_verp_address(
    make_settings, pipelining: bool
) -> None:
    """VERP: MAIL FROM of every message is its ledger row's signed bounce address (also for
    retries, and with the next envelope pipelined ahead), and its List-Unsubscribe mailto carries
    the row's tag, which the inbound processing resolves to the reader."""
    from publisher.inbound import verp
    from publisher.inbound.process import Inbound

    recorder = Recorder(fail_rate=0.2, seed=11, pipelining=pipelining)
    with SmtpServer(recorder) as server:
        app = App(make_settings(smtp_url=server.url, smtp_retry_delay=0.001, smtp_retries=8,
                                bounce_address="bounces@news.example.com"))  # fmt: skip
        edition_id = seed(app, 12)
        app.delivery.start(edition_id)
        assert app.delivery.ledger.counts(edition_id)["sent"] == 12
    assert recorder.replies["451"] > 0  # retries went out too
    with app.db.connect() as conn:
        query = (
            sa.select(deliveries.c.id, subscribers.c.email)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.edition_id == edition_id)
        )
        row_of = {email: row_id for row_id, email in conn.execute(query)}
    key = app.signing_key
    assert sorted(rcpt for _, rcpt in recorder.envelopes) == sorted(row_of)
    for sender, rcpt in recorder.envelopes:
        tag = verp.tag_in(sender, "bounces")
        assert sender.endswith("@news.example.com") and tag is not None
        assert verp.read_tag(key, tag) == row_of[rcpt]
        assert sender == verp.envelope_sender("bounces@news.example.com", key, row_of[rcpt], "x@y")
    rcpt, content = recorder.messages[0]
    mailto = parse(content)["List-Unsubscribe"].split("<mailto:")[1].split("?")[0]
    assert verp.read_tag(key, verp.tag_in(mailto, "unsubscribe") or "") == row_of[rcpt]
    # A reader unsubscribes by mail from another address of theirs: the tag names them.
    inbound = Inbound(app.settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key)
    outcome = inbound.process(
        f"From: someone.else@example.net\r\nTo: {mailto}\r\nSubject: unsubscribe\r\n\r\nplease\r\n".encode()
    )
    assert (outcome.email, outcome.action) == (rcpt, "unsubscribed")
    app.close()


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(make_settings) -> None:
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        app = App(make_settings(smtp_url=server.url))
        edition_id = seed(app, 3)
        app.delivery.start(edition_id)
        app.close()
    assert {sender for sender, _ in recorder.envelopes} == {app.settings.envelope_from}
    for _, content in recorder.messages:
        mailto = "<mailto:unsubscribe@news.example.com?subject=unsubscribe>"
        assert mailto in parse(content)["List-Unsubscribe"]


def test_a_batch_keeps_only_the_messages_in_flight(make_settings) -> None:
    """A batch's memory does not grow with its size: a message is let go once it is sent (a
    worker's peak RSS is one of the delivery targets)."""
    import tracemalloc

    class Discarding:  # a mail server that takes everything and keeps nothing
        count = 0
        size = 0

        def send(self, _from: str, _to: object, message: bytes) -> None:
            self.count += 1
            self.size = len(message)

        def close(self) -> None:
            pass

    app = App(make_settings(delivery_batch_size=400))
    edition_id = seed(app, 400)
    mailer = Discarding()
    app.delivery.open_mailer = app.editions.open_mailer = lambda: mailer
    app.delivery.compiled(edition_id)  # compiled before measuring: that is once per edition
    tracemalloc.start()
    try:
        app.delivery.start(edition_id)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mailer.count == 400 and mailer.size > 30_000
    # Everything the batch allocated at its peak (messages being built and in doubt, the
    # signer's and stuffer's per-edition pieces, the rows) is far less than its 400 messages:
    # about 40 of them; a batch that kept each message it sent peaks above 400.
    assert peak < 100 * mailer.size, (peak, mailer.size)


def test_every_message_a_real_server_receives_verifies_with_dkimpy(make_settings, dkim_key) -> None:  # type: ignore[no-untyped-def]
    """The pipelined path writes each message as pre-stuffed pieces with its DKIM header: what the
    server takes in (dot-stuffing undone) is the signed message, and dkimpy verifies every one,
    readers whose name starts a line with '.' included."""
    import dkim

    key, record = dkim_key
    dns = {b"s1._domainkey.news.example.com.": record}
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        app = App(make_settings(smtp_url=server.url, dkim_key_file=str(key), dkim_selector="s1",
                                dkim_domain="news.example.com"))  # fmt: skip
        edition_id = seed(app, CLAIMED_AHEAD + 10)
        with app.db.begin() as conn:  # a leading dot starts a QP line in the text part
            conn.execute(subscribers.update().where(subscribers.c.email == reader(3)).values(name=".Dot"))
        app.delivery.start(edition_id)
        app.close()
    assert recorder.counts() == {reader(i): 1 for i in range(CLAIMED_AHEAD + 10)}
    for rcpt, content in recorder.messages:
        assert content.startswith(b"DKIM-Signature: ")
        assert dkim.verify(content, dnsfunc=lambda name, timeout=5: dns.get(name)), rcpt
    dotted = dict(recorder.messages)[reader(3)]
    assert b"\r\n.Dot" in dotted and b"\r\n..Dot" not in dotted
