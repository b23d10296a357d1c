"""``publisher serve``: the ASGI web app on uvicorn."""

from __future__ import annotations

import click

from publisher.app import App
from publisher.cli import pass_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
@click.option("--log-level", default="info", show_default=True)
@pass_app
def serve_command(app: App, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve feeds, article pages, the edition archive, unsubscribe and the ops API."""
    import uvicorn

    if workers > 1:
        # Each worker process builds its own App from the environment.
        uvicorn.run("publisher.web:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)  # fmt: skip
        return
    from publisher.web import create_app

    uvicorn.run(create_app(app), host=host, port=port, log_level=log_level)


COMMANDS = [serve_command]
