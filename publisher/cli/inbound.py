"""``publisher inbound read`` and ``serve``: bounces, complaints and mailto unsubscribes, from files
or over SMTP."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import click

from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.inbound.process import Inbound
from publisher.inbound.server import Handler, kept_dir, serve

MAX_FILE_BYTES = 50_000_000  # the classifier reads only the start; this bounds what is read at all


@click.group("inbound")
def inbound_group() -> None:
    """Mail that comes back: bounces, complaints, auto-replies, mailto unsubscribes."""


@inbound_group.command("read")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One object per message: path, kind, email, action.")
@pass_app
def inbound_read(app: App, paths: tuple[Path, ...], as_json: bool) -> None:
    """Process .eml files and Maildir folders (a folder with cur/ and new/; any other folder: its
    .eml files). One line per message: what it was, which reader, what changed. Messages are
    left where they are; processing one twice changes nothing."""
    inbound = Inbound(app.settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key, app.reputation)
    results = []
    for path, raw in _messages(paths):
        outcome = inbound.process(raw)
        item = {"path": str(path), "kind": str(outcome.kind), "email": outcome.email,
                "action": outcome.action}  # fmt: skip
        if as_json:
            results.append(item)
        else:
            click.echo(f"{path}: {outcome.kind} {outcome.email or '-'}: {outcome.action}")
    if as_json:
        print_json(results)


@inbound_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@pass_app
def inbound_serve(app: App, host: str, port: int) -> None:
    """SMTP server for the bounce and unsubscribe addresses (550 for any other recipient). Each
    message is processed before the server answers 250; one it cannot use is kept in a Maildir
    under var_dir for ops. Runs until SIGTERM or Ctrl-C."""
    inbound = Inbound(app.settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key, app.reputation)
    handler = Handler(app.settings, inbound)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(serve(handler, app.settings, host, port, stop))
        await asyncio.sleep(0)
        tls = "STARTTLS offered" if app.settings.inbound_tls_cert else "no STARTTLS"
        click.echo(f"inbound listening on {host}:{port} ({tls}); kept mail in {kept_dir(app.settings)}",
                   err=True)  # fmt: skip
        await task

    asyncio.run(run())


def _messages(paths: tuple[Path, ...]) -> Iterator[tuple[Path, bytes]]:
    for path in paths:
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            for sub in ("new", "cur"):
                for file in sorted((path / sub).iterdir()):
                    if file.is_file() and not file.name.startswith("."):
                        yield file, _read(file)
        elif path.is_dir():
            for file in sorted(path.glob("*.eml")):
                yield file, _read(file)
        else:
            yield path, _read(path)


def _read(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES)


COMMANDS = [inbound_group]
