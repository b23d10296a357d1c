"""The console's Today page and its JSON, and the ops verbs' confirmation and POST, through the real
web app (TestClient) on SQLite and PostgreSQL: the wave per step as the ledger has it, each verb's
readers affected, the verbs done through the edition's one owner and audited, viewers and editors
refused on the POST (403), a POST without the CSRF token refused, a refused verb named (409)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.subscribers.model import NewSubscriber
from publisher.web import create_app
from tests.conftest import EXAMPLES
from tests.console_helpers import csrf_of, login, make_user

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"
# Readers' zones, and when their step is due relative to now: two zones went out, two are to come.
ZONES = {"Asia/Tokyo": -3, "Europe/London": -1, "America/New_York": 2, "America/Los_Angeles": 5}
PER_ZONE = 5


@pytest.fixture
def running(any_db_app: App) -> Iterator[tuple[App, int]]:
    """An edition whose Tokyo and London steps went out (to the Maildir outbox), New York and Los
    Angeles steps due in two and five hours; an ops, a viewer and an editor."""
    app = any_db_app
    now = datetime.now(UTC)
    list(app.ingest([EXAMPLES / "articles"], published_at=now - timedelta(hours=2)))
    zones = list(ZONES)
    app.subscribers.upsert_many([NewSubscriber(f"r{i}@example.org", "", zones[i % len(zones)], ())
                                 for i in range(PER_ZONE * len(zones))])  # fmt: skip
    from publisher.edition.selection import EditionSpec

    edition_id = app.delivery.create_edition(
        "morning", EditionSpec.from_settings(app.settings).next_date(now)
    )
    record = app.edition_store.get(edition_id)
    assert record is not None
    due = {zone: (now + timedelta(hours=h)).replace(microsecond=0) for zone, h in ZONES.items()}
    app.lifecycle.fill(edition_id, record.section_keys, due_at=due)
    app.delivery.start(edition_id)  # the due steps go out now, in-process
    for email, role in (("ops@example.org", "ops"), ("viewer@example.org", "viewer"),
                        ("editor@example.org", "editor")):  # fmt: skip
        make_user(app, email, role, PASSWORD)
    yield app, edition_id


def _client(app: App, email: str) -> TestClient:
    client = TestClient(create_app(app), base_url=BASE)
    login(client, BASE, email, PASSWORD)
    return client


def test_today_json_has_the_wave_step_by_step_and_the_page_says_it_in_words(running: tuple[App, int]) -> None:
    app, edition_id = running
    with _client(app, "viewer@example.org") as client:
        view = client.get("/console/today.json").json()
        [edition] = view["editions"]
        assert (edition["id"], edition["status"], edition["readers"]) == (edition_id, "sending", 20)
        steps = [(s["zones"][0]["timezone"], s["counts"]["sent"], s["counts"]["pending"], s["state"])
                 for s in edition["steps"]]  # fmt: skip
        assert steps == [
            ("Asia/Tokyo", 5, 0, "done"),
            ("Europe/London", 5, 0, "done"),
            ("America/New_York", 0, 5, "waiting"),
            ("America/Los_Angeles", 0, 5, "waiting"),
        ]
        assert [t["words"] for t in edition["totals"]] == ["10", "0", "0", "0", "0", "10"]
        assert edition["done_words"] == "50 % done"
        assert edition["eta_words"].startswith("At this rate the last copy goes out ")
        assert edition["steps"][2]["relative"] in ("in about 2 hours", "in 2 hours", "in 1 hour 59 minutes")
        assert edition["verbs"] == ["pause", "cancel", "reschedule"]
        assert re.fullmatch(r"\w+day, \w+ \d+, \d{4} at \d\d:\d\d UTC", view["at_words"])
        assert view["queue"] == {"queued": 0, "sending": 0, "queued_words": "0", "sending_words": "0",
                                 "broker": None}  # fmt: skip
        page = client.get("/console/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        html = page.text
        assert "The wave, zone by zone" in html and "America/New_York" in html and "50 % done" in html
        assert f'data-shape="{view["shape"]}"' in html
        assert re.search(r'<script src="/static/console/today\.js\?v=\w+" defer></script>', html)
        assert "<script>" not in html and " style=" not in html
        # A viewer sees no verb to press (and is refused if they press one anyway: below).
        assert f"/console/editions/{edition_id}/pause" not in html
        script = client.get("/static/console/today.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    with _client(app, "ops@example.org") as ops:
        assert f"/console/editions/{edition_id}/pause?back=/console/" in ops.get("/console/").text


def test_the_json_and_the_page_need_a_session(running: tuple[App, int]) -> None:
    app, _ = running
    with TestClient(create_app(app), base_url=BASE) as anonymous:
        for path in ("/console/", "/console/today.json"):
            answer = anonymous.get(path, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=")


def _confirm(client: TestClient, edition_id: int, verb: str) -> tuple[str, str]:
    page = client.get(f"/console/editions/{edition_id}/{verb}", params={"back": "/console/"})
    assert page.status_code == 200, page.text[:300]
    impact = re.search(r'<p class="impact" id="impact"><strong>(.*?)</strong>', page.text)
    assert impact is not None
    return csrf_of(page.text), impact.group(1)


def _post(client: TestClient, edition_id: int, verb: str, token: str, **form: Any) -> Any:
    data = {"csrf_token": token, "back": "/console/", **form}
    return client.post(f"/console/editions/{edition_id}/{verb}", data=data, follow_redirects=False)


def test_ops_pause_resume_reschedule_and_cancel_with_the_readers_each_affects(
    running: tuple[App, int],
) -> None:
    app, edition_id = running
    with _client(app, "ops@example.org") as client:
        token, impact = _confirm(client, edition_id, "pause")
        assert impact == "10 readers still to receive it will wait."
        done = _post(client, edition_id, "pause", token)
        assert done.status_code == 303
        assert done.headers["location"] == f"/console/?done=pause&edition={edition_id}"
        assert app.edition_store.get(edition_id).status == "paused"  # type: ignore[union-attr]
        assert f"Edition {edition_id}: Paused" in client.get(done.headers["location"]).text
        entry = app.audit.recent(action="edition.pause")[0]
        assert (entry.actor, entry.target, entry.source) == (
            "ops@example.org",
            f"edition {edition_id}",
            "testclient",
        )
        assert entry.detail == {"status": "paused", "rows": 0}

        _token, impact = _confirm(client, edition_id, "resume")
        assert impact == "10 readers will get it: 0 at once, 10 at their own time."
        assert _post(client, edition_id, "resume", token).status_code == 303
        again = _post(client, edition_id, "resume", token)  # not paused any more: refused, named
        assert again.status_code == 409
        assert f"edition {edition_id} is sending, not paused or halted: nothing to resume" in again.text

        _token, impact = _confirm(client, edition_id, "reschedule")
        assert impact == "10 readers whose copy is not yet queued get the new time."
        bad = _post(client, edition_id, "reschedule", token, how="at", at="7pm", timezone="Mars/Olympus")
        assert bad.status_code == 422
        assert "A time of day as HH:MM" in bad.text and "is not a time zone" in bad.text
        assert 'id="at" name="at" value="7pm"' in bad.text and 'aria-invalid="true"' in bad.text
        window = app.ledger.due_window(edition_id)
        moved = _post(client, edition_id, "reschedule", token, how="delay", delay_minutes="30")
        assert moved.status_code == 303
        first, last = app.ledger.due_window(edition_id)  # the sent steps keep their time
        assert (first, last) == (window[0], window[1] + timedelta(minutes=30))  # type: ignore[operator]
        assert app.audit.recent(action="edition.reschedule")[0].detail["rows"] == 10

        _token, impact = _confirm(client, edition_id, "cancel")
        assert impact == "10 readers who have not received it yet never will."
        assert _post(client, edition_id, "cancel", token).status_code == 303
        assert app.ledger.counts(edition_id)["skipped"] == 10
        refused = client.get(f"/console/editions/{edition_id}/pause")
        assert refused.status_code == 200 and "it cannot be paused now" in refused.text
        assert "<form" not in refused.text.split("</nav>")[1]  # no button to press


def test_send_counts_the_readers_it_adds(running: tuple[App, int]) -> None:
    app, edition_id = running
    app.subscribers.upsert_many([NewSubscriber("late@example.org", "", "UTC", ())])
    with _client(app, "ops@example.org") as client:
        token, impact = _confirm(client, edition_id, "send")
        assert (
            impact
            == "1 reader will get it at once, 1 of them added to the ledger now; 10 more at their own time."
        )
        assert _post(client, edition_id, "send", token).status_code == 303
    assert app.ledger.counts(edition_id)["sent"] == 11


def test_viewers_and_editors_are_refused_every_verb_and_a_post_needs_its_token(
    running: tuple[App, int],
) -> None:
    app, edition_id = running
    for email in ("viewer@example.org", "editor@example.org"):
        with _client(app, email) as client:
            token = csrf_of(client.get("/console/").text)
            for verb in ("send", "pause", "resume", "cancel", "reschedule"):
                assert client.get(f"/console/editions/{edition_id}/{verb}").status_code == 403, (email, verb)
                assert (
                    _post(client, edition_id, verb, token, how="delay", delay_minutes="5").status_code == 403
                )
    with _client(app, "ops@example.org") as ops:
        assert (
            ops.post(f"/console/editions/{edition_id}/pause", data={"back": "/console/"}).status_code == 403
        )
        assert (
            ops.post(f"/console/editions/{edition_id}/pause", data={"csrf_token": "forged"}).status_code
            == 403
        )
        # Going back only ever leads to a console page of this site.
        token = csrf_of(ops.get("/console/").text)
        away = ops.post(f"/console/editions/{edition_id}/pause", data={"csrf_token": token,
                                                                      "back": "//evil.example/console/"},
                        follow_redirects=False)  # fmt: skip
        assert away.headers["location"] == f"/console/editions/{edition_id}?done=pause&edition={edition_id}"
        assert "Paused: nothing more goes out until it is resumed." in ops.get(away.headers["location"]).text
    assert app.edition_store.get(edition_id).status == "paused"  # type: ignore[union-attr]
    assert [e.actor for e in app.audit.recent(action="edition.")] == ["ops@example.org"]


def test_spans_and_rates_in_words() -> None:
    from publisher.web.console.spans import duration, percent, rate, relative
    from publisher.web.console.today import freeze_words

    now = datetime(2026, 12, 4, 6, 55, tzinfo=UTC)
    spans = [duration(timedelta(seconds=s)) for s in (20, 240, 5400, 12_000, 300_000)]
    assert spans == ["under a minute", "about 4 minutes", "about 1 hour 30 minutes", "about 3 hours",
                     "about 3 days"]  # fmt: skip
    assert relative(now + timedelta(hours=2), now) == "in 2 hours"
    assert relative(now - timedelta(minutes=5), now) == "5 minutes ago"
    assert relative(now + timedelta(seconds=10), now) == "just now"
    rates = [rate(r) for r in (None, 0.5, 12.4, 1234.0)]
    assert rates == ["none in the last minute", "30 a minute", "12 a second", "1,234 a second"]
    assert [percent(1, 400), percent(1, 2), percent(0, 0)] == ["0.25 %", "50 %", "0 %"]
    assert freeze_words(now + timedelta(minutes=30), now) == (
        "Its stories are frozen Friday, December 4, 2026 at 07:25 UTC (in 30 minutes)."
    )
    assert freeze_words(now - timedelta(hours=6), now).startswith(
        "Not frozen yet, though due Friday, December 4, 2026 at 00:55 UTC (6 hours ago): is the beat"
    )
