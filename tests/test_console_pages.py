"""The console's Edition, Subscribers and Articles pages over HTTP (the real app, TestClient), on
SQLite and PostgreSQL: what each role sees and may change, CSRF, the preview's policy, test-sends to
a real SMTP server on loopback, the ledger rows by state, search, export, suppression, retraction;
every change in the audit log."""

from __future__ import annotations

import csv
import email
import email.policy
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.article import Article
from publisher.edition.selection import EditionSpec, load_edition
from publisher.subscribers.model import Status, validate
from publisher.web import create_app
from tests.console_helpers import csrf_of, login, make_user
from tests.smtp_recorder import Recorder, SmtpServer

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"


def _seed(app: App) -> int:
    now = datetime.now(UTC)
    for n in range(3):
        story = Article(slug=f"world-{n}", title=f"World story {n}", section="World", summary="sum",
                        quick_looks=("bullet",))  # fmt: skip
        app.articles.save_many([story], published_at=now - timedelta(hours=3 - n))
    readers = [validate(f"reader{n}@example.org", f"Reader {n}", "Europe/London") for n in range(5)]
    readers.append(validate("=cmd@example.org", "=HYPERLINK(1)", "Asia/Tokyo"))
    app.subscribers.upsert_many(readers)
    edition = load_edition(app.articles, EditionSpec.from_settings(app.settings), now.date(), cutoff=now)
    return app.edition_store.create(edition)


@pytest.fixture
def stack(any_db_app: App) -> Iterator[tuple[App, int, dict[str, TestClient]]]:
    app = any_db_app
    edition_id = _seed(app)
    clients = {}
    for role in ("admin", "editor", "ops", "viewer"):
        make_user(app, f"{role}@example.com", role, PASSWORD)
        client = TestClient(create_app(app), base_url=BASE)
        login(client, BASE, f"{role}@example.com", PASSWORD)
        clients[role] = client
    yield app, edition_id, clients
    for client in clients.values():
        client.close()


def _post(client: TestClient, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def _audit(app: App) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in app.audit.recent(limit=50)]


