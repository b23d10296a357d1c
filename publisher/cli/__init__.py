"""The ``publisher`` command line. One module per command group; this one wires them together."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from publisher.app import App
from publisher.errors import PublisherError
from publisher.settings import Settings


class _Group(click.Group):
    """Turns PublisherError into a one-line message and exit code 2: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="publisher")
@click.pass_context
def main(ctx: click.Context) -> None:
    """publisher: Newslooks articles to feeds and the Morning Edition email."""
    ctx.obj = ctx.with_resource(_closing(App(Settings.load())))


class _closing:  # noqa: N801 - reads as a context manager name
    def __init__(self, app: App) -> None:
        self.app = app

    def __enter__(self) -> App:
        return self.app

    def __exit__(self, *exc: object) -> None:
        self.app.close()


pass_app = click.make_pass_decorator(App)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _register() -> None:
    from publisher.cli import (
        articles,
        config,
        delivery,
        demo,
        edition,
        edition_control,
        feeds,
        schedule,
        scheduler,
        serve,
        subscribers,
        worker,
    )

    modules = (
        articles,
        config,
        delivery,
        demo,
        edition,
        edition_control,
        feeds,
        schedule,
        scheduler,
        serve,
        subscribers,
        worker,
    )
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


_register()
