"""``/api/schedules``: create, read, change, pause and remove schedules at run time.

POST and PATCH run the same validation (``build_schedule``): a 422 names every bad field at once,
and the edition a schedule builds must be one PUBLISHER_EDITION_NAMES defines.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from publisher.app import App
from publisher.edition.selection import parse_edition_names
from publisher.schedule.model import SUBSCRIBER, InvalidScheduleError, Schedule, build_schedule
from publisher.web.api import OPERATE, PublisherApp, audit

router = APIRouter(prefix="/schedules", tags=["schedules"])


class ScheduleIn(BaseModel):
    """An edition schedule (``at``) or a feed refresh (``every_minutes``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(examples=["morning"])
    at: str | None = Field(None, description="local send time HH:MM", examples=["07:00"])
    days: str = Field("daily", description="daily, or mon,tue,...")
    timezone: str = Field(SUBSCRIBER, description="'subscriber' or an IANA zone")
    sections: list[str] = Field(default_factory=list, description="empty = all sections")
    window_hours: int | None = Field(None, description="hours of articles before the send time, 1 to 720")
    edition: str = Field(
        "", description="edition name (PUBLISHER_EDITION_NAMES); default: the schedule's name"
    )
    every_minutes: int | None = Field(None, description="a feed refresh every N minutes, 1 to 1440")


class ScheduleChange(BaseModel):
    """The fields to change; the others keep their values."""

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


def _validated(app: App, values: dict[str, Any], current: Schedule | None = None) -> Schedule:
    try:
        return build_schedule(
            values, current=current, edition_names=parse_edition_names(app.settings.edition_names)
        )
    except InvalidScheduleError as exc:
        detail = [{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in exc.problems]
        raise HTTPException(422, detail) from None


@router.get("")
def list_schedules(app: PublisherApp) -> list[dict[str, Any]]:
    return [s.to_json() for s in app.schedules.list()]


@router.post("", status_code=201, openapi_extra=OPERATE)
def create_schedule(body: ScheduleIn, app: PublisherApp, request: Request) -> dict[str, Any]:
    """An existing name is a 409 (ScheduleExistsError, a ConflictError, answered by its type)."""
    added = app.schedules.add(_validated(app, body.model_dump(exclude_unset=True))).to_json()
    audit(request, "schedule.add", body.name, added)
    return added


@router.get("/{name}")
def get_schedule(name: str, app: PublisherApp) -> dict[str, Any]:
    return _get(app, name).to_json()


@router.patch("/{name}", openapi_extra=OPERATE)
def change_schedule(name: str, body: ScheduleChange, app: PublisherApp, request: Request) -> dict[str, Any]:
    schedule = _get(app, name)
    changes = body.model_dump(exclude_unset=True)
    saved = app.schedules.save(_validated(app, changes, schedule)).to_json()
    audit(request, "schedule.change", name, {"changes": changes})
    return saved


@router.delete("/{name}", status_code=204, openapi_extra=OPERATE)
def delete_schedule(name: str, app: PublisherApp, request: Request) -> Response:
    if not app.schedules.remove(name):
        raise HTTPException(404, f"no schedule named {name!r}")
    audit(request, "schedule.remove", name)
    return Response(status_code=204)
