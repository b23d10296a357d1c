"""The short emails about a reader's subscription: confirm, welcome, already subscribed.

Each is a folder of ``templates/email/`` (``body.mjml``, ``body.txt``, ``subject.txt``, overridable
file by file like the edition's), rendered through the edition's pipeline (Jinja → MJML with
mjml-python → premailer), and sent through the same ``Mailer`` as editions — but outside the
edition ledger: one message, now, with a Message-ID of its own, DKIM-signed when configured.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

import jinja2

from publisher.edition.compile import mjml_to_html
from publisher.edition.templates import email_templates
from publisher.errors import DeliveryError, RenderError
from publisher.mail.dkim import DkimSigner
from publisher.mail.mailer import Mailer
from publisher.settings import Settings
from publisher.text import one_line

log = logging.getLogger(__name__)
NOTICES = ("confirm", "welcome", "already_subscribed")


@dataclass(frozen=True, slots=True)
class Notice:
    subject: str
    html: str
    text: str


def render_notice(
    settings: Settings, name: str, context: Mapping[str, Any], env: jinja2.Environment | None = None
) -> Notice:
    """One notice for one reader; raises RenderError naming the template when it cannot be made."""
    assert name in NOTICES, name
    env = env or email_templates(settings.templates_dir)
    full = {"site_title": settings.site_title, "site_url": settings.site_url, "language": settings.language,
            "postal_address": settings.postal_address, **context}  # fmt: skip
    try:
        subject = one_line(env.get_template(f"{name}/subject.txt").render(full))
        source = env.get_template(f"{name}/body.mjml").render(full)
        text = env.get_template(f"{name}/body.txt").render(full)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name}: {exc}") from None
    lines = [line.rstrip() for line in text.splitlines()]
    squeezed = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]
    return Notice(subject, mjml_to_html(source, f"the {name} email"), "\n".join(squeezed).strip("\n") + "\n")


def build_message(settings: Settings, notice: Notice, *, to: str, name: str = "", kind: str,
                  now: datetime | None = None) -> tuple[bytes, str]:  # fmt: skip
    """The MIME message (CRLF line endings) and its Message-ID: text/plain then text/html."""
    from_name, from_addr = parseaddr(one_line(settings.mail_from))
    domain = from_addr.rsplit("@", 1)[1]
    message_id = f"{kind}-{secrets.token_hex(12)}@{domain}"
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((one_line(from_name), from_addr))
    message["To"] = formataddr((one_line(name), one_line(to))) if name else one_line(to)
    message["Subject"] = notice.subject
    message["Date"] = format_datetime((now or datetime.now(UTC)).replace(microsecond=0))
    message["Message-ID"] = f"<{message_id}>"
    # Not a list message: mail robots (vacation replies) should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.text, cte="quoted-printable")
    message.add_alternative(notice.html, subtype="html", cte="quoted-printable")
    return message.as_bytes(), message_id


class Notifier:
    """Renders and sends notices; one connection per notice (they are few and far between)."""

    def __init__(self, settings: Settings, open_mailer: Callable[[], Mailer],
                 signer: Callable[[], DkimSigner | None]) -> None:  # fmt: skip
        self.settings = settings
        self.open_mailer = open_mailer
        self.signer = signer

    def send(self, kind: str, *, to: str, name: str, context: Mapping[str, Any]) -> str | None:
        """Send it; the Message-ID, or None when it could not be sent (logged: the reader was
        already answered, and the confirmation can be asked for again)."""
        notice = render_notice(self.settings, kind, {"email": to, "name": name, **context})
        message, message_id = build_message(self.settings, notice, to=to, name=name, kind=kind)
        signer = self.signer()
        if signer is not None:
            message = signer.sign(message)
        mailer = self.open_mailer()
        try:
            mailer.send(self.settings.envelope_from, [to], message)
        except DeliveryError as exc:
            log.warning("%s email to subscriber not sent: %s", kind, exc)
            return None
        finally:
            mailer.close()
        return message_id
