"""``publisher subscribers import|add|list|export|remove``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.subscribers.importer import read_csv_file, write_csv
from publisher.subscribers.model import InvalidSubscriberError, Status, validate


@click.group("subscribers")
def subscribers_group() -> None:
    """Subscribers of the email editions."""


@subscribers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def subscribers_import(app: App, file: Path) -> None:
    """Add or update subscribers from a CSV (columns email, name, timezone, sections).

    Every valid row is kept; each rejected row is printed with its line number and reason. A
    re-import updates names, time zones and sections but never resubscribes anyone.
    """
    started = time.perf_counter()
    result = read_csv_file(file)
    for rejected in result.rejected:
        click.echo(f"{file}: line {rejected.line}: {rejected.reason}", err=True)
    added, updated = app.subscribers.upsert_many(result.valid)
    seconds = time.perf_counter() - started
    click.echo(f"{added} added, {updated} updated, {len(result.rejected)} rejected ({seconds:.2f} s)")


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="How to greet them.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/London.")
@click.option("--sections", default="", help="Section names separated by ';' (default: all sections).")
@pass_app
def subscribers_add(app: App, email: str, name: str, timezone: str, sections: str) -> None:
    """Add one subscriber (or update the one with this address)."""
    try:
        item = validate(email, name, timezone, sections)
    except InvalidSubscriberError as exc:
        raise click.BadParameter(str(exc)) from None
    added, _ = app.subscribers.upsert_many([item])
    click.echo(f"{'added' if added else 'updated'}  {item.email}")


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
    """Print subscribers as CSV: the import columns plus status."""
    rows = (
        (s.email, s.name, s.timezone, ";".join(s.sections), str(s.status))
        for s in app.subscribers.list(Status(status) if status else None)
    )
    write_csv(rows, sys.stdout)


@subscribers_group.command("remove")
@click.argument("email")
@pass_app
def subscribers_remove(app: App, email: str) -> None:
    """Delete a subscriber and their delivery history (to stop mail but keep history: unsubscribe)."""
    if not app.subscribers.remove(email):
        raise click.ClickException(f"no subscriber {email!r}")
    click.echo(f"removed  {email.strip()}")


COMMANDS = [subscribers_group]
