"""``publisher audit [--json] [--limit N]``: the audit log, newest first; and ``record``, which every
changing command calls so that the log holds what was done at the command line too (actor
``cli:<os user>``, source ``cli@<host>``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from publisher.accounts.principal import cli_principal, cli_source
from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.edition.compile import date_in_words


def record(app: App, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """One audit entry for a change made by this command."""
    app.audit.record(cli_principal().email, action, target, source=cli_source(), detail=detail)


def in_words(at: datetime) -> str:
    return f"{date_in_words(at.date())} {at:%H:%M} UTC"


@click.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (times in ISO 8601).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Entries to show.")
@click.option("--actor", default="", help="Only this actor (an email, api-token, cli:USER).")
@click.option("--action", default="", help="Only this action, or a prefix ending in '.' (edition.).")
@pass_app
def audit_command(app: App, as_json: bool, limit: int, actor: str, action: str) -> None:
    """Every change made through the console, the API or the CLI: who, what, when, from where."""
    entries = app.audit.recent(actor=actor, action=action, limit=limit)
    if as_json:
        print_json([entry.to_json() for entry in entries])
        return
    if not entries:
        click.echo("no entries")
        return
    for entry in entries:
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
        click.echo(f"{in_words(entry.at)}  {entry.actor}  {entry.action}  {entry.target}"
                   f"{f'  ({detail})' if detail else ''}  from {entry.source}")  # fmt: skip


COMMANDS = [audit_command]
