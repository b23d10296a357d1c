"""The console's Today page, ``/console/``, and its live data, ``/console/today.json``.

Both come from one view (``today_view``): the Today read model (``publisher/today.py``) put in
words for people — dates and times as they are written, counts with their thousands, rates and
ETAs in a sentence, each wave step's share of readers per state as bar widths. The page is
rendered from it (useful with no script at all); its script, ``console/today.js`` (served from
/static, no inline script), fetches the JSON every two seconds and puts the same words and widths
in place, so counts rise without a reload. When the page's shape changes (an edition starts, a
step is rescheduled, a feed appears) the JSON's ``shape`` differs from the page's and the script
loads the page again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.article import iso_utc
from publisher.delivery.impact import OPS_VERBS
from publisher.delivery.states import DeliveryState, EditionState, Verb, allows
from publisher.delivery.wave import Wave, WaveStep
from publisher.limits import MAX_ID
from publisher.today import Running, Today
from publisher.web.console.auth import require
from publisher.web.console.pages import render
from publisher.web.console.spans import count, duration, percent, plural, rate, relative
from publisher.web.console.verbs import TEXTS
from publisher.web.console.words import clock, moment
from publisher.web.context import publisher_app
from publisher.web.pages import asset_url, long_date

router = APIRouter()
SCRIPT = "console/today.js"
POLL_SECONDS = 2
D, E = DeliveryState, EditionState
# The order of the states in bars and totals: what is done first, then what is on its way.
BAR_STATES = (D.SENT, D.FAILED, D.SKIPPED, D.SENDING, D.QUEUED, D.PENDING)
STATUS_WORDS = {
    E.DRAFT: "Frozen, waiting for its first readers",
    E.SENDING: "Going out now",
    E.PAUSED: "Paused by ops: nothing goes out until it is resumed",
    E.HALTED: "Halted by publisher",
    E.CANCELLED: "Cancelled",
    E.SENT: "Sent",
    E.EMPTY: "Empty: no stories, nothing to send",
}
WAVE_VERBS = (Verb.PAUSE, Verb.RESUME, Verb.CANCEL, Verb.RESCHEDULE)


@router.get("/", response_class=HTMLResponse)
async def today_page(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    done: Annotated[str, Query(max_length=20)] = "",
    edition: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    app = publisher_app(request)
    view = await run_in_threadpool(_view, request)
    verb = next((v for v in OPS_VERBS if str(v) == done), None)
    notice = f"Edition {edition}: {TEXTS[verb].done}" if verb is not None and edition else None
    return render(request, "today.html", principal, heading="Today", view=view, notice=notice,
                  script_url=asset_url(app.settings, SCRIPT), poll_seconds=POLL_SECONDS)  # fmt: skip


@router.get("/today.json")
async def today_json(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.VIEW))]
) -> Response:
    view = await run_in_threadpool(_view, request)
    return JSONResponse(view, headers={"Cache-Control": "no-store"})


def _view(request: Request) -> dict[str, Any]:
    app = publisher_app(request)
    return today_view(app.today.today(app.now()))


def today_view(today: Today) -> dict[str, Any]:
    """Everything the page shows, in words; the page and its JSON are both this."""
    now = today.at
    editions = [edition_view(r, now) for r in today.running]
    upcoming = [
        {
            "key": f"{u.name}/{u.day.isoformat()}",
            "name": u.name,
            "day_words": long_date(u.day),
            "edition_id": u.edition_id,
            "status": u.status or "scheduled",
            "first_words": moment(u.first) if u.first else "when its readers are added",
            "first_relative": relative(u.first, now) if u.first else "",
            "last_words": moment(u.last) if u.last else "",
            "freeze_words": freeze_words(u.freeze_at, now),
            "schedule": u.schedule,
        }
        for u in today.upcoming
    ]  # fmt: skip
    built = today.feeds_built
    feeds = {
        "built_words": (f"Last built {moment(built.updated_at)} ({relative(built.updated_at, now)}), in "
                        f"{built.last:.1f} s." if built else "Not built by the refresh task yet."),
        "list": [
            {"path": f.path, "name": f.title or f.path, "section": f.section, "item_count": f.items,
             "items_words": plural(f.items, "item"),
             "newest_words": (moment(f.newest) if f.newest else "no items") if f.readable else "unreadable",
             "newest_relative": relative(f.newest, now) if f.newest else "", "readable": f.readable}
            for f in today.feeds
        ],
    }  # fmt: skip
    queue = today.queue
    broker = None
    if queue.broker is not None:
        broker = [{"queue": q, "waiting": n, "words": plural(n, "task")} for q, n in queue.broker.items()]
    problems = [
        {"edition_id": p.edition_id, "edition": p.edition, "day_words": long_date(p.day), "kind": p.kind,
         "text": p.text, "count": p.count, "count_words": plural(p.count, "reader")}
        for p in today.problems
    ]  # fmt: skip
    view = {
        "at": iso_utc(now),
        "at_words": moment(now),
        "clock": clock(now),
        "editions": editions,
        "upcoming": upcoming,
        "feeds": feeds,
        "queue": {
            "queued": queue.queued,
            "sending": queue.sending,
            "queued_words": count(queue.queued),
            "sending_words": count(queue.sending),
            "broker": broker,
        },
        "problems": problems,
    }
    view["shape"] = shape(view)
    return view


def freeze_words(freeze_at: datetime | None, now: datetime) -> str:
    """When a scheduled edition's stories are frozen; past that time and still not frozen, the beat
    that freezes it is not running."""
    if freeze_at is None:
        return "Its stories are frozen."
    if freeze_at > now:
        return f"Its stories are frozen {moment(freeze_at)} ({relative(freeze_at, now)})."
    return (
        f"Not frozen yet, though due {moment(freeze_at)} ({relative(freeze_at, now)}): is the beat "
        "(publisher run, or publisher beat) running?"
    )


def shape(view: dict[str, Any]) -> str:
    """What the page's structure depends on: editions and their steps, upcoming editions, feeds,
    the broker's presence. Another shape means the page must be rendered again."""
    parts = [
        "|".join(f"{e['id']}:" + ",".join(s["key"] for s in e["steps"]) for e in view["editions"]),
        "|".join(u["key"] for u in view["upcoming"]),
        "|".join(f["path"] for f in view["feeds"]["list"]),
        "broker" if view["queue"]["broker"] is not None else "",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def edition_view(running: Running, now: datetime) -> dict[str, Any]:
    record, wave, reports = running.edition, running.wave, running.reports
    status = EditionState(record.status)
    counts = wave.counts
    readers = wave.readers
    totals = [{"state": str(s), "count": counts[str(s)], "words": count(counts[str(s)])} for s in BAR_STATES]
    done = wave.done
    report_rows = []
    if reports.sent:
        for label, n in (("hard bounces", reports.hard_bounces), ("soft bounces", reports.soft_bounces),
                         ("complaints", reports.complaints)):  # fmt: skip
            rate_words = percent(n, reports.sent)
            report_rows.append({"label": label, "count": n, "words": count(n), "rate": rate_words})
    return {
        "id": record.id,
        "name": record.name,
        "title": record.title,
        "day_words": long_date(record.date),
        "status": str(status),
        "status_words": STATUS_WORDS[status],
        "error": record.error or "",
        "readers": readers,
        "readers_words": count(readers),
        "done_words": f"{percent(done, readers)} done" if readers else "no readers",
        "totals": totals,
        "bar": bar(counts, readers),
        "due": wave.due,
        "due_words": f"{plural(wave.due, 'reader')} due and not yet sent" if wave.due else "nobody waiting",
        "rate_words": f"Sending {rate(wave.rate)}" if wave.rate else "Nothing sent in the last minute",
        "eta_words": eta_words(wave, status, now),
        "steps": [step_view(step, now) for step in wave.steps],
        "reports": {"sent_words": plural(reports.sent, "message"), "rows": report_rows},
        "errors": [{"reply": reply, "count": n, "words": plural(n, "reader")} for reply, n in running.errors],
        # Pausing a paused edition is allowed (and does nothing): not offered.
        "verbs": [
            str(v) for v in WAVE_VERBS if allows(v, str(status)) and (v, status) != (Verb.PAUSE, E.PAUSED)
        ],
        "href": f"/console/editions/{record.id}",
    }


def eta_words(wave: Wave, status: EditionState, now: datetime) -> str:
    if status == E.SENT:
        return "Every copy is out."
    if status == E.CANCELLED:
        return "Cancelled: the copies not yet sent were skipped."
    if status in (E.PAUSED, E.HALTED):
        return f"Held: {plural(wave.open, 'copy', 'copies')} waiting until it is resumed."
    if not wave.open:
        return "Every copy is out."
    if wave.eta is not None:
        return f"At this rate the last copy goes out {moment(wave.eta)}, in {duration(wave.eta - now)}."
    if wave.next_due is not None and not wave.due:
        return f"Waiting for the next zone, due {moment(wave.next_due)} ({relative(wave.next_due, now)})."
    return f"{plural(wave.open, 'copy', 'copies')} to go; no rate yet to tell when."


def step_view(step: WaveStep, now: datetime) -> dict[str, Any]:
    counts = step.counts
    zones = []
    for z in step.zones:
        local = z.local.strftime("%H:%M") if z.local else ""
        words = f"{z.timezone} {local}".strip() + f" ({count(z.readers)})"
        zones.append({"timezone": z.timezone, "readers": z.readers, "local": local, "words": words})
    done = sum(counts[str(s)] for s in (D.SENT, D.FAILED, D.SKIPPED))
    if step.open == 0:
        state = "done"
    elif not step.is_due:
        state = "waiting"
    elif counts[str(D.QUEUED)] or counts[str(D.SENDING)]:
        state = "sending"
    else:
        state = "due"
    return {
        "key": iso_utc(step.due_at) or "now",
        "when_words": clock(step.due_at) if step.due_at else "At once",
        "relative": relative(step.due_at, now) if step.due_at else "",
        "is_due": step.is_due,
        "state": state,
        "readers": step.readers,
        "readers_words": plural(step.readers, "reader"),
        "due": step.due,
        "counts": counts,
        "counts_words": {k: count(v) for k, v in counts.items()},
        "summary": step_summary(counts, step.readers, done),
        "bar": bar(counts, step.readers),
        "zones": zones,
        "zones_words": ", ".join(z["words"] for z in zones),
    }


def step_summary(counts: dict[str, int], readers: int, done: int) -> str:
    """``40 sent, 2 failed, 58 to go`` — only the states it has."""
    parts = [f"{count(counts[str(s)])} {s}" for s in (D.SENT, D.FAILED, D.SKIPPED) if counts[str(s)]]
    going = readers - done
    if going:
        parts.append(f"{count(going)} to go")
    return ", ".join(parts) or "nobody"


def bar(counts: dict[str, int], readers: int) -> list[dict[str, Any]]:
    """Each state's share of ``readers`` as x and width in per cent (a stacked SVG bar, whose
    attributes need no inline style)."""
    out, x = [], 0.0
    for state in BAR_STATES:
        width = 100 * counts[str(state)] / readers if readers else 0.0
        out.append({"state": str(state), "x": round(x, 3), "width": round(width, 3)})
        x += width
    return out
