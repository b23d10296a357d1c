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
