"""Mail senders against a real SMTP server on loopback, the Maildir outbox, and DKIM with dkimpy."""

from __future__ import annotations

import mailbox
import re
import subprocess

import dkim
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from publisher.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from publisher.mail.dkim import DkimSigner
from publisher.mail.maildir import MaildirMailer
from publisher.mail.mailer import ServerUnreachableError, open_mailer
from publisher.mail.smtp import SmtpMailer, parse_smtp_url
from tests.smtp_recorder import Recorder, SmtpServer, free_port

MESSAGE = (
    b"From: Newslooks <editions@news.example.com>\r\nTo: ann@example.com\r\nSubject: Morning\r\n"
    b"Date: Wed, 25 Nov 2026 07:00:00 +0000\r\nMessage-ID: <e1.1@news.example.com>\r\n"
    b"List-Unsubscribe: <https://news.example.com/unsubscribe/1.abc>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello  there,\t reader.\r\n.leading dot\r\n"
)


def test_parse_smtp_url() -> None:
    t = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example.com:587?starttls=1")
    assert (t.host, t.port, t.username, t.password, t.tls, t.starttls, t.verify) == (
        "mail.example.com", 587, "user@x", "p:ss", False, True, True,
    )  # fmt: skip
    s = parse_smtp_url("smtps://relay?verify=0")
    assert (s.port, s.tls, s.starttls, s.verify) == (465, True, False, False)
    with pytest.raises(ConfigError):
        parse_smtp_url("http://relay")


def test_smtp_sends_over_one_connection_and_classifies_replies() -> None:
    recorder = Recorder(bounce=frozenset({"gone@example.com"}))
    with SmtpServer(recorder) as server:
        mailer = SmtpMailer.from_url(server.url, timeout=5)
        mailer.send("bounces@news.example.com", ["ann@example.com"], MESSAGE)
        connection = mailer._conn
        with pytest.raises(PermanentDeliveryError) as refused:
            mailer.send("bounces@news.example.com", ["gone@example.com"], MESSAGE)
        assert refused.value.code == 550 and refused.value.bounce is True
        assert str(refused.value) == "550 5.1.1 <gone@example.com>: no such user (at RCPT)"
        mailer.send("bounces@news.example.com", ["bob@example.com"], MESSAGE)
        assert mailer._conn is connection  # the same connection throughout
        recorder.fail_rate = 1.0
        with pytest.raises(TransientDeliveryError) as later:
            mailer.send("bounces@news.example.com", ["cy@example.com"], MESSAGE)
        assert later.value.code == 451 and str(later.value) == "451 4.3.0 try again later (at DATA)"
        recorder.fail_rate, recorder.drop_rate = 0.0, 1.0
        with pytest.raises(TransientDeliveryError, match=r"^connection dropped"):
            mailer.send("bounces@news.example.com", ["cy@example.com"], MESSAGE)
        recorder.drop_rate = 0.0
        mailer.send("bounces@news.example.com", ["cy@example.com"], MESSAGE)  # reconnects
        mailer.close()
    assert [rcpt for rcpt, _ in recorder.messages] == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert recorder.messages[0][1] == MESSAGE  # dot-stuffing undone by the server: byte for byte


def test_unreachable_server() -> None:
    mailer = SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ServerUnreachableError, match="cannot connect"):
        mailer.send("a@example.com", ["b@example.com"], MESSAGE)


def test_maildir_outbox_is_the_default(make_settings) -> None:
    settings = make_settings()
    mailer = open_mailer(settings)
    assert isinstance(mailer, MaildirMailer)
    mailer.send("bounces@news.example.com", ["ann@example.com"], MESSAGE)
    mailer.close()
    stored = list(mailbox.Maildir(str(settings.outbox_dir), create=False))
    assert len(stored) == 1
    assert stored[0]["Delivered-To"] == "ann@example.com" and stored[0]["Subject"] == "Morning"


