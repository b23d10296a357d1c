"""``/preferences/{token}``: a reader manages their subscription — name, time zone, the hour their
edition arrives (05:00-10:00 local, on the quarter hour), and which sections they follow (none
ticked: every section). The email's "Manage preferences" link. ``/data`` downloads everything held
about them (JSON); ``/delete`` shows a confirm button whose POST erases them.

The token is the unsubscribe token: it names one subscriber and proves the link came from us. GET
only shows; POST saves. Saving never resubscribes someone who left.

The form is read as it streams in and refused past ``MAX_FORM`` bytes (413), so a reader's page
never buffers more than a few fields' worth; a body that is not UTF-8 form data, or that names
``name`` or ``timezone`` twice, is a 422 that changes nothing.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from publisher.subscribers.model import (
    HOURS,
    InvalidSubscriberError,
    Status,
    Subscriber,
    validate,
    validate_hour,
)
from publisher.subscribers.states import Source
from publisher.unsubscribe import read_token
from publisher.web.pages import invalid_link, message_page, render

router = APIRouter()
MAX_FORM = 16_384  # bytes: a handful of fields
MAX_FIELDS = 200  # more section boxes than any newsroom has
SINGLE_FIELDS = ("name", "timezone", "hour")


class FormError(ValueError):
    pass


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings)
    return _form(app, token, subscriber)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save_preferences(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings)
    try:
        raw = await _read_form(request)
    except OverflowError:
        return message_page(app.settings, "Too much data", "That form was larger than this page accepts.",
                            status_code=413)  # fmt: skip
    try:
        form = _parse_form(raw)
        checked = validate(subscriber.email, form.get("name", [""])[0], form.get("timezone", [""])[0],
                           form.get("section", []))  # fmt: skip
        hour = validate_hour(form.get("hour", [""])[0])
    except (FormError, InvalidSubscriberError) as exc:
        return _form(app, token, subscriber, error=str(exc), status_code=422)
    if hour == app.default_hour():
        hour = None  # the schedule's own time: follows the schedule if ops move it
    app.subscribers.set_preferences(
        subscriber.id, name=checked.name, timezone=checked.timezone, sections=checked.sections, hour=hour
    )
    return render(app.settings, "preferences_saved.html", heading="Preferences saved",
                  follows=", ".join(checked.sections) or "every section", timezone=checked.timezone,
                  hour=hour or app.default_hour(), again_url=_url(token))  # fmt: skip


@router.get("/preferences/{token}/data")
def download_data(request: Request, token: str) -> Response:
    """Everything held about the reader, as a JSON download (reading only)."""
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings)
    data = app.subscribers.export_data(subscriber.id)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="my-subscription-data.json"',
        "Cache-Control": "no-store",
    })  # fmt: skip


@router.get("/preferences/{token}/delete", response_class=HTMLResponse)
def forget_page(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings)
    return render(app.settings, "forget.html", heading="Delete my data", email=subscriber.email,
                  action=f"{_url(token)}/delete", back_url=_url(token))  # fmt: skip


@router.post("/preferences/{token}/delete", response_class=HTMLResponse)
def forget(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings)
    app.subscriber_lifecycle.forget(subscriber.email, source=Source.PREFERENCES)
    text = "Everything we held about you is gone, and no edition will reach you again."
    return message_page(app.settings, "Your data is deleted", text)


async def _read_form(request: Request) -> bytes:
    """The body, or OverflowError as soon as it passes MAX_FORM (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        raise OverflowError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM:
            raise OverflowError
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_form(raw: bytes) -> dict[str, list[str]]:
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise FormError("the form must be UTF-8 text") from None
    except ValueError:
        raise FormError(f"the form has more than {MAX_FIELDS} fields") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    for key in SINGLE_FIELDS:
        if len(form.get(key, ())) > 1:
            raise FormError(f"{key}: given more than once")
    return form


def _url(token: str) -> str:
    return f"/preferences/{quote(token, safe='')}"


def _subscriber(app: Any, token: str) -> Subscriber | None:
    subscriber_id = read_token(app.signing_key, token)
    return None if subscriber_id is None else app.subscribers.get(subscriber_id)


def _sections(app: Any, subscriber: Subscriber) -> list[str]:
    """The edition's sections in edition order, then any other with articles or followed."""
    ordered = [s.strip() for s in app.settings.edition_sections.split(",") if s.strip()]
    others = [name for name, _slug in app.articles.sections()] + list(subscriber.sections)
    seen = {s.lower() for s in ordered}
    for name in others:
        if name.lower() not in seen:
            seen.add(name.lower())
            ordered.append(name)
    return ordered


def _form(
    app: Any, token: str, subscriber: Subscriber, *, error: str = "", status_code: int = 200
) -> HTMLResponse:
    followed = {s.lower() for s in subscriber.sections}
    sections = [{"name": name, "followed": name.lower() in followed} for name in _sections(app, subscriber)]
    return render(
        app.settings, "preferences.html", status_code=status_code, heading="Your Morning Edition",
        subscriber=subscriber, active=subscriber.status == Status.ACTIVE, error=error,
        name=subscriber.name, timezone=subscriber.timezone, zones=_zones(), sections=sections,
        hours=HOURS, selected_hour=subscriber.send_time or app.default_hour(),
        action=_url(token), unsubscribe_url=f"/unsubscribe/{quote(token, safe='')}",
        data_url=f"{_url(token)}/data", delete_url=f"{_url(token)}/delete",
    )  # fmt: skip
