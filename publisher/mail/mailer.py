"""The ``Mailer`` protocol every sender implements, and the choice of one from the settings.

``send`` hands one message to the mail server or raises ``TransientDeliveryError`` (4xx, dropped
connection: a retry may work) or ``PermanentDeliveryError`` (5xx: it will not), each carrying the
SMTP code and the server's reply. A mailer may keep a connection open between sends; ``close``
ends it. One mailer per batch of sends, used by one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from publisher.errors import ConfigError, DeliveryError, TransientDeliveryError
from publisher.settings import Settings

# What became of a message handed over with ``submit``: its token, and None (accepted) or why not.
Outcome = tuple[Any, DeliveryError | None]
# The envelope of the message a caller submits next: (sender, recipients).
Ahead = tuple[str, Sequence[str]]


class ServerUnreachableError(TransientDeliveryError):
    """The mail server cannot be reached at all (no connection): nothing about any recipient."""


class Mailer(Protocol):
    def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None: ...

    def close(self) -> None: ...


class Submitter(Protocol):
    """A mailer that may keep messages in flight: ``submit`` returns the outcomes known so far
    (of this message or earlier ones), ``collect`` waits for the rest. ``ahead``: the envelope
    (sender, recipients) of the message the caller submits next, which may go out early; a
    message whose envelope turns out not to be that one is never sent under it. ``stuffed``:
    the same message as DATA carries it (dot-stuffed, with its ending line), in pieces, when the
    caller has it ready; a mailer that writes DATA itself may send that instead of ``message``."""

    @property
    def in_flight(self) -> int: ...

    def submit(
        self,
        token: Any,
        envelope_from: str,
        recipients: Sequence[str],
        message: bytes,
        *,
        ahead: Ahead | None = None,
        stuffed: Sequence[bytes] | None = None,
    ) -> list[Outcome]: ...

    def collect(self) -> list[Outcome]: ...


class OneAtATime:
    """``Submitter`` over a plain ``Mailer``: each message's outcome is known when it returns."""

    in_flight = 0

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

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
        try:
            self.mailer.send(envelope_from, recipients, message)
        except DeliveryError as exc:
            return [(token, exc)]
        return [(token, None)]

    def collect(self) -> list[Outcome]:
        return []


def submitter(mailer: Mailer) -> Submitter:
    return mailer if hasattr(mailer, "submit") else OneAtATime(mailer)  # type: ignore[return-value]


def open_mailer(settings: Settings) -> Mailer:
    """SMTP for ``smtp://`` / ``smtps://``, the Maildir outbox when ``PUBLISHER_SMTP_URL`` is unset."""
    url = settings.smtp_url.strip()
    if not url:
        from publisher.mail.maildir import MaildirMailer

        return MaildirMailer(settings.outbox_dir)
    if url.startswith(("smtp://", "smtps://")):
        from publisher.mail.smtp import SmtpMailer

        return SmtpMailer.from_url(url, timeout=settings.smtp_timeout)
    if url.startswith("maildir:"):
        from publisher.mail.maildir import MaildirMailer

        return MaildirMailer(url.removeprefix("maildir:").removeprefix("//") or settings.outbox_dir)
    raise ConfigError(
        f"PUBLISHER_SMTP_URL: expected smtp://, smtps:// or maildir:, got {url.split(':')[0]!r}"
    )
