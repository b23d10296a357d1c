"""Ops verbs on editions (CLI service and HTTP API): pause, resume, cancel, reschedule, test-send,
list and status. Embedded default: in-process sends into the Maildir outbox."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.article import Article
from publisher.db.schema import deliveries, subscribers
from publisher.errors import EditionStateError
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import validate
from publisher.web import create_app

T0 = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)  # before London's 07:00 BST (06:00Z)
ZONES = {"ny@example.com": "America/New_York", "ldn@example.com": "Europe/London",
         "ktm@example.com": "Asia/Kathmandu"}  # fmt: skip


@pytest.fixture
def app(make_settings):  # type: ignore[no-untyped-def]
    application = App(make_settings(api_token="tok"))
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        application.subscribers.upsert_many([validate(email, "", zone) for email, zone in ZONES.items()])
        for n in range(3):
            article = Article(slug=f"s{n}", title=f"Story {n}", section="World", summary="sum",
                              quick_looks=("bullet",))  # fmt: skip
            application.articles.save_many([article], published_at=T0 - timedelta(hours=20 - n))
        application.schedules.add(edition_schedule("morning", at="07:00"))
    yield application
    application.close()


def _rows(app: App) -> dict[str, tuple[str, datetime | None]]:
    query = sa.select(subscribers.c.email, deliveries.c.status, deliveries.c.due_at).join(
        subscribers, subscribers.c.id == deliveries.c.subscriber_id
    )
    with app.db.connect() as conn:
        return {email: (status, due) for email, status, due in conn.execute(query)}


def _sweep(app: App, at: datetime):  # type: ignore[no-untyped-def]
    with time_machine.travel(at, tick=False):
        return app.scheduler.sweep()


def _outbox(app: App) -> list[str]:
    return sorted(m["To"] for m in mailbox.Maildir(app.settings.outbox_dir, create=True))


def test_pause_holds_and_resume_sends_once(app: App) -> None:
    report = _sweep(app, T0)  # Kathmandu (01:15Z) is due already; the others wait
    edition_id = report.created[0]["edition_id"]
    assert _rows(app)["ktm@example.com"][0] == "sent"
    assert app.editions.pause(edition_id).status == "paused"
    assert app.editions.pause(edition_id).rows == 0  # idempotent
    _sweep(app, T0 + timedelta(hours=3))  # London is due, but the edition is paused
    assert _rows(app)["ldn@example.com"][0] == "pending"
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        resumed = app.editions.resume(edition_id)
    assert (resumed.status, resumed.rows) == ("sending", 1)
    assert _rows(app)["ldn@example.com"][0] == "sent"
    with pytest.raises(EditionStateError):
        app.editions.resume(edition_id)
    _sweep(app, T0 + timedelta(hours=7, minutes=1))  # New York, 07:00 EDT = 11:00Z
    assert {status for status, _ in _rows(app).values()} == {"sent"}
    assert _outbox(app) == sorted(ZONES)


def test_pause_takes_back_queued_rows_so_their_batch_sends_nothing(app: App) -> None:
    edition_id = _sweep(app, T0).created[0]["edition_id"]
    ids = app.lifecycle.queue_pending(edition_id, T0 + timedelta(days=1))  # as if claimed
    assert len(ids) == 2
    assert app.editions.pause(edition_id).rows == 2
    result = app.delivery.send_batch(edition_id, ids)  # the batch task, arriving after the pause
    assert result.to_json()["sent"] == 0
    assert len(_outbox(app)) == 1


def test_cancel_skips_the_rest(app: App) -> None:
    edition_id = _sweep(app, T0).created[0]["edition_id"]
    cancelled = app.editions.cancel(edition_id)
    assert (cancelled.status, cancelled.rows) == ("cancelled", 2)
    _sweep(app, T0 + timedelta(hours=8))
    assert sorted(status for status, _ in _rows(app).values()) == ["sent", "skipped", "skipped"]
    with pytest.raises(EditionStateError):
        app.editions.cancel(edition_id)


def test_reschedule(app: App) -> None:
    edition_id = _sweep(app, T0).created[0]["edition_id"]
    app.editions.reschedule(edition_id, at=time(8, 30))
    rows = _rows(app)
    assert rows["ldn@example.com"][1] == datetime(2026, 6, 10, 7, 30, tzinfo=UTC)
    assert rows["ny@example.com"][1] == datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
    assert rows["ktm@example.com"][0] == "sent"  # what went out stays as it was
    app.editions.reschedule(edition_id, delay=timedelta(minutes=15))
    assert _rows(app)["ldn@example.com"][1] == datetime(2026, 6, 10, 7, 45, tzinfo=UTC)
    moved = app.editions.reschedule(edition_id, to=datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    assert moved.rows == 2
    assert {due for status, due in _rows(app).values() if status == "pending"} == {
        datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    }


def test_test_send_goes_outside_the_ledger(app: App) -> None:
    edition_id = _sweep(app, T0).created[0]["edition_id"]
    before = _rows(app)
    assert app.editions.test_send(edition_id, ["editor@example.org"]) == ["editor@example.org"]
    assert "editor@example.org" in _outbox(app)
    assert _rows(app) == before


def test_api(app: App) -> None:
    edition_id = _sweep(app, T0).created[0]["edition_id"]
    with time_machine.travel(T0, tick=False), TestClient(create_app(app)) as client:
        client.headers["Authorization"] = "Bearer tok"
        listing = client.get("/api/editions").json()
        assert [p["id"] for p in listing["past"]] == [edition_id]
        assert listing["past"][0]["window"] == {
            "first": "2026-06-10T01:15:00Z",
            "last": "2026-06-10T11:00:00Z",
        }
        assert [u["date"] for u in listing["upcoming"]] == ["2026-06-11", "2026-06-12"]
        status = client.get(f"/api/editions/{edition_id}").json()
        assert status["counts"]["sent"] == 1 and status["counts"]["pending"] == 2
        assert status["eta"] is not None
        assert client.post(f"/api/editions/{edition_id}/pause").json()["status"] == "paused"
        assert client.post(f"/api/editions/{edition_id}/pause").status_code == 200
        assert client.post(f"/api/editions/{edition_id}/resume").json()["status"] == "sending"
        assert client.post(f"/api/editions/{edition_id}/resume").status_code == 409
        moved = client.post(f"/api/editions/{edition_id}/reschedule", json={"delay_minutes": 5})
        assert moved.json()["rows"] == 2
        bad = client.post(f"/api/editions/{edition_id}/reschedule", json={"at": "7pm"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "at"
        preview = client.get(f"/api/editions/{edition_id}/preview")
        assert preview.status_code == 200 and "Story 0" in preview.text
        sent = client.post(f"/api/editions/{edition_id}/test-send", json={"addresses": ["qa@example.org"]})
        assert sent.json() == {"sent": ["qa@example.org"]}
        bad_address = client.post(f"/api/editions/{edition_id}/test-send", json={"addresses": ["nope"]})
        assert bad_address.status_code == 422
        assert client.post(f"/api/editions/{edition_id}/cancel").json()["rows"] == 2
        assert client.get("/api/editions/999").status_code == 404
        assert client.post("/api/editions/999/pause").status_code == 404
        assert client.post("/api/editions/999/pause", headers={"Authorization": ""}).status_code == 401


def test_status_cli_json_has_eta_and_follow_shows_progress(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from publisher.cli import main

    edition_id = _sweep(app, T0).created[0]["edition_id"]
    app.editions.reschedule(edition_id, to=T0)  # everyone due: the follow below sends them
    for name in ("database_url", "var_dir", "api_token"):
        monkeypatch.setenv(f"PUBLISHER_{name.upper()}", str(getattr(app.settings, name)))
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        data = json.loads(CliRunner().invoke(main, ["edition", "status", str(edition_id), "--json"]).stdout)
        assert data["counts"]["pending"] == 2 and data["eta"] is not None
        app.scheduler.sweep()
        result = CliRunner().invoke(main, ["edition", "status", str(edition_id), "--follow"])
    assert result.exit_code == 0, result.output
    assert "3 sent" in result.output


def test_cli_verbs(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from publisher.cli import main

    edition_id = str(_sweep(app, T0).created[0]["edition_id"])
    for name in ("database_url", "var_dir"):
        monkeypatch.setenv(f"PUBLISHER_{name.upper()}", str(getattr(app.settings, name)))

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result.output

    with time_machine.travel(T0, tick=False):
        assert json.loads(cli("edition", "list", "--json"))["past"][0]["id"] == int(edition_id)
        assert f"edition {edition_id}: paused (0 deliveries moved)" in cli("edition", "pause", edition_id)
        assert f"edition {edition_id}: sending" in cli("edition", "resume", edition_id)
        assert f"edition {edition_id} is sending, not paused or halted" in cli(
            "edition", "resume", edition_id, code=4
        )
        assert "2 deliveries rescheduled" in cli("edition", "reschedule", edition_id, "--delay", "10")
        assert "exactly one of" in cli("edition", "reschedule", edition_id, code=2)
        assert "Invalid value for '--at': not a time of day as HH:MM: '7pm'" in cli(
            "edition", "reschedule", edition_id, "--at", "7pm", code=2
        )
        assert "Invalid value for '--to'" in cli("edition", "reschedule", edition_id, "--to", "soon", code=2)
        assert "sent  desk@example.org" in cli("edition", "test-send", edition_id, "desk@example.org")
        assert f"edition {edition_id}: cancelled (2 deliveries moved)" in cli("edition", "cancel", edition_id)
        assert "no edition with id 999" in cli("edition", "pause", "999", code=3)
