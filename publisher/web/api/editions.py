"""``/api/editions``: list upcoming and past, preview, test-send, send now, reschedule, pause,
resume, cancel and status (counts per state, send rate, ETA, errors)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from publisher.delivery.control import EditionStateError
from publisher.edition.personalize import html_values, text_values
from publisher.edition.preview import sample_recipient
from publisher.errors import NotFoundError, PublisherError
from publisher.schedule.clock import ClockError, parse_hhmm, zone
from publisher.web.api import PublisherApp, field_error

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
    delay_minutes: int | None = Field(None, description="shift every pending delivery")
    at: str | None = Field(None, description="a local time HH:MM of the edition's day")
    timezone: str = Field("subscriber", description="with 'at': 'subscriber' or an IANA zone")


@router.get("")
def list_editions(app: PublisherApp, days: int = 2) -> dict[str, Any]:
    return app.editions.listing(days_ahead=max(0, min(days, 14)))


@router.post("", status_code=201)
def send_now(body: SendNow, app: PublisherApp) -> dict[str, Any]:
    """Create (or take up) the edition of that name and day and send it now to every active subscriber."""
    try:
        edition_id = app.delivery.create_edition(body.name, body.date)
    except PublisherError as exc:
        raise field_error("name" if "unknown edition" in str(exc) else "date", str(exc)) from None
    queued = app.delivery.start(edition_id)
    return {"edition_id": edition_id, "queued": queued}


@router.get("/{edition_id}")
def edition_status(edition_id: int, app: PublisherApp) -> dict[str, Any]:
    return _run(app.editions.status, edition_id)


@router.get("/{edition_id}/preview", response_model=None)
def preview(
    edition_id: int, app: PublisherApp, format: Literal["html", "text"] = "html"
) -> HTMLResponse | PlainTextResponse:
    """The edition as a sample reader gets it (no real subscriber's data)."""
    compiled = _run(app.delivery.compiled, edition_id).get()
    reader = sample_recipient(app.settings)
    if format == "text":
        return PlainTextResponse(compiled.text.fill(text_values(reader)))
    return HTMLResponse(compiled.html.fill(html_values(reader)))


@router.post("/{edition_id}/test-send")
def test_send(edition_id: int, body: TestSend, app: PublisherApp) -> dict[str, Any]:
    try:
        return {"sent": app.editions.test_send(edition_id, body.addresses)}
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except PublisherError as exc:
        raise field_error("addresses", str(exc)) from None


@router.post("/{edition_id}/pause")
def pause(edition_id: int, app: PublisherApp) -> dict[str, Any]:
    return _run(app.editions.pause, edition_id).to_json()


@router.post("/{edition_id}/resume")
def resume(edition_id: int, app: PublisherApp) -> dict[str, Any]:
    return _run(app.editions.resume, edition_id).to_json()


@router.post("/{edition_id}/cancel")
def cancel(edition_id: int, app: PublisherApp) -> dict[str, Any]:
    return _run(app.editions.cancel, edition_id).to_json()


@router.post("/{edition_id}/reschedule")
def reschedule(edition_id: int, body: Reschedule, app: PublisherApp) -> dict[str, Any]:
    given = [k for k in ("to", "delay_minutes", "at") if getattr(body, k) is not None]
    if len(given) != 1:
        raise field_error("to", "give exactly one of 'to', 'delay_minutes', 'at'")
    if body.to is not None and body.to.tzinfo is None:
        raise field_error("to", "needs a UTC offset, e.g. 2026-11-25T08:00:00Z")
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
    return _run(
        app.editions.reschedule, edition_id, to=body.to, delay=delay, at=at, timezone=body.timezone
    ).to_json()


def _run(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Unknown edition → 404; a verb that does not apply to its state → 409."""
    try:
        return func(*args, **kwargs)
    except EditionStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
