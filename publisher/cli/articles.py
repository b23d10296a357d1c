"""``publisher ingest`` and ``publisher articles list|show|retract|restore``."""

from __future__ import annotations

from datetime import datetime

import click

from publisher.app import App
from publisher.article import iso_utc, parse_iso
from publisher.cli import pass_app, print_json
from publisher.cli.audit import record
from publisher.errors import IngestError


def _published_at(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value, field_name="--published-at")
    except IngestError as exc:
        raise click.BadParameter(exc.reason) from None


@click.command("ingest")
@click.option("--published-at", callback=_published_at, help="ISO 8601 time of publication (default: now).")
@click.option("--dry-run", is_flag=True, help="Parse and compare, store nothing.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@pass_app
def ingest_command(app: App, published_at: datetime | None, dry_run: bool, paths: tuple[str, ...]) -> None:
    """Read Newslooks text, Markdown or JSON articles from files or folders and store them."""
    counts: dict[str, int] = {}
    retracted = False
    for line in app.ingest(paths, published_at=published_at, dry_run=dry_run):
        counts[line.status] = counts.get(line.status, 0) + 1
        if line.ok and line.article is not None:
            click.echo(f"{line.status:<9}  {line.where}  {line.article.slug}")
            retracted = retracted or line.status == "retracted"
        else:
            click.echo(f"{'error':<9}  {line.error}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no article files found"
    click.echo(("dry run: nothing stored; " if dry_run else "") + summary, err=True)
    if retracted:
        # A retraction outlives re-ingesting the file (changes are stored, still retracted).
        click.echo("retracted articles stay retracted; to publish one again: publisher articles restore SLUG",
                   err=True)  # fmt: skip
    if counts.get("error") or not counts:
        raise SystemExit(1)


@click.group("articles")
def articles_group() -> None:
    """Stored articles."""


@articles_group.command("list")
@click.option("--section", help="Only this section (name or slug).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def articles_list(app: App, section: str | None, as_json: bool) -> None:
    """Published articles, newest first."""
    found = app.articles.list(section=section)
    if as_json:
        print_json([a.to_json() for a in found])
        return
    for article in found:
        click.echo(f"{iso_utc(article.published_at)}  {article.section:<12}  {article.slug}")


@articles_group.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_app
def articles_show(app: App, slug: str, as_json: bool) -> None:
    """One article."""
    article = app.articles.get(slug)
    if article is None:
        raise click.ClickException(f"no article with slug {slug!r}")
    if as_json:
        print_json(article.to_json())
        return
    data = article.to_json()
    for key in ("title", "section", "top_story", "source", "dateline", "authors", "edition",
                "published_at", "updated_at"):  # fmt: skip
        click.echo(f"{key:<17} {data[key]}")
    if article.retracted_at:
        click.echo(f"{'retracted_at':<17} {iso_utc(article.retracted_at)}")
    click.echo(f"\n{article.summary}\n")
    if article.quick_looks:
        click.echo(f"{article.quick_looks_title} Quick Looks")
        for bullet in article.quick_looks:
            click.echo(f"  • {bullet}")


@articles_group.command("retract")
@click.argument("slug")
@pass_app
def articles_retract(app: App, slug: str) -> None:
    """Withdraw an article from feeds and future editions (it stays in the database)."""
    article = app.retract(slug)
    if article is None:
        raise click.ClickException(f"no article with slug {slug!r}")
    record(app, "article.retract", article.slug)
    click.echo(f"retracted  {slug}  at {iso_utc(article.retracted_at)}")


@articles_group.command("restore")
@click.argument("slug")
@pass_app
def articles_restore(app: App, slug: str) -> None:
    """Publish a retracted article again (re-ingesting its file does not)."""
    article = app.restore(slug)
    if article is None:
        raise click.ClickException(f"no article with slug {slug!r}")
    record(app, "article.restore", article.slug)
    click.echo(f"restored   {slug}")


COMMANDS = [ingest_command, articles_group]
