"""``publisher feeds build [--json]``: write every feed under PUBLISHER_FEEDS_DIR."""

from __future__ import annotations

import click

from publisher.app import App
from publisher.cli import pass_app, print_json


@click.group("feeds")
def feeds_group() -> None:
    """RSS, Atom and JSON feeds of the site and of each section."""


@feeds_group.command("build")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the feeds.")
@pass_app
def feeds_build(app: App, as_json: bool) -> None:
    """Build every feed; a feed whose bytes would not change is not rewritten."""
    result = app.feeds.build_all()
    if as_json:
        print_json([record.to_json() for record in result.records])
    else:
        for r in result.records:
            state = "written" if r.changed else "unchanged"
            click.echo(f"{state:<9}  {r.format:<4}  {r.items:>3} items  {r.path}  {r.url}")
        click.echo(
            f"{len(result.records)} feeds in {app.settings.feeds_dir}, {len(result.changed)} written",
            err=True,
        )
        written = sum(1 for r in result.files if r.changed)
        click.echo(f"archive pages, sitemaps, editions feeds: {len(result.files)} built, {written} written",
                   err=True)  # fmt: skip
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    if result.errors:
        raise SystemExit(1)


COMMANDS = [feeds_group]
