"""The console's Schedules page: ``/console/schedules`` lists them; ops and admins add, change,
pause, resume and remove them, and see, before saving, when the schedule's next edition reaches
each zone where readers are (and a few reference zones), in local time and in UTC.

The preview is a GET of the form's own values (``/console/schedules/new?...``,
``/console/schedules/{name}?preview=1&...``), so it works with no script. Every save goes through
the one validation of a schedule (``build_schedule``, as the CLI and the API): a bad form comes back
with each bad field named beside it (422), nothing stored. Every change is in the audit log.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.edition.selection import parse_edition_names
from publisher.errors import NotFoundError
from publisher.schedule.clock import WEEKDAYS, format_days
from publisher.schedule.model import (
    EDITION,
    FEEDS,
    SUBSCRIBER,
    InvalidScheduleError,
    Schedule,
    build_schedule,
)
from publisher.schedule.plan import send_window
from publisher.schedule.reach import Reach, next_day, reach
from publisher.schedule.store import ScheduleExistsError
from publisher.web.console.auth import require, source_of
from publisher.web.console.forms import Form, read_form
from publisher.web.console.pages import render
from publisher.web.console.spans import relative
from publisher.web.console.words import moment
from publisher.web.context import publisher_app
from publisher.web.pages import long_date

router = APIRouter()
Name = Annotated[str, Path(max_length=64)]
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))  # fmt: skip
# The form's fields, beside build_schedule's: which input shows each field's problem.
FORM_FIELDS = (
    "name",
    "at",
    "days",
    "timezone",
    "zone",
    "sections",
    "window_hours",
    "edition",
    "every_minutes",
)
DONE = {
    "add": "Schedule added.",
    "change": "Schedule saved.",
    "pause": "Schedule paused: it makes no edition until it is resumed.",
    "resume": "Schedule resumed.",
    "remove": "Schedule removed.",
}
MAX_QUERY = 2000  # characters of any one form value read


# -- the form -----------------------------------------------------------------------------------------


def form_values(source: Form | Any, *, current: Schedule | None = None) -> dict[str, Any]:
    """The form as the person filled it in (strings and a list of days), for showing it again."""
    days = [d for d in source.getlist("day") if d in WEEKDAYS]
    return {
        "name": source.get("name", current.name if current else "")[:MAX_QUERY].strip(),
        "at": source.get("at")[:MAX_QUERY].strip(),
        "days": days,
        "policy": "fixed" if source.get("policy") == "fixed" else SUBSCRIBER,
        "zone": source.get("zone")[:MAX_QUERY].strip(),
        "sections": source.get("sections")[:MAX_QUERY],
        "window_hours": source.get("window_hours")[:MAX_QUERY].strip(),
        "edition": source.get("edition")[:MAX_QUERY].strip(),
        "every_minutes": source.get("every_minutes")[:MAX_QUERY].strip(),
    }


def values_of(schedule: Schedule) -> dict[str, Any]:
    """A stored schedule as the form shows it."""
    fixed = schedule.timezone != SUBSCRIBER
    return {
        "name": schedule.name,
        "at": schedule.send_time.strftime("%H:%M") if schedule.send_time else "",
        "days": [WEEKDAYS[d] for d in sorted(schedule.days)],
        "policy": "fixed" if fixed else SUBSCRIBER,
        "zone": schedule.timezone if fixed else "",
        "sections": ", ".join(schedule.sections),
        "window_hours": str(schedule.window_hours or ""),
        "edition": schedule.edition,
        "every_minutes": str(schedule.interval_minutes or ""),
    }


def _whole(text: str, field: str, problems: dict[str, str]) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        problems[field] = f"a whole number, got “{text[:20]}”"
        return None
    return int(text)


def build(values: dict[str, Any], *, current: Schedule | None, edition_names: Collection[str],
          ) -> tuple[Schedule | None, dict[str, str]]:  # fmt: skip
    """The schedule the form describes, through ``build_schedule``; else every problem by field."""
    problems: dict[str, str] = {}
    kind = current.kind if current else EDITION
    fields: dict[str, Any] = {}
    if current is None:
        fields["name"] = values["name"]
    if kind == FEEDS:
        fields["every_minutes"] = _whole(values["every_minutes"], "every_minutes", problems)
        if fields["every_minutes"] is None and "every_minutes" not in problems:
            problems["every_minutes"] = "how often, in minutes (1 to 1440)"
    else:
        fields["at"] = values["at"]
        if not values["days"]:
            problems["days"] = "choose at least one day"
        else:
            fields["days"] = format_days(frozenset(WEEKDAYS.index(d) for d in values["days"]))
        if values["policy"] == "fixed":
            if not values["zone"]:
                problems["zone"] = "name the time zone, e.g. Europe/London"
            fields["timezone"] = values["zone"] or SUBSCRIBER
        else:
            fields["timezone"] = SUBSCRIBER
        fields["sections"] = [s.strip() for s in values["sections"].split(",") if s.strip()]
        fields["window_hours"] = _whole(values["window_hours"], "window_hours", problems)
        fields["edition"] = values["edition"]
        if values["edition"] and values["edition"] not in edition_names:
            # build_schedule leaves it unchecked while the name is bad; the form names it anyway.
            known = ", ".join(sorted(edition_names)) or "none"
            problems["edition"] = f"unknown edition {values['edition']!r} (PUBLISHER_EDITION_NAMES: {known})"
    try:
        schedule = build_schedule(fields, current=current, edition_names=edition_names)
    except InvalidScheduleError as exc:
        for field, message in exc.problems:
            where = "zone" if field == "timezone" and values["policy"] == "fixed" else field
            problems.setdefault(where, message)
        schedule = None
    if problems:
        order = {name: i for i, name in enumerate(FORM_FIELDS)}
        return None, dict(sorted(problems.items(), key=lambda p: order.get(p[0], len(order))))
    return schedule, {}


# -- what the page shows ------------------------------------------------------------------------------


def describe(schedule: Schedule) -> str:
    """``07:00 in each reader's own zone, every day`` / ``a feed refresh every 5 minutes``."""
    if schedule.kind == FEEDS:
        n = schedule.interval_minutes or 0
        return f"A feed refresh every {n} minute{'' if n == 1 else 's'}"
    at = schedule.send_time.strftime("%H:%M") if schedule.send_time else "?"
    where = "in each reader's own zone" if schedule.timezone == SUBSCRIBER else f"in {schedule.timezone}"
    return f"{at} {where}, {days_words(schedule.days)}"


