"""``/console/people`` (admins): every user, their role and status, adding one (with their one-time
set-password link, shown once), changing a role, disabling and enabling, a new link; and every
personal API token, with making one for anyone and revoking it.

The verbs are ``publisher.accounts.people.People``'s, the same as ``publisher users``: the last
active admin can be neither demoted nor disabled. Each change is in the audit log. A change that
shows a secret (a link, a token) answers with the page itself; the others send the browser back
to the page (303), so a reload never repeats them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.links import PATH as LINK_PATH
from publisher.accounts.links import TTL
from publisher.accounts.principal import Principal
from publisher.accounts.roles import DESCRIPTIONS, Permission, Role
from publisher.errors import InvalidInputError, PublisherError
from publisher.web.console.auth import record, require
from publisher.web.console.forms import read_form
from publisher.web.console.pages import render
from publisher.web.console.tokens import create_token, revoke_token, token_row
from publisher.web.console.words import moment
from publisher.web.context import publisher_app
from publisher.web.errors import status_of

router = APIRouter()
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]
# What the page says after a change that sent the browser back to it (?done=...).
DONE = {
    "role": "The role is changed: it applies to their sessions and tokens at once.",
    "disable": "Disabled: their sessions ended and their tokens are revoked.",
    "enable": "They can log in again (their old tokens stay revoked).",
    "revoke": "The token is revoked.",
}


def _view(app: Any) -> dict[str, Any]:
    users = app.users.list()
    tokens = app.api_tokens.list()
    return {
        "users": [{"user": u, "since": moment(u.created_at), "sessions": app.console_sessions.count(u.id)}
                  for u in users],
        "tokens": [token_row(t) for t in tokens],
        "roles": [{"name": str(r), "does": DESCRIPTIONS[r]} for r in Role],
        "active_emails": [u.email for u in users if u.active],
    }  # fmt: skip


async def people_page(request: Request, principal: Principal, *, status_code: int = 200, notice: str = "",
                      error: str = "", error_field: str = "", secret: dict[str, str] | None = None,
                      form: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    view = await run_in_threadpool(_view, publisher_app(request))
    response = render(request, "people.html", principal, heading="People", notice=notice, error=error,
                      error_field=error_field, secret=secret, form=form or {}, **view)  # fmt: skip
    response.status_code = status_code
    return response


@router.get("/people", response_class=HTMLResponse)
async def people(request: Request, principal: Admin, done: str = "") -> HTMLResponse:
    return await people_page(request, principal, notice=DONE.get(done, ""))


def _back(done: str) -> Response:
    return RedirectResponse(f"/console/people?done={done}", status_code=303)


async def _failed(request: Request, principal: Principal, exc: PublisherError, form: dict[str, str],
                  where: str = "") -> Response:  # fmt: skip
    """The page again, saying what was wrong and with which field (``where``: the form it was in)."""
    status = status_of(exc) if status_of(exc) != 500 else 422
    return await people_page(request, principal, status_code=status, error=str(exc),
                             error_field=f"{where}{exc.field or 'email'}", form=form)  # fmt: skip


def _role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInputError(f"choose one of {', '.join(r.value for r in Role)}", field="role") from None


@router.post("/people", response_class=HTMLResponse)
async def add_user(request: Request, principal: Admin) -> Response:
    app = publisher_app(request)
    form = await read_form(request)
    email, role = form.get("email")[:320], form.get("role")
    try:
        added = await run_in_threadpool(app.people.add, email, _role(role))
    except PublisherError as exc:
        return await _failed(request, principal, exc, {"email": email, "role": role}, "add-")
    await record(request, principal, "user.add", added.user.email, {"role": str(added.user.role)})
    return await people_page(request, principal, status_code=201, secret=_link(app, added))


def _link(app: Any, added: Any) -> dict[str, str]:
    url = f"{app.settings.site_url.rstrip('/')}{LINK_PATH}{added.link_token}"
    return {"kind": "link", "email": added.user.email, "value": url, "until": moment(app.now() + TTL)}


@router.post("/people/link", response_class=HTMLResponse)
async def new_link(request: Request, principal: Admin) -> Response:
    app = publisher_app(request)
    email = (await read_form(request)).get("email")[:320]
    try:
        added = await run_in_threadpool(app.people.link, email)
    except PublisherError as exc:
        return await _failed(request, principal, exc, {})
    await record(request, principal, "user.link", added.user.email)
    return await people_page(request, principal, secret=_link(app, added))


@router.post("/people/role")
async def change_role(request: Request, principal: Admin) -> Response:
    app = publisher_app(request)
    form = await read_form(request)
    email = form.get("email")[:320]
    try:
        before = (await run_in_threadpool(app.users.require, email)).role
        user, changed = await run_in_threadpool(app.people.set_role, email, _role(form.get("role")))
    except PublisherError as exc:
        return await _failed(request, principal, exc, {})
    if changed:
        await record(request, principal, "user.role", user.email, {"from": str(before), "to": str(user.role)})
    return _back("role")


@router.post("/people/disable")
async def disable(request: Request, principal: Admin) -> Response:
    return await _status(request, principal, "disable")


@router.post("/people/enable")
async def enable(request: Request, principal: Admin) -> Response:
    return await _status(request, principal, "enable")


async def _status(request: Request, principal: Principal, verb: str) -> Response:
    app = publisher_app(request)
    email = (await read_form(request)).get("email")[:320]
    try:
        user, changed = await run_in_threadpool(getattr(app.people, verb), email)
    except PublisherError as exc:
        return await _failed(request, principal, exc, {})
    if changed:
        await record(request, principal, f"user.{verb}", user.email)
    return _back(verb)


@router.post("/people/tokens", response_class=HTMLResponse)
async def token_for_anyone(request: Request, principal: Admin) -> Response:
    """An admin makes a token for any active user (shown once, here)."""
    app = publisher_app(request)
    form = await read_form(request)
    email, name = form.get("email")[:320], form.get("name")[:200]
    try:
        user = await run_in_threadpool(app.users.require, email)
        secret = await create_token(request, principal, user, name)
    except PublisherError as exc:
        return await _failed(request, principal, exc, {"token_email": email, "token_name": name}, "token-")
    return await people_page(request, principal, status_code=201, secret=secret)


@router.post("/people/tokens/revoke")
async def revoke_any_token(request: Request, principal: Admin) -> Response:
    try:
        await revoke_token(request, principal, (await read_form(request)).get("token_id"))
    except PublisherError as exc:
        return await _failed(request, principal, exc, {})
    return _back("revoke")
