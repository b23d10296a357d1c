"""``publisher inbound serve``: an SMTP server (aiosmtpd) for the bounce and unsubscribe addresses.

Only those two mailboxes (with or without a ``+tag``) are accepted; any other recipient gets 550,
so the server can never be used to relay. A message larger than ``PUBLISHER_INBOUND_MAX_BYTES`` is
refused with 552. STARTTLS is offered when a certificate is configured.

Each message is processed (``Inbound.process``: classified and applied through the reader
lifecycle) before the server answers 250, so a message we accepted has had its effect. A message
that cannot be processed, or that is not a report we act on or names no reader, is also written to
a Maildir of its own (``<var_dir>/inbound-kept``) for ops, who can replay it with ``publisher
inbound read``; if even that write fails the answer is 451 and the sender tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import mailbox
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from publisher.inbound.classify import Kind
from publisher.inbound.process import Inbound
from publisher.settings import Settings

log = logging.getLogger(__name__)


def kept_dir(settings: Settings) -> Path:
    return Path(settings.var_dir) / "inbound-kept"


class Handler:
    """aiosmtpd handler: RCPT checks the mailbox, DATA processes the message before the reply."""

    def __init__(self, settings: Settings, inbound: Inbound) -> None:
        self.inbound = inbound
        domain = settings.envelope_from.rpartition("@")[2]
        bounce = settings.bounce_address or f"bounces@{domain}"
        self.mailboxes = {_base(bounce), _base(inbound.unsubscribe_address)}
        self.kept = kept_dir(settings)
        # One worker thread: the database calls are blocking, and one at a time keeps a burst of
        # reports from opening one connection each.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if _base(address) not in self.mailboxes:
            return "550 5.1.1 No such mailbox here (this server takes bounces and unsubscribes only)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, self._handle, raw)
        except Exception:  # not even kept: the sender must keep it and try again
            log.exception("inbound message neither processed nor kept")
            return "451 4.3.0 Cannot take this message now, try again later"

    def _handle(self, raw: bytes) -> str:
        try:
            outcome = self.inbound.process(raw)
        except Exception:
            log.exception("inbound message could not be processed; kept in %s", self.kept)
            self.keep(raw)
            return "250 2.0.0 Kept for review"
        log.info("inbound %s %s: %s", outcome.kind, outcome.email or "-", outcome.action)
        if outcome.kind == Kind.UNKNOWN or outcome.action.startswith("none (no reader"):
            self.keep(raw)
        return f"250 2.0.0 {outcome.kind}: {outcome.action}"

    def keep(self, raw: bytes) -> None:
        self.kept.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.kept, create=True).add(raw)


def smtp_parameters(settings: Settings) -> dict[str, Any]:
    """aiosmtpd ``SMTP`` keyword arguments: size limit, and STARTTLS when a certificate is set."""
    params: dict[str, Any] = {"data_size_limit": settings.inbound_max_bytes, "ident": "publisher inbound"}
    if settings.inbound_tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.inbound_tls_cert, settings.inbound_tls_key or None)
        params["tls_context"] = context
    return params


async def serve(handler: Handler, settings: Settings, host: str, port: int, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    params = smtp_parameters(settings)
    server = await loop.create_server(lambda: SMTP(handler, loop=loop, **params), host, port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        handler.executor.shutdown(wait=True)  # a message being processed is finished, not dropped


def _base(address: str) -> str:
    """``Bounces+tag@News.Example.com`` → ``bounces@news.example.com``."""
    mailbox_part, _, domain = address.strip().strip("<>").rpartition("@")
    return f"{mailbox_part.partition('+')[0].lower()}@{domain.lower()}"
