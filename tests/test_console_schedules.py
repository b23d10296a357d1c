"""The console's Schedules page through the real web app: a bad form comes back with every bad field
named beside it and nothing stored; the preview says when the next edition reaches each readers'
zone (and reference zones), local and UTC; add, change, pause, resume and remove are audited; a
viewer is refused every change."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import validate
from publisher.web import create_app
from tests.console_helpers import csrf_of, login, make_user

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def app(make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    application = App(make_settings())
    application.subscribers.upsert_many([validate("k@example.org", "", "Asia/Kolkata"),
                                         validate("c@example.org", "", "America/Chicago")])  # fmt: skip
    make_user(application, "ops@example.org", "ops", PASSWORD)
    make_user(application, "viewer@example.org", "viewer", PASSWORD)
    yield application
    application.close()


@pytest.fixture
def ops(app: App) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(app), base_url=BASE) as client:
        login(client, BASE, "ops@example.org", PASSWORD)
        yield client, csrf_of(client.get("/console/schedules").text)


def _invalid(html: str) -> set[str]:
    """The ids of the inputs marked invalid."""
    return set(re.findall(r'id="([\w-]+)"[^>]*aria-invalid="true"', html))


def test_a_bad_form_names_every_bad_field_and_stores_nothing(app: App, ops: tuple[TestClient, str]) -> None:
    client, token = ops
    answer = client.post(
        "/console/schedules",
        data={
            "csrf_token": token,
            "name": "Morning Edition",
            "at": "25:00",
            "policy": "fixed",
            "zone": "Mars/Olympus",
            "window_hours": "a day",
            "edition": "evening",
        },
    )
    assert answer.status_code == 422
    html = answer.text
    assert "6 fields cannot be used" in html
    for text in ("schedule name must be lowercase letters", "not a time of day as HH:MM: &#39;25:00&#39;",
                 "unknown edition &#39;evening&#39;", "choose at least one day",
                 "not an IANA time zone: &#39;Mars/Olympus&#39;", "a whole number, got “a day”"):  # fmt: skip
        assert text in html, text
    assert _invalid(html) == {"name", "at", "edition", "zone", "window_hours"}
    assert 'id="days-error"' in html  # the day boxes' fieldset points at its problem
    assert 'value="Morning Edition"' in html and 'value="a day"' in html  # what was typed, shown back
    assert app.schedules.list() == []
    # A name that exists is named too.
    app.schedules.add(edition_schedule("morning", at="07:00"))
    again = client.post("/console/schedules", data={"csrf_token": token, "name": "morning", "at": "08:00",
                                                    "day": EVERY_DAY, "edition": "morning"})  # fmt: skip
    assert again.status_code == 422 and _invalid(again.text) == {"name"}
    assert "a schedule named &#39;morning&#39; exists already" in again.text


def test_the_preview_says_when_the_next_edition_reaches_each_zone(
    app: App, ops: tuple[TestClient, str]
) -> None:
    client, _ = ops
    # 06:30 in each reader's zone, Mondays only: the next Monday, whatever today is.
    preview = client.get(
        "/console/schedules/new",
        params={"name": "early", "at": "06:30", "day": ["mon"], "policy": "subscriber", "edition": "morning"},
    )
    assert preview.status_code == 200
    html = preview.text
    day = re.search(r"The edition of <strong>(Monday, \w+ \d+, \d{4})</strong>", html)
    assert day is not None
    rows = dict(
        re.findall(r"<td><strong>([\w/]+)</strong></td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html)
    )
    assert rows["Asia/Kolkata"] == "readers" and rows["America/Chicago"] == "readers"
    assert rows["Pacific/Kiritimati"] == "for reference" and rows["Europe/London"] == "for reference"
    local = dict(re.findall(r"<td><strong>([\w/]+)</strong></td><td>([^<]*)</td>", html))
    assert local["Asia/Kolkata"] == "06:30 IST"
    assert local["America/Chicago"] in ("06:30 CST", "06:30 CDT")
    utc = dict(re.findall(r"<td><strong>([\w/]+)</strong></td><td>[^<]*</td><td>([^<]*)</td>", html))
    assert utc["Asia/Kolkata"] == f"{day.group(1)} at 01:00 UTC"  # 06:30 IST is 01:00 UTC all year
    zones = re.findall(r"<td><strong>([\w/]+)</strong></td>", html)
    assert zones[0] == "Pacific/Kiritimati" and zones[-1] == "Pacific/Pago_Pago"  # in the order reached
    assert app.schedules.list() == []  # a preview stores nothing
    # A fixed zone: everyone at 12:00 New York time, at whatever local hour that is.
    fixed = client.get("/console/schedules/new", params={"name": "noon", "at": "12:00", "day": EVERY_DAY,
                                                         "policy": "fixed", "zone": "America/New_York",
                                                         "edition": "morning"})  # fmt: skip
    fixed_local = dict(re.findall(r"<td><strong>([\w/]+)</strong></td><td>([^<]*)</td>", fixed.text))
    assert fixed_local["America/New_York"].startswith("12:00 E")
    assert fixed_local["Asia/Kolkata"].startswith(("22:30 IST", "21:30 IST"))
    # Bad values in a preview: the form again, fields named, no table.
    bad = client.get("/console/schedules/new", params={"name": "x", "at": "7pm", "day": ["mon"],
                                                       "edition": "morning"})  # fmt: skip
    assert bad.status_code == 422 and _invalid(bad.text) == {"at"} and 'id="reach-h"' not in bad.text


def test_add_change_pause_resume_remove_each_audited(app: App, ops: tuple[TestClient, str]) -> None:
    client, token = ops
    added = client.post(
        "/console/schedules",
        data={
            "csrf_token": token,
            "name": "morning",
            "at": "07:00",
            "day": EVERY_DAY,
            "policy": "subscriber",
            "edition": "morning",
            "sections": "World, Business",
            "window_hours": "24",
        },
        follow_redirects=False,
    )
    assert (added.status_code, added.headers["location"]) == (303, "/console/schedules?done=add")
    stored = app.schedules.get("morning")
    assert stored is not None and stored.sections == ("World", "Business") and stored.window_hours == 24
    listing = client.get(added.headers["location"]).text
    assert "Schedule added." in listing and "07:00 in each reader&#39;s own zone, every day" in listing

    page = client.get("/console/schedules/morning")
    assert page.status_code == 200 and "When it reaches each zone" in page.text
    changed = client.post("/console/schedules/morning", data={
        "csrf_token": token, "at": "06:15", "day": ["sat", "sun"], "policy": "fixed", "zone": "Europe/London",
        "edition": "morning", "sections": "", "window_hours": ""}, follow_redirects=False)  # fmt: skip
    assert changed.status_code == 303
    stored = app.schedules.get("morning")
    assert stored is not None
    assert (stored.send_time.strftime("%H:%M"), stored.timezone, stored.days, stored.sections) == (  # type: ignore[union-attr]
        "06:15",
        "Europe/London",
        frozenset({5, 6}),
        (),
    )
    assert "06:15 in Europe/London, on Saturdays and Sundays" in client.get("/console/schedules/morning").text
    bad = client.post("/console/schedules/morning", data={"csrf_token": token, "at": "6", "day": ["sat"],
                                                          "edition": "morning"})  # fmt: skip
    assert bad.status_code == 422 and _invalid(bad.text) == {"at"}
    assert app.schedules.get("morning").send_time.strftime("%H:%M") == "06:15"  # type: ignore[union-attr]

    assert client.post("/console/schedules/morning/pause", data={"csrf_token": token}).status_code == 200
    assert app.schedules.get("morning").paused  # type: ignore[union-attr]
    assert client.post("/console/schedules/morning/resume", data={"csrf_token": token}).status_code == 200
    assert not app.schedules.get("morning").paused  # type: ignore[union-attr]
    confirm = client.get("/console/schedules/morning/remove")
    assert confirm.status_code == 200 and "Remove it" in confirm.text
    assert client.post("/console/schedules/morning/remove", data={"csrf_token": token}).status_code == 200
    assert app.schedules.get("morning") is None
    actions = [(e.action, e.target, e.actor) for e in app.audit.recent(action="schedule.")]
    assert actions == [(f"schedule.{verb}", "morning", "ops@example.org")
                       for verb in ("remove", "resume", "pause", "change", "add")]  # fmt: skip
    change = app.audit.recent(action="schedule.change")[0].detail
    assert (change["from"]["at"], change["to"]["at"]) == ("07:00", "06:15")
    assert client.get("/console/schedules/nothing").status_code == 404


def test_a_viewer_sees_the_schedules_and_is_refused_every_change(app: App) -> None:
    app.schedules.add(edition_schedule("morning", at="07:00"))
    with TestClient(create_app(app), base_url=BASE) as client:
        login(client, BASE, "viewer@example.org", PASSWORD)
        page = client.get("/console/schedules")
        assert (
            page.status_code == 200 and "morning" in page.text and "Add an edition schedule" not in page.text
        )
        token = csrf_of(page.text)  # the logout form's: a real token of this session
        for path, form in (
            ("/console/schedules", {"name": "x", "at": "07:00", "day": "mon"}),
            ("/console/schedules/morning", {"at": "08:00", "day": "mon"}),
            ("/console/schedules/morning/pause", {}),
            ("/console/schedules/morning/resume", {}),
            ("/console/schedules/morning/remove", {}),
        ):
            assert client.post(path, data={"csrf_token": token, **form}).status_code == 403, path
        assert client.get("/console/schedules/morning/remove").status_code == 403
    assert app.schedules.get("morning") == edition_schedule("morning", at="07:00")
