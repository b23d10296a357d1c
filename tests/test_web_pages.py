"""The reader's pages: rendered from templates/web/, one cached stylesheet, dates in words, a
searchable time-zone list, templates overridable file by file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.subscribers.model import validate
from publisher.unsubscribe import make_token
from publisher.web import create_app
from tests.feeds_data import article, seed


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    seed(app, [article(1, "World")])
    with TestClient(create_app(app)) as test_client:
        yield test_client


def _stylesheet_url(html: str) -> str:
    [url] = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    return url


def test_every_page_links_the_one_stylesheet_which_is_cached(app: App, client: TestClient) -> None:
    app.subscribers.upsert_many([validate("ana@example.org")])
    subscriber = app.subscribers.find("ana@example.org")
    assert subscriber is not None
    token = make_token(app.settings.secret_key, subscriber.id)
    pages = ["/", "/sections/world", "/articles/story-1", f"/preferences/{token}", f"/unsubscribe/{token}",
             "/nowhere", "/unsubscribe/1.forged"]  # fmt: skip
    urls = {_stylesheet_url(client.get(page).text) for page in pages}
    [url] = urls
    assert re.fullmatch(r"/static/site\.css\?v=[0-9a-f]{16}", url)
    css = client.get(url)
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in css.headers["cache-control"]
    assert "prefers-color-scheme: dark" in css.text and "Georgia" in css.text
    assert client.get(url, headers={"If-None-Match": css.headers["etag"]}).status_code == 304
    assert "immutable" not in client.get("/static/site.css?v=old").headers["cache-control"]


def test_dates_are_written_in_words(client: TestClient) -> None:
    page = client.get("/articles/story-1").text
    in_words = r"[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4}"
    assert re.search(rf'<time datetime="\d{{4}}-\d\d-\d\dT[^"]+Z">{in_words}</time>', page)


def test_the_time_zone_field_is_a_searchable_list(app: App, client: TestClient) -> None:
    app.subscribers.upsert_many([validate("ana@example.org", timezone="Asia/Kathmandu")])
    subscriber = app.subscribers.find("ana@example.org")
    assert subscriber is not None
    page = client.get(f"/preferences/{make_token(app.settings.secret_key, subscriber.id)}").text
    assert 'list="zones"' in page and '<datalist id="zones">' in page
    assert '<option value="America/New_York">' in page and '<option value="UTC">' in page
    assert 'value="Asia/Kathmandu"' in page


def test_a_404_is_a_page_and_the_api_404_is_json(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert client.get("/articles/nothing").text.count("<h1>") == 1


def test_web_templates_are_overridable_file_by_file(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    override = tmp_path / "override" / "web"
    override.mkdir(parents=True)
    (override / "message.html").write_text(
        '{% extends "web/base.html" %}{% block main %}<h1>Ours: {{ heading }}</h1>{% endblock %}'
    )
    app = App(make_settings(templates_dir=str(override.parent)))
    with TestClient(create_app(app)) as custom:
        page = custom.get("/nowhere").text
        assert "<h1>Ours: Not found</h1>" in page and "/static/site.css?v=" in page
    app.close()
