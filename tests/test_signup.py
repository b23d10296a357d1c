"""Readers sign themselves up: double opt-in, answers that tell nobody who is on the list, limits
that hold, a suppression list that lasts, their data in their hands, and their own hour."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.mail.memory import MemoryMailer
from publisher.subscribers.importer import write_csv
from publisher.subscribers.model import Status, validate
from publisher.subscribers.tokens import make_confirm_token, read_confirm_token
from publisher.unsubscribe import make_token
from publisher.web import create_app

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN = "ops-token-signup-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def site(make_settings, mailer: MemoryMailer) -> Iterator[tuple[App, TestClient]]:  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=TOKEN, subscribe_rate_limit=1000))
    app.open_mailer = lambda: mailer  # type: ignore[method-assign]
    with TestClient(create_app(app)) as client:
        yield app, client
    app.close()


def _text(message: bytes) -> str:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _subject(message: bytes) -> str:
    return str(email.message_from_bytes(message, policy=email.policy.default)["Subject"])


def _confirm_link(message: bytes) -> str:
    found = re.search(r"https?://\S+/confirm/(\S+)", _text(message))
    assert found, _text(message)
    return found.group(1)


def _signup(client: TestClient, address: str, **fields: str) -> Any:
    return client.post("/subscribe", data={"email": address, **fields})


def test_the_five_kinds_of_address_get_byte_identical_pages_and_the_right_email(site, mailer) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    lifecycle = app.subscriber_lifecycle
    long_ago = datetime.now(UTC) - timedelta(days=2)
    # pending: signed up two days ago (past the resend limit); active; unsubscribed; bounced; erased.
    lifecycle.signup(validate("pending@example.org"), None, resend_after=timedelta(hours=24), now=long_ago)
    known = ("active@example.org", "left@example.org", "bounced@example.org", "erased@example.org")
    app.subscribers.upsert_many([validate(a) for a in known])
    app.subscribers.remove("left@example.org")
    app.subscribers.mark_bounced(app.subscribers.find("bounced@example.org").id, "550 no such user")  # type: ignore[union-attr]
    lifecycle.forget("erased@example.org")
    lifecycle.suppress("ops@example.org", "asked by phone")

    kinds = ["new@example.org", "pending@example.org", "active@example.org", "left@example.org",
             "bounced@example.org", "erased@example.org", "ops@example.org"]  # fmt: skip
    pages = [_signup(client, address) for address in kinds]
    assert {p.status_code for p in pages} == {200}
    assert len({p.content for p in pages}) == 1, "the answer depends on the address"
    assert {tuple(sorted(p.headers.items())) for p in pages}.__len__() == 1
    assert "Check your inbox" in pages[0].text and "@" not in pages[0].text

    by_reader = {sent.recipients[0]: _subject(sent.message) for sent in mailer.sent}
    assert by_reader == {
        "new@example.org": "Confirm your subscription to the Morning Edition",
        "pending@example.org": "Confirm your subscription to the Morning Edition",
        "active@example.org": "You are already subscribed to the Morning Edition",
        "left@example.org": "Confirm your subscription to the Morning Edition",
    }
    assert app.subscribers.find("left@example.org").status == Status.PENDING  # type: ignore[union-attr]
    assert app.subscribers.find("erased@example.org") is None
    # At most one email per address per PUBLISHER_CONFIRM_RESEND_HOURS: the same again sends nothing.
    again = [_signup(client, address) for address in kinds]
    assert {p.content for p in again} == {pages[0].content}
    assert len(mailer.sent) == 4
    metrics = client.get("/metrics").text
    assert "publisher_subscribe_limited_total 4.0" in metrics


def test_confirm_link_get_confirms_nobody_post_confirms_and_welcomes(site, mailer) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    page = _signup(client, "ana@example.org", name="Ana", timezone="Asia/Kathmandu", hour="06:30",
                   section="World")  # fmt: skip
    assert page.status_code == 200
    [confirmation] = mailer.sent
    token = _confirm_link(confirmation.message)
    parsed = email.message_from_bytes(confirmation.message, policy=email.policy.default)
    assert parsed["Message-ID"].startswith("<confirm-") and parsed["Auto-Submitted"] == "auto-generated"
    assert re.search(r"06:30 in\s+Asia/Kathmandu", _text(confirmation.message))
    for _ in range(3):  # link scanners, previews, the reader
        shown = client.get(f"/confirm/{token}")
        assert shown.status_code == 200 and "Confirm my subscription" in shown.text
    assert app.subscribers.find("ana@example.org").status == Status.PENDING  # type: ignore[union-attr]
    assert len(mailer.sent) == 1
    done = client.post(f"/confirm/{token}")
    assert done.status_code == 200 and "You are subscribed." in done.text
    reader = app.subscribers.find("ana@example.org")
    assert reader is not None and reader.status == Status.ACTIVE and reader.confirmed_at is not None
    assert (reader.name, reader.timezone, reader.send_time, reader.sections) == (
        "Ana", "Asia/Kathmandu", "06:30", ("World",))  # fmt: skip
    [_, welcome] = mailer.sent
    assert _subject(welcome.message) == "Welcome to the Morning Edition"
    assert f"/preferences/{make_token(app.settings.secret_key, reader.id)}" in _text(welcome.message)
    assert "You were already subscribed." in client.post(f"/confirm/{token}").text
    assert len(mailer.sent) == 2
    kinds = [(e["kind"], e["source"]) for e in app.subscribers.events(reader.id)]
    assert kinds == [("signup", "signup form"), ("confirm", "confirm link")]


def test_confirm_tokens_expire_and_are_not_unsubscribe_tokens(site) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    key = app.settings.secret_key
    app.subscriber_lifecycle.signup(validate("bo@example.org"), None, resend_after=timedelta(hours=1))
    reader = app.subscribers.find("bo@example.org")
    assert reader is not None
    past = make_confirm_token(key, reader.id, datetime.now(UTC) - timedelta(seconds=1))
    assert read_confirm_token(key, past) is None
    assert client.post(f"/confirm/{past}").status_code == 400
    assert client.post(f"/confirm/{make_token(key, reader.id)}").status_code == 400
    forged = make_confirm_token("another-key-of-32-characters-abcdefgh", reader.id,
                                datetime.now(UTC) + timedelta(days=1))  # fmt: skip
    assert client.post(f"/confirm/{forged}").status_code == 400
    assert app.subscribers.find("bo@example.org").status == Status.PENDING  # type: ignore[union-attr]


def test_bad_forms_honeypot_and_field_limits(site, mailer) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    assert client.get("/subscribe").status_code == 200
    bad = _signup(client, "not an address")
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "email:" in bad.text
    assert _signup(client, "a@example.org", hour="07:10").status_code == 422
    assert _signup(client, "a@example.org", name="x" * 201).status_code == 422
    assert client.post("/subscribe", content=b"email=a%40example.org&email=b%40example.org",
                       headers=FORM).status_code == 422  # fmt: skip
    assert client.post("/subscribe", content=b"email=%ff", headers=FORM).status_code == 422
    assert client.post("/subscribe", content=b"email=" + b"a" * 20_000, headers=FORM).status_code == 413
    bot = _signup(client, "bot@example.org", website="http://spam.example")
    assert bot.status_code == 200 and bot.content == _signup(client, "human@example.org").content
    assert [s.recipients[0] for s in mailer.sent] == ["human@example.org"]
    assert app.subscribers.find("bot@example.org") is None


@pytest.fixture
def served(make_settings, mailer: MemoryMailer) -> Iterator[tuple[App, str]]:  # type: ignore[no-untyped-def]
    app = App(make_settings(subscribe_rate_limit=5))
    app.open_mailer = lambda: mailer  # type: ignore[method-assign]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(app), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    app.close()


def test_the_rate_limit_holds_under_200_rapid_posts(served, mailer) -> None:  # type: ignore[no-untyped-def]
    app, base = served
    with httpx.Client(base_url=base, timeout=10) as client:
        answers = [client.post("/subscribe", data={"email": f"flood{i}@example.org"}) for i in range(200)]
        assert {a.status_code for a in answers} == {200}
        assert len({a.content for a in answers}) == 1  # a limit hit gets the same page
        deadline = time.monotonic() + 10
        while len(mailer.sent) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(mailer.sent) == 5  # PUBLISHER_SUBSCRIBE_RATE_LIMIT per client per window
        assert app.subscribers.count() == 5
        assert "publisher_subscribe_limited_total 195.0" in client.get("/metrics").text


def test_suppression_survives_remove_forget_and_reimport(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "list.csv"
    listing.write_text("email,name\nann@example.org,Ann\nbob@example.org,Bob\ncid@example.org,Cid\n"
                       "dee@example.org,Dee\n")  # fmt: skip
    assert cli("subscribers", "import", str(listing)).startswith("4 added, 0 updated, 0 kept, 0 suppressed")
    cli("subscribers", "remove", "ann@example.org")
    cli("subscribers", "forget", "bob@example.org")
    cli("subscribers", "suppress", "cid@example.org", "--reason", "asked by letter")
    dee = app.subscribers.find("dee@example.org")
    assert dee is not None
    app.subscribers.set_preferences(dee.id, name="Dee Own", timezone="Asia/Tokyo", sections=(), hour="06:00")
    listing.write_text("email,name\nann@example.org,A\nbob@example.org,B\ncid@example.org,C\n"
                       "dee@example.org,D\neve@example.org,E\n")  # fmt: skip
    from click.testing import CliRunner

    from publisher.cli import main

    result = CliRunner().invoke(main, ["subscribers", "import", str(listing)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 added, 0 updated, 1 kept, 3 suppressed, 0 rejected")
    assert [line.split(": ", 1)[1] for line in result.stderr.splitlines()] == [
        "line 2: suppressed: ann@example.org", "line 3: suppressed: bob@example.org",
        "line 4: suppressed: cid@example.org", "line 5: kept: dee@example.org set their own preferences",
    ]  # fmt: skip
    assert app.subscribers.find("ann@example.org").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]
    assert app.subscribers.find("bob@example.org") is None  # erased: not even re-created
    assert app.subscribers.find("cid@example.org").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]
    assert app.subscribers.find("dee@example.org").name == "Dee Own"  # type: ignore[union-attr]
    for address in ("ann@example.org", "bob@example.org", "cid@example.org"):
        assert "is suppressed" in cli("subscribers", "add", address, code=4)
    # Unsuppress: the address may sign up again itself; it is still not reactivated by ops.
    assert cli("subscribers", "unsuppress", "bob@example.org") == "unsuppressed  bob@example.org\n"
    assert cli("subscribers", "add", "bob@example.org") == "added  bob@example.org\n"
    shown = json.loads(cli("subscribers", "show", "cid@example.org", "--json"))
    assert shown["status"] == "unsubscribed"
    assert [(e["kind"], e["source"], e["detail"]) for e in shown["events"]] == [
        ("add", "import", ""), ("suppress", "ops", "asked by letter")]  # fmt: skip
    assert "suppress     ops  (asked by letter)" in cli("subscribers", "show", "cid@example.org")
    cli("subscribers", "show", "bob@example.org")
    cli("subscribers", "show", "nobody@example.org", code=3)


def test_export_data_forget_and_the_preferences_page_offer_them(site) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    app.subscribers.upsert_many([validate("fay@example.org", "Fay", "Europe/Paris", "World")])
    fay = app.subscribers.find("fay@example.org")
    assert fay is not None
    token = make_token(app.settings.secret_key, fay.id)
    page = client.get(f"/preferences/{token}").text
    assert "Download my data" in page and "Delete me" in page and 'name="hour"' in page
    saved = client.post(f"/preferences/{token}", content="name=Fay&timezone=Europe%2FParis&hour=05:45",
                        headers=FORM)  # fmt: skip
    assert saved.status_code == 200 and "05:45 in Europe/Paris" in saved.text
    data = client.get(f"/preferences/{token}/data")
    assert data.headers["content-disposition"].startswith("attachment")
    held = data.json()
    assert held["profile"]["email"] == "fay@example.org" and held["profile"]["hour"] == "05:45"
    assert [e["kind"] for e in held["events"]] == ["add", "preferences"] and held["deliveries"] == []
    confirm = client.get(f"/preferences/{token}/delete")
    assert confirm.status_code == 200 and "Delete me" in confirm.text
    assert app.subscribers.find("fay@example.org") is not None  # a GET deletes nothing
    gone = client.post(f"/preferences/{token}/delete")
    assert gone.status_code == 200 and "deleted" in gone.text
    assert app.subscribers.find("fay@example.org") is None
    assert app.subscriber_lifecycle.is_suppressed("FAY@example.org")
    assert client.get(f"/preferences/{token}").status_code == 400


def test_export_csv_writes_formulas_as_text() -> None:
    import io

    out = io.StringIO()
    write_csv([("a@example.org", "=HYPERLINK(\"x\")", "UTC", "+1;-2", "active"),
               ("b@example.org", "@SUM(A1)", "UTC", "\tx", "active")], out)  # fmt: skip
    rows = out.getvalue().splitlines()
    assert rows[1] == 'a@example.org,"\'=HYPERLINK(""x"")",UTC,\'+1;-2,active'
    assert rows[2].split(",")[1:4] == ["'@SUM(A1)", "UTC", "'\tx"]


def test_pending_signups_expire_after_30_days(app: App) -> None:
    lifecycle = app.subscriber_lifecycle
    old = datetime.now(UTC) - timedelta(days=31)
    lifecycle.signup(validate("old@example.org"), None, resend_after=timedelta(hours=24), now=old)
    lifecycle.signup(validate("new@example.org"), None, resend_after=timedelta(hours=24))
    app.subscribers.upsert_many([validate("back@example.org")])
    back = app.subscribers.find("back@example.org")
    assert back is not None
    app.subscribers.unsubscribe(back.id)
    lifecycle.signup(validate("back@example.org"), None, resend_after=timedelta(hours=24), now=old)
    assert lifecycle.expire_pending() == 2
    assert app.subscribers.find("old@example.org") is None
    assert app.subscribers.find("new@example.org").status == Status.PENDING  # type: ignore[union-attr]
    # Had been a reader: back to unsubscribed (still suppressed), history kept, not deleted.
    assert app.subscribers.find("back@example.org").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]
    assert [e["kind"] for e in app.subscribers.events(back.id)] == ["add", "unsubscribe", "signup", "expire"]


def test_the_ops_api(site, mailer) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    pending = client.post("/api/subscribers", json={"email": "p@example.org", "timezone": "Asia/Kathmandu"},
                          headers=AUTH)  # fmt: skip
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    assert _subject(mailer.sent[0].message).startswith("Confirm")
    needs = client.post("/api/subscribers", json={"email": "c@example.org", "confirmed": True}, headers=AUTH)
    assert needs.status_code == 422 and needs.json()["detail"][0]["loc"] == ["body", "reason"]
    paper = {"email": "c@example.org", "confirmed": True, "reason": "signed the paper form"}
    made = client.post("/api/subscribers", json=paper, headers=AUTH)
    assert made.status_code == 201 and made.json()["status"] == "active"
    phone = {"email": "p@example.org", "confirmed": True, "reason": "confirmed by phone"}
    vouched = client.post("/api/subscribers", json=phone, headers=AUTH)
    assert vouched.status_code == 200 and vouched.json()["status"] == "active"
    shown = client.get("/api/subscribers/c@example.org", headers=AUTH).json()
    assert shown["events"][0]["detail"] == "signed the paper form" and shown["events"][0]["source"] == "api"
    for i in range(150):
        app.subscribers.upsert_many([validate(f"r{i:03d}@example.org")])
    first = client.get("/api/subscribers", params={"status": "active"}, headers=AUTH).json()
    assert len(first["subscribers"]) == 100 and first["next_cursor"]
    second = client.get("/api/subscribers", params={"status": "active", "cursor": first["next_cursor"]},
                        headers=AUTH).json()  # fmt: skip
    assert len(second["subscribers"]) == 52 and second["next_cursor"] is None
    found = client.get("/api/subscribers", params={"q": "R14"}, headers=AUTH).json()["subscribers"]
    assert [s["email"] for s in found] == [f"r14{i}@example.org" for i in range(10)]
    assert client.delete("/api/subscribers/c@example.org", headers=AUTH).json()["status"] == "erased"
    assert client.get("/api/subscribers/c@example.org", headers=AUTH).status_code == 404
    again = client.post("/api/subscribers", json={"email": "c@example.org", "confirmed": True, "reason": "x"},
                        headers=AUTH)  # fmt: skip
    assert again.status_code == 409
    assert client.get("/api/subscribers", params={"status": "nope"}, headers=AUTH).status_code == 422
    assert client.get("/api/subscribers").status_code == 401


def test_each_reader_is_due_at_their_own_hour_in_their_zone(any_db_app: App) -> None:
    from publisher.schedule.model import edition_schedule
    from tests.conftest import EXAMPLES
    from tests.delivery_helpers import create_edition

    app = any_db_app
    list(app.ingest([EXAMPLES / "articles"]))
    readers = (("ktm", "Asia/Kathmandu"), ("ktm2", "Asia/Kathmandu"), ("ny", "America/New_York"))
    app.subscribers.upsert_many([validate(f"{n}@example.org", timezone=zone) for n, zone in readers])
    ktm = app.subscribers.find("ktm@example.org")
    assert ktm is not None
    app.subscribers.set_preferences(ktm.id, name="", timezone="Asia/Kathmandu", sections=(), hour="06:30")
    schedule = edition_schedule("morning", at="07:00")
    day = datetime(2026, 12, 7).date()
    due = app.scheduler.due_times(schedule, day)
    assert isinstance(due, dict)
    assert due == {
        ("America/New_York", None): datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
        ("Asia/Kathmandu", None): datetime(2026, 12, 7, 1, 15, tzinfo=UTC),
        ("Asia/Kathmandu", "06:30"): datetime(2026, 12, 7, 0, 45, tzinfo=UTC),
    }
    edition_id = create_edition(app)
    stale = {key: at for key, at in due.items() if key[1] is None}  # as if read before Ktm chose
    assert app.lifecycle.fill(edition_id, ["world"], due_at=stale) == 2
    assert app.lifecycle.fill(edition_id, ["world"], due_at=due) == 1
    from publisher.db.schema import deliveries as d

    with app.db.connect() as conn:
        rows = dict(conn.execute(d.select().with_only_columns(d.c.subscriber_id, d.c.due_at)).all())
    assert rows[ktm.id] == datetime(2026, 12, 7, 0, 45, tzinfo=UTC)
    assert sorted(rows.values())[1:] == [datetime(2026, 12, 7, 1, 15, tzinfo=UTC),
                                         datetime(2026, 12, 7, 12, 0, tzinfo=UTC)]  # fmt: skip
