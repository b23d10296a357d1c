"""``/console/tokens``: a user's own personal API tokens — make one (shown once), see when each was
made and last used, revoke one. Admins also make and revoke anyone's, on the People page.

Every logged-in user may manage their own tokens, a viewer included: a token acts with its user's
role, so a viewer's token can only read. Each creation and revocation is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.api_tokens import ApiToken
from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.accounts.users import User
from publisher.errors import ConflictError, NotFoundError, PublisherError
from publisher.web.console.auth import record, require
from publisher.web.console.forms import read_form
from publisher.web.console.pages import render
from publisher.web.console.words import moment
from publisher.web.context import publisher_app
from publisher.web.errors import status_of

router = APIRouter()
Anyone = Annotated[Principal, Depends(require(Permission.VIEW))]


async def create_token(request: Request, principal: Principal, user: User, name: str) -> dict[str, str]:
    """Make a token for ``user``, record it; returns what the page shows once."""
    app = publisher_app(request)
    if not user.active:
        raise ConflictError(f"{user.email} is disabled: enable them first", field="email")
    token_id, token = await run_in_threadpool(app.api_tokens.create, user.id, name)
    name = " ".join(name.split())
    await record(request, principal, "token.create", f"token {token_id} of {user.email}", {"name": name})
    return {"kind": "token", "email": user.email, "value": token, "name": name}


def token_row(token: ApiToken) -> dict[str, Any]:
    """A token as the tables show it: its times in words."""
    used = moment(token.last_used_at, empty="never")
    return {
        "token": token,
        "created": moment(token.created_at),
        "used": used,
        "revoked": moment(token.revoked_at),
    }


async def tokens_page(
    request: Request, principal: Principal, *, status_code: int = 200, notice: str = "", error: str = "",
    secret: dict[str, str] | None = None, name: str = "",
) -> HTMLResponse:  # fmt: skip
    app = publisher_app(request)
    assert principal.user_id is not None
    tokens = await run_in_threadpool(app.api_tokens.list, principal.user_id)
    rows = [token_row(t) for t in tokens]
    response = render(request, "tokens.html", principal, heading="API tokens", tokens=rows, notice=notice,
                      error=error, secret=secret, name=name)  # fmt: skip
    response.status_code = status_code
    return response


@router.get("/tokens", response_class=HTMLResponse)
async def tokens(request: Request, principal: Anyone, done: str = "") -> HTMLResponse:
    return await tokens_page(request, principal, notice="The token is revoked." if done == "revoke" else "")


@router.post("/tokens", response_class=HTMLResponse)
async def new_token(request: Request, principal: Anyone) -> Response:
    app = publisher_app(request)
    name = (await read_form(request)).get("name")[:200]
    user = await run_in_threadpool(app.users.get, principal.user_id)
    try:
        secret = await create_token(request, principal, user, name)
    except PublisherError as exc:
        status = status_of(exc) if status_of(exc) != 500 else 422
        return await tokens_page(request, principal, status_code=status, error=str(exc), name=name)
    return await tokens_page(request, principal, status_code=201, secret=secret)


async def revoke_token(request: Request, principal: Principal, raw: str) -> None:
    """Revoke the token numbered ``raw``: one's own, or (an admin) anyone's; records it.
    NotFoundError for a token that is not there or not theirs, ConflictError if already revoked."""
    app = publisher_app(request)
    token = await run_in_threadpool(app.api_tokens.get, int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if token is None or (token.user_id != principal.user_id and not principal.may(Permission.ADMIN)):
        raise NotFoundError("no such token", field="token_id")
    if not await run_in_threadpool(app.api_tokens.revoke, token.id):
        raise ConflictError("that token is revoked already", field="token_id")
    await record(
        request, principal, "token.revoke", f"token {token.id} of {token.email}", {"name": token.name}
    )


@router.post("/tokens/revoke")
async def revoke(request: Request, principal: Anyone) -> Response:
    try:
        await revoke_token(request, principal, (await read_form(request)).get("token_id"))
    except PublisherError as exc:
        return await tokens_page(request, principal, status_code=status_of(exc), error=str(exc))
    return RedirectResponse("/console/tokens?done=revoke", status_code=303)
