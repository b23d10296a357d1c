"""``publisher edition list|pause|resume|cancel|reschedule|test-send``: ops steer editions."""

from __future__ import annotations

from datetime import timedelta

import click

from publisher.app import App
from publisher.article import parse_iso
from publisher.cli import pass_app, print_json
from publisher.cli.audit import record
from publisher.cli.edition import edition_group
from publisher.delivery.control import Changed
from publisher.errors import InvalidInputError
from publisher.limits import MAX_ID, check_date
from publisher.schedule.clock import parse_hhmm, zone

# Ids beyond a database integer are refused by click, with a usage error, before any query.
EDITION_ID = click.IntRange(1, MAX_ID)
MAX_DELAY_MINUTES = 7 * 24 * 60


@edition_group.command("list")
@click.option("--days", default=2, show_default=True, help="Days of upcoming editions to show.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def edition_list(app: App, days: int, as_json: bool) -> None:
    """Upcoming editions (from the schedules) and past ones, with their send windows."""
    listing = app.editions.listing(days_ahead=days)
    if as_json:
        print_json(listing)
        return
    click.echo("upcoming:")
    for u in listing["upcoming"]:
        click.echo(f"  {u['name']:<10} {u['date']}  {u['window']['first']} → {u['window']['last']}"
                   f"  (schedule {u['schedule']})")  # fmt: skip
    click.echo("past and running:")
    for p in listing["past"]:
        window = f"{p['window']['first'] or '-'} → {p['window']['last'] or '-'}"
        click.echo(f"  #{p['id']:<5} {p['name']:<10} {p['date']}  {p['status']:<9} "
                   f"{p['sent']}/{p['deliveries']} sent  {window}")  # fmt: skip
    for w in listing["warnings"]:
        click.echo(f"warning: {w['warning']}")


def _report(app: App, verb: str, changed: Changed) -> None:
    record(app, f"edition.{verb}", f"edition {changed.edition_id}", changed.to_json())
    click.echo(f"edition {changed.edition_id}: {changed.status} ({changed.rows} deliveries moved)")


@edition_group.command("pause")
@click.argument("edition_id", type=EDITION_ID)
@pass_app
def edition_pause(app: App, edition_id: int) -> None:
    """Stop sending within seconds; nothing is lost (queued rows wait as pending)."""
    _report(app, "pause", app.editions.pause(edition_id))


@edition_group.command("resume")
@click.argument("edition_id", type=EDITION_ID)
@pass_app
def edition_resume(app: App, edition_id: int) -> None:
    """Carry on a paused edition; nothing is sent twice."""
    _report(app, "resume", app.editions.resume(edition_id))


@edition_group.command("cancel")
@click.argument("edition_id", type=EDITION_ID)
@pass_app
def edition_cancel(app: App, edition_id: int) -> None:
    """Skip every delivery not yet sent."""
    _report(app, "cancel", app.editions.cancel(edition_id))


@edition_group.command("reschedule")
@click.argument("edition_id", type=EDITION_ID)
@click.option("--to", "to", help="One new due time for everyone, ISO 8601 (e.g. 2026-11-25T08:00:00Z).")
@click.option("--delay", "delay", type=click.IntRange(-MAX_DELAY_MINUTES, MAX_DELAY_MINUTES),
              help="Shift every pending delivery by this many minutes (at most a week).")  # fmt: skip
@click.option("--at", "at", help="A new local time HH:MM of the edition's day ...")
@click.option("--timezone", default="subscriber", show_default=True,
              help="... in each subscriber's zone ('subscriber') or one IANA zone.")  # fmt: skip
@pass_app
def edition_reschedule(
    app: App, edition_id: int, to: str | None, delay: int | None, at: str | None, timezone: str
) -> None:
    """New due times for the deliveries not yet sent."""
    if sum(x is not None for x in (to, delay, at)) != 1:
        raise click.UsageError("give exactly one of --to, --delay, --at")
    when = _checked("--to", lambda: check_date(parse_iso(to, field_name="--to"), "--to") if to else None)
    local = _checked("--at", lambda: parse_hhmm(at) if at else None)
    if timezone != "subscriber":
        _checked("--timezone", lambda: zone(timezone))
    changed = app.editions.reschedule(
        edition_id, to=when, delay=timedelta(minutes=delay) if delay is not None else None, at=local,
        timezone=timezone,
    )  # fmt: skip
    asked = {"to": to, "delay_minutes": delay, "at": at, "timezone": timezone}
    record(app, "edition.reschedule", f"edition {edition_id}", {**asked, **changed.to_json()})
    click.echo(f"edition {changed.edition_id}: {changed.rows} deliveries rescheduled")


def _checked(option: str, parse):  # type: ignore[no-untyped-def]
    """Run a parser; its error becomes a usage error naming the option."""
    try:
        return parse()
    except InvalidInputError as exc:  # IngestError, ClockError and out-of-range values alike
        raise click.BadParameter(getattr(exc, "reason", str(exc)), param_hint=f"'{option}'") from None


@edition_group.command("test-send")
@click.argument("edition_id", type=EDITION_ID)
@click.argument("addresses", nargs=-1, required=True)
@pass_app
def edition_test_send(app: App, edition_id: int, addresses: tuple[str, ...]) -> None:
    """Send the edition now to these addresses, outside the ledger."""
    sent = app.editions.test_send(edition_id, list(addresses))
    record(app, "edition.test-send", f"edition {edition_id}", {"addresses": list(sent)})
    for address in sent:
        click.echo(f"sent  {address}")


COMMANDS: list[click.Command] = []  # the commands above join the `edition` group