def test_dkim_signature_verifies_and_covers_the_one_click_headers(dkim_key, make_settings) -> None:
    key, record = dkim_key
    signer = DkimSigner.from_settings(
        make_settings(dkim_key_file=str(key), dkim_selector="ed2026", dkim_domain="news.example.com")
    )
    assert signer is not None
    signed = signer.sign(MESSAGE)
    assert signed.endswith(MESSAGE)
    dns = {b"ed2026._domainkey.news.example.com.": record}
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: dns.get(name))
    header = signed[: len(signed) - len(MESSAGE)].decode()
    assert "c=relaxed/relaxed" in header and "d=news.example.com" in header
    signed_names = re.search(r"\bh=([^;]+);", header).group(1).split(":")  # type: ignore[union-attr]
    assert signed_names == [
        "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "list-unsubscribe", "list-unsubscribe-post", "from",
    ]  # fmt: skip
    # Any change to a signed header breaks it.
    tampered = signed.replace(b"Subject: Morning", b"Subject: Evening")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: dns.get(name))


def test_dkim_settings_all_or_none(make_settings) -> None:
    assert DkimSigner.from_settings(make_settings()) is None
    with pytest.raises(ConfigError, match="set all or none"):
        DkimSigner.from_settings(make_settings(dkim_selector="s1"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"one  two\t three \r\n\t\r\n  lead\r\n\r\n\r\n",
        b"no final newline \t ",
        b"=3D quoted-printable=\r\n soft break  \r\n.\r\n",
        (b"<td>  x </td>\t\r\n" * 500) + b"\r\n",
    ],
)
def test_relaxed_body_is_dkimpys(body: bytes) -> None:
    from dkim.canonicalization import Relaxed

    from publisher.mail.dkim import relaxed_body

    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_messages_with_and_without_dot_lines_arrive_byte_for_byte() -> None:
    plain = MESSAGE.replace(b".leading dot\r\n", b"no dot here\r\n")
    recorder = Recorder()
    with SmtpServer(recorder) as server:
        mailer = SmtpMailer.from_url(server.url, timeout=5)
        dots = b"." + MESSAGE + b"..\r\n.\r\n. x\r\n"
        for message in (plain, MESSAGE, plain.removesuffix(b"\r\n"), dots):
            mailer.send("bounces@news.example.com", ["ann@example.com"], message)
        mailer.close()
    assert [m for _, m in recorder.messages] == [plain, MESSAGE, plain, dots]


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):  # type: ignore[no-untyped-def]
    import ssl

    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
               "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_starttls_and_smtps_with_login(tls_context, mode: str) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        return AuthResult(success=auth_data.login == b"ed" and auth_data.password == b"s3cret:x")

    recorder = Recorder()
    port = free_port()
    options = {"tls_context": tls_context, "require_starttls": True} if mode == "starttls" else {
        "ssl_context": tls_context}  # fmt: skip
    # aiosmtpd counts only STARTTLS as TLS for AUTH; with smtps the whole connection is TLS anyway.
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=mode == "starttls", **options)  # fmt: skip
    controller.start()
    scheme = "smtp" if mode == "starttls" else "smtps"
    query = "?starttls=1&verify=0" if mode == "starttls" else "?verify=0"
    mailer = SmtpMailer.from_url(f"{scheme}://ed:s3cret%3Ax@127.0.0.1:{port}{query}", timeout=5)
    try:
        mailer.send("bounces@news.example.com", ["ann@example.com"], MESSAGE)
        mailer.close()
    finally:
        controller.stop()
    assert recorder.messages == [("ann@example.com", MESSAGE)]


