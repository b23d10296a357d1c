"""``/api/editions``: list upcoming and past, preview, test-send, send now, reschedule, pause,
resume, cancel and status (counts per state, send rate, ETA, errors)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from publisher.edition.personalize import html_values, text_values
from publisher.edition.preview import sample_recipient
from publisher.edition.selection import parse_edition_names
from publisher.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PublisherError,
)
from publisher.limits import check_date
from publisher.schedule.clock import ClockError, parse_hhmm, zone
from publisher.web.api import EDIT, OPERATE, EditionId, PublisherApp, audit, field_error

# A week either way: past that a reschedule is a new edition, not a delay.
MAX_DELAY_MINUTES = 7 * 24 * 60

router = APIRouter(prefix="/editions", tags=["editions"])


class SendNow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("morning", examples=["morning"])
    date: date


class TestSend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    addresses: list[str] = Field(min_length=1, max_length=20)


class Reschedule(BaseModel):
    """Exactly one of ``to``, ``delay_minutes``, ``at``."""

    model_config = ConfigDict(extra="forbid")
    to: datetime | None = Field(None, description="one new due time for everyone (ISO 8601 with offset)")
    delay_minutes: int | None = Field(
        None, ge=-MAX_DELAY_MINUTES, le=MAX_DELAY_MINUTES, description="shift every pending delivery"
    )
    at: str | None = Field(None, description="a local time HH:MM of the edition's day")
    timezone: str = Field("subscriber", description="with 'at': 'subscriber' or an IANA zone")


@router.get("")
def list_editions(app: PublisherApp, days: int = 2) -> dict[str, Any]:
    return app.editions.listing(days_ahead=max(0, min(days, 14)))


@router.post("", status_code=201, openapi_extra=OPERATE)
def send_now(body: SendNow, app: PublisherApp, request: Request) -> dict[str, Any]:
    """Create (or take up) the edition of that name and day and send it now to every active subscriber."""
    if body.name not in parse_edition_names(app.settings.edition_names):
        raise field_error("name", f"unknown edition {body.name!r} (PUBLISHER_EDITION_NAMES)")
    check_date(body.date, "date")
    try:
        edition_id = app.delivery.create_edition(body.name, body.date)
    except (InvalidInputError, NotFoundError, ConflictError):
        raise  # the error handlers answer these by type, with their field
    except PublisherError as exc:
        # The name is known and the date in range: what is left is that day's edition (no articles).
        raise field_error("date", str(exc)) from None
    queued = app.delivery.start(edition_id)
    audit(request, "edition.send", f"edition {edition_id}",
          {"name": body.name, "date": body.date.isoformat(), "queued": queued})  # fmt: skip
    return {"edition_id": edition_id, "queued": queued}


@router.get("/{edition_id}")
def edition_status(edition_id: EditionId, app: PublisherApp) -> dict[str, Any]:
    return app.editions.status(edition_id)


@router.get("/{edition_id}/preview", response_model=None)
def preview(
    edition_id: EditionId, app: PublisherApp, format: Literal["html", "text"] = "html"
) -> HTMLResponse | PlainTextResponse:
    """The edition as a sample reader gets it (no real subscriber's data)."""
    compiled = app.delivery.compiled(edition_id).get()
    reader = sample_recipient(app.settings)
    if format == "text":
        return PlainTextResponse(compiled.text.fill(text_values(reader)))
    return HTMLResponse(compiled.html.fill(html_values(reader)))


@router.post("/{edition_id}/test-send", openapi_extra=EDIT)
def test_send(edition_id: EditionId, body: TestSend, app: PublisherApp, request: Request) -> dict[str, Any]:
    try:
        sent = app.editions.test_send(edition_id, body.addresses)
    except (NotFoundError, ConflictError):
        raise
    except PublisherError as exc:
        raise field_error("addresses", str(exc)) from None
    audit(request, "edition.test-send", f"edition {edition_id}", {"addresses": body.addresses})
    return {"sent": sent}


@router.post("/{edition_id}/pause", openapi_extra=OPERATE)
def pause(edition_id: EditionId, app: PublisherApp, request: Request) -> dict[str, Any]:
    changed = app.editions.pause(edition_id).to_json()
    audit(request, "edition.pause", f"edition {edition_id}", changed)
    return changed


@router.post("/{edition_id}/resume", openapi_extra=OPERATE)
def resume(edition_id: EditionId, app: PublisherApp, request: Request) -> dict[str, Any]:
    changed = app.editions.resume(edition_id).to_json()
    audit(request, "edition.resume", f"edition {edition_id}", changed)
    return changed


@router.post("/{edition_id}/cancel", openapi_extra=OPERATE)
def cancel(edition_id: EditionId, app: PublisherApp, request: Request) -> dict[str, Any]:
    changed = app.editions.cancel(edition_id).to_json()
    audit(request, "edition.cancel", f"edition {edition_id}", changed)
    return changed


@router.post("/{edition_id}/reschedule", openapi_extra=OPERATE)
def reschedule(
    edition_id: EditionId, body: Reschedule, app: PublisherApp, request: Request
) -> dict[str, Any]:
    given = [k for k in ("to", "delay_minutes", "at") if getattr(body, k) is not None]
    if len(given) != 1:
        raise field_error("to", "give exactly one of 'to', 'delay_minutes', 'at'")
    if body.to is not None and body.to.tzinfo is None:
        raise field_error("to", "needs a UTC offset, e.g. 2026-11-25T08:00:00Z")
    if body.to is not None:
        check_date(body.to, "to")
    try:
        at = parse_hhmm(body.at) if body.at else None
    except ClockError as exc:
        raise field_error("at", str(exc)) from None
    if body.timezone != "subscriber":
        try:
            zone(body.timezone)
        except ClockError as exc:
            raise field_error("timezone", str(exc)) from None
    delay = timedelta(minutes=body.delay_minutes) if body.delay_minutes is not None else None
    # An unknown edition (NotFoundError) or a verb its state refuses (ConflictError) is answered by
    # the error handlers, as in every route here.
    changed = app.editions.reschedule(
        edition_id, to=body.to, delay=delay, at=at, timezone=body.timezone
    ).to_json()
    audit(request, "edition.reschedule", f"edition {edition_id}",
          {**body.model_dump(mode="json", exclude_none=True), **changed})  # fmt: skip
    return changed
