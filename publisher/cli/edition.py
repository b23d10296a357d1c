"""``publisher edition ...``: the Morning Edition email. ``preview`` renders it for a sample reader.

``edition_group`` is the click group; the delivery and scheduling issues add their commands
(``send``, ``status``) to it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from publisher.app import App
from publisher.article import iso_utc
from publisher.cli import parse_date, pass_app
from publisher.edition.preview import build_preview


@click.group("edition")
def edition_group() -> None:
    """The Morning Edition email."""


@edition_group.command("preview")
@click.option("--name", default="morning", show_default=True, help="Edition name (PUBLISHER_EDITION_NAMES).")
@click.option("--date", "day", callback=parse_date, help="YYYY-MM-DD (default: the next edition to go out).")
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML part."
)
@click.option(
    "--text", "text_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the text part."
)
@click.option("--eml", "eml_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the whole message (.eml, CRLF line endings).")  # fmt: skip
@click.option("--pin", "pins", multiple=True, metavar="SLUG", help="Put this article first (repeatable).")
@click.option(
    "--exclude", "excludes", multiple=True, metavar="SLUG", help="Leave this article out (repeatable)."
)
@click.option("--section", "sections", multiple=True, metavar="NAME",
              help="Only these sections, as a reader following them gets it (repeatable).")  # fmt: skip
@pass_app
def edition_preview(
    app: App,
    name: str,
    day: date | None,
    html_file: Path | None,
    text_file: Path | None,
    eml_file: Path | None,
    pins: tuple[str, ...],
    excludes: tuple[str, ...],
    sections: tuple[str, ...],
) -> None:
    """Render an edition for a sample subscriber; without files, print the text part."""
    preview = build_preview(
        app.articles, app.settings, name=name, day=day, pins=pins, excludes=excludes,
        sections=frozenset(sections) if sections else None,
    )  # fmt: skip
    edition = preview.compiled.edition
    click.echo(f"{edition.title} of {edition.date.isoformat()} (cut-off {iso_utc(edition.cutoff)}), "
               f"{len(edition.articles)} articles", err=True)  # fmt: skip
    click.echo(f"Subject: {preview.compiled.subject}", err=True)
    for number, article in enumerate(edition.articles, start=1):
        click.echo(f"  {number:>2}. {article.section:<12} {article.slug}", err=True)
    written = [
        (path, data)
        for path, data in (
            (html_file, preview.html.encode("utf-8")),
            (text_file, preview.text.encode("utf-8")),
            (eml_file, preview.eml),
        )
        if path is not None
    ]
    for path, data in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        click.echo(f"wrote {path} ({len(data):,} bytes)", err=True)
    if not written:
        click.echo(preview.text, nl=False)


COMMANDS = [edition_group]