def days_words(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "every day"
    if days == frozenset(range(5)):
        return "on weekdays"
    names = [DAY_NAMES[WEEKDAYS[d]] + "s" for d in sorted(days)]
    return "on " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def reach_rows(found: list[Reach], day_label: str) -> list[dict[str, Any]]:
    rows = []
    for r in found:
        local_day = long_date(r.local)
        rows.append({
            "timezone": r.timezone,
            "local": f"{r.local:%H:%M} {r.local.tzname() or ''}".strip()
                     + ("" if local_day == day_label else f", {local_day}"),
            "utc": moment(r.utc),
            "who": who(r),
            "readers": r.readers,
        })  # fmt: skip
    return rows


def who(r: Reach) -> str:
    if not r.readers:
        return "for reference"
    return "readers who chose this hour" if r.own_hour else "readers"


def preview(app: Any, schedule: Schedule, now: datetime) -> dict[str, Any] | None:
    """When the schedule's next edition reaches each zone, for the page."""
    if schedule.kind != EDITION or schedule.send_time is None:
        return None
    day = next_day(schedule, now)
    if day is None:
        return None
    found = reach(schedule, day, app.subscribers.active_slots())
    label = long_date(day)
    first, last = found[0].utc, found[-1].utc
    return {"day": label, "rows": reach_rows(found, label), "first": moment(first), "last": moment(last),
            "first_relative": relative(first, now)}  # fmt: skip


def _listing(app: Any, now: datetime) -> list[dict[str, Any]]:
    out = []
    for s in app.schedules.list():
        nxt = None
        if s.kind == EDITION and not s.paused and s.send_time is not None:
            day = next_day(s, now)
            if day is not None:
                first, last = send_window(s, day)
                nxt = f"{long_date(day)}: from {moment(first)} to {moment(last)}"
        out.append({"name": s.name, "kind": s.kind, "edition": s.edition if s.kind == EDITION else "",
                    "describe": describe(s), "paused": s.paused, "next": nxt,
                    "sections": ", ".join(s.sections) or "all sections",
                    "last_run": moment(s.last_run_at, empty="never")})  # fmt: skip
    return out


def _page(request: Request, principal: Principal, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    app = publisher_app(request)
    now = app.now()
    editions = sorted(parse_edition_names(app.settings.edition_names))
    blank = {"name": "", "at": "07:00", "days": list(WEEKDAYS), "policy": SUBSCRIBER, "zone": "",
             "sections": "", "window_hours": "", "edition": editions[0] if editions else "",
             "every_minutes": ""}  # fmt: skip
    context.setdefault("values", blank)
    context.setdefault("errors", {})
    context.setdefault("reach", None)
    context.setdefault("notice", None)
    return render(request, "schedules.html", principal, status_code=status_code, heading="Schedules",
                  schedules=_listing(app, now), editions=editions,
                  weekdays=[(d, DAY_NAMES[d]) for d in WEEKDAYS], **context)  # fmt: skip


def _edit_page(request: Request, principal: Principal, current: Schedule, *, status_code: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
    app = publisher_app(request)
    context.setdefault("values", values_of(current))
    context.setdefault("errors", {})
    if "reach" not in context:
        context["reach"] = preview(app, current, app.now())
    return render(request, "schedule.html", principal, status_code=status_code,
                  heading=f"Schedule “{current.name}”", schedule=current, describe=describe(current),
                  editions=sorted(parse_edition_names(app.settings.edition_names)),
                  weekdays=[(d, DAY_NAMES[d]) for d in WEEKDAYS], **context)  # fmt: skip


def _get(app: Any, name: str) -> Schedule:
    schedule = app.schedules.get(name)
    if schedule is None:
        raise NotFoundError(f"no schedule named {name!r}", field="name")
    return schedule


async def _audit(request: Request, principal: Principal, action: str, name: str,
                 detail: dict[str, Any] | None = None) -> None:  # fmt: skip
    await run_in_threadpool(publisher_app(request).audit.record, principal.email, action, name,
                            source=source_of(request), detail=detail)  # fmt: skip


def _done(what: str, name: str | None = None) -> RedirectResponse:
    target = f"/console/schedules/{name}?done={what}" if name else f"/console/schedules?done={what}"
    return RedirectResponse(target, status_code=303)


# -- routes -------------------------------------------------------------------------------------------


@router.get("/schedules", response_class=HTMLResponse)
async def schedules_page(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await run_in_threadpool(lambda: _page(request, principal, notice=DONE.get(done)))


@router.get("/schedules/new", response_class=HTMLResponse)
async def new_schedule_preview(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.VIEW))]
) -> Response:
    """The add form with its values checked and, when they make a schedule, where it reaches."""
    app = publisher_app(request)
    values = form_values(_QueryForm(request))
    names = parse_edition_names(app.settings.edition_names)
    schedule, errors = build(values, current=None, edition_names=names)
    reach_view = await run_in_threadpool(preview, app, schedule, app.now()) if schedule else None
    return await run_in_threadpool(lambda: _page(request, principal, status_code=200 if schedule else 422,
                                                 values=values, errors=errors, reach=reach_view,
                                                 previewed=True))  # fmt: skip


@router.post("/schedules")
async def add_schedule(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    app = publisher_app(request)
    values = form_values(await read_form(request))
    schedule, errors = build(
        values, current=None, edition_names=parse_edition_names(app.settings.edition_names)
    )
    if schedule is not None:
        try:
            added = await run_in_threadpool(app.schedules.add, schedule)
        except ScheduleExistsError as exc:
            errors = {"name": str(exc)}
        else:
            await _audit(request, principal, "schedule.add", added.name, added.to_json())
            return _done("add")
    return await run_in_threadpool(lambda: _page(request, principal, status_code=422, values=values,
                                                 errors=errors))  # fmt: skip


@router.get("/schedules/{name}", response_class=HTMLResponse)
async def schedule_page(
    request: Request,
    name: Name,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    preview_values: Annotated[str, Query(alias="preview", max_length=1)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    app = publisher_app(request)
    current = await run_in_threadpool(_get, app, name)
    if not preview_values:
        return await run_in_threadpool(lambda: _edit_page(request, principal, current, notice=DONE.get(done)))
    values = form_values(_QueryForm(request), current=current)
    changed, errors = build(
        values, current=current, edition_names=parse_edition_names(app.settings.edition_names)
    )
    reach_view = await run_in_threadpool(preview, app, changed, app.now()) if changed else None
    status = 200 if changed else 422
    return await run_in_threadpool(lambda: _edit_page(request, principal, current, status_code=status,
                                                      values=values, errors=errors, reach=reach_view,
                                                      previewed=True, notice=None))  # fmt: skip


@router.post("/schedules/{name}")
async def change_schedule(
    request: Request, name: Name, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    app = publisher_app(request)
    current = await run_in_threadpool(_get, app, name)
    values = form_values(await read_form(request), current=current)
    changed, errors = build(
        values, current=current, edition_names=parse_edition_names(app.settings.edition_names)
    )
    if changed is None:
        return await run_in_threadpool(
            lambda: _edit_page(request, principal, current, status_code=422, values=values, errors=errors,
                               notice=None)
        )  # fmt: skip
    saved = await run_in_threadpool(app.schedules.save, changed)
    await _audit(
        request, principal, "schedule.change", name, {"from": current.to_json(), "to": saved.to_json()}
    )
    return _done("change", name)


@router.post("/schedules/{name}/pause")
async def pause_schedule(
    request: Request, name: Name, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    return await _set_paused(request, principal, name, True)


@router.post("/schedules/{name}/resume")
async def resume_schedule(
    request: Request, name: Name, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    return await _set_paused(request, principal, name, False)


async def _set_paused(request: Request, principal: Principal, name: str, paused: bool) -> Response:
    app = publisher_app(request)
    await run_in_threadpool(_get, app, name)
    await run_in_threadpool(app.schedules.set_paused, name, paused)
    verb = "pause" if paused else "resume"
    await _audit(request, principal, f"schedule.{verb}", name)
    back = (await read_form(request)).get("back")
    return _done(verb, None if back == "list" else name)


@router.get("/schedules/{name}/remove", response_class=HTMLResponse)
async def remove_confirm(
    request: Request, name: Name, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    current = await run_in_threadpool(_get, publisher_app(request), name)
    return render(request, "schedule_remove.html", principal, heading=f"Remove schedule “{name}”?",
                  schedule=current, describe=describe(current))  # fmt: skip


@router.post("/schedules/{name}/remove")
async def remove_schedule(
    request: Request, name: Name, principal: Annotated[Principal, Depends(require(Permission.OPERATE))]
) -> Response:
    app = publisher_app(request)
    current = await run_in_threadpool(_get, app, name)
    await run_in_threadpool(app.schedules.remove, name)
    await _audit(request, principal, "schedule.remove", name, current.to_json())
    return _done("remove")


class _QueryForm:
    """The query string read like a form (the preview is a GET of the form's values)."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def getlist(self, name: str) -> list[str]:
        return self.params.getlist(name)[:20]
