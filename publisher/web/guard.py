"""Pure ASGI middleware that guards every request before any route sees it.

``BodyLimit`` refuses bodies over ``PUBLISHER_MAX_BODY_BYTES`` while they stream in (a declared
Content-Length at once, a chunked body when it crosses the limit), so no route ever buffers more
than the limit. ``ApiAuth`` checks the ops API's bearer token, and the permission the route needs
of its role, before a byte of the body is read: FastAPI reads and validates a body before it runs
the route's dependencies, so a dependency alone would let anyone make the server parse JSON.
``SecurityHeaders`` adds the headers every response needs (pages hold reader tokens in their URLs:
no referrer, no framing, no sniffing).

Written against raw ASGI rather than ``BaseHTTPMiddleware``: that one buffers and re-wraps the
body stream, which is what the limit must prevent.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from publisher.accounts.api_tokens import PREFIX as TOKEN_PREFIX
from publisher.accounts.principal import BOOTSTRAP, Principal
from publisher.accounts.roles import Permission

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The reader pages load nothing but their own stylesheet; no script runs on them (only the API's
# documentation pages run any, under ``docs_csp``).
PAGE_CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
# The subscribe page runs one script, served by this site (``/static/subscribe.js``); no inline one.
SCRIPT_CSP = PAGE_CSP.replace("script-src 'none'", "script-src 'self'")
# The console (``/console``) runs scripts served by this site (never inline ones), fetches its own
# JSON, and frames this site's own previews of an edition.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
# The edition archive is the email's HTML, whose styles are inline by necessity (mail clients
# drop <link>); still no script.
ARCHIVE_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def docs_csp(script_hashes: list[str]) -> str:
    """The policy of ``/docs`` and ``/redoc`` alone (``docs.py``): their scripts from this site, an
    inline script only by its hash; Swagger UI and ReDoc write inline styles and ``data:`` images,
    and ReDoc runs its search in a worker made from a ``blob:`` URL."""
    scripts = " ".join(["'self'", *script_hashes])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src blob:; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once the body passes the limit. An HTTPException, so that it passes
    through FastAPI's body parsing (which turns other errors into 400s) to the 413 handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


async def _json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                    *headers],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _json(send, 400, {"detail": "Content-Length is not a number"}, [])
                return
            if int(declared) > limit:
                await _json(send, 413, {"detail": f"request body larger than {limit} bytes"},
                            [(b"connection", b"close")])  # fmt: skip
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLargeError as exc:
            # A route that caught nothing: answer here unless it already began its response.
            if started:
                raise
            await _json(send, 413, {"detail": exc.detail}, [(b"connection", b"close")])


# A changing API route says what it needs with ``openapi_extra=needs(Permission.X)`` (it shows in
# the OpenAPI document as ``x-permission``); reads need VIEW, a changing route that says nothing ADMIN.
PERMISSION_KEY = "x-permission"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def needs(permission: Permission) -> dict[str, str]:
    return {PERMISSION_KEY: str(permission)}


@dataclass(frozen=True)
class _Declared:
    path: re.Pattern[str]
    methods: frozenset[str]
    permission: Permission


def declared_permissions(app: Any, prefix: str) -> list[_Declared]:
    """What each route under ``prefix`` of the FastAPI ``app`` needs (its ``x-permission``)."""
    found = []
    for route in iter_route_contexts(getattr(app, "routes", [])):
        path, methods = route.path or "", route.methods or set()
        if not path.startswith(prefix) or not isinstance(route.original_route, APIRoute):
            continue
        wanted = (route.openapi_extra or {}).get(PERMISSION_KEY, Permission.ADMIN)
        found.append(_Declared(route.path_regex, frozenset(methods), Permission(wanted)))
    return found


def route_permission(declared: list[_Declared], method: str, path: str) -> Permission:
    """The permission a request needs: VIEW to read, else what its route declares (VIEW when no
    route matches: the router answers 404 or 405)."""
    if method in SAFE_METHODS:
        return Permission.VIEW
    for route in declared:
        if method in route.methods and route.path.match(path):
            return route.permission
    return Permission.VIEW


class ApiAuth:
    """``Authorization: Bearer TOKEN`` on every path under ``/api``: PUBLISHER_API_TOKEN (the
    bootstrap token, an admin) or a user's personal token (``pub_...``, their role). With neither
    the API refuses everything, so a forgotten setting never leaves it open. Then the role must
    allow what the route needs (403 naming both). The principal is left in the request's state."""

    def __init__(self, app: ASGIApp, token: str, resolve: Callable[[str], Principal | None],
                 prefix: str = "/api") -> None:  # fmt: skip
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else b""
        self.resolve = resolve
        self.prefix = prefix
        self.declared: list[_Declared] | None = None  # read from the app on its first request

    def _guarded(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def _principal(self, given: bytes) -> Principal | None:
        # compare_digest takes time independent of where the bytes differ.
        if self.expected and hmac.compare_digest(given, self.expected):
            return BOOTSTRAP
        scheme, _, token = given.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
            return None
        return await run_in_threadpool(self.resolve, token.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        principal = await self._principal(_header(scope, b"authorization") or b"")
        if principal is None:
            await _json(
                send, 401,
                {"detail": "missing or wrong bearer token (Authorization: Bearer $PUBLISHER_API_TOKEN, "
                           "or a personal token made in the console)"},
                [(b"www-authenticate", b"Bearer")],
            )  # fmt: skip
            return
        if self.declared is None:
            self.declared = declared_permissions(scope.get("app"), self.prefix)
        permission = route_permission(self.declared, scope.get("method", "GET"), scope.get("path", ""))
        if not principal.may(permission):
            detail = f"role {principal.role} does not have the {permission} permission this needs"
            await _json(send, 403, {"detail": detail}, [])
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


class SecurityHeaders:
    """nosniff and no-referrer on every response; on HTML also CSP and no framing. A response that
    sets its own Content-Security-Policy (the edition archive) keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if content_type.startswith(b"text/html"):
                    extra += [(b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY")]
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
