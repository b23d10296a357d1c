"""``/api/articles``: publish and retract through the ops API; the feeds follow."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.web import create_app

TOKEN = "ops-token"
ARTICLE = {
    "title": "Harbor <Bridge> Reopens",
    "section": "US News",
    "summary": "The bridge reopened.",
    "quick_looks": ["Traffic flows again"],
    "body_html": "<p>It reopened.</p><script>alert(1)</script>",
}


@pytest.fixture
def api(make_settings):  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=TOKEN))
    with TestClient(create_app(app)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield app, client
    app.close()


def _site_feed(app: App) -> feedparser.FeedParserDict:
    return feedparser.parse((Path(app.settings.feeds_dir) / "index.atom").read_bytes())


def test_publish_update_retract(api) -> None:  # type: ignore[no-untyped-def]
    app, client = api
    created = client.post("/api/articles", json=ARTICLE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "created"
    assert body["article"]["slug"] == "harbor-bridge-reopens"
    assert body["article"]["body_html"] == "<p>It reopened.</p>"
    feed = _site_feed(app)
    assert feed.bozo == 0 and [e.title for e in feed.entries] == ["Harbor <Bridge> Reopens"]

    same = client.post("/api/articles", json=ARTICLE)
    assert (same.status_code, same.json()["status"]) == (200, "unchanged")
    changed = client.post("/api/articles", json={**ARTICLE, "summary": "Reopened at dawn."})
    assert (changed.status_code, changed.json()["status"]) == (200, "updated")

    retracted = client.delete("/api/articles/harbor-bridge-reopens")
    assert retracted.status_code == 200 and retracted.json()["status"] == "retracted"
    assert _site_feed(app).entries == []
    assert client.delete("/api/articles/harbor-bridge-reopens").status_code == 200  # idempotent
    assert client.delete("/api/articles/no-such-article").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"section": "World"}, "title"),
        ({"title": "T", "section": "S", "quick_looks": "x"}, "quick_looks"),
        ({"title": "T", "section": "S", "image": {"url": "ftp://x"}}, "image.url"),
        ({"title": "T", "section": "S", "nope": 1}, "nope"),
    ],
)
def test_bad_article_is_422_naming_the_field(api, body: dict, field: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    _app, client = api
    response = client.post("/api/articles", json=body)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]


def test_articles_api_needs_the_token(api) -> None:  # type: ignore[no-untyped-def]
    _app, client = api
    assert (
        client.post("/api/articles", json=ARTICLE, headers={"Authorization": "Bearer x"}).status_code == 401
    )


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ("[" * 5000 + "]" * 5000, "body", "nested deeper than 16 levels"),  # a 400 from FastAPI before
        ('{"title": "T", "section": "S", "summary": ' + "9" * 5000 + "}", "body", "more than 40 digits"),
        ('{"title": NaN, "section": "S"}', "body", "NaN is not JSON"),  # stored as "nan" before
        ('{"title": 1e999, "section": "S"}', "body", "too large"),  # stored as "inf" before
        ('{"title": "T", "section": "S", "published_at": "9999-12-31T23:59:59-23:59"}', "published_at",
         "between the years 1970 and 2100"),  # a 500 (OverflowError) before
        ('{"title": "T", "section": "S", "published_at": "0001-01-01"}', "published_at", "1970"),
        ('{"title": "T", "section": "S", "updated_at": "2101-01-01"}', "updated_at", "1970"),
        ('{"title": "T", "section": "S", "image": {"url": "http://[::1"}}', "image.url", "not an absolute"),
        ('{"title": "T", "section": "S", "id": [1]}', "id", "expected text or a whole number"),
        ('[{"title": "T", "section": "S"}]', "body", "expected one article object"),
        ('{"title": "T",', "body", "invalid JSON"),
        ("\udcff", "body", "not UTF-8"),
    ],
    ids=lambda value: repr(value)[:30],
)  # fmt: skip
def test_hostile_bodies_are_422_naming_the_field(api, raw: str, field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    _app, client = api
    content = raw.encode("utf-8", "surrogateescape")
    response = client.post("/api/articles", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"][-1] == field
    assert message in error["msg"]


def test_an_id_keeps_the_slug_through_a_corrected_headline(api) -> None:  # type: ignore[no-untyped-def]
    app, client = api
    created = client.post("/api/articles", json={**ARTICLE, "id": "harbor-42"}).json()
    assert created["article"]["source_id"] == "harbor-42"
    fixed = client.post(
        "/api/articles", json={**ARTICLE, "id": "harbor-42", "title": "Harbor Bridge Reopened"}
    )
    assert (fixed.status_code, fixed.json()["status"]) == (200, "updated")
    assert fixed.json()["article"]["slug"] == created["article"]["slug"] == "harbor-bridge-reopens"
    other = client.post("/api/articles", json={**ARTICLE, "id": "another-paper"})
    assert (other.status_code, other.json()["article"]["slug"]) == (201, "harbor-bridge-reopens-2")
    assert sorted(e.title for e in _site_feed(app).entries) == [
        "Harbor <Bridge> Reopens", "Harbor Bridge Reopened",
    ]  # fmt: skip


def test_a_retraction_sticks_until_restored(api) -> None:  # type: ignore[no-untyped-def]
    app, client = api
    client.post("/api/articles", json=ARTICLE)
    client.delete("/api/articles/harbor-bridge-reopens")
    again = client.post("/api/articles", json={**ARTICLE, "summary": "Corrected."})
    assert (again.status_code, again.json()["status"]) == (200, "retracted")  # before: "updated", live
    assert _site_feed(app).entries == []
    restored = client.post("/api/articles/harbor-bridge-reopens/restore")
    assert (restored.status_code, restored.json()["status"]) == (200, "restored")
    assert restored.json()["article"]["summary"] == "Corrected."
    assert [e.title for e in _site_feed(app).entries] == ["Harbor <Bridge> Reopens"]
    assert client.post("/api/articles/no-such-article/restore").status_code == 404
