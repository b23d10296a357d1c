"""``publisher demo``: the whole pipeline on the embedded default, in one command.

Each stage of the pipeline is one step function below, run in order on a fresh App whose state
lives under ``var/demo`` (SQLite, no broker, mail into a Maildir outbox).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import click

from publisher.app import App
from publisher.cli import pass_app

REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _examples_dir() -> Path:
    local = Path("examples")
    return local if (local / "articles").is_dir() else REPO_EXAMPLES


def step_ingest(demo: App, examples: Path) -> bool:
    click.secho(f"Ingest {examples / 'articles'} into {demo.settings.database_url}", bold=True)
    ok = True
    for line in demo.ingest([examples / "articles"]):
        if line.ok and line.article is not None:
            a = line.article
            top = " (top story)" if a.top_story else ""
            bullets = f"{len(a.quick_looks)} quick looks"
            click.echo(f"   {line.status:<9} {a.section:<11} {a.slug}{top}, {bullets}")
        else:
            ok = False
            click.echo(f"   error     {line.error}")
    click.echo(f"   {len(demo.articles.list())} articles in {len(demo.articles.sections())} sections")
    return ok


def step_edition_preview(demo: App, _examples: Path) -> bool:
    from publisher.edition.preview import build_preview

    preview = build_preview(demo.articles, demo.settings)
    edition = preview.compiled.edition
    click.secho(f"Preview the {edition.title} of {edition.date.isoformat()} for a sample reader", bold=True)
    click.echo(f"   {len(edition.articles)} articles, subject: {preview.compiled.subject}")
    var = Path(demo.settings.var_dir)
    for name, data in (("preview.html", preview.html.encode()), ("preview.txt", preview.text.encode()),
                       ("preview.eml", preview.eml)):  # fmt: skip
        (var / name).write_bytes(data)
        click.echo(f"   wrote {var / name} ({len(data):,} bytes)")
    return bool(edition.articles)


def step_feeds(demo: App, _examples: Path) -> bool:
    result = demo.feeds.build_all()
    feeds_dir = Path(demo.settings.feeds_dir)
    click.secho(f"Build the feeds into {feeds_dir}", bold=True)
    for record in result.records:
        if record.section is None:
            where = f"{feeds_dir / record.path}  ->  {record.url}"
            click.echo(f"   {record.format:<4} {record.items:>2} items  {where}")
    sections = {r.section: r for r in result.records if r.section is not None}
    for slug, record in sections.items():
        stem = record.path.rsplit(".", 1)[0]
        click.echo(f"   {record.items:>7} items  {feeds_dir / stem}.{{rss,atom,json}}  (section {slug})")
    for error in result.errors:
        click.echo(f"   error     {error}")
    click.echo(
        f"   serve them: PUBLISHER_DATABASE_URL={demo.settings.database_url} "
        f"PUBLISHER_FEEDS_DIR={feeds_dir} publisher serve"
    )
    return bool(result.records) and not result.errors


def step_deliver(demo: App, examples: Path) -> bool:
    from datetime import UTC, datetime

    from publisher.edition.selection import EditionSpec
    from publisher.subscribers.importer import read_csv_file

    csv_file = examples / "subscribers.csv"
    click.secho(f"Import {csv_file} and deliver the Morning Edition", bold=True)
    imported = read_csv_file(csv_file)
    for rejected in imported.rejected:
        click.echo(f"   rejected  line {rejected.line}: {rejected.reason}")
    added, _ = demo.subscribers.upsert_many(imported.valid)
    click.echo(f"   {added} subscribers added, {len(imported.rejected)} rows rejected")
    day = EditionSpec.from_settings(demo.settings).next_date(datetime.now(UTC))
    edition_id = demo.delivery.create_edition("morning", day)
    demo.delivery.start(edition_id)
    status = demo.delivery.status(edition_id)
    counts = ", ".join(f"{n} {name}" for name, n in status.counts.items() if n)
    click.echo(f"   edition {edition_id} ({day.isoformat()}): {counts}")
    click.echo(f"   outbox: {demo.settings.outbox_dir}/new (Maildir; open with mutt -f)")
    return status.open == 0 and status.counts["sent"] > 0


def step_schedule(demo: App, _examples: Path) -> bool:
    from datetime import UTC, datetime, timedelta

    from publisher.schedule.model import edition_schedule

    schedule = demo.schedules.add(edition_schedule("morning", at="07:00"))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    click.secho("Schedule the Morning Edition at 07:00 in each subscriber's time zone", bold=True)
    from publisher.schedule.clock import due_time, parse_hhmm

    for zone, hour in demo.subscribers.active_slots():
        if hour is None:
            due = schedule.due_for_zone(tomorrow, zone).to_json()
        else:  # a reader who chose their own hour
            due = due_time(tomorrow, parse_hhmm(hour), zone).to_json()
        click.echo(f"   {zone:<22} {due['local']}  =  {due['utc']}{'  (own hour)' if hour else ''}")
    click.echo("   `publisher run` sweeps every minute and sends each zone its edition when due")
    return True


def step_signup(demo: App, _examples: Path) -> bool:
    """A reader signs up on /subscribe and confirms with the link from their email, through the web
    app itself (in-process), the emails landing in the outbox."""
    import email
    import email.policy
    import re
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from publisher.web import create_app

    address = "nima.sherpa@example.org"
    click.secho(f"Sign up {address} on /subscribe and confirm (double opt-in)", bold=True)
    outbox = Path(demo.settings.outbox_dir) / "new"
    before = set(outbox.iterdir()) if outbox.is_dir() else set()
    with TestClient(create_app(demo)) as web:
        answer = web.post("/subscribe", data={"email": address, "name": "Nima", "timezone": "Asia/Kathmandu",
                                              "hour": "06:30", "section": "World"})  # fmt: skip
        click.echo(f"   POST /subscribe -> {answer.status_code}, the page every address gets: "
                   f"{'Check your inbox' in answer.text and 'Check your inbox'}")  # fmt: skip
        new = sorted(set(outbox.iterdir()) - before, key=lambda p: p.stat().st_mtime)
        if len(new) != 1:
            return False
        message = email.message_from_bytes(new[0].read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        link = re.search(r"https?://\S+/confirm/(\S+)", str(body.get_content()) if body else "")
        if link is None:
            return False
        click.echo(f"   email: {message['Subject']!r}  ->  {new[0]}")
        reader = demo.subscribers.find(address)
        shown = web.get(f"/confirm/{link.group(1)}").status_code
        state = reader.status if reader else "missing"
        click.echo(f"   {address} is {state}; GET /confirm/... shows a button ({shown}), changes nothing")
        web.post(f"/confirm/{link.group(1)}")
    reader = demo.subscribers.find(address)
    if reader is None:
        return False
    click.echo(f"   POST /confirm/... -> {address} is {reader.status}, editions at {reader.send_time} in "
               f"{reader.timezone}")  # fmt: skip
    welcome = sorted(set(outbox.iterdir()) - before, key=lambda p: p.stat().st_mtime)[-1]
    subject = email.message_from_bytes(welcome.read_bytes(), policy=email.policy.default)["Subject"]
    click.echo(f"   email: {subject!r}  ->  {welcome}")
    return reader.status == "active"


def step_console(demo: App, _examples: Path) -> bool:
    """An ops user is added with ``publisher users add``'s link, sets a password and reads Today,
    through the web app itself (in-process)."""
    import re
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from publisher.accounts.roles import Role
    from publisher.web import create_app

    address, password = "desk@example.org", "demo only: a long passphrase"
    click.secho(f"The newsroom console: {address} joins as ops and reads Today", bold=True)
    link = f"/console/set-password/{demo.people.add(address, Role.OPS).link_token}"
    click.echo(f"   publisher users add {address} --role ops  ->  {link[:32]}...")
    csrf = re.compile(r'name="csrf_token" value="([^"]*)"')
    with TestClient(create_app(demo), base_url=demo.settings.site_url.rstrip("/")) as web:

        def form_token(path: str) -> str:
            found = csrf.search(web.get(path).text)
            return found.group(1) if found else ""

        web.post(link, data={"csrf_token": form_token(link), "password": password, "confirm": password})
        answer = web.post("/console/login", follow_redirects=False, data={
            "csrf_token": form_token("/console/login"), "email": address, "password": password,
            "next": "/console/"})  # fmt: skip
        click.echo(f"   password set, POST /console/login -> {answer.status_code}")
        today = web.get("/console/")
        shown = "Morning Edition" in today.text
        click.echo(f"   GET /console/ -> {today.status_code}: Today{' shows the editions' if shown else ''}")
    click.echo("   for real: `publisher users add YOU --role admin`, open the link, `publisher serve`")
    return answer.status_code == 303 and today.status_code == 200 and shown


# The pipeline, in order; each step prints what it did and returns False on failure.
STEPS: list[Callable[[App, Path], bool]] = [
    step_ingest, step_feeds, step_edition_preview, step_deliver, step_signup, step_schedule, step_console,
]  # fmt: skip


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
            feeds_dir=str(var / "feeds"),
        )
    )
    try:
        for number, step in enumerate(STEPS, start=1):
            click.secho(f"{number}. ", bold=True, nl=False)
            if not step(demo, examples):
                raise SystemExit(1)
    finally:
        demo.close()


COMMANDS = [demo_command]
