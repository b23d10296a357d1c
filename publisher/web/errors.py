"""How an error becomes a response, decided by its type (never by its message text).

    NotFoundError      404
    ConflictError      409   (EditionStateError included)
    InvalidInputError  422   naming its ``field``, shaped like FastAPI's own validation errors
    anything else      500   our fault: logged with its traceback, never shown

The ops API (``/api``) answers JSON; the reader's side answers a page from ``templates/web/``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from publisher.errors import ConflictError, InvalidInputError, NotFoundError, PublisherError
from publisher.web.pages import message_page

log = logging.getLogger(__name__)

TITLES = {
    400: ("Bad request", "This request cannot be answered."),
    401: ("Not allowed", "This needs a valid token."),
    403: ("Not allowed", "You may not do this."),
    404: ("Not found", "There is no page at this address."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too much data", "That request was larger than this site accepts."),
    422: ("Cannot use that", "Some of what was sent cannot be used."),
    500: ("Something went wrong", "Something went wrong on our side. Please try again later."),
}


def status_of(exc: PublisherError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InvalidInputError):
        return 422
    return 500


def field_detail(field: str | None, message: str, *, where: str = "body") -> list[dict[str, Any]]:
    """One entry of a 422's ``detail``, as FastAPI writes them."""
    return [{"loc": [where, field or "body"], "msg": message, "type": "value_error"}]


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _page(request: Request, status: int, text: str | None = None) -> Response:
    heading, default = TITLES.get(status, TITLES[400] if status < 500 else TITLES[500])
    if request.url.path == "/console" or request.url.path.startswith("/console/"):
        # The console's own layout, with its navigation when someone is logged in.
        from publisher.web.console.pages import message

        principal = getattr(request.state, "principal", None)
        return message(request, principal, heading, text or default, status_code=status)
    return message_page(request.app.state.publisher.settings, heading, text or default, status_code=status)


async def publisher_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PublisherError)
    status = status_of(exc)
    if status == 500:
        log.error("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        return await server_error(request, exc)
    if _is_api(request):
        detail: Any = field_detail(exc.field, str(exc)) if status == 422 else str(exc)
        return JSONResponse({"detail": detail}, status_code=status)
    return _page(request, status, str(exc) if status != 404 else None)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if 300 <= exc.status_code < 400 and exc.status_code != 304 and headers and "Location" in headers:
        # A route's way of sending the browser elsewhere (the console's "log in first").
        return RedirectResponse(headers["Location"], status_code=exc.status_code)
    if _is_api(request) or exc.status_code in (204, 304):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    # The reader's side: a page, with the route's reason when it wrote one for a person.
    reason = (
        exc.detail
        if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        else None
    )
    response = _page(request, exc.status_code, reason)
    if headers:
        response.headers.update(headers)
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request):
        return _page(request, 422)
    # FastAPI echoes each bad input back; a large body would come back whole, so only loc and msg.
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]  # fmt: skip
    return JSONResponse({"detail": detail}, status_code=422)


async def server_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, PublisherError):
        log.error("%s %s: unhandled", request.method, request.url.path, exc_info=exc)
    if _is_api(request):
        return JSONResponse({"detail": "internal error (logged)"}, status_code=500)
    return _page(request, 500)


def install(web: FastAPI) -> None:
    web.add_exception_handler(PublisherError, publisher_error)
    web.add_exception_handler(StarletteHTTPException, http_error)
    web.add_exception_handler(RequestValidationError, validation_error)
    web.add_exception_handler(Exception, server_error)
