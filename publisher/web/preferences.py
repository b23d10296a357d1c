"""``/preferences/{token}``: a reader manages their subscription — name, time zone, and which
sections they follow (none ticked: every section). The email's "Manage preferences" link.

The token is the unsubscribe token: it names one subscriber and proves the link came from us. GET
only shows; POST saves. Saving never resubscribes someone who left.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.subscribers.model import InvalidSubscriberError, Status, Subscriber, validate
from publisher.unsubscribe import read_token
from publisher.web.pages import invalid_link, reader_page

router = APIRouter()
MAX_FORM = 16_384  # bytes: a handful of fields


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings.site_title)
    return _form(app, token, subscriber)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save_preferences(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber = _subscriber(app, token)
    if subscriber is None:
        return invalid_link(app.settings.site_title)
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    form = parse_qs(body, keep_blank_values=True)
    try:
        checked = validate(
            subscriber.email,
            form.get("name", [""])[0],
            form.get("timezone", [""])[0],
            form.get("section", []),
        )
    except InvalidSubscriberError as exc:
        return _form(app, token, subscriber, error=str(exc), status_code=422)
    app.subscribers.set_preferences(
        subscriber.id, name=checked.name, timezone=checked.timezone, sections=checked.sections
    )
    follows = ", ".join(checked.sections) or "every section"
    saved = (
        f"<p>Saved. You follow {html.escape(follows)}, and editions reach you at their local time in "
        f"{html.escape(checked.timezone)}.</p>"
        f'<p><a href="/preferences/{html.escape(token, quote=True)}">Change them again</a></p>'
    )
    return reader_page(app.settings.site_title, "Preferences saved", saved)


def _subscriber(app, token: str) -> Subscriber | None:  # type: ignore[no-untyped-def]
    subscriber_id = read_token(app.signing_key, token)
    return None if subscriber_id is None else app.subscribers.get(subscriber_id)


def _sections(app, subscriber: Subscriber) -> list[str]:  # type: ignore[no-untyped-def]
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
    app, token: str, subscriber: Subscriber, *, error: str = "", status_code: int = 200
) -> HTMLResponse:  # type: ignore[no-untyped-def]
    e = html.escape
    action = e(f"/preferences/{token}", quote=True)
    followed = {s.lower() for s in subscriber.sections}
    boxes = "".join(
        f'<label><input type="checkbox" name="section" value="{e(name, quote=True)}"'
        f"{' checked' if name.lower() in followed else ''}> {e(name)}</label><br>"
        for name in _sections(app, subscriber)
    )
    notice = (
        "<p><strong>You are not subscribed now</strong>; saving preferences does not subscribe you again.</p>"
        if subscriber.status != Status.ACTIVE
        else ""
    )
    problem = f'<p role="alert"><strong>{e(error)}</strong></p>' if error else ""
    body = (
        f"{notice}{problem}<p>Editions for {e(subscriber.email)}.</p>"
        f'<form method="post" action="{action}">'
        f'<p><label>Name <input name="name" value="{e(subscriber.name, quote=True)}"></label></p>'
        f'<p><label>Time zone <input name="timezone" value="{e(subscriber.timezone, quote=True)}"></label>'
        " (e.g. Europe/London: the Morning Edition arrives at 07:00 there)</p>"
        f"<fieldset><legend>Sections (none ticked: every section)</legend>{boxes}</fieldset>"
        '<p><button type="submit">Save</button></p></form>'
        f'<p><a href="/unsubscribe/{e(token, quote=True)}">Unsubscribe</a></p>'
    )
    return reader_page(app.settings.site_title, "Your Morning Edition", body, status_code=status_code)
