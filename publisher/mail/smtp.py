"""SMTP with smtplib: one connection reused for a whole batch, reopened after a drop.

URL: ``smtp://user:pass@host:port`` (plain, default port 25), ``smtp://...:587?starttls=1``
(STARTTLS), ``smtps://...:465`` (TLS from the start). ``verify=0`` accepts a self-signed
certificate (a relay on the same host). User and password are URL-decoded.

Replies are classified here and nowhere else: 4xx and dropped connections are transient; 5xx are
permanent; 550/551/553 on RCPT are hard bounces (the address does not exist).

``submit`` is the batch sender's way in: with a server that offers ESMTP PIPELINING (RFC 2920)
MAIL, RCPT and DATA go out in one write, and the server's reply to a message's content is read
only when the next message is handed over (or at ``collect``), so the sender builds and signs the
next message while the server takes this one. At most one message per connection is in flight
(written, its reply not yet read): ``in_flight``. Without PIPELINING ``submit`` is ``send``.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from publisher.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from publisher.mail.mailer import Ahead, Outcome, ServerUnreachableError
from publisher.mail.message import dot_stuffed

HARD_BOUNCES = frozenset({550, 551, 553})
# One SSL context per verification mode for the process: building one loads the system's CA
# certificates (a few milliseconds), and plain SMTP needs none.
_SSL_CONTEXTS: dict[bool, ssl.SSLContext] = {}


def _ssl_context(verify: bool) -> ssl.SSLContext:
    context = _SSL_CONTEXTS.get(verify)
    if context is None:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context = _SSL_CONTEXTS[verify] = context
    return context


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False  # SSL from the start (smtps://)
    starttls: bool = False
    verify: bool = True


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"PUBLISHER_SMTP_URL: expected smtp://host:port or smtps://host:port, got {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    flag = lambda name: query.get(name, "0").lower() in ("1", "true", "yes")  # noqa: E731
    tls = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if tls else 25)
    except ValueError:
        raise ConfigError("PUBLISHER_SMTP_URL: the port is not a number") from None
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=tls,
        starttls=flag("starttls"),
        verify=query.get("verify", "1").lower() not in ("0", "false", "no"),
    )


class SmtpMailer:
    def __init__(self, target: SmtpTarget, *, timeout: float = 30) -> None:
        self.target = target
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None
        self._open: Any = None  # the token of the message whose content reply is still unread
        self._in_flight = False
        self._reset = False  # the last transaction failed before its content: RSET first
        self._ahead: tuple[str, tuple[str, ...]] | None = None  # an envelope written ahead

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30) -> SmtpMailer:
        return cls(parse_smtp_url(url), timeout=timeout)

    def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None:
        conn = self._connection()
        try:
            refused = conn.sendmail(envelope_from, list(recipients), message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _classify(code, reply, "RCPT") from None
        except smtplib.SMTPSenderRefused as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "MAIL") from None
        except smtplib.SMTPDataError as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "DATA") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TransientDeliveryError(f"connection dropped: {exc or type(exc).__name__}") from None
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP") from None
        finally:
            if self._conn is not None and self._conn.sock is None:
                self._conn = None  # smtplib closes the socket itself after a 421
        if refused:  # only possible with several recipients: report the first refusal
            code, reply = next(iter(refused.values()))
            raise _classify(code, reply, "RCPT")

    @property
    def in_flight(self) -> int:
        return 1 if self._in_flight else 0

    def submit(
        self,
        token: Any,
        envelope_from: str,
        recipients: Sequence[str],
        message: bytes,
        *,
        ahead: Ahead | None = None,
        stuffed: Sequence[bytes] | None = None,
    ) -> list[Outcome]:
        """Hand ``message`` over; returns the outcomes known so far: (token, None) for a message
        the server accepted, (token, DeliveryError) for one it refused or lost with the
        connection — this one's, or the previous one's. ``ahead``: the envelope (sender,
        recipients) of the message submitted next, whose MAIL, RCPT and DATA are written right
        behind this content. A message submitted whose envelope is not the one written ahead is
        never sent under it: the session is ended and the message goes out on a new one. ``stuffed``:
        the message as DATA carries it (see ``Submitter``), written as it is when given."""
        done: list[Outcome] = []
        if self._ahead is not None and self._ahead != (envelope_from, tuple(recipients)):
            # Not the message announced: end this session (the server drops the open one).
            done += self.collect()
            self._drop()
        try:
            conn = self._connection()
        except TransientDeliveryError as exc:
            return [*done, (token, exc)]
        if len(recipients) != 1 or "pipelining" not in conn.esmtp_features:
            done += self.collect()
            try:
                self.send(envelope_from, recipients, message)
            except (TransientDeliveryError, PermanentDeliveryError) as exc:
                return [*done, (token, exc)]
            return [*done, (token, None)]
        waiting = [token] if self._open is None else [self._open, token]
        try:
            reset = self._ahead is None and self._reset
            if self._ahead is None:
                conn.send((b"RSET\r\n" if reset else b"") + _envelope(envelope_from, recipients[0]))
            self._ahead = None  # from here on, the envelope is on the wire
            if self._open is not None:
                done.append(self._content_reply(conn))
                waiting.pop(0)
            if reset:
                conn.getreply()  # a refused RSET shows in the MAIL reply
                self._reset = False
            error: TransientDeliveryError | PermanentDeliveryError | None = None
            for stage in ("MAIL", "RCPT"):
                code, reply = conn.getreply()
                if code // 100 != 2 and error is None:
                    error = _classify(code, reply, stage)
            code, reply = conn.getreply()
            if code != 354:
                self._reset = True
                done.append((token, error or _classify(code, reply, "DATA")))
                if code == 421:
                    self._drop()
                return done
            if error is not None:
                # DATA accepted after a refused envelope: end the session rather than send.
                self._drop()
                done.append((token, error))
                return done
            early = _early(ahead)
            following = _envelope(early[0], early[1][0]) if early is not None else b""
            conn.send(_stuffed(message) + following if stuffed is None else b"".join((*stuffed, following)))
            self._open, self._in_flight = token, True
            if early is not None:
                self._ahead = early
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            dropped = f"connection dropped: {exc or type(exc).__name__}"
            done.extend((waiting_token, TransientDeliveryError(dropped)) for waiting_token in waiting)
        return done

    def collect(self) -> list[Outcome]:
        """Wait for the reply to the message in flight, if any."""
        if self._open is None or self._conn is None:
            return []
        token = self._open
        try:
            return [self._content_reply(self._conn)]
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return [(token, TransientDeliveryError(f"connection dropped: {exc or type(exc).__name__}"))]

    def _content_reply(self, conn: smtplib.SMTP) -> Outcome:
        token = self._open
        code, reply = conn.getreply()
        self._open, self._in_flight = None, False
        if code == 250:
            return (token, None)
        if code == 421:
            self._reset = True
        return (token, _classify(code, reply, "DATA"))

    def close(self) -> None:
        self.collect()
        if self._ahead is not None:
            self._drop()  # the server may wait for content after DATA: no QUIT, just go
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._drop()

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        t = self.target
        context = _ssl_context(t.verify) if t.tls or t.starttls else None
        try:
            if t.tls:
                conn: smtplib.SMTP = _SMTP_SSL(t.host, t.port, timeout=self.timeout, context=context)
            else:
                conn = _SMTP(t.host, t.port, timeout=self.timeout)
            conn.ehlo_or_helo_if_needed()
            if t.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if t.username:
                conn.login(t.username, t.password)
        except smtplib.SMTPResponseException as exc:
            raise TransientDeliveryError(
                f"{t.host}:{t.port}: {exc.smtp_code} {_text(exc.smtp_error)}", code=exc.smtp_code
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerUnreachableError(f"{t.host}:{t.port}: cannot connect: {exc}") from None
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None
        self._open, self._in_flight, self._reset, self._ahead = None, False, False, None


class _DataWithoutRescan:
    """smtplib's DATA dot-stuffs with a regular expression (a third of a millisecond for a 70 KB
    edition); ``bytes.replace`` does the same (a '.' after every LF doubled) in a few microseconds."""

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        if not isinstance(msg, bytes):
            return super().data(msg)  # type: ignore[misc]
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        self.send(_stuffed(msg))  # type: ignore[attr-defined]
        return self.getreply()  # type: ignore[attr-defined,no-any-return]


def _early(ahead: Ahead | None) -> tuple[str, tuple[str, ...]] | None:
    """The envelope to write ahead, if it can be (one sender, one recipient)."""
    if ahead is None:
        return None
    sender, recipients = ahead
    recipients = tuple(recipients)
    if len(recipients) != 1:
        return None
    return (sender, recipients)


def _envelope(envelope_from: str, recipient: str) -> bytes:
    mail, rcpt = _quoted(envelope_from), _quoted(recipient)
    return f"MAIL FROM:{mail}\r\nRCPT TO:{rcpt}\r\nDATA\r\n".encode("ascii")


# A bare address as ``smtplib.quoteaddr`` leaves it (no display name, comment, quote, space or
# angle bracket): put in <> directly, without its parser (a tenth of the per-message time).
_PLAIN_ADDRESS = re.compile(r"[^\s<>\"(),:;@\[\]\\]+@[^\s<>\"(),:;@\[\]\\]+")


def _quoted(address: str) -> str:
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _stuffed(msg: bytes) -> bytes:
    """The message as DATA sends it: a '.' doubled at the start of every line, then CRLF.CRLF."""
    stuffed = dot_stuffed(msg)
    return stuffed + (b".\r\n" if stuffed.endswith(b"\r\n") else b"\r\n.\r\n")


class _SMTP(_DataWithoutRescan, smtplib.SMTP):
    pass


class _SMTP_SSL(_DataWithoutRescan, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's name
    pass


def _classify(code: int, reply: bytes | str, stage: str) -> TransientDeliveryError | PermanentDeliveryError:
    text = f"{code} {_text(reply)} (at {stage})"
    if 500 <= code < 600:
        return PermanentDeliveryError(text, code=code, bounce=stage == "RCPT" and code in HARD_BOUNCES)
    return TransientDeliveryError(text, code=code)


def _text(reply: bytes | str) -> str:
    value = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(value.split())
