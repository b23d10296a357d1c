"""The console's Edition pages: ``/console/editions`` (newest first) and ``/console/editions/{id}``.

An edition's page shows it as a reader sees it (the HTML in two sandboxed frames, 375 and 600 px
wide, served by ``/console/editions/{id}/preview`` under a policy of its own, and the text part),
its stories with the editors' controls while it is a draft (pin, exclude, put back, move, subject
line: ``publisher/delivery/contents.py`` owns those edits and refuses them once a row is queued),
a test-send to addresses, the ops verbs (links to their confirmation pages, each with how many
readers it affects) and its ledger rows, filterable by state, a page at a time, with their SMTP
replies. Every change is recorded in the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.delivery.states import EDITION_MOVES, DeliveryState, Verb
from publisher.edition.personalize import html_values, text_values
from publisher.edition.preview import sample_recipient
from publisher.errors import InvalidInputError
from publisher.limits import MAX_ID
from publisher.subscribers.model import InvalidSubscriberError, validate
from publisher.web.console.auth import require, source_of
from publisher.web.console.forms import read_form
from publisher.web.console.pages import render
from publisher.web.console.verbs import TEXTS
from publisher.web.console.words import moment
from publisher.web.context import publisher_app

router = APIRouter()
EditionId = Annotated[int, Path(ge=1, le=MAX_ID)]
ROWS_PAGE = 50
MAX_TEST_ADDRESSES = 20
# The frames' own policy: the email's inline styles and its images, nothing else; no script, no
# form, and only this site's console may frame it.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)
# Ops verbs the page links to (their confirmation pages), and the ledger states each one moves.
VERBS: dict[Verb, tuple[DeliveryState, ...]] = {
    Verb.SEND: (),
    Verb.PAUSE: (DeliveryState.PENDING, DeliveryState.QUEUED),
    Verb.RESUME: (DeliveryState.PENDING,),
    Verb.RESCHEDULE: (DeliveryState.PENDING,),
    Verb.CANCEL: (DeliveryState.PENDING, DeliveryState.QUEUED),
}
# What a change's redirect says on the page (a code in the URL, never text from it).
DONE = {
    "pin": "Story pinned to the top.",
    "exclude": "Story taken out of the edition.",
    "include": "Story put back, at the end.",
    "up": "Story moved up.",
    "down": "Story moved down.",
    "subject": "Subject line saved.",
    "test-send": "Test sent.",
    "prepare": "Edition made ahead of time: stories published from now on are in it only if you pin them.",
    # The ops verbs (verbs.py) come back here with their own notice.
    **{str(verb): text.done for verb, text in TEXTS.items()},
}
ACTIONS = ("pin", "exclude", "include", "up", "down")


@router.get("/editions", response_class=HTMLResponse)
async def editions_list(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.VIEW))]
) -> Response:
    listing = await run_in_threadpool(publisher_app(request).editions.listing, days_ahead=2, past=60)
    return render(request, "editions.html", principal, heading="Editions", listing=listing,
                  day=_day, moment=moment)  # fmt: skip


@router.post("/editions/prepare")
async def prepare(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.EDIT))]
) -> Response:
    """Make an upcoming scheduled edition now (``Scheduler.prepare``), to shape it before it goes."""
    form = await read_form(request)
    name, given = form.get("schedule").strip(), form.get("date").strip()
    if not name or len(name) > 100:
        raise InvalidInputError("schedule: the schedule's name", field="schedule")
    try:
        day = date.fromisoformat(given)
    except ValueError:
        raise InvalidInputError("date: a day as YYYY-MM-DD", field="date") from None
    record, made = await run_in_threadpool(publisher_app(request).scheduler.prepare, name, day)
    if made:
        await _audit(request, principal, "edition.prepare", record.id, {"schedule": name, "date": given})
    return _back(record.id, "prepare", "stories")


@router.get("/editions/{edition_id}", response_class=HTMLResponse)
async def edition_page(
    request: Request,
    edition_id: EditionId,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    state: Annotated[DeliveryState | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    context = await run_in_threadpool(_context, request, edition_id, state, after)
    return render(request, "edition.html", principal, notice=DONE.get(done), errors={}, addresses="",
                  **context)  # fmt: skip


@router.get("/editions/{edition_id}/preview", response_class=HTMLResponse)
async def edition_preview(
    request: Request,
    edition_id: EditionId,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
) -> Response:
    """The email's HTML as the sample reader gets it, for the page's frames."""
    html = await run_in_threadpool(_preview_html, request, edition_id)
    headers = {
        "Content-Security-Policy": PREVIEW_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)


@router.post("/editions/{edition_id}/contents")
async def edit_contents(
    request: Request,
    edition_id: EditionId,
    principal: Annotated[Principal, Depends(require(Permission.EDIT))],
) -> Response:
    form = await read_form(request)
    action, slug = form.get("action"), form.get("slug").strip()
    if action not in ACTIONS:
        raise InvalidInputError(f"action: one of {', '.join(ACTIONS)}", field="action")
    if not slug or len(slug) > 100:
        raise InvalidInputError("slug: the story's slug (at most 100 characters)", field="slug")
    seen = _revision(form.get("revision"))
    contents = publisher_app(request).edition_contents
    calls = {
        "pin": lambda: contents.pin(edition_id, slug, seen=seen),
        "exclude": lambda: contents.exclude(edition_id, slug, seen=seen),
        "include": lambda: contents.include(edition_id, slug, seen=seen),
        "up": lambda: contents.move(edition_id, slug, -1, seen=seen),
        "down": lambda: contents.move(edition_id, slug, 1, seen=seen),
    }
    record = await run_in_threadpool(calls[action])
    await _audit(request, principal, f"edition.{action}", edition_id,
                 {"slug": slug, "revision": record.revision})  # fmt: skip
    return _back(edition_id, action, "stories")


@router.post("/editions/{edition_id}/subject")
async def edit_subject(
    request: Request,
    edition_id: EditionId,
    principal: Annotated[Principal, Depends(require(Permission.EDIT))],
) -> Response:
    form = await read_form(request)
    seen = _revision(form.get("revision"))
    record = await run_in_threadpool(publisher_app(request).edition_contents.set_subject, edition_id,
                                     form.get("subject"), seen=seen)  # fmt: skip
    await _audit(request, principal, "edition.subject", edition_id,
                 {"subject": record.subject, "revision": record.revision})  # fmt: skip
    return _back(edition_id, "subject", "stories")


@router.post("/editions/{edition_id}/test-send", response_class=HTMLResponse)
async def test_send(
    request: Request,
    edition_id: EditionId,
    principal: Annotated[Principal, Depends(require(Permission.EDIT))],
) -> Response:
    form = await read_form(request)
    given = form.get("addresses")
    addresses, problems = check_addresses(given)
    if problems:
        context = await run_in_threadpool(_context, request, edition_id, None, 0)
        return render(request, "edition.html", principal, status_code=422, notice=None,
                      errors={"addresses": problems}, addresses=given, **context)  # fmt: skip
    sent = await run_in_threadpool(publisher_app(request).editions.test_send, edition_id, addresses)
    await _audit(request, principal, "edition.test-send", edition_id, {"addresses": sent})
    return _back(edition_id, "test-send", "test-send")


def check_addresses(text: str) -> tuple[list[str], list[str]]:
    """The addresses of a test-send (commas, spaces or lines between them), and a problem for each
    bad one, naming it."""
    given = [a for a in text.replace(",", " ").replace(";", " ").split() if a]
    problems: list[str] = []
    good: list[str] = []
    if not given:
        problems.append("Give at least one address.")
    if len(given) > MAX_TEST_ADDRESSES:
        problems.append(f"At most {MAX_TEST_ADDRESSES} addresses at a time (got {len(given)}).")
    for address in given[: MAX_TEST_ADDRESSES * 2]:
        try:
            good.append(validate(address).email)
        except InvalidSubscriberError as exc:
            problems.append(f"{address[:100]}: {exc}")
    return list(dict.fromkeys(good)), problems


# -- helpers ------------------------------------------------------------------------------------------


def _revision(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise InvalidInputError("revision: a whole number", field="revision")
    return int(value)


def _back(edition_id: int, done: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/console/editions/{edition_id}?done={done}#{anchor}", status_code=303)


async def _audit(request: Request, principal: Principal, action: str, edition_id: int,
                 detail: dict[str, Any]) -> None:  # fmt: skip
    record = publisher_app(request).audit.record
    await run_in_threadpool(record, principal.email, action, f"edition {edition_id}",
                            source=source_of(request), detail=detail)  # fmt: skip


def _day(value: str | date) -> str:
    from publisher.edition.compile import date_in_words

    return date_in_words(date.fromisoformat(value) if isinstance(value, str) else value)


def _preview_html(request: Request, edition_id: int) -> str:
    app = publisher_app(request)
    compiled = app.delivery.compiled(edition_id).get()
    return str(compiled.html.fill(html_values(sample_recipient(app.settings))))


def _context(request: Request, edition_id: int, state: DeliveryState | None, after: int) -> dict[str, Any]:
    app = publisher_app(request)
    status = app.editions.status(edition_id)  # NotFoundError (404) for an unknown id
    contents = app.edition_contents.of(edition_id)
    compiled = app.delivery.compiled(edition_id).get() if contents.pool else None
    text = compiled.text.fill(text_values(sample_recipient(app.settings))) if compiled else ""
    rows = app.ledger.rows(edition_id, state=state, after=after, limit=ROWS_PAGE + 1)
    more = len(rows) > ROWS_PAGE
    rows = rows[:ROWS_PAGE]
    counts: dict[str, int] = status["counts"]
    current = str(contents.record.status)
    verbs = [
        {"verb": str(verb), "readers": sum(counts[str(s)] for s in moved) if moved else None}
        for verb, moved in VERBS.items()
        if current in EDITION_MOVES[verb].leaves
    ]
    base = {"state": str(state)} if state else {}
    next_url = (f"/console/editions/{edition_id}?" + urlencode({**base, "after": rows[-1].subscriber_id})
                + "#deliveries") if more and rows else None  # fmt: skip
    return {
        "heading": f"{contents.record.title}, {_day(contents.record.date)}",
        "edition": contents.record,
        "status": status,
        "contents": contents,
        "subject": compiled.subject if compiled else "",
        "text": text,
        "verbs": verbs,
        "rows": rows,
        "states": [str(s) for s in DeliveryState],
        "state": str(state) if state else "",
        "next_url": next_url,
        "first_url": f"/console/editions/{edition_id}?" + urlencode(base) + "#deliveries" if after else None,
        "moment": moment,
        "day": _day,
        "is_iso": lambda v: isinstance(v, datetime),
    }
