"""SMTP with smtplib: one connection reused for a whole batch, reopened after a drop.

URL: ``smtp://user:pass@host:port`` (plain, default port 25), ``smtp://...:587?starttls=1``
(STARTTLS), ``smtps://...:465`` (TLS from the start). ``verify=0`` accepts a self-signed
certificate (a relay on the same host). User and password are URL-decoded.

Replies are classified here and nowhere else: 4xx and dropped connections are transient; 5xx are
permanent; 550/551/553 on RCPT are hard bounces (the address does not exist).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from publisher.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from publisher.mail.mailer import ServerUnreachableError

HARD_BOUNCES = frozenset({550, 551, 553})


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

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._drop()

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        t = self.target
        context = ssl.create_default_context()
        if not t.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
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
        stuffed = (b"." if msg.startswith(b".") else b"") + msg.replace(b"\n.", b"\n..")
        self.send(stuffed + (b".\r\n" if stuffed.endswith(b"\r\n") else b"\r\n.\r\n"))  # type: ignore[attr-defined]
        return self.getreply()  # type: ignore[attr-defined,no-any-return]


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