def _outcomes(found: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {t: "ok" if error is None else f"{type(error).__name__} {error.code}" for t, error in found}


@pytest.mark.parametrize("pipelining", [True, False])
def test_submit_pipelines_and_reports_each_message(pipelining: bool) -> None:
    recorder = Recorder(bounce=frozenset({"gone@example.com"}), pipelining=pipelining)
    rcpts = ["ann@example.com", "gone@example.com", "bob@example.com", "cy@example.com"]
    with SmtpServer(recorder) as server:
        mailer = SmtpMailer.from_url(server.url, timeout=5)
        found = []
        for n, rcpt in enumerate(rcpts):
            ahead = ("bounces@news.example.com", [rcpts[n + 1]]) if n + 1 < len(rcpts) else None
            found += mailer.submit(rcpt, "bounces@news.example.com", [rcpt], MESSAGE, ahead=ahead)
            assert mailer.in_flight <= 1
        assert "pipelining" in mailer._conn.esmtp_features if pipelining else True  # type: ignore[union-attr]
        found += mailer.collect()
        assert mailer.in_flight == 0
        # A message that is not the one announced ahead: sent all the same, on a new session.
        sender = "bounces@news.example.com"
        found += mailer.submit("dee", sender, ["dee@example.com"], MESSAGE, ahead=(sender, ["x@example.com"]))
        found += mailer.submit("eve", sender, ["eve@example.com"], MESSAGE)
        found += mailer.collect()
        # The server drops the connection: what was in flight is transient, the next one reconnects.
        recorder.drop_rate = 1.0
        found += mailer.submit("fay", "bounces@news.example.com", ["fay@example.com"], MESSAGE)
        found += mailer.collect()
        recorder.drop_rate = 0.0
        found += mailer.submit("gus", "bounces@news.example.com", ["gus@example.com"], MESSAGE)
        found += mailer.collect()
        mailer.close()
    assert _outcomes(found) == {
        "ann@example.com": "ok", "gone@example.com": "PermanentDeliveryError 550", "bob@example.com": "ok",
        "cy@example.com": "ok", "dee": "ok", "eve": "ok", "fay": "TransientDeliveryError None", "gus": "ok",
    }  # fmt: skip
    assert len(found) == 8
    assert [rcpt for rcpt, _ in recorder.messages] == [
        "ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com",
        "gus@example.com",
    ]  # fmt: skip
    assert all(message == MESSAGE for _, message in recorder.messages)


def test_ssl_contexts_are_made_once() -> None:
    from publisher.mail import smtp

    assert smtp._ssl_context(False) is smtp._ssl_context(False)
    assert smtp._ssl_context(True) is not smtp._ssl_context(False)


@pytest.mark.parametrize("pipelining", [True, False])
def test_each_message_goes_under_its_own_envelope_sender(pipelining: bool) -> None:
    """VERP: every message has a sender of its own. The envelope written ahead carries the next
    message's sender; a message whose envelope is not the one written ahead (here: same reader,
    another sender) is never sent under it."""
    recorder = Recorder(pipelining=pipelining)
    sends = [(f"bounces+d{n}@news.example.com", f"r{n}@example.com") for n in range(4)]
    with SmtpServer(recorder) as server:
        mailer = SmtpMailer.from_url(server.url, timeout=5)
        found = []
        for n, (sender, rcpt) in enumerate(sends):
            ahead = (sends[n + 1][0], [sends[n + 1][1]]) if n + 1 < len(sends) else None
            found += mailer.submit(rcpt, sender, [rcpt], MESSAGE, ahead=ahead)
        # Announced under one sender, submitted under another: the announced envelope is dropped.
        found += mailer.submit("x", "bounces+d8@news.example.com", ["x@example.com"], MESSAGE,
                               ahead=("bounces+d9@news.example.com", ["y@example.com"]))  # fmt: skip
        found += mailer.submit("y", "bounces+d10@news.example.com", ["y@example.com"], MESSAGE)
        found += mailer.collect()
        mailer.close()
    assert all(error is None for _, error in found) and len(found) == 6
    assert recorder.envelopes == [
        *sends,
        ("bounces+d8@news.example.com", "x@example.com"),
        ("bounces+d10@news.example.com", "y@example.com"),
    ]  # fmt: skip


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab.+-=_@<> "()[],;:\\\té')), max_size=24))
def test_envelope_addresses_are_quoted_as_smtplib_quotes_them(address: str) -> None:
    """The envelope written ahead quotes a plain address itself (smtplib's parser is a tenth of
    the per-message time) and must agree with smtplib for every address."""
    import smtplib

    from publisher.mail.smtp import _quoted

    assert _quoted(address) == smtplib.quoteaddr(address)
