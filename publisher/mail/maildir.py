"""The embedded default: every message becomes a file in a Maildir outbox (``var/outbox``).

Nothing leaves the machine; a mail client, ``mutt -f var/outbox`` or a test can read what was sent.
"""

from __future__ import annotations

import mailbox
from collections.abc import Sequence
from pathlib import Path

from publisher.errors import TransientDeliveryError


class MaildirMailer:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Only the parent: Maildir(create=True) makes tmp/new/cur only when the folder is new.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(str(self.path), create=True)

    def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None:
        # The envelope is not part of the message; Return-Path/Delivered-To record it, as an MTA would.
        envelope = f"Return-Path: <{envelope_from}>\r\nDelivered-To: {', '.join(recipients)}\r\n"
        try:
            self._box.add(envelope.encode() + message)
        except OSError as exc:  # a full disk is like a full mail server: try again later
            raise TransientDeliveryError(f"outbox {self.path}: {exc}") from None

    def close(self) -> None:
        self._box.close()
