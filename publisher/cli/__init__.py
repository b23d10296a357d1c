"""The ``publisher`` command line. One module per command group; this one wires them together."""

from __future__ import annotations

import functools
import importlib
import json
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import click

from publisher.app import App
from publisher.errors import ConfigError, PublisherError
from publisher.limits import MAX_YEAR, MIN_YEAR
from publisher.settings import Settings


class _Group(click.Group):
    """Turns a PublisherError into its exit code (publisher/errors.py) and a message, never a
    traceback: ``error: ...`` on one line, or for bad settings one ``PUBLISHER_X: problem`` line each."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(str(exc) if exc.problems else f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except PublisherError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="publisher")
@click.pass_context
def main(ctx: click.Context) -> None:
    """publisher: Newslooks articles to feeds and the Morning Edition email."""
    ctx.obj = ctx.with_resource(_Lazy())


class _Lazy:
    """The App, made on first use: settings are read and checked, once, when a command starts and
    before it does anything, so a process with a bad setting (serve, worker, beat, run included)
    stops at start with exit status 2; ``--help`` and usage errors need no settings."""

    def __init__(self) -> None:
        self.app: App | None = None

    def get(self) -> App:
        if self.app is None:
            self.app = App(Settings.load())
        return self.app

    def __enter__(self) -> _Lazy:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.app is not None:
            self.app.close()


def pass_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command the App as its first argument (made on first use, see ``_Lazy``)."""

    @functools.wraps(command)
    def with_app(*args: Any, **kwargs: Any) -> Any:
        return command(click.get_current_context().find_object(_Lazy).get(), *args, **kwargs)  # type: ignore[union-attr]

    return with_app


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """click callback of every ``--date`` option: ``YYYY-MM-DD`` or a usage error naming it."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None
    # Beyond these years date arithmetic downstream overflows; no edition is that far away.
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise click.BadParameter(f"the year must be {MIN_YEAR} to {MAX_YEAR}, got {value!r}")
    return day


# One module per command group; each lists its commands in COMMANDS.
COMMAND_MODULES = ("articles", "audit", "config", "delivery", "demo", "edition", "edition_control", "feeds",
                   "inbound", "schedule", "scheduler", "serve", "subscribers", "users", "worker")  # fmt: skip


def _register() -> None:
    for name in COMMAND_MODULES:
        for command in importlib.import_module(f"publisher.cli.{name}").COMMANDS:
            main.add_command(command)


_register()
