"""``publisher config`` and ``publisher db upgrade``."""

from __future__ import annotations

import click

from publisher.app import App
from publisher.cli import pass_app, print_json


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option(
    "--check", is_flag=True, help="Only check the settings: print ok (exit 0) or each problem (exit 2)."
)
@pass_app
def config_command(app: App, as_json: bool, check: bool) -> None:
    """Print the effective settings (secrets masked)."""
    if check:
        # The group has already loaded and checked the settings (a bad one exits 2 there), and App
        # opens nothing until asked: reaching this line is the whole check.
        click.echo("ok")
        return
    rows = app.settings.describe()
    if as_json:
        print_json({name: value for name, value, _doc in rows})
        return
    width = max(len(name) for name, _, _ in rows)
    for name, value, doc in rows:
        click.echo(f"{name:<{width}}  {value}")
        click.echo(f"{'':<{width}}  # {doc}")


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Migrate the database to the newest schema (also done automatically on first use)."""
    before, after = app.db.upgrade()
    if before == after:
        click.echo(f"database already at revision {after}")
    else:
        click.echo(f"database migrated from {before or 'empty'} to {after}")


COMMANDS = [config_command, db_group]
