"""Who is at the console, and what they may do: the session cookie, CSRF tokens, ``require``.

The cookie ``publisher_console`` carries a random session token and an HMAC of it under the app's
signing key (``<token>.<mac>``), so a forged or altered cookie is refused before the database is
asked; the session itself is server-side (``publisher/accounts/sessions.py``). The cookie is
``HttpOnly``, ``SameSite=Lax``, ``Path=/console``, and ``Secure`` when PUBLISHER_SITE_URL is https.

Every form carries a CSRF token: for a session, an HMAC of the session's id (a new session, a new
token); before login (the login and set-password forms), an HMAC of a random nonce kept in the
short-lived cookie ``publisher_console_form``. ``require(permission)`` is the dependency every
console route uses: it finds the session (a GET without one is sent to the login page, a POST
without one is a 401), checks the CSRF token of every POST (403), then the permission (403).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission, Role
from publisher.accounts.sessions import Session
from publisher.web.console.forms import read_form
from publisher.web.context import publisher_app

__all__ = ["COOKIE", "Principal", "Role", "record", "require", "source_of"]

COOKIE = "publisher_console"
FORM_COOKIE = "publisher_console_form"
PATH = "/console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION = b"publisher console session v1:"
_CSRF = b"publisher console csrf v1:"
_FORM_CSRF = b"publisher console form v1:"


def _mac(key: str, purpose: bytes, value: str) -> str:
    digest = hmac.new(key.encode(), purpose + value.encode("utf-8", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).rstrip(b"=").decode("ascii")


def source_of(request: Request) -> str:
    """Where a request came from, for the audit log: the client's address."""
    return request.client.host if request.client else "unknown"


async def record(request: Request, principal: Principal, action: str, target: str,
                 detail: dict[str, Any] | None = None) -> None:  # fmt: skip
    """One audit entry for a change ``principal`` made through the console."""
    audit = publisher_app(request).audit
    await run_in_threadpool(
        audit.record, principal.email, action, target, source=source_of(request), detail=detail
    )


def secure(request: Request) -> bool:
    return str(publisher_app(request).settings.site_url).lower().startswith("https://")


# -- the session cookie ------------------------------------------------------------------------------


def cookie_value(key: str, token: str) -> str:
    return f"{token}.{_mac(key, _SESSION, token)}"


def token_of(key: str, value: str) -> str | None:
    """The session token of a genuine cookie value; None for anything else."""
    token, dot, mac = value.rpartition(".")
    if not dot or not token or len(value) > 200:
        return None
    if not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(key, _SESSION, token).encode()):
        return None
    return token


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    value = cookie_value(publisher_app(request).signing_key, token)
    response.set_cookie(COOKIE, value, path=PATH, httponly=True, samesite="lax", secure=secure(request))


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax", secure=secure(request))


def session_token(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return None if not value else token_of(publisher_app(request).signing_key, value)


def current_session(request: Request) -> Session | None:
    """The live session the request's cookie opens (blocking: call it in a thread)."""
    token = session_token(request)
    return None if token is None else publisher_app(request).console_sessions.resolve(token)


# -- CSRF ---------------------------------------------------------------------------------------------


def csrf_token(key: str, session_id: str) -> str:
    return _mac(key, _CSRF, session_id)


def _matches(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def form_nonce(request: Request) -> tuple[str, bool]:
    """The nonce of the logged-out forms: the browser's, or a new one (True: set its cookie)."""
    nonce = request.cookies.get(FORM_COOKIE, "")
    if 20 <= len(nonce) <= 64 and nonce.isascii():
        return nonce, False
    return secrets.token_urlsafe(24), True


def form_csrf(request: Request, nonce: str) -> str:
    return _mac(publisher_app(request).signing_key, _FORM_CSRF, nonce)


def set_form_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(FORM_COOKIE, nonce, path=PATH, httponly=True, samesite="lax", secure=secure(request),
                        max_age=3600)  # fmt: skip


async def check_form_csrf(request: Request) -> None:
    """A logged-out form's token must match the nonce cookie the form came with (403 otherwise)."""
    nonce = request.cookies.get(FORM_COOKIE, "")
    given = (await read_form(request)).get("csrf_token")
    if not nonce or not _matches(given, form_csrf(request, nonce)):
        raise HTTPException(403, "This form has expired. Reload the page and try again.")


# -- require -----------------------------------------------------------------------------------------


class LoginRequired(HTTPException):
    """A GET without a session: 303 to the login page, which comes back here after."""

    def __init__(self, request: Request) -> None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        super().__init__(
            303, "Log in first.", headers={"Location": f"{PATH}/login?next={quote(path, safe='')}"}
        )


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """The dependency of a console route that needs ``permission``; yields the Principal."""

    async def dependency(request: Request) -> Principal:
        session = await run_in_threadpool(current_session, request)
        if session is None:
            if request.method in SAFE_METHODS:
                raise LoginRequired(request)
            raise HTTPException(401, "Your session has ended. Log in again.")
        user = session.user
        principal = Principal(user.id, user.email, user.role, "session")
        request.state.console_session = session
        request.state.principal = principal
        if request.method not in SAFE_METHODS:
            given = request.headers.get("x-csrf-token") or (await read_form(request)).get("csrf_token")
            if not _matches(given, csrf_token(publisher_app(request).signing_key, session.id)):
                raise HTTPException(403, "This form has expired. Reload the page and try again.")
        if not principal.may(permission):
            raise HTTPException(
                403,
                f"Your role ({principal.role}) does not allow this: it needs the {permission} permission.",
            )
        return principal

    return dependency
