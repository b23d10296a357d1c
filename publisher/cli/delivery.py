"""``publisher edition send`` and ``publisher edition status``: the delivery commands."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import click

from publisher.app import App
from publisher.cli import parse_date, pass_app, print_json
from publisher.cli.audit import record
from publisher.delivery.states import LIVE, DeliveryState
from publisher.limits import MAX_ID


def _edition_group() -> click.Group:
    try:
        from publisher.cli.edition import edition_group
    except ImportError:  # the email commands are not there: the delivery ones still are

        @click.group("edition")
        def edition_group() -> None:
            """The Morning Edition email."""

    return edition_group


@click.command("send")
@click.option("--name", default="morning", show_default=True, help="Edition name (PUBLISHER_EDITION_NAMES).")
@click.option("--date", "day", callback=parse_date, help="YYYY-MM-DD (default: the next edition to go out).")
@click.option("--wait", is_flag=True, help="Show progress and return when nothing is left pending.")
@pass_app
def edition_send(app: App, name: str, day: date | None, wait: bool) -> None:
    """Send an edition now to every active subscriber; prints the edition id."""
    from publisher.edition.selection import EditionSpec

    if day is None:
        day = EditionSpec.from_settings(app.settings, name).next_date(datetime.now(UTC))
    edition_id = app.delivery.create_edition(name, day)
    click.echo(edition_id)
    queued = app.delivery.start(edition_id)
    record(app, "edition.send", f"edition {edition_id}", {"name": name, "date": str(day), "queued": queued})
    click.echo(f"{queued} messages queued", err=True)
    if wait:
        _wait(app, edition_id)


def _wait(app: App, edition_id: int) -> None:
    status = app.delivery.status(edition_id)
    with click.progressbar(length=status.total, label="sending", file=click.get_text_stream("stderr")) as bar:
        done = 0
        while True:
            now_done = status.total - status.open
            bar.update(now_done - done)
            done = now_done
            if status.open == 0 or status.edition.status not in LIVE:
                break  # done, or stopped (paused, halted, cancelled): waiting would never end
            time.sleep(0.5)
            app.delivery.sweep()  # a waiting CLI also takes back what dead workers left
            status = app.delivery.status(edition_id)
    _print_status(status)


@click.command("status")
@click.argument("edition_id", type=click.IntRange(1, MAX_ID))  # beyond: a usage error, no query
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the send window and ETA).")
@click.option("--follow", is_flag=True, help="Show a progress bar until nothing is left pending.")
@pass_app
def edition_status(app: App, edition_id: int, as_json: bool, follow: bool) -> None:
    """Counts per status, send rate, ETA and the commonest errors of an edition."""
    if follow:
        _wait(app, edition_id)
        return
    if as_json:
        print_json(app.editions.status(edition_id))
        return
    _print_status(app.delivery.status(edition_id))
    data = app.editions.status(edition_id)
    reports = data["reports"]

    def rate(key: str) -> str:
        return "-" if reports[key] is None else f"{reports[key]:.2%}"

    click.echo(f"  reports: {reports['hard_bounces']} hard bounces ({rate('hard_bounce_rate')}), "
               f"{reports['soft_bounces']} soft bounces ({rate('soft_bounce_rate')}), "
               f"{reports['complaints']} complaints ({rate('complaint_rate')}) "
               f"of {reports['sent']} sent")  # fmt: skip
    if data["eta"]:
        click.echo(f"  done by about {data['eta']}")


def _print_status(status) -> None:  # type: ignore[no-untyped-def]
    e = status.edition
    click.echo(f"edition {e.id}: {e.title} of {e.date.isoformat()}, {e.status}, {status.total} recipients")
    if e.error:
        click.echo(f"  halted: {e.error}")
        click.echo(f"  fix the cause, then: publisher edition resume {e.id}")
    click.echo("  " + ", ".join(f"{status.counts[str(s)]} {s}" for s in DeliveryState))
    if status.rate is not None:
        click.echo(f"  {status.rate:.1f} messages/s")
    for reply, count in status.errors:
        click.echo(f"  {count:>6} × {reply}")


group = _edition_group()
group.add_command(edition_send)
group.add_command(edition_status)
COMMANDS = [group]
