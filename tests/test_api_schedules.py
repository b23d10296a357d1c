"""The ops API for schedules: auth, CRUD, 422s naming the bad field, OpenAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.web import create_app

TOKEN = "ops-token-123"


@pytest.fixture
def client(make_settings) -> TestClient:  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=TOKEN))
    with TestClient(create_app(app)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client
    app.close()


def test_auth_is_required(client: TestClient) -> None:
    assert client.get("/api/schedules", headers={"Authorization": ""}).status_code == 401
    assert client.get("/api/schedules", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/schedules").status_code == 200


def test_no_configured_token_means_no_access(make_settings) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(App(make_settings(api_token="")))) as open_client:
        response = open_client.get("/api/schedules", headers={"Authorization": "Bearer "})
        assert response.status_code == 401


def test_create_read_change_delete(client: TestClient) -> None:
    created = client.post("/api/schedules", json={"name": "morning", "at": "07:00", "days": "mon,tue"})
    assert created.status_code == 201
    assert created.json() == {
        "name": "morning", "kind": "edition", "edition": "morning", "at": "07:00", "days": "mon,tue",
        "timezone": "subscriber", "sections": [], "window_hours": None, "every_minutes": None,
        "paused": False, "last_run_at": None,
    }  # fmt: skip
    assert client.post("/api/schedules", json={"name": "morning", "at": "08:00"}).status_code == 409
    changed = client.patch("/api/schedules/morning", json={"at": "06:45", "paused": True, "days": "daily"})
    assert changed.status_code == 200
    assert (changed.json()["at"], changed.json()["paused"], changed.json()["days"]) == (
        "06:45",
        True,
        "daily",
    )
    assert client.get("/api/schedules/morning").json()["at"] == "06:45"
    assert [s["name"] for s in client.get("/api/schedules").json()] == ["morning"]
    assert client.delete("/api/schedules/morning").status_code == 204
    assert client.get("/api/schedules/morning").status_code == 404
    assert client.delete("/api/schedules/morning").status_code == 404


def test_feed_refresh_schedule(client: TestClient) -> None:
    created = client.post("/api/schedules", json={"name": "feeds", "every_minutes": 10})
    assert created.status_code == 201 and created.json()["every_minutes"] == 10
    assert client.patch("/api/schedules/feeds", json={"every_minutes": 2}).json()["every_minutes"] == 2
    assert _bad_fields(client.patch("/api/schedules/feeds", json={"at": "07:00"})) == ["at"]


def _bad_fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return [e["loc"][-1] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "morning", "at": "25:00"}, ["at"]),
        ({"name": "morning", "at": "07:00", "days": "caturday"}, ["days"]),
        ({"name": "morning", "at": "07:00", "timezone": "Mars/Base"}, ["timezone"]),
        ({"name": "morning", "at": "07:00", "window_hours": 0}, ["window_hours"]),
        ({"name": "morning", "at": "07:00", "window_hours": 721}, ["window_hours"]),
        ({"name": "Bad Name", "at": "07:00"}, ["name"]),
        ({"name": "morning\n", "at": "07:00"}, ["name"]),
        ({"name": "m"}, ["at"]),
        ({"name": "m", "at": "07:00", "colour": "red"}, ["colour"]),
        ({"at": 7}, ["name", "at"]),
        ({"name": "morning", "at": "25:99", "timezone": "Mars/Olympus"}, ["at", "timezone"]),
        ({"name": "morning", "at": "07:00", "edition": "nonexistent"}, ["edition"]),
        ({"name": "noon", "at": "07:00"}, ["edition"]),  # builds edition 'noon', which is not defined
        ({"name": "feeds", "every_minutes": 0}, ["every_minutes"]),
        ({"name": "feeds", "every_minutes": 10**30}, ["every_minutes"]),
        ({"name": "feeds", "every_minutes": 5, "days": "mon"}, ["days"]),
    ],
)
def test_bad_input_is_422_naming_every_bad_field(client: TestClient, body: dict, fields: list[str]) -> None:  # type: ignore[type-arg]
    assert _bad_fields(client.post("/api/schedules", json=body)) == fields
    assert client.get("/api/schedules").json() == []


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"window_hours": 1e9}, ["window_hours"]),
        ({"window_hours": 0}, ["window_hours"]),
        ({"at": "25:99", "timezone": "Mars/Olympus"}, ["at", "timezone"]),
        ({"edition": "nonexistent"}, ["edition"]),
        ({"days": "caturday", "paused": True}, ["days"]),
        ({"every_minutes": 5}, ["every_minutes"]),
        ({"at": None}, ["at"]),
    ],
)
def test_patch_runs_the_same_checks_as_post(client: TestClient, change: dict, fields: list[str]) -> None:  # type: ignore[type-arg]
    assert client.post("/api/schedules", json={"name": "morning", "at": "07:00"}).status_code == 201
    assert _bad_fields(client.patch("/api/schedules/morning", json=change)) == fields
    unchanged = client.get("/api/schedules/morning").json()
    assert (unchanged["at"], unchanged["window_hours"], unchanged["paused"]) == ("07:00", None, False)


def test_window_and_edition_within_bounds_are_taken(client: TestClient) -> None:
    assert client.post("/api/schedules", json={"name": "early", "at": "05:00", "edition": "morning",
                                               "window_hours": 720}).status_code == 201  # fmt: skip
    changed = client.patch("/api/schedules/early", json={"window_hours": 1, "edition": "morning"})
    assert changed.status_code == 200 and changed.json()["window_hours"] == 1


def test_openapi_documents_the_api_and_no_page_loads_from_a_cdn(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/schedules", "/api/schedules/{name}"} <= set(spec["paths"])
    # /docs and /redoc load Swagger UI and ReDoc from this site (tests/test_web_docs.py).
    for path in ("/docs", "/redoc"):
        page = client.get(path, headers={"Authorization": ""})
        assert page.status_code == 200, path
        assert "https://" not in page.text and "http://" not in page.text, path
