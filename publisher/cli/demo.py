"""``publisher demo``: the whole pipeline on the embedded default, in one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from publisher.app import App
from publisher.cli import pass_app

REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _examples_dir() -> Path:
    local = Path("examples")
    return local if (local / "articles").is_dir() else REPO_EXAMPLES


@click.command("demo")
@click.option("--examples", "examples", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding articles/ and subscribers.csv (default: ./examples).")  # fmt: skip
@pass_app
def demo_command(app: App, examples: Path | None) -> None:
    """Run the pipeline on the example articles: SQLite under var/demo, no broker."""
    examples = examples or _examples_dir()
    var = Path(app.settings.var_dir) / "demo"
    if var.exists():
        shutil.rmtree(var)
    var.mkdir(parents=True)
    demo = App(
        app.settings.replace(
            database_url=f"sqlite:///{var / 'publisher.db'}",
            redis_url="",
            smtp_url="",
            var_dir=str(var),
        )
    )
    try:
        click.secho(f"1. Ingest {examples / 'articles'} into {var / 'publisher.db'}", bold=True)
        errors = 0
        for line in demo.ingest([examples / "articles"]):
            if line.ok and line.article is not None:
                a = line.article
                top = " (top story)" if a.top_story else ""
                click.echo(
                    f"   {line.status:<9} {a.section:<11} {a.slug}{top}, {len(a.quick_looks)} quick looks"
                )
            else:
                errors += 1
                click.echo(f"   error     {line.error}")
        sections = demo.articles.sections()
        click.echo(f"   {len(demo.articles.list())} articles in {len(sections)} sections")
        if errors:
            raise SystemExit(1)
    finally:
        demo.close()


COMMANDS = [demo_command]
