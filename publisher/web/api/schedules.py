"""``/api/schedules``: create, read, change, pause and remove schedules at run time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from publisher.app import App
from publisher.schedule.clock import ClockError, parse_days, parse_hhmm, zone
from publisher.schedule.model import EDITION, SUBSCRIBER, Schedule, edition_schedule, feed_schedule
from publisher.schedule.store import ScheduleExistsError
from publisher.web.api import PublisherApp, field_error

router = APIRouter(prefix="/schedules", tags=["schedules"])


class ScheduleIn(BaseModel):
    """An edition schedule (``at``) or a feed refresh (``every_minutes``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(examples=["morning"])
    at: str | None = Field(None, description="local send time HH:MM", examples=["07:00"])
    days: str = Field("daily", description="daily, or mon,tue,...")
    timezone: str = Field(SUBSCRIBER, description="'subscriber' or an IANA zone")
    sections: list[str] = Field(default_factory=list, description="empty = all sections")
    window_hours: int | None = None
    edition: str = Field("", description="edition name; default: the schedule's name")
    every_minutes: int | None = Field(None, description="a feed refresh every N minutes")


class ScheduleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str | None = None
    days: str | None = None
    timezone: str | None = None
    sections: list[str] | None = None
    window_hours: int | None = None
    edition: str | None = None
    every_minutes: int | None = None
    paused: bool | None = None


def _get(app: App, name: str) -> Schedule:
    schedule = app.schedules.get(name)
    if schedule is None:
        raise HTTPException(404, f"no schedule named {name!r}")
    return schedule


@router.get("")
def list_schedules(app: PublisherApp) -> list[dict[str, Any]]:
    return [s.to_json() for s in app.schedules.list()]


@router.post("", status_code=201)
def create_schedule(body: ScheduleIn, app: PublisherApp) -> dict[str, Any]:
    if (body.at is None) == (body.every_minutes is None):
        raise field_error("at", "give either 'at' (an edition) or 'every_minutes' (a feed refresh)")
    try:
        if body.at is not None:
            schedule = _checked(
                "name", edition_schedule, body.name, at=body.at, days=body.days, timezone=body.timezone,
                sections=body.sections, window_hours=body.window_hours, edition_name=body.edition,
            )  # fmt: skip
        else:
            schedule = _checked("every_minutes", feed_schedule, body.name, every_minutes=body.every_minutes)
        return app.schedules.add(schedule).to_json()
    except ScheduleExistsError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/{name}")
def get_schedule(name: str, app: PublisherApp) -> dict[str, Any]:
    return _get(app, name).to_json()


@router.patch("/{name}")
def change_schedule(name: str, body: ScheduleChange, app: PublisherApp) -> dict[str, Any]:
    schedule = _get(app, name)
    changes: dict[str, Any] = {}
    given = body.model_dump(exclude_unset=True)
    if "at" in given:
        changes["send_time"] = _checked("at", parse_hhmm, body.at or "")
    if "days" in given:
        changes["days"] = _checked("days", parse_days, body.days or "")
    if "timezone" in given:
        if body.timezone != SUBSCRIBER:
            _checked("timezone", zone, body.timezone or "")
        changes["timezone"] = body.timezone
    if "sections" in given:
        changes["sections"] = tuple(s.strip() for s in body.sections or () if s.strip())
    if "window_hours" in given:
        changes["window_hours"] = body.window_hours
    if "edition" in given:
        changes["edition_name"] = body.edition or ""
    if "every_minutes" in given:
        if schedule.kind == EDITION:
            raise field_error("every_minutes", "an edition schedule has no refresh interval")
        checked = _checked("every_minutes", feed_schedule, name, every_minutes=body.every_minutes or 0)
        changes["interval_minutes"] = checked.interval_minutes
    if "paused" in given:
        changes["paused"] = bool(body.paused)
    if schedule.kind != EDITION and set(changes) - {"interval_minutes", "paused"}:
        raise field_error(sorted(set(given) - {"every_minutes", "paused"})[0], "not a feed refresh setting")
    return app.schedules.save(replace(schedule, **changes)).to_json()


@router.delete("/{name}", status_code=204)
def delete_schedule(name: str, app: PublisherApp) -> Response:
    if not app.schedules.remove(name):
        raise HTTPException(404, f"no schedule named {name!r}")
    return Response(status_code=204)


def _checked(field: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a validator; its ClockError becomes a 422 naming the field it is about."""
    try:
        return func(*args, **kwargs)
    except ClockError as exc:
        message = str(exc)
        for name, hint in (("at", "HH:MM"), ("days", "weekday"), ("timezone", "IANA"),
                           ("window_hours", "window"), ("every_minutes", "interval")):  # fmt: skip
            if hint in message:
                field = name
        raise field_error(field, message) from None
