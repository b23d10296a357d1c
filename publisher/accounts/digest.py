"""The random tokens of sessions, API tokens and set-password links, and the SHA-256 the database
keeps instead of them: 256 random bits cannot be guessed, so a plain hash suffices (no salt, no
slow hash), and a copy of the database lets nobody in."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
