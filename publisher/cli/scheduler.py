"""``publisher beat`` (the one beat of a Celery deployment) and ``publisher run`` (the embedded
default: the scheduler and a worker in one process, SQLite, no Redis)."""

from __future__ import annotations

import signal
import threading

import click

from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.errors import ConfigError


@click.command("beat")
@click.option("--loglevel", default="info", show_default=True)
@pass_app
def beat_command(app: App, loglevel: str) -> None:
    """Enqueue the scheduler's sweep every minute (run exactly one; a standby takes over)."""
    if not app.settings.uses_broker:
        raise ConfigError("PUBLISHER_REDIS_URL is not set: without a broker use `publisher run`")
    from publisher.schedule.beat import make_beat

    celery = make_beat(app.settings)
    app.close()
    celery.start(["beat", f"--loglevel={loglevel}", "--scheduler=redbeat.RedBeatScheduler"])


@click.command("run")
@click.option("--once", is_flag=True, help="One sweep, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Print each sweep's report as JSON.")
@pass_app
def run_command(app: App, once: bool, as_json: bool) -> None:
    """Run the scheduler in this process: a sweep every PUBLISHER_SWEEP_INTERVAL seconds, sends
    in-process (with PUBLISHER_REDIS_URL set, sends go to the workers instead)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    interval = max(1, app.settings.sweep_interval)
    if not once:
        click.echo(f"publisher run: sweeping every {interval} s (Ctrl-C stops)", err=True)
    while not stop.is_set():
        report = app.scheduler.sweep()
        if as_json:
            print_json(report.to_json())
        elif report.created or report.queued or report.late or report.requeued or report.feeds_refreshed:
            created = ", ".join(f"{c['schedule']} {c['date']} (#{c['edition_id']})" for c in report.created)
            click.echo(
                f"{report.to_json()['at']}  editions created: {created or '-'}  queued {report.queued}"
                f"  late {report.late}  requeued {report.requeued}"
                f"  feeds {'refreshed' if report.feeds_refreshed else '-'}"
            )
        if once:
            break
        stop.wait(interval)


COMMANDS = [beat_command, run_command]
