"""The ``Mailer`` protocol every sender implements, and the choice of one from the settings.

``send`` hands one message to the mail server or raises ``TransientDeliveryError`` (4xx, dropped
connection: a retry may work) or ``PermanentDeliveryError`` (5xx: it will not), each carrying the
SMTP code and the server's reply. A mailer may keep a connection open between sends; ``close``
ends it. One mailer per batch of sends, used by one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from publisher.errors import ConfigError, TransientDeliveryError
from publisher.settings import Settings


class ServerUnreachableError(TransientDeliveryError):
    """The mail server cannot be reached at all (no connection): nothing about any recipient."""


class Mailer(Protocol):
    def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None: ...

    def close(self) -> None: ...


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
