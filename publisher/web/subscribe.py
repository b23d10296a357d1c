"""``/subscribe`` (the signup form) and ``/confirm/{token}`` (double opt-in).

``POST /subscribe`` answers every well-formed signup with the same page, byte for byte, whether
the address is new, pending, active, unsubscribed or suppressed, and whether a limit was hit: the
signup itself and its email run after the answer has been sent (a background task), so neither
the page nor its timing tells who is on the list. The form may also be posted from the
newsroom's own site (README: the HTML snippet).

``GET /confirm/{token}`` only shows a page with one button (link scanners fetch every link of a
message); its ``POST`` confirms.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from publisher.subscribers.model import HOURS, InvalidSubscriberError
from publisher.subscribers.signup import MAX_SECTIONS, ConfirmOutcome, SignupRequest
from publisher.unsubscribe import preferences_url
from publisher.web.guard import SCRIPT_CSP
from publisher.web.pages import SCRIPT, asset_url, message_page, render
from publisher.web.preferences import _read_form, _zones

router = APIRouter()


def _title(app: Any) -> str:
    return str(next(iter(app.settings.editions.values()))[0])


def _sections(app: Any) -> list[str]:
    ordered = list(app.settings.section_order)
    seen = {s.lower() for s in ordered}
    for name, _slug in app.articles.sections():
        if name.lower() not in seen:
            seen.add(name.lower())
            ordered.append(name)
    return ordered[:MAX_SECTIONS]


def _form(app: Any, *, error: str = "", values: dict[str, str] | None = None, status_code: int = 200
          ) -> HTMLResponse:  # fmt: skip
    values = values or {}
    response = render(
        app.settings, "subscribe.html", status_code=status_code, heading=f"Get the {_title(app)}",
        edition_title=_title(app), action="/subscribe", error=error, email=values.get("email", ""),
        name=values.get("name", ""), timezone=values.get("timezone", ""), zones=_zones(), hours=HOURS,
        selected_hour=values.get("hour") or app.default_hour(), sections=_sections(app),
        script_url=asset_url(app.settings, SCRIPT),
    )  # fmt: skip
    response.headers["Content-Security-Policy"] = SCRIPT_CSP
    return response


def _sent(app: Any) -> HTMLResponse:
    ttl = _ttl_words(timedelta(hours=app.settings.confirm_ttl_hours))
    return render(app.settings, "subscribe_sent.html", heading="Check your inbox", edition_title=_title(app),
                  ttl_days=ttl, again_url="/subscribe")  # fmt: skip


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request) -> HTMLResponse:
    return _form(request.app.state.publisher)


@router.post("/subscribe", response_class=HTMLResponse)
async def subscribe(request: Request, background: BackgroundTasks) -> HTMLResponse:
    app = request.app.state.publisher
    client = request.client.host if request.client else "unknown"
    try:
        raw = await _read_form(request)
    except OverflowError:
        return message_page(app.settings, "Too much data", "That form was larger than this page accepts.",
                            status_code=413)  # fmt: skip
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return _form(app, error="The form could not be read: send it again.", status_code=422)
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    try:
        signup = app.signup.check(form)
    except InvalidSubscriberError as exc:
        shown = {k: v[0][:254] for k, v in form.items() if k in ("email", "name", "timezone", "hour") and v}
        return _form(app, error=str(exc), values=shown, status_code=422)
    allowed = await run_in_threadpool(app.signup.allow, client)
    if allowed:
        background.add_task(_process, app, signup)
    return _sent(app)


def _process(app: Any, signup: SignupRequest) -> None:
    app.signup.process(signup)


def _confirm_action(token: str) -> str:
    return f"/confirm/{quote(token, safe='')}"


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    reader = app.signup.pending_reader(token)
    if reader is None:
        return _expired(app)
    return render(app.settings, "confirm.html", heading="Confirm your subscription",
                  edition_title=_title(app), email=reader.email, action=_confirm_action(token))  # fmt: skip


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    outcome = app.signup.confirm(token)
    if outcome == ConfirmOutcome.INVALID:
        return _expired(app)
    if outcome == ConfirmOutcome.GONE:
        return message_page(app.settings, "This link no longer works",
                            "This address is not waiting for a confirmation any more. To subscribe, "
                            "sign up again.", status_code=409)  # fmt: skip
    reader = app.signup.pending_reader(token)
    if reader is None:  # erased in between
        return _expired(app)
    text = "You are subscribed." if outcome == ConfirmOutcome.CONFIRMED else "You were already subscribed."
    return render(app.settings, "confirmed.html", heading="You are subscribed", text=text,
                  edition_title=_title(app), hour=reader.send_time or app.default_hour(),
                  timezone=reader.timezone,
                  preferences_url=preferences_url("", app.signing_key, reader.id))  # fmt: skip


def _expired(app: Any) -> HTMLResponse:
    ttl = timedelta(hours=app.settings.confirm_ttl_hours)
    return message_page(app.settings, "Invalid or expired link",
                        f"This confirmation link is not valid, or older than {_ttl_words(ttl)}. "
                        "Sign up again to get a new one.", status_code=400)  # fmt: skip


def _ttl_words(ttl: timedelta) -> str:
    hours = int(ttl.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours"
