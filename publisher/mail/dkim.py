"""DKIM signing with dkimpy, relaxed/relaxed, of exactly the headers the message carries.

The signed header list is taken from the message itself (every header in ``SIGNED`` that is
present, ``From`` once more so nobody can add a second one), so what is signed is what is sent —
List-Unsubscribe and List-Unsubscribe-Post included, as RFC 8058 requires. The key is read once.
"""

from __future__ import annotations

from pathlib import Path

import dkim

from publisher.errors import ConfigError
from publisher.settings import Settings

SIGNED = (
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding", "list-id",
    "list-unsubscribe", "list-unsubscribe-post", "list-help", "list-archive", "feedback-id",
    "precedence", "auto-submitted",
)  # fmt: skip


class DkimSigner:
    def __init__(self, private_key: bytes, selector: str, domain: str) -> None:
        self.key = private_key
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """None unless key file, selector and domain are all set."""
        parts = (settings.dkim_key_file, settings.dkim_selector, settings.dkim_domain)
        if not any(parts):
            return None
        if not all(parts):
            raise ConfigError(
                "PUBLISHER_DKIM_KEY_FILE, PUBLISHER_DKIM_SELECTOR and PUBLISHER_DKIM_DOMAIN: set all or none"
            )
        try:
            key = Path(settings.dkim_key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"PUBLISHER_DKIM_KEY_FILE: {exc}") from None
        return cls(key, settings.dkim_selector, settings.dkim_domain)

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header in front."""
        present = header_names(message)
        include = [name.encode() for name in SIGNED if name in present] + [b"from"]
        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=include,
        )
        return signature + message


def header_names(message: bytes) -> set[str]:
    head = message.split(b"\r\n\r\n", 1)[0]
    names = set()
    for line in head.split(b"\r\n"):
        if line and line[:1] not in (b" ", b"\t"):
            names.add(line.split(b":", 1)[0].strip().lower().decode("ascii", "replace"))
    return names
