"""``publisher schedule add|list|pause|resume|remove|due-times``: schedules are data, changed live."""

from __future__ import annotations

from datetime import date

import click

from publisher.app import App
from publisher.cli import parse_date, pass_app, print_json
from publisher.cli.audit import record
from publisher.edition.selection import parse_edition_names
from publisher.errors import ScheduleError
from publisher.schedule.clock import zone
from publisher.schedule.model import EDITION, Schedule, build_schedule


def _run(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return func(*args, **kwargs)
    except ScheduleError as exc:  # a bad value (every one named), or a name that exists already
        raise click.ClickException(str(exc)) from None


def _get(app: App, name: str) -> Schedule:
    schedule = app.schedules.get(name)
    if schedule is None:
        raise click.ClickException(f"no schedule named {name!r}")
    return schedule


@click.group("schedule")
def schedule_group() -> None:
    """Edition and feed-refresh schedules."""


@schedule_group.command("add")
@click.argument("name")
@click.option("--at", "at", help="Local send time, HH:MM.")
@click.option("--days", default="daily", show_default=True, help="daily, or weekdays: mon,tue,...")
@click.option("--timezone", default="subscriber", show_default=True,
              help="'subscriber' (each subscriber's own zone) or one IANA zone.")  # fmt: skip
@click.option("--section", "sections", multiple=True, help="Only these sections (repeatable).")
@click.option("--window", "window_hours", type=int, help="Hours of articles before the send time (1-720).")
@click.option("--edition", "edition_name", default="",
              help="Edition name from PUBLISHER_EDITION_NAMES (default: the schedule's).")  # fmt: skip
@click.option("--every", "every_minutes", type=int, help="A feed refresh every N minutes instead (1-1440).")
@pass_app
def schedule_add(
    app: App,
    name: str,
    at: str | None,
    days: str,
    timezone: str,
    sections: tuple[str, ...],
    window_hours: int | None,
    edition_name: str,
    every_minutes: int | None,
) -> None:
    """Add an edition schedule (--at) or a feed refresh (--every)."""
    if (at is None) == (every_minutes is None):
        raise click.UsageError("give either --at HH:MM (an edition) or --every MINUTES (feed refresh)")
    if at is not None:
        values = {"name": name, "at": at, "days": days, "timezone": timezone, "sections": list(sections),
                  "window_hours": window_hours, "edition": edition_name}  # fmt: skip
    else:
        values = {"name": name, "every_minutes": every_minutes}
    edition_names = parse_edition_names(app.settings.edition_names)
    schedule = _run(build_schedule, values, edition_names=edition_names)
    added = _run(app.schedules.add, schedule)
    record(app, "schedule.add", name, added.to_json())
    click.echo(f"added  {_describe(schedule)}")


@schedule_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def schedule_list(app: App, as_json: bool) -> None:
    """All schedules."""
    found = app.schedules.list()
    if as_json:
        print_json([s.to_json() for s in found])
        return
    for schedule in found:
        click.echo(_describe(schedule))


def _describe(s: Schedule) -> str:
    state = " (paused)" if s.paused else ""
    if s.kind != EDITION:
        return f"{s.name}: feed refresh every {s.interval_minutes} min{state}"
    at = s.send_time.strftime("%H:%M") if s.send_time else "?"
    where = "each subscriber's time zone" if s.timezone == "subscriber" else s.timezone
    sections = f", sections {', '.join(s.sections)}" if s.sections else ""
    return f"{s.name}: edition {s.edition!r} at {at} {where}, {_days(s)}{sections}{state}"


def _days(s: Schedule) -> str:
    return s.to_json()["days"]


@schedule_group.command("pause")
@click.argument("name")
@pass_app
def schedule_pause(app: App, name: str) -> None:
    """Stop a schedule from firing (running sends are paused with `edition pause`)."""
    _get(app, name)
    app.schedules.set_paused(name, True)
    record(app, "schedule.pause", name)
    click.echo(f"paused  {name}")


@schedule_group.command("resume")
@click.argument("name")
@pass_app
def schedule_resume(app: App, name: str) -> None:
    _get(app, name)
    app.schedules.set_paused(name, False)
    record(app, "schedule.resume", name)
    click.echo(f"resumed  {name}")


@schedule_group.command("remove")
@click.argument("name")
@pass_app
def schedule_remove(app: App, name: str) -> None:
    if not app.schedules.remove(name):
        raise click.ClickException(f"no schedule named {name!r}")
    record(app, "schedule.remove", name)
    click.echo(f"removed  {name}")


@schedule_group.command("due-times")
@click.argument("name")
@click.option("--date", "day", required=True, callback=parse_date, help="YYYY-MM-DD")
@click.option("--timezone", "zones", required=True, multiple=True, help="IANA zone (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def schedule_due_times(app: App, name: str, day: date, zones: tuple[str, ...], as_json: bool) -> None:
    """When each zone's subscribers receive that day's edition."""
    schedule = _get(app, name)
    if schedule.kind != EDITION:
        raise click.ClickException(f"{name!r} is a feed refresh, not an edition schedule")
    for name_ in zones:
        _run(zone, name_)
    rows = [schedule.due_for_zone(day, z).to_json() for z in zones] if schedule.runs_on(day) else []
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(f"{name} does not run on {day:%A} ({_days(schedule)})")
    for row in rows:
        click.echo(f"{row['timezone']:<24} {row['local']:<28} {row['utc']}")


COMMANDS = [schedule_group]
