"""``/api/subscribers``: readers for ops — list and search (paged), add, show, forget.

``POST`` adds a reader as the signup form does (pending, and a confirmation email) unless it says
``"confirmed": true``, which needs a ``"reason"`` (recorded in the reader's events): ops then vouch
for the consent. A suppressed address is a 409: no call reactivates it. ``DELETE`` is ``forget``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from publisher.errors import ConflictError, NotFoundError
from publisher.subscribers.lifecycle import SignupOutcome
from publisher.subscribers.model import InvalidSubscriberError, Status, validate, validate_hour
from publisher.subscribers.signup import SignupRequest
from publisher.subscribers.states import Source
from publisher.web.api import OPERATE, PublisherApp, audit, field_error

router = APIRouter(prefix="/subscribers", tags=["subscribers"])
PAGE = 100
Email = Annotated[str, Path(min_length=3, max_length=254)]


class NewReader(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str = Field(max_length=254)
    name: str = Field("", max_length=200)
    timezone: str = Field("", max_length=64)
    sections: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    hour: str | None = Field(None, max_length=5)
    confirmed: bool = False
    reason: str = Field("", max_length=1000)


@router.get("")
def list_subscribers(
    app: PublisherApp,
    status: Annotated[Status | None, Query()] = None,
    q: Annotated[str, Query(max_length=254)] = "",
    cursor: Annotated[str, Query(max_length=20, pattern=r"^[0-9]*$")] = "",
) -> dict[str, Any]:
    """Readers by id, ``PAGE`` at a time; ``next_cursor`` (or null) fetches the next page."""
    after = int(cursor) if cursor else 0
    found = app.subscribers.page(status=status, q=q.strip(), after=min(after, 2**62), limit=PAGE + 1)
    more = len(found) > PAGE
    found = found[:PAGE]
    return {
        "subscribers": [s.to_json() for s in found],
        "next_cursor": str(found[-1].id) if more and found else None,
    }


@router.post("", status_code=201, openapi_extra=OPERATE)
async def add_subscriber(
    body: NewReader, response: Response, app: PublisherApp, request: Request
) -> dict[str, Any]:
    """Add a reader: pending with a confirmation email (202), or active at once with
    ``"confirmed": true`` and a ``"reason"`` (201; 200 when they were there already)."""
    try:
        reader = validate(body.email, body.name, body.timezone, body.sections)
        hour = validate_hour(body.hour)
    except InvalidSubscriberError as exc:
        raise field_error(exc.field or "email", str(exc)) from None
    if body.confirmed and not body.reason.strip():
        raise field_error("reason", "confirmed: true needs the reason ops vouch for the consent")
    added = await run_in_threadpool(_add, app, reader, hour, body, response)
    detail = {"status": added["status"], "confirmed": body.confirmed, "reason": body.reason.strip()}
    await run_in_threadpool(audit, request, "subscriber.add", reader.email, detail)
    return added


def _add(app: Any, reader: Any, hour: str | None, body: NewReader, response: Response) -> dict[str, Any]:
    lifecycle = app.subscriber_lifecycle
    lifecycle.require_not_suppressed(reader.email)
    known = app.subscribers.find(reader.email)
    if not body.confirmed:
        outcome = app.signup.process(SignupRequest(reader, hour), source=Source.API)
        if outcome == SignupOutcome.SILENT:
            raise ConflictError(f"{reader.email} is suppressed", field="email")
        response.status_code = 202
    elif known is None:
        lifecycle.import_many([reader], source=Source.API, detail=body.reason.strip())
    elif known.status == Status.PENDING:
        lifecycle.confirm(known.id, source=Source.API, detail=body.reason.strip())
        response.status_code = 200
    elif known.status == Status.ACTIVE:
        response.status_code = 200
    else:
        raise ConflictError(f"{reader.email} is {known.status}: only the reader can sign up again",
                            field="email")  # fmt: skip
    found = app.subscribers.find(reader.email)
    assert found is not None
    return found.to_json()


@router.get("/{email}")
def show_subscriber(email: Email, app: PublisherApp) -> dict[str, Any]:
    found = app.subscribers.find(email)
    if found is None:
        raise NotFoundError(f"no subscriber {email!r}", field="email")
    return {**found.to_json(), "events": app.subscribers.events(found.id)}


@router.delete("/{email}", openapi_extra=OPERATE)
def forget_subscriber(email: Email, app: PublisherApp, request: Request) -> dict[str, Any]:
    """Erase the reader (= ``subscribers forget``): only a keyed hash of the address stays."""
    app.subscriber_lifecycle.forget(email, source=Source.API)
    audit(request, "subscriber.forget", email)
    return {"status": "erased", "email": email}
