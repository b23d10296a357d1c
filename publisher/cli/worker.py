"""``publisher worker``: a Celery worker (prefork) on the queues editions, deliveries and feeds."""

from __future__ import annotations

import click

from publisher.app import App
from publisher.cli import pass_app
from publisher.errors import ConfigError
from publisher.tasks import QUEUES


@click.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per CPU).")  # fmt: skip
@click.option("--queues", "-Q", multiple=True,
              help="Queues to consume, comma-separated or repeated (default: all three).")  # fmt: skip
@click.option("--loglevel", default="info", show_default=True)
@pass_app
def worker_command(app: App, concurrency: int | None, queues: tuple[str, ...], loglevel: str) -> None:
    """Run tasks from Redis (PUBLISHER_REDIS_URL); sweeps expired delivery leases as it runs."""
    if not app.settings.uses_broker:
        raise ConfigError(
            "PUBLISHER_REDIS_URL is not set: without a broker tasks run in-process, no worker needed"
        )
    chosen = [q.strip() for value in queues for q in value.split(",") if q.strip()] or list(QUEUES)
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown:
        raise click.BadParameter(
            f"unknown queue {unknown[0]!r} (known: {', '.join(QUEUES)})", param_hint="--queues"
        )
    from publisher.celery_app import make_celery
    from publisher.delivery.worker import install_sweeper

    celery = make_celery(app.settings, services=lambda: App(app.settings))
    if "deliveries" in chosen:
        install_sweeper(celery, app.settings)
    argv = ["worker", "--pool=prefork", f"--queues={','.join(chosen)}", f"--loglevel={loglevel}",
            "--without-gossip", "--without-mingle"]  # fmt: skip
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.close()  # the pool's children open their own connections after the fork
    celery.worker_main(argv)


COMMANDS = [worker_command]
