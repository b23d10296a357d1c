"""``publisher inbound serve`` end to end on loopback: reports sent over SMTP change readers once,
other recipients get 550, oversized mail is refused, what cannot be used is kept in a Maildir."""

from __future__ import annotations

import datetime as dt
import mailbox
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from publisher.app import App
from publisher.db.schema import subscriber_events, subscribers
from publisher.inbound.process import Inbound
from publisher.inbound.server import Handler, kept_dir, smtp_parameters
from publisher.subscribers.model import NewSubscriber
from tests.smtp_recorder import free_port

CORPUS = Path(__file__).parent / "data" / "bounces"
PUBLISHER = Path(sys.executable).parent / "publisher"
BOUNCES = "bounces@news.example.com"
READERS = ("alice@example.org", "carol@example.com", "dave@example.com", "frank@gmail.example")
MAX_BYTES = 200_000


def _statuses(app: App) -> dict[str, str]:
    with app.db.connect() as conn:
        return dict(conn.execute(sa.select(subscribers.c.email, subscribers.c.status)).all())


def _event_count(app: App) -> int:
    with app.db.connect() as conn:
        query = sa.select(sa.func.count()).where(subscriber_events.c.kind != "add")
        return int(conn.execute(query).scalar_one())


def _wait_for(port: int, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"inbound serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("inbound serve did not start listening")


@pytest.fixture
def server(app: App) -> Iterator[int]:
    """The real command, as a process, on a free loopback port and the app fixture's database."""
    port = free_port()
    environ = {**os.environ, "PUBLISHER_INBOUND_MAX_BYTES": str(MAX_BYTES)}
    for name in ("CONFIG", "REDIS_URL", "SMTP_URL", "BOUNCE_ADDRESS", "UNSUBSCRIBE_MAILTO",
                 "INBOUND_TLS_CERT"):  # fmt: skip
        environ.pop(f"PUBLISHER_{name}", None)
    for name in ("database_url", "feeds_dir", "var_dir", "site_url", "secret_key"):
        environ[f"PUBLISHER_{name.upper()}"] = str(getattr(app.settings, name) or "")
    command = [str(PUBLISHER), "inbound", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _crlf(raw: bytes) -> bytes:
    """smtplib sends bytes as they are; SMTP lines end in CRLF."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _send(port: int, raw: bytes, to: str = BOUNCES) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("", [to], _crlf(raw))


def test_reports_over_smtp_change_readers_once(app: App, server: int) -> None:
    app.subscriber_lifecycle.import_many([NewSubscriber(email) for email in READERS])
    reports = [
        ((CORPUS / "postfix_hard.eml").read_bytes(), BOUNCES),
        ((CORPUS / "arf_complaint.eml").read_bytes(), "bounces+fbl@news.example.com"),
        ((CORPUS / "mailto_unsubscribe.eml").read_bytes(), "unsubscribe@news.example.com"),
        ((CORPUS / "gmail_soft.eml").read_bytes(), BOUNCES),
    ]
    for raw, to in reports:
        _send(server, raw, to)  # processed before the 250: the change is there when sendmail returns
    after_once = _statuses(app)
    assert after_once == {"alice@example.org": "bounced", "carol@example.com": "complained",
                          "dave@example.com": "unsubscribed", "frank@gmail.example": "active"}  # fmt: skip
    events = _event_count(app)
    assert events == 4  # bounce, complain, unsubscribe, one counted soft bounce
    for raw, to in reports:
        _send(server, raw, to)
    assert _statuses(app) == after_once
    assert _event_count(app) == events
    assert not kept_dir(app.settings).exists()  # everything was used


def test_other_recipients_are_refused(app: App, server: int) -> None:
    raw = (CORPUS / "postfix_hard.eml").read_bytes()
    for to in ("postmaster@news.example.com", "alice@example.org", "bounces@elsewhere.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _send(server, raw, to)
        assert refused.value.recipients[to][0] == 550
    with smtplib.SMTP("127.0.0.1", server, timeout=30) as client:  # one good recipient among bad ones
        refused_one = client.sendmail("", ["relay@example.net", BOUNCES], _crlf(raw))
    assert list(refused_one) == ["relay@example.net"] and refused_one["relay@example.net"][0] == 550


def test_oversized_mail_is_refused_and_junk_is_kept(app: App, server: int) -> None:
    app.subscriber_lifecycle.import_many([NewSubscriber("alice@example.org")])
    big = (CORPUS / "postfix_hard.eml").read_bytes() + b"\n" + (b"x" * 76 + b"\n") * (MAX_BYTES // 76 + 10)
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        _send(server, big)
    assert refused.value.smtp_code == 552
    assert _statuses(app)["alice@example.org"] == "active"  # refused means not processed

    junk = (CORPUS / "junk.eml").read_bytes()
    _send(server, junk)
    kept = mailbox.Maildir(kept_dir(app.settings), create=False)
    assert [m.as_bytes().replace(b"\r\n", b"\n") for m in kept] == [junk.replace(b"\r\n", b"\n")]


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "inbound.crt", tmp_path / "inbound.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture
def in_process(app: App, tmp_path: Path) -> Iterator[tuple[Handler, int]]:
    cert, key = _certificate(tmp_path)
    settings = app.settings.replace(inbound_tls_cert=str(cert), inbound_tls_key=str(key))
    handler = Handler(settings, Inbound(settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_parameters(settings))
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
        handler.executor.shutdown()


def test_starttls_when_a_certificate_is_configured(app: App, in_process: tuple[Handler, int]) -> None:
    app.subscriber_lifecycle.import_many([NewSubscriber("alice@example.org")])
    _, port = in_process
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        client.sendmail("", [BOUNCES], _crlf((CORPUS / "postfix_hard.eml").read_bytes()))
    assert _statuses(app)["alice@example.org"] == "bounced"


def test_a_message_that_cannot_be_processed_is_kept(app: App, in_process: tuple[Handler, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    handler, port = in_process

    def broken(raw: bytes) -> None:
        raise RuntimeError("database away")

    monkeypatch.setattr(handler.inbound, "process", broken)
    raw = (CORPUS / "postfix_hard.eml").read_bytes()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("", [BOUNCES], _crlf(raw))  # accepted: it is kept, not lost
    assert len(mailbox.Maildir(kept_dir(app.settings), create=False)) == 1