def test_an_editor_excludes_reorders_and_retitles_and_the_preview_follows(stack) -> None:  # type: ignore[no-untyped-def]
    app, edition_id, clients = stack
    editor = clients["editor"]
    page = f"/console/editions/{edition_id}"
    html = editor.get(page).text
    assert "World story 1" in editor.get(f"{page}/preview").text
    assert 'sandbox title="The email at 375 pixels wide' in html and 'width="600"' in html
    assert "Pin a story to the top" in html

    answer = _post(
        editor, page, f"{page}/contents", {"action": "exclude", "slug": "world-1", "revision": "0"}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(page)  # type: ignore[attr-defined]
    preview = editor.get(f"{page}/preview")
    assert "World story 1" not in preview.text and "World story 2" in preview.text
    policy = preview.headers["content-security-policy"]
    assert "sandbox" in policy and "frame-ancestors 'self'" in policy and "script-src" not in policy
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"

    assert _post(editor, page, f"{page}/contents", {"action": "up", "slug": "world-0", "revision": "1"}
                 ).status_code == 303  # type: ignore[attr-defined]  # fmt: skip
    assert _post(editor, page, f"{page}/subject", {"subject": "Storm day", "revision": "2"}
                 ).status_code == 303  # type: ignore[attr-defined]  # fmt: skip
    html = editor.get(page).text
    assert "<strong>Subject:</strong> Storm day" in html
    assert html.index("World story 0") < html.index("World story 2")
    assert [slug for slug in app.edition_store.get(edition_id).article_slugs] == ["world-0", "world-2"]

    stale = _post(editor, page, f"{page}/contents", {"action": "include", "slug": "world-1", "revision": "1"})
    assert stale.status_code == 409 and "changed by someone else" in stale.text  # type: ignore[attr-defined]
    assert ("editor@example.com", "edition.exclude", f"edition {edition_id}") in _audit(app)
    assert ("editor@example.com", "edition.subject", f"edition {edition_id}") in _audit(app)

    app.delivery.start(edition_id)  # sent into the outbox: frozen now
    frozen = _post(
        editor, page, f"{page}/contents", {"action": "include", "slug": "world-1", "revision": "3"}
    )
    assert frozen.status_code == 409  # type: ignore[attr-defined]
    assert f"edition {edition_id} is sent: nothing left to edit" in frozen.text  # type: ignore[attr-defined]
    assert "Pin a story to the top" not in editor.get(page).text


def test_who_may_change_what(stack) -> None:  # type: ignore[no-untyped-def]
    app, edition_id, clients = stack
    page = f"/console/editions/{edition_id}"
    reader = app.subscribers.find("reader0@example.org")
    changes = [
        (page, f"{page}/contents", {"action": "exclude", "slug": "world-1"}, "edit"),
        (page, f"{page}/subject", {"subject": "x"}, "edit"),
        (page, f"{page}/test-send", {"addresses": "t@example.org"}, "edit"),
        (f"/console/subscribers/{reader.id}", f"/console/subscribers/{reader.id}/suppress", {"reason": "r"},
         "operate"),
        (f"/console/subscribers/{reader.id}", f"/console/subscribers/{reader.id}/unsuppress", {}, "operate"),
        ("/console/articles/world-0", "/console/articles/world-0/retract", {}, "edit"),
        ("/console/articles/world-0", "/console/articles/world-0/restore", {}, "edit"),
    ]  # fmt: skip
    for view, action, data, permission in changes:
        refused = _post(clients["viewer"], view, action, data)
        assert refused.status_code == 403, action  # type: ignore[attr-defined]
        other = clients["ops" if permission == "edit" else "editor"]
        assert _post(other, view, action, data).status_code == 403, action  # type: ignore[attr-defined]
        # Without the CSRF token, even the admin is refused.
        assert clients["admin"].post(action, data=data, follow_redirects=False).status_code == 403, action
    # The viewer sees no changing control at all.
    for view in (
        page,
        f"/console/subscribers/{reader.id}",
        "/console/articles/world-0",
        "/console/subscribers",
    ):
        html = clients["viewer"].get(view).text
        assert 'method="post"' not in html.replace('action="/console/logout"', "").split("console-nav")[-1]
    assert app.edition_store.get(edition_id).revision == 0
    assert app.subscribers.find("reader0@example.org").status == Status.ACTIVE
    assert app.articles.get("world-0").retracted_at is None
    # Logged out: a GET goes to the login page, a POST is a 401.
    anonymous = TestClient(create_app(app), base_url=BASE)
    assert anonymous.get(page, follow_redirects=False).headers["location"].startswith("/console/login?next=")
    assert anonymous.post(f"{page}/contents", data={"action": "up"}).status_code == 401


def test_test_send_names_every_bad_address_then_reaches_a_real_smtp_server(stack, make_settings) -> None:  # type: ignore[no-untyped-def]
    app, edition_id, clients = stack
    page = f"/console/editions/{edition_id}"
    bad = _post(clients["editor"], page, f"{page}/test-send",
                {"addresses": "good@example.org, not-an-address\nalso@bad@example.org"})  # fmt: skip
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "not-an-address:" in bad.text and "also@bad@example.org:" in bad.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in bad.text  # type: ignore[attr-defined]
    recorder = Recorder()
    with SmtpServer(recorder) as smtp:
        app.settings = app.settings.replace(smtp_url=smtp.url)
        app.editions.settings = app.settings
        good = _post(
            clients["editor"], page, f"{page}/test-send", {"addresses": "a@example.org b@example.org"}
        )
        assert good.status_code == 303  # type: ignore[attr-defined]
    assert sorted(r for r, _ in recorder.messages) == ["a@example.org", "b@example.org"]
    message = email.message_from_bytes(recorder.messages[0][1], policy=email.policy.default)
    assert "World story 1" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert ("editor@example.com", "edition.test-send", f"edition {edition_id}") in _audit(app)
    assert app.ledger.counts(edition_id)["sent"] == 0  # outside the ledger


def test_delivery_rows_by_state_a_page_at_a_time(stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from publisher.web.console import editions

    app, edition_id, clients = stack
    app.lifecycle.fill(edition_id, ["world"])
    app.lifecycle.cancel(edition_id)
    monkeypatch.setattr(editions, "ROWS_PAGE", 4)
    page = f"/console/editions/{edition_id}"
    first = clients["viewer"].get(f"{page}?state=skipped").text
    assert first.count("edition cancelled") == 4 and "Next page" in first
    after = app.subscribers.find("reader3@example.org").id  # the last of the first page  # type: ignore[union-attr]
    rest = clients["viewer"].get(f"{page}?state=skipped&after={after}").text
    assert rest.count("edition cancelled") == 2 and "Next page" not in rest
    assert "No copy in state sent" in clients["viewer"].get(f"{page}?state=sent").text
    assert clients["viewer"].get(f"{page}?state=lost").status_code == 422


def test_subscribers_search_details_suppress_and_export(stack) -> None:  # type: ignore[no-untyped-def]
    app, _edition_id, clients = stack
    ops = clients["ops"]
    found = ops.get("/console/subscribers?q=READER3").text
    assert "reader3@example.org" in found and "reader4@example.org" not in found
    assert "reader0@example.org" in ops.get("/console/subscribers?status=active").text
    assert "Nobody matches" in ops.get("/console/subscribers?status=bounced").text

    reader = app.subscribers.find("reader3@example.org")
    page = f"/console/subscribers/{reader.id}"
    assert _post(ops, page, f"{page}/suppress", {"reason": "asked by phone"}).status_code == 303  # type: ignore[attr-defined]
    assert app.subscribers.find("reader3@example.org").status == Status.UNSUBSCRIBED
    assert app.subscriber_lifecycle.is_suppressed("reader3@example.org")
    html = ops.get(page).text
    assert "asked by phone" in html and "suppressed" in html
    assert _post(ops, page, f"{page}/unsuppress", {}).status_code == 303  # type: ignore[attr-defined]
    assert not app.subscriber_lifecycle.is_suppressed("reader3@example.org")
    missing = _post(ops, page, f"{page}/suppress", {"reason": "  "})
    assert missing.status_code == 422 and "reason" in missing.text  # type: ignore[attr-defined]
    assert ("ops@example.com", "subscriber.suppress", "reader3@example.org") in _audit(app)

    exported = ops.get("/console/subscribers/export.csv?q=example.org")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 6
    formula = next(r for r in rows if "cmd" in r["email"])
    assert formula["email"].startswith("'=") and formula["name"].startswith("'=")  # never run as a formula
    assert ("ops@example.com", "subscribers.export", "subscribers") in _audit(app)
    assert clients["viewer"].get("/console/subscribers/export.csv").status_code == 403
    assert ops.get("/console/subscribers/999999").status_code == 404


def test_articles_by_section_preview_retract_and_restore(stack) -> None:  # type: ignore[no-untyped-def]
    app, _edition_id, clients = stack
    editor = clients["editor"]
    listing = editor.get("/console/articles?section=world").text
    assert "World story 2" in listing and 'aria-current="page">World<' in listing
    page = "/console/articles/world-2"
    assert _post(editor, page, f"{page}/retract", {}).status_code == 303  # type: ignore[attr-defined]
    assert app.articles.get("world-2").retracted_at is not None
    assert "retracted" in editor.get("/console/articles").text
    assert _post(editor, page, f"{page}/restore", {}).status_code == 303  # type: ignore[attr-defined]
    assert app.articles.get("world-2").retracted_at is None
    assert [a for a in _audit(app) if a[1].startswith("article.")] == [
        ("editor@example.com", "article.restore", "world-2"),
        ("editor@example.com", "article.retract", "world-2"),
    ]
    assert editor.get("/console/articles/no-such-story").status_code == 404


def test_an_upcoming_edition_is_prepared_ahead_of_its_freeze_and_then_sent_by_the_sweep(stack) -> None:  # type: ignore[no-untyped-def]
    """Editors get more than the minutes between an edition's freeze and its first zone: 'Prepare
    it now' makes a scheduled edition at once, a draft they can shape; the sweep later
    sends that one, not a new one."""
    from publisher.schedule.model import edition_schedule

    app, _edition_id, clients = stack
    # Tomorrow's edition at noon UTC, with a story of its own morning (stored ahead of time, so the
    # test reads the same at any hour); the page's own edition is today's.
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    due = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    story = Article(slug="tomorrow-1", title="Tomorrow's story", section="World", summary="sum",
                    quick_looks=("bullet",))  # fmt: skip
    app.articles.save_many([story], published_at=due - timedelta(hours=3))
    app.schedules.add(edition_schedule("morning", at="12:00", timezone="UTC"))
    listing = clients["editor"].get("/console/editions").text
    assert "Prepare it now" in listing
    assert "Prepare it now" not in clients["viewer"].get("/console/editions").text
    form = {"schedule": "morning", "date": day.isoformat()}
    refused = _post(clients["viewer"], "/console/editions", "/console/editions/prepare", form)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    bad = _post(clients["editor"], "/console/editions", "/console/editions/prepare",
                {"schedule": "morning", "date": "2020-01-01"})  # fmt: skip
    assert bad.status_code == 422 and "not an upcoming day" in bad.text  # type: ignore[attr-defined]
    unknown = _post(clients["editor"], "/console/editions", "/console/editions/prepare",
                    {"schedule": "evening", "date": day.isoformat()})  # fmt: skip
    assert unknown.status_code == 404  # type: ignore[attr-defined]

    made = _post(clients["editor"], "/console/editions", "/console/editions/prepare", form)
    assert made.status_code == 303  # type: ignore[attr-defined]
    record = app.edition_store.find("morning", day)
    assert record is not None and record.status == "draft" and record.article_slugs
    assert made.headers["location"].startswith(f"/console/editions/{record.id}")  # type: ignore[attr-defined]
    page = clients["editor"].get(made.headers["location"]).text  # type: ignore[attr-defined]
    assert "only if you pin them" in page and "Pin a story to the top" in page
    assert ("editor@example.com", "edition.prepare", f"edition {record.id}") in _audit(app)
    again = _post(clients["editor"], "/console/editions", "/console/editions/prepare", form)
    assert again.headers["location"].startswith(f"/console/editions/{record.id}")  # type: ignore[attr-defined]

    # The sweep at the edition's time fills that edition; it makes no other.
    app.scheduler.sweep(due + timedelta(minutes=1))
    assert app.edition_store.find("morning", day).id == record.id  # type: ignore[union-attr]
    assert app.ledger.counts(record.id)["sent"] == 6  # every reader: the schedule's zone is fixed
