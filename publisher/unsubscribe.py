"""Unsubscribe tokens: the subscriber id and an HMAC-SHA256 of it under ``PUBLISHER_SECRET_KEY``.

A token is checked without the database (the MAC proves publisher made it) and in constant time
(``hmac.compare_digest``). It names one subscriber id and nothing else, so a forged or altered token
can never unsubscribe someone else; subscriber ids are never reused. Format: ``<id>.<mac>``, the
MAC as 22 characters of unpadded URL-safe base64 (128 bits).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PURPOSE = b"publisher unsubscribe v1:"


def make_token(secret_key: str, subscriber_id: int) -> str:
    return f"{subscriber_id}.{_mac(secret_key, subscriber_id)}"


def read_token(secret_key: str, token: str) -> int | None:
    """The subscriber id of a genuine token; None for anything else."""
    ident, sep, mac = token.partition(".")
    if not sep or not ident.isdigit() or len(ident) > 18 or ident != str(int(ident)):
        return None
    subscriber_id = int(ident)
    if not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(secret_key, subscriber_id).encode()):
        return None
    return subscriber_id


def unsubscribe_url(site_url: str, secret_key: str, subscriber_id: int) -> str:
    return f"{site_url.rstrip('/')}/unsubscribe/{make_token(secret_key, subscriber_id)}"


def preferences_url(site_url: str, secret_key: str, subscriber_id: int) -> str:
    """The same token opens the reader's preferences page: it proves the link came from us."""
    return f"{site_url.rstrip('/')}/preferences/{make_token(secret_key, subscriber_id)}"


def _mac(secret_key: str, subscriber_id: int) -> str:
    digest = hmac.new(secret_key.encode(), PURPOSE + str(subscriber_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
