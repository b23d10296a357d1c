"""The ops verbs on an edition, from any console page: ``/console/editions/{id}/{verb}`` for send,
pause, resume, cancel and reschedule.

GET is the confirmation step: what the verb does, how many readers it affects and how
(``publisher/delivery/impact.py``), and the form that does it (reschedule's asks when). POST does
it through the one owner of an edition's state (``EditionControl``, ``DeliveryService.start`` for
send: both write through ``lifecycle.py``), records it in the audit log, and goes back to the page
the person came from (a console path only) with a notice. Both need the operate permission
(ops, admin): a viewer's or an editor's POST is a 403 whatever the page showed them. A verb the
edition's state refuses is a 409 naming the state and what to do instead; a bad reschedule is
the form again with each bad field named (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.delivery.editions import EditionRecord
from publisher.delivery.impact import OPS_VERBS, Impact
from publisher.delivery.states import Verb
from publisher.errors import ConflictError, NotFoundError
from publisher.limits import MAX_ID, MAX_YEAR, MIN_YEAR
from publisher.schedule.clock import ClockError, parse_hhmm, zone
from publisher.schedule.model import SUBSCRIBER
from publisher.web.console.auth import PATH, require, source_of
from publisher.web.console.forms import Form, read_form
from publisher.web.console.pages import message, render
from publisher.web.console.words import moment
from publisher.web.context import publisher_app
from publisher.web.pages import long_date

router = APIRouter()
EditionId = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_DELAY_MINUTES = 7 * 24 * 60  # a week either way: past that it is another edition, not a delay


@dataclass(frozen=True)
class VerbText:
    label: str  # the button
    does: str  # what it does, in a sentence
    done: str  # the notice afterwards


TEXTS: dict[Verb, VerbText] = {
    Verb.SEND: VerbText(
        "Send now",
        "Sends the edition now: readers not yet in its ledger are added, and every copy already due is "
        "queued at once. Copies due later still wait for their time.",
        "Sending.",
    ),
    Verb.PAUSE: VerbText(
        "Pause",
        "Stops the edition: nothing more is queued or sent until it is resumed. The few messages a "
        "worker is sending this second finish; nothing is lost.",
        "Paused: nothing more goes out until it is resumed.",
    ),
    Verb.RESUME: VerbText(
        "Resume",
        "Sends again: copies already due are queued at once, the rest wait for their time. Nobody gets "
        "it twice.",
        "Resumed.",
    ),
    Verb.CANCEL: VerbText(
        "Cancel",
        "Ends the edition for good: every copy not yet sent is skipped. This cannot be undone.",
        "Cancelled: the copies not yet sent are skipped.",
    ),
    Verb.RESCHEDULE: VerbText(
        "Reschedule",
        "Moves the copies not yet due to a new time: a delay, a local time of the edition's day, or one "
        "instant for everyone.",
        "Rescheduled.",
    ),
}
VERB_PATHS = {str(v): v for v in OPS_VERBS}


def back_to(value: str, edition_id: int) -> str:
    """Where to go afterwards: a console path of this site (no open redirect), else the edition."""
    if (
        value.startswith(f"{PATH}/")
        and not value.startswith("//")
        and "\\" not in value
        and value.isprintable()
    ):
        return value[:2000]
    return f"{PATH}/editions/{edition_id}"


def with_notice(back: str, verb: Verb, edition_id: int) -> str:
    """``back`` with what was done in its query (a code the page looks up, never text)."""
    target, _, anchor = back.partition("#")
    joiner = "&" if "?" in target else "?"
    return f"{target}{joiner}done={verb}&edition={edition_id}" + (f"#{anchor}" if anchor else "")


def impact_words(impact: Impact) -> str:
    """How many readers the verb affects and how, in a sentence."""
    n = impact.readers
    readers = f"{n:,} reader{'' if n == 1 else 's'}"
    if impact.verb == Verb.PAUSE:
        extra = f" ({impact.now:,} being sent right now will finish)" if impact.now else ""
        return f"{readers} still to receive it will wait{extra}."
    if impact.verb == Verb.RESUME:
        return f"{readers} will get it: {impact.now:,} at once, {impact.later:,} at their own time."
    if impact.verb == Verb.CANCEL:
        return f"{readers} who have not received it yet never will."
    if impact.verb == Verb.RESCHEDULE:
        return f"{readers} whose copy is not yet queued get the new time."
    added = f", {impact.added:,} of them added to the ledger now" if impact.added else ""
    later = f"; {impact.later:,} more at their own time" if impact.later else ""
    return f"{readers} will get it at once{added}{later}."


def _record(request: Request, edition_id: int) -> EditionRecord:
    record = publisher_app(request).edition_store.get(edition_id)
    if record is None:
        raise NotFoundError(f"no edition with id {edition_id}", field="edition_id")
    return record


def _confirm(request: Request, principal: Principal, record: EditionRecord, verb: Verb, back: str, *,
             status_code: int = 200, values: dict[str, str] | None = None,
             errors: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    app = publisher_app(request)
    impact = app.impact.of(record, verb, app.now())
    return render(
        request, "verb.html", principal, status_code=status_code,
        heading=f"{TEXTS[verb].label}: {record.title}, {long_date(record.date)}",
        edition=record, verb=str(verb), text=TEXTS[verb], impact=impact, impact_words=impact_words(impact),
        back=back, values=values or {"how": "delay", "delay_minutes": "15", "at": "", "timezone": SUBSCRIBER,
                                     "to_date": record.date.isoformat(), "to_time": ""},
        errors=errors or {}, moment=moment,
    )  # fmt: skip


def _verb(name: str) -> Verb:
    verb = VERB_PATHS.get(name)
    if verb is None:
        raise NotFoundError(f"no edition verb {name!r}")
    return verb


def _routes(name: str) -> None:
    """The GET (confirm) and POST (do) routes of one verb."""

    async def confirm(
        request: Request,
        edition_id: EditionId,
        principal: Annotated[Principal, Depends(require(Permission.OPERATE))],
        back: Annotated[str, Query(max_length=2000)] = "",
    ) -> Response:
        verb = _verb(name)
        record = await run_in_threadpool(_record, request, edition_id)
        return await run_in_threadpool(_confirm, request, principal, record, verb, back_to(back, edition_id))

    async def perform(
        request: Request,
        edition_id: EditionId,
        principal: Annotated[Principal, Depends(require(Permission.OPERATE))],
    ) -> Response:
        verb = _verb(name)
        form = await read_form(request)
        back = back_to(form.get("back"), edition_id)
        record = await run_in_threadpool(_record, request, edition_id)
        if verb == Verb.RESCHEDULE:
            when, errors = reschedule_values(form)
            if errors:
                values = {
                    k: form.get(k) for k in ("how", "delay_minutes", "at", "timezone", "to_date", "to_time")
                }
                return await run_in_threadpool(_confirm, request, principal, record, verb, back,
                                               status_code=422, values=values, errors=errors)  # fmt: skip
            try:
                result = await run_in_threadpool(_reschedule, request, edition_id, when)
            except ConflictError as exc:
                return message(request, principal, f"Cannot {verb} edition {edition_id}", str(exc),
                               status_code=409, link=("Go back", back))  # fmt: skip
        else:
            try:
                result = await run_in_threadpool(_do, request, verb, edition_id)
            except ConflictError as exc:  # the edition's state refuses the verb: say so, and what to do
                return message(request, principal, f"Cannot {verb} edition {edition_id}", str(exc),
                               status_code=409, link=("Go back", back))  # fmt: skip
        await run_in_threadpool(
            publisher_app(request).audit.record, principal.email, f"edition.{verb}", f"edition {edition_id}",
            source=source_of(request), detail=result,
        )  # fmt: skip
        return RedirectResponse(with_notice(back, verb, edition_id), status_code=303)

    path = f"/editions/{{edition_id}}/{name}"
    router.add_api_route(path, confirm, methods=["GET"], response_class=HTMLResponse, name=f"confirm_{name}")
    router.add_api_route(path, perform, methods=["POST"], name=f"do_{name}")


def _do(request: Request, verb: Verb, edition_id: int) -> dict[str, Any]:
    app = publisher_app(request)
    if verb == Verb.SEND:
        queued = app.delivery.start(edition_id)
        return {"queued": queued, "status": str(_record(request, edition_id).status)}
    changed = {
        Verb.PAUSE: app.editions.pause,
        Verb.RESUME: app.editions.resume,
        Verb.CANCEL: app.editions.cancel,
    }[verb](edition_id)
    return {"status": changed.status, "rows": changed.rows}


def _reschedule(request: Request, edition_id: int, when: dict[str, Any]) -> dict[str, Any]:
    changed = publisher_app(request).editions.reschedule(edition_id, **when)
    shown = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in when.items()}
    return {"status": changed.status, "rows": changed.rows, **shown}


def reschedule_values(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """The reschedule form as ``EditionControl.reschedule``'s arguments, or a problem per bad field."""
    how = form.get("how")
    errors: dict[str, str] = {}
    if how == "delay":
        text = form.get("delay_minutes").strip()
        if not text.lstrip("-").isdigit() or len(text) > 7:
            errors["delay_minutes"] = "A whole number of minutes, e.g. 15 (or -15 to bring it forward)."
        elif abs(int(text)) > MAX_DELAY_MINUTES or int(text) == 0:
            errors["delay_minutes"] = f"From 1 to {MAX_DELAY_MINUTES:,} minutes (a week), either way."
        return ({"delay": timedelta(minutes=int(text))} if not errors else {}), errors
    if how == "at":
        at: time | None = None
        try:
            at = parse_hhmm(form.get("at"))
        except ClockError:
            errors["at"] = "A time of day as HH:MM, e.g. 07:30."
        tz = form.get("timezone").strip() or SUBSCRIBER
        if tz != SUBSCRIBER:
            try:
                zone(tz)
            except ClockError:
                errors["timezone"] = (
                    f"“{tz[:64]}” is not a time zone: “subscriber” or one like Europe/London."
                )
        return ({"at": at, "timezone": tz} if not errors else {}), errors
    if how == "to":
        instant: datetime | None = None
        try:
            day = datetime.strptime(form.get("to_date").strip(), "%Y-%m-%d").date()
            if not MIN_YEAR <= day.year <= MAX_YEAR:
                raise ValueError
        except ValueError:
            errors["to_date"] = "A date as YYYY-MM-DD."
            day = None
        try:
            clock = parse_hhmm(form.get("to_time"))
        except ClockError:
            errors["to_time"] = "A time of day in UTC as HH:MM."
            clock = None
        if day is not None and clock is not None:
            instant = datetime.combine(day, clock, tzinfo=UTC)
        return ({"to": instant} if not errors else {}), errors
    return {}, {"how": "Choose how to reschedule: a delay, a local time, or one time for everyone."}


for _name in VERB_PATHS:
    _routes(_name)
