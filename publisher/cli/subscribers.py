"""``publisher subscribers import|add|list|show|export|export-data|remove|suppress|unsuppress|forget``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.cli.audit import record
from publisher.errors import ConflictError, NotFoundError
from publisher.subscribers.importer import read_csv_file, write_csv
from publisher.subscribers.model import InvalidSubscriberError, Status, Subscriber, validate
from publisher.subscribers.states import Source


@click.group("subscribers")
def subscribers_group() -> None:
    """Subscribers of the email editions."""


@subscribers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def subscribers_import(app: App, file: Path) -> None:
    """Add or update subscribers from a CSV (columns email, name, timezone, sections).

    Every valid row is kept; each rejected row is printed with its line number and reason. A
    re-import updates names, time zones and sections but never resubscribes anyone: unsubscribed,
    bounced, complained and erased addresses are reported as suppressed, and readers who set their
    own preferences as kept.
    """
    started = time.perf_counter()
    result = read_csv_file(file)
    for rejected in result.rejected:
        click.echo(f"{file}: line {rejected.line}: {rejected.reason}", err=True)
    outcome = app.subscriber_lifecycle.import_many(result.valid)
    for index in outcome.suppressed:
        click.echo(f"{file}: line {result.lines[index]}: suppressed: {result.valid[index].email}", err=True)
    for index in outcome.kept:
        click.echo(f"{file}: line {result.lines[index]}: kept: {result.valid[index].email} set their own "
                   "preferences", err=True)  # fmt: skip
    seconds = time.perf_counter() - started
    counts = (f"{outcome.added} added, {outcome.updated} updated, {len(outcome.kept)} kept, "
              f"{len(outcome.suppressed)} suppressed, {len(result.rejected)} rejected")  # fmt: skip
    record(app, "subscriber.import", str(file), {
        "added": outcome.added, "updated": outcome.updated, "kept": len(outcome.kept),
        "suppressed": len(outcome.suppressed), "rejected": len(result.rejected),
    })  # fmt: skip
    click.echo(f"{counts} ({seconds:.2f} s)")


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="How to greet them.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/London.")
@click.option("--sections", default="", help="Section names separated by ';' (default: all sections).")
@pass_app
def subscribers_add(app: App, email: str, name: str, timezone: str, sections: str) -> None:
    """Add one subscriber, active at once (or update the one with this address). A suppressed
    address (unsubscribed, bounced, complained, erased) is refused (exit 4)."""
    try:
        item = validate(email, name, timezone, sections)
    except InvalidSubscriberError as exc:
        raise click.BadParameter(str(exc)) from None
    outcome = app.subscriber_lifecycle.import_many([item], source=Source.OPS)
    if outcome.suppressed:
        raise ConflictError(f"{item.email} is suppressed: it is never added again (`subscribers unsuppress` "
                            "lets them sign up again themselves)")  # fmt: skip
    state = "added" if outcome.added else "kept" if outcome.kept else "updated"
    record(app, "subscriber.add", item.email, {"outcome": state})
    click.echo(f"{state}  {item.email}")


@subscribers_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def subscribers_list(app: App, status: str | None, as_json: bool) -> None:
    """Subscribers, oldest first."""
    found = app.subscribers.list(Status(status) if status else None)
    if as_json:
        print_json([s.to_json() for s in found])
        return
    for s in found:
        sections = ";".join(s.sections) or "(all sections)"
        click.echo(f"{s.status:<12}  {s.email:<40}  {s.timezone:<20}  {sections}")


@subscribers_group.command("export")
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Only this status.")
@pass_app
def subscribers_export(app: App, status: str | None) -> None:
    """Print subscribers as CSV: the import columns plus status (formulas written as text)."""
    rows = (
        (s.email, s.name, s.timezone, ";".join(s.sections), str(s.status))
        for s in app.subscribers.list(Status(status) if status else None)
    )
    write_csv(rows, sys.stdout)


@subscribers_group.command("remove")
@click.argument("email")
@pass_app
def subscribers_remove(app: App, email: str) -> None:
    """Unsubscribe a reader on their behalf: record and history stay (`forget` erases them)."""
    if not app.subscribers.remove(email):
        raise NotFoundError(f"no subscriber {email.strip()!r}")
    record(app, "subscriber.remove", email.strip())
    click.echo(f"removed  {email.strip()}")


def _found(app: App, email: str) -> Subscriber:
    found = app.subscribers.find(email)
    if found is None:
        raise NotFoundError(f"no subscriber {email.strip()!r}")
    return found


@subscribers_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def subscribers_show(app: App, email: str, as_json: bool) -> None:
    """A reader: profile, state, and every event (time, kind, source)."""
    found = _found(app, email)
    events = app.subscribers.events(found.id)
    if as_json:
        print_json({**found.to_json(), "events": events})
        return
    click.echo(f"{found.email}  {found.status}")
    click.echo(f"   name      {found.name or '-'}")
    click.echo(f"   zone      {found.timezone}, editions at {found.send_time or app.default_hour()}")
    click.echo(f"   sections  {', '.join(found.sections) or 'every section'}")
    for event in events:
        detail = f"  ({event['detail']})" if event["detail"] else ""
        click.echo(f"   {event['at']}  {event['kind']:<12} {event['source']}{detail}")


@subscribers_group.command("export-data")
@click.argument("email")
@pass_app
def subscribers_export_data(app: App, email: str) -> None:
    """Everything held about a reader, as JSON: profile, events, delivery rows."""
    print_json(app.subscribers.export_data(_found(app, email).id))


@subscribers_group.command("forget")
@click.argument("email")
@pass_app
def subscribers_forget(app: App, email: str) -> None:
    """Erase a reader; only a keyed hash of the address stays, so no import mails them again."""
    app.subscriber_lifecycle.forget(email)
    record(app, "subscriber.forget", email.strip())
    click.echo(f"erased  {email.strip()}")


@subscribers_group.command("suppress")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept with the entry and in the reader's events).")
@pass_app
def subscribers_suppress(app: App, email: str, reason: str) -> None:
    """Put an address on the suppression list (a pending or active reader is unsubscribed)."""
    try:
        address = validate(email).email
    except InvalidSubscriberError as exc:
        raise click.BadParameter(str(exc)) from None
    app.subscriber_lifecycle.suppress(address, reason)
    record(app, "subscriber.suppress", address, {"reason": reason})
    click.echo(f"suppressed  {address}")


@subscribers_group.command("unsuppress")
@click.argument("email")
@pass_app
def subscribers_unsuppress(app: App, email: str) -> None:
    """Take an address off the suppression list: it may sign up (and confirm) again."""
    if not app.subscriber_lifecycle.unsuppress(email):
        raise NotFoundError(f"{email.strip()!r} is not suppressed")
    record(app, "subscriber.unsuppress", email.strip())
    click.echo(f"unsuppressed  {email.strip()}")


COMMANDS = [subscribers_group]
