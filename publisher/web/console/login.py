"""``/console/login``, ``/console/logout``, ``/console/logout-everywhere`` and
``/console/set-password/{token}``: getting in and out of the console.

The login page answers a wrong password, an unknown address, a disabled user and a user without a
password alike (401, same words, same work); a locked account or client gets 429 and when to come
back. A good login always starts a new session, whatever cookie the browser brought (fixation),
and goes back to the page that sent the user here (only ever a ``/console`` path).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.login import Outcome
from publisher.accounts.passwords import MIN_LENGTH, check_new_password
from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.errors import InvalidInputError
from publisher.web.console.auth import (
    PATH,
    check_form_csrf,
    clear_session_cookie,
    form_csrf,
    form_nonce,
    require,
    session_token,
    set_form_cookie,
    set_session_cookie,
    source_of,
)
from publisher.web.console.forms import read_form
from publisher.web.console.pages import message, page
from publisher.web.context import publisher_app

router = APIRouter()
Token = Annotated[str, Path(max_length=200)]
_LOGIN = ("Log in", f"{PATH}/login")


def _next(value: str) -> str:
    """Where to go after login: a console path of this site, nothing else (no open redirect)."""
    if value.startswith(PATH) and not value.startswith("//") and "\\" not in value and value.isprintable():
        return value
    return f"{PATH}/"


def _logged_out_form(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    nonce, new = form_nonce(request)
    response = page(request, template, None, status_code=status_code, csrf_token=form_csrf(request, nonce),
                    **context)  # fmt: skip
    if new:
        set_form_cookie(request, response, nonce)
    return response


def _until(app: Any, until: datetime) -> str:
    minutes = max(1, round((until - app.now()).total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _login_form(request: Request, status_code: int, target: str, email: str, error: str) -> HTMLResponse:
    return _logged_out_form(request, "login.html", status_code=status_code, heading="Log in", next=target,
                            email=email, error=error)  # fmt: skip


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> HTMLResponse:
    return _logged_out_form(
        request, "login.html", heading="Log in", next=_next(next[:2000]), email="", error=""
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    app = publisher_app(request)
    await check_form_csrf(request)
    form = await read_form(request)
    email, password, target = form.get("email")[:320], form.get("password"), _next(form.get("next")[:2000])
    attempt = await run_in_threadpool(app.login.attempt, email, password, source_of(request))
    if attempt.outcome == Outcome.LOCKED:
        assert attempt.locked_until is not None
        error = (f"Too many failed attempts. Logging in is locked for {_until(app, attempt.locked_until)}; "
                 "try again then.")  # fmt: skip
        return _login_form(request, 429, target, email, error)
    if attempt.outcome == Outcome.WRONG:
        return _login_form(
            request, 401, target, email, "That email address and password do not match an account."
        )
    assert attempt.user is not None and attempt.token is not None
    # The session the browser brought, if any, ends here: the new one is the only one it holds.
    old = session_token(request)
    if old is not None:
        await run_in_threadpool(app.console_sessions.end, old)
    await run_in_threadpool(app.audit.record, attempt.user.email, "session.login", attempt.user.email,
                            source=source_of(request))  # fmt: skip
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, attempt.token)
    return response


@router.post("/logout")
async def logout(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.VIEW))]
) -> Response:
    token = session_token(request)
    if token is not None:
        await run_in_threadpool(publisher_app(request).console_sessions.end, token)
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.post("/logout-everywhere")
async def logout_everywhere(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.VIEW))]
) -> Response:
    app = publisher_app(request)
    assert principal.user_id is not None
    ended = await run_in_threadpool(app.console_sessions.end_all, principal.user_id)
    await run_in_threadpool(app.audit.record, principal.email, "session.logout-everywhere", principal.email,
                            source=source_of(request), detail={"sessions": ended})  # fmt: skip
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    clear_session_cookie(request, response)
    return response


def _invalid_link(request: Request) -> HTMLResponse:
    text = ("It was used already, it expired, or it is not a link we made. Ask an admin for a new one "
            "(publisher users link EMAIL).")  # fmt: skip
    return message(request, None, "This link does not work", text, status_code=404, link=_LOGIN)


@router.get("/set-password/{token}", response_class=HTMLResponse)
async def set_password_page(request: Request, token: Token) -> HTMLResponse:
    user = await run_in_threadpool(publisher_app(request).password_links.user_of, token)
    if user is None:
        return _invalid_link(request)
    return _logged_out_form(request, "set_password.html", heading="Choose your password", email=user.email,
                            min_length=MIN_LENGTH, error="", error_field="")  # fmt: skip


@router.post("/set-password/{token}", response_class=HTMLResponse)
async def set_password(request: Request, token: Token) -> HTMLResponse:
    app = publisher_app(request)
    await check_form_csrf(request)
    form = await read_form(request)
    user = await run_in_threadpool(app.password_links.user_of, token)
    if user is None:
        return _invalid_link(request)
    try:
        password = check_new_password(form.get("password"), form.get("confirm"))
    except InvalidInputError as exc:
        return _logged_out_form(request, "set_password.html", status_code=422, heading="Choose your password",
                                email=user.email, min_length=MIN_LENGTH, error=str(exc),
                                error_field=exc.field or "password")  # fmt: skip
    password_hash = await run_in_threadpool(app.passwords.hash, password)
    changed = await run_in_threadpool(app.password_links.use, token, password_hash)
    if changed is None:
        return _invalid_link(request)
    # A new password: every session that began under the old one ends.
    await run_in_threadpool(app.console_sessions.end_all, changed.id)
    await run_in_threadpool(app.audit.record, changed.email, "user.set-password", changed.email,
                            source=source_of(request))  # fmt: skip
    text = "Log in with your email address and the new password."
    return message(request, None, "Your password is set", text, link=_LOGIN)
