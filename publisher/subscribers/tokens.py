"""Confirmation tokens: the pending reader's id, an expiry, and an HMAC-SHA256 of both.

Signed with the same key as unsubscribe tokens but under a purpose of its own, so neither kind of
token can stand for the other. Checked without the database and in constant time. Format:
``<id>.<expires, unix seconds>.<mac>``, the MAC as 22 characters of unpadded URL-safe base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

PURPOSE = b"publisher confirm v1:"


def make_confirm_token(secret_key: str, subscriber_id: int, expires: datetime) -> str:
    stamp = int(expires.timestamp())
    return f"{subscriber_id}.{stamp}.{_mac(secret_key, subscriber_id, stamp)}"


def confirm_token_for(
    secret_key: str, subscriber_id: int, ttl: timedelta, now: datetime | None = None
) -> str:
    return make_confirm_token(secret_key, subscriber_id, (now or datetime.now(UTC)) + ttl)


def read_confirm_token(secret_key: str, token: str, now: datetime | None = None) -> int | None:
    """The subscriber id of a genuine token not yet expired; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    ident, stamp, mac = parts
    for number in (ident, stamp):
        if not number.isdigit() or len(number) > 18 or number != str(int(number)):
            return None
    subscriber_id, expires = int(ident), int(stamp)
    expected = _mac(secret_key, subscriber_id, expires).encode()
    if not hmac.compare_digest(mac.encode("ascii", "replace"), expected):
        return None
    if expires < (now or datetime.now(UTC)).timestamp():
        return None
    return subscriber_id


def _mac(secret_key: str, subscriber_id: int, expires: int) -> str:
    message = PURPOSE + f"{subscriber_id}.{expires}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
