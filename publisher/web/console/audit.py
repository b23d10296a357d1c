"""``/console/audit``: the audit log, newest first, 50 to a page, filtered by who or what (an exact
actor; an action, or a family of them ending in ``.`` such as ``edition.``). Everyone who may use
the console may read it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.web.console.auth import require
from publisher.web.console.pages import render
from publisher.web.console.words import moment

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 100_000


def _read(app: Any, actor: str, action: str, page: int) -> tuple[list[Any], int]:
    total = app.audit.count(actor=actor, action=action)
    entries = app.audit.recent(actor=actor, action=action, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return entries, total


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    actor: Annotated[str, Query(max_length=320)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    actor, action = actor.strip(), action.strip()
    entries, total = await run_in_threadpool(_read, request.app.state.publisher, actor, action, page)
    pages = max(1, -(-total // PAGE_SIZE))

    def url(number: int) -> str:
        query = {k: v for k, v in (("actor", actor), ("action", action)) if v}
        if number > 1:
            query["page"] = str(number)
        return "/console/audit" + (f"?{urlencode(query)}" if query else "")

    rows = [{"entry": e, "when": moment(e.at), "detail": ", ".join(f"{k}: {v}" for k, v in e.detail.items())}
            for e in entries]  # fmt: skip
    return render(request, "audit.html", principal, heading="Audit", rows=rows, actor=actor, action=action,
                  total=total, page=min(page, pages), pages=pages,
                  newer_url=url(page - 1) if page > 1 else None,
                  older_url=url(page + 1) if page < pages else None)  # fmt: skip
