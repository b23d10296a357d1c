"""VERP tags: the envelope sender of each message names its ledger row, signed.

``bounces+d<row>-<mac>@news.example.com``: a bounce that comes back to that address names the row
even when its body does not. The MAC is an HMAC-SHA256 of the row id under the app's signing key
with a purpose of its own, so a tag can stand for no other token (unsubscribe, confirm) nor they
for it. Checked without the database and in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PURPOSE = b"publisher verp v1:"
_TAG = re.compile(r"d([0-9]{1,18})-([0-9a-f]{16})", re.IGNORECASE)
# The Message-ID the sender writes for a ledger row: edition<E>.<row>.<12 hex of an HMAC>.
_MESSAGE_ID = re.compile(r"<?edition([0-9]{1,18})\.([0-9]{1,18})\.([0-9a-f]{12})@[^>\s]*>?")


def make_tag(secret_key: str, delivery_id: int) -> str:
    return f"d{delivery_id}-{_mac(secret_key, delivery_id)}"


def read_tag(secret_key: str, tag: str) -> int | None:
    """The ledger row id of a genuine tag; None for anything else."""
    found = _TAG.fullmatch(tag.strip())
    if found is None:
        return None
    delivery_id = int(found.group(1))
    if not hmac.compare_digest(found.group(2).lower().encode(), _mac(secret_key, delivery_id).encode()):
        return None
    return delivery_id


def verp_address(bounce_address: str, tag: str) -> str:
    """``bounces@d`` and a tag → ``bounces+<tag>@d``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{tag}@{domain}"


def envelope_sender(bounce_address: str, secret_key: str, delivery_id: int, default: str) -> str:
    """The envelope sender of one ledger row's message: ``default`` when VERP is off (no bounce
    address set)."""
    if not bounce_address:
        return default
    return verp_address(bounce_address, make_tag(secret_key, delivery_id))


def tag_in(address: str, local: str) -> str | None:
    """The tag of ``<local>+<tag>@...`` (local parts compared without case), unverified."""
    mailbox = address.strip().strip("<>").rpartition("@")[0]
    base, plus, tag = mailbox.partition("+")
    if plus and tag and base.lower() == local.lower():
        return tag
    return None


def read_message_id(secret_key: str, message_id: str) -> int | None:
    """The ledger row a genuine Message-ID of ours names (it is signed too); None otherwise."""
    found = _MESSAGE_ID.search(message_id or "")
    if found is None:
        return None
    edition_id, delivery_id, mac = found.groups()
    expected = hmac.new(secret_key.encode(), f"{edition_id}.{delivery_id}".encode(), hashlib.sha256)
    if not hmac.compare_digest(mac.encode(), expected.hexdigest()[:12].encode()):
        return None
    return int(delivery_id)


def _mac(secret_key: str, delivery_id: int) -> str:
    # Hex, not base64: some mail servers change the case of local parts.
    return hmac.new(secret_key.encode(), PURPOSE + str(delivery_id).encode(), hashlib.sha256).hexdigest()[:16]
