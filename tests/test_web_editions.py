"""The edition web archive, served by the real ASGI app (httpx through Starlette's TestClient)."""

from __future__ import annotations

import pytest
import time_machine
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.web import create_app
from tests.edition_data import CUTOFF, example_articles


@pytest.fixture
def client(app: App):  # type: ignore[no-untyped-def]
    app.articles.save_many(example_articles())
    with TestClient(create_app(app)) as test_client:
        yield test_client


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_archive_page_without_personal_parts(client: TestClient) -> None:
    response = client.get("/editions/morning/2026-11-25")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    html = response.text
    assert html.startswith("<!doctype html>")
    assert "<h1" in html and "Morning Edition</h1>" in html
    assert "Maritime Safety Quick Looks" in html
    assert "Eleven port authorities sign the Meridian Ferry Safety Pact" in html
    for personal in ("Good morning", "Unsubscribe", "Manage preferences", "View in browser", "reader@"):
        assert personal not in html


@time_machine.travel(CUTOFF.replace(minute=0, hour=6), tick=False)
def test_unpublished_unknown_and_empty_editions_are_404(client: TestClient) -> None:
    assert client.get("/editions/morning/2026-11-25").status_code == 404  # cut-off still ahead
    assert client.get("/editions/evening/2026-11-24").status_code == 404
    assert client.get("/editions/morning/yesterday").status_code == 404
    assert client.get("/editions/morning/2026-01-01").status_code == 404


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_a_sent_edition_is_shown_as_sent(app: App, client: TestClient) -> None:
    from publisher.edition import EditionSpec, load_edition

    spec = EditionSpec.from_settings(app.settings)
    pinned = "amateur-astronomers-help-spot-faint-comet-near-jupiters-orbit"
    ferry = "port-cities-sign-ferry-safety-pact-after-winter-collisions"
    edition = load_edition(app.articles, spec, CUTOFF.date(), pins=[pinned], excludes=[ferry])
    store = app.edition_store
    draft = store.create(edition)
    html = client.get("/editions/morning/2026-11-25").text
    assert "Maritime Safety Quick Looks" in html  # a draft is not what went out
    app.lifecycle.started(draft)
    html = client.get("/editions/morning/2026-11-25").text
    assert "Maritime Safety Quick Looks" not in html
    assert html.index("Amateur Astronomers Help Spot Faint Comet") < html.index("City Council Approves")


def test_a_scheduled_edition_is_shown_to_early_zones_before_the_utc_cut_off(
    app: App, client: TestClient
) -> None:
    from datetime import UTC, datetime

    from publisher.schedule.model import edition_schedule

    app.schedules.add(edition_schedule("morning", at="07:00"))
    # The edition of 2026-11-26 freezes at 16:50Z the day before, and Kiritimati (UTC+14) gets it at
    # 17:00Z: hours before 07:00 UTC, the nominal cut-off of the 26th.
    with time_machine.travel(datetime(2026, 11, 25, 16, 55, tzinfo=UTC), tick=False):
        report = app.scheduler.sweep()  # today's edition (western zones still due) and tomorrow's
        [tomorrow] = [c for c in report.created if c["date"] == "2026-11-26"]
        assert client.get("/editions/morning/2026-11-26").status_code == 404  # frozen, not yet sent
    with time_machine.travel(datetime(2026, 11, 25, 17, 1, tzinfo=UTC), tick=False):
        app.lifecycle.started(tomorrow["edition_id"])  # the first zone is due
        page = client.get("/editions/morning/2026-11-26")
        assert page.status_code == 200 and "Morning Edition" in page.text
