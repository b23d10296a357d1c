"""DKIM signing (RFC 6376), rsa-sha256, relaxed/relaxed, of exactly the headers the message carries.

The signed header list is taken from the message itself (every header in ``SIGNED`` that is
present, ``From`` once more so nobody can add a second one), so what is signed is what is sent —
List-Unsubscribe and List-Unsubscribe-Post included, as RFC 8058 requires.

dkimpy does the header work (parsing, relaxed header canonicalization, the header hash) and the
tests verify every signature with dkimpy. Two steps are done here because they are the cost of a
signature, per message, at list scale (measured on a 70 KB edition: dkimpy 10 ms, this 0.7 ms):
the relaxed body canonicalization (dkimpy substitutes every single space; ``relaxed_body`` below
touches only what changes, same result — a test compares them) and the RSA operation (OpenSSL via
``cryptography`` instead of Python integers). The key is read and parsed once.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy

from publisher.errors import ConfigError
from publisher.settings import Settings

SIGNED = (
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding", "list-id",
    "list-unsubscribe", "list-unsubscribe-post", "list-help", "list-archive", "feedback-id",
    "precedence", "auto-submitted",
)  # fmt: skip
RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")


class DkimSigner:
    def __init__(self, private_key: bytes, selector: str, domain: str) -> None:
        try:
            key = serialization.load_pem_private_key(private_key, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"PUBLISHER_DKIM_KEY_FILE: not a PEM private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("PUBLISHER_DKIM_KEY_FILE: not an RSA key")
        self.key = key
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

    def sign(self, message: bytes, *, now: float | None = None) -> bytes:
        """The message (CRLF line endings) with its DKIM-Signature header in front."""
        head, _, body = message.partition(b"\r\n\r\n")
        headers, _ = dkim.rfc822_parse(head + b"\r\n\r\n")
        present = {bytes(name).lower() for name, _ in headers}
        include = [n.encode() for n in SIGNED if n.encode() in present] + [b"from"]
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        fields = [
            (b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", self.domain),
            (b"s", self.selector), (b"t", str(int(now or time.time())).encode()),
            (b"h", b":".join(include)), (b"bh", body_hash), (b"b", b""),
        ]  # fmt: skip
        # Folded only after each ';' (where a space is anyway): the form hashed is the form sent.
        value = b";\r\n\t".join(b"=".join(f) for f in fields)
        digest = hashlib.sha256()
        dkim.hash_headers(digest, RELAXED, RELAXED.canonicalize_headers(headers), include,
                          (b"DKIM-Signature", b" " + value), dict(fields))  # fmt: skip
        signature = self.key.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return b"DKIM-Signature: " + value + base64.b64encode(signature) + b"\r\n" + message


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: no whitespace at line ends, runs of it as one space, no empty lines at the end.

    Plain ``bytes.replace`` passes (C speed; each halves the longest run of spaces) instead of
    regular expressions: ~0.1 ms instead of ~2 ms for a 70 KB edition.
    """
    body = body.replace(b"\t", b" ")
    while b"  " in body:
        body = body.replace(b"  ", b" ")
    body = body.replace(b" \r\n", b"\r\n").rstrip(b"\r\n")
    return body + b"\r\n" if body else b""
