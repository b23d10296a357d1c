"""The console's Subscribers pages: search, a reader's details and events, suppress and unsuppress,
and a CSV export of the current search.

Search is a keyset page by reader id (``SubscriberStore.page``): the status filter and the id order
follow ``ix_subscribers_status`` and the primary key, so a page costs what it reads however many
readers there are. A reader's status changes only through ``publisher/subscribers/lifecycle.py``
(suppress and unsuppress here are its verbs, recorded in the reader's events as ops'); each is also
recorded in the audit log, and so is every export (who took which readers' data, and when).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.errors import InvalidInputError, NotFoundError
from publisher.limits import MAX_ID
from publisher.subscribers.model import Status
from publisher.subscribers.states import Source
from publisher.web.console.auth import require, source_of
from publisher.web.console.forms import read_form
from publisher.web.console.pages import render
from publisher.web.console.words import moment
from publisher.web.context import publisher_app

router = APIRouter()
PAGE = 50
EXPORT_CHUNK = 1000
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]
Search = Annotated[str, Query(max_length=254)]
DONE = {"suppress": "Address suppressed: nothing more is sent to it.",
        "unsuppress": "Address taken off the suppression list."}  # fmt: skip
EXPORT_COLUMNS = ("id", "email", "name", "timezone", "sections", "status", "hour", "created_at",
                  "confirmed_at", "unsubscribed_at")  # fmt: skip


@router.get("/subscribers", response_class=HTMLResponse)
async def subscribers_page(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    q: Search = "",
    status: Annotated[Status | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    app = publisher_app(request)
    found = await run_in_threadpool(app.subscribers.page, status=status, q=q.strip(), after=after,
                                    limit=PAGE + 1)  # fmt: skip
    more = len(found) > PAGE
    found = found[:PAGE]
    search = {k: v for k, v in (("q", q.strip()), ("status", str(status) if status else "")) if v}
    next_url = (
        f"/console/subscribers?{urlencode({**search, 'after': found[-1].id})}" if more and found else None
    )
    return render(request, "subscribers.html", principal, heading="Subscribers", readers=found, q=q.strip(),
                  status=str(status) if status else "", statuses=[str(s) for s in Status], next_url=next_url,
                  first_url=f"/console/subscribers?{urlencode(search)}" if after else None,
                  export_url=f"/console/subscribers/export.csv?{urlencode(search)}",
                  moment=moment)  # fmt: skip


@router.get("/subscribers/export.csv")
async def export(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.OPERATE))],
    q: Search = "",
    status: Annotated[Status | None, Query()] = None,
) -> Response:
    """Every reader the search finds, as CSV, streamed a thousand at a time."""
    app = publisher_app(request)
    await run_in_threadpool(app.audit.record, principal.email, "subscribers.export", "subscribers",
                            source=source_of(request),
                            detail={"q": q.strip(), "status": str(status) if status else None})  # fmt: skip
    return StreamingResponse(
        _csv(app, q.strip(), status), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


def _csv(app: Any, q: str, status: Status | None) -> Iterator[str]:
    """Pages of the search as CSV text (a sync generator: Starlette runs it in a thread)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    after = 0
    while True:
        readers = app.subscribers.page(status=status, q=q, after=after, limit=EXPORT_CHUNK)
        for r in readers:
            writer.writerow([r.id, _cell(r.email), _cell(r.name), r.timezone, _cell(";".join(r.sections)),
                             r.status, r.send_time or "", _iso(r.created_at), _iso(r.confirmed_at),
                             _iso(r.unsubscribed_at)])  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(readers) < EXPORT_CHUNK:
            return
        after = readers[-1].id


def _cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


@router.get("/subscribers/{subscriber_id}", response_class=HTMLResponse)
async def subscriber_page(
    request: Request,
    subscriber_id: SubscriberId,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    context = await run_in_threadpool(_reader, request, subscriber_id)
    return render(request, "subscriber.html", principal, notice=DONE.get(done), moment=moment, **context)


@router.post("/subscribers/{subscriber_id}/suppress")
async def suppress(
    request: Request,
    subscriber_id: SubscriberId,
    principal: Annotated[Principal, Depends(require(Permission.OPERATE))],
) -> Response:
    form = await read_form(request)
    reason = " ".join(form.get("reason").split())
    if not reason:
        raise InvalidInputError("reason: say why this address is suppressed", field="reason")
    if len(reason) > 500:
        raise InvalidInputError("reason: at most 500 characters", field="reason")
    app = publisher_app(request)
    reader = await run_in_threadpool(_found, app, subscriber_id)
    await run_in_threadpool(
        lambda: app.subscriber_lifecycle.suppress(reader.email, reason, source=Source.OPS)
    )
    await run_in_threadpool(app.audit.record, principal.email, "subscriber.suppress", reader.email,
                            source=source_of(request), detail={"reason": reason})  # fmt: skip
    return RedirectResponse(f"/console/subscribers/{subscriber_id}?done=suppress", status_code=303)


@router.post("/subscribers/{subscriber_id}/unsuppress")
async def unsuppress(
    request: Request,
    subscriber_id: SubscriberId,
    principal: Annotated[Principal, Depends(require(Permission.OPERATE))],
) -> Response:
    app = publisher_app(request)
    reader = await run_in_threadpool(_found, app, subscriber_id)
    changed = await run_in_threadpool(
        lambda: app.subscriber_lifecycle.unsuppress(reader.email, source=Source.OPS)
    )
    await run_in_threadpool(app.audit.record, principal.email, "subscriber.unsuppress", reader.email,
                            source=source_of(request), detail={"changed": changed})  # fmt: skip
    return RedirectResponse(f"/console/subscribers/{subscriber_id}?done=unsuppress", status_code=303)


def _found(app: Any, subscriber_id: int) -> Any:
    reader = app.subscribers.get(subscriber_id)
    if reader is None:
        raise NotFoundError(f"no subscriber with id {subscriber_id}", field="subscriber_id")
    return reader


def _reader(request: Request, subscriber_id: int) -> dict[str, Any]:
    app = publisher_app(request)
    reader = _found(app, subscriber_id)
    data = app.subscribers.export_data(subscriber_id)
    suppressed = app.subscriber_lifecycle.is_suppressed(reader.email)
    return {
        "heading": reader.name or reader.email,
        "reader": reader,
        "events": list(reversed(data["events"]))[:100],
        "deliveries": [
            {**row, "date": date.fromisoformat(row["date"])}
            for row in list(reversed(data["deliveries"]))[:30]
        ],
        "suppressed": suppressed,
        "can_unsuppress": suppressed or str(reader.status) in (Status.BOUNCED, Status.COMPLAINED),
    }
