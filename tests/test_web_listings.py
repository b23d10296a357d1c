"""The paged lists: a section's articles (/sections/<slug>) and every edition that went out
(/editions/), each with its feeds' autodiscovery links; a page that does not exist is a 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.edition import EditionSpec, load_edition
from publisher.web import create_app
from publisher.web.articles import PAGE_SIZE
from publisher.web.editions import LIST_SIZE
from tests.edition_data import CUTOFF, example_articles
from tests.feeds_data import article, feed_bytes, parse, seed

BAD_PAGES = ["0", "-1", "abc", "1e3", "1.0", " 1", "01", "\uff11", "9" * 7, "9" * 400, ""]


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def _links(html: str, rel: str) -> list[str]:
    return re.findall(rf'<a href="([^"]+)" rel="{rel}">', html)


def test_a_section_is_paged_newest_first_with_every_article_once(app: App, client: TestClient) -> None:
    count = 2 * PAGE_SIZE + 5
    seed(app, [article(i, "World") for i in range(count)] + [article(1000, "Sports")])
    seen: list[str] = []
    url = "/sections/world"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        html = page.text
        pages += 1
        # The section's feeds, discoverable from every page.
        for kind in ("rss", "atom", "json"):
            assert re.search(rf'<link rel="alternate" type="application/[a-z]+\+(xml|json)" [^>]*'
                             rf'href="[^"]+/feeds/sections/world\.{kind}">', html), kind  # fmt: skip
        seen += re.findall(r'href="https://[^"]+/articles/(story-\d+)"', html)
        assert f"Page {pages} of 3" in html
        older = _links(html, "next")
        url = older[0] if older else ""
    assert pages == 3
    assert seen == [f"story-{i}" for i in reversed(range(count))]  # newest first, each once
    last = client.get("/sections/world?page=3").text
    assert _links(last, "prev") == ["/sections/world?page=2"] and _links(last, "next") == []
    assert _links(client.get("/sections/world?page=2").text, "prev") == ["/sections/world"]
    assert "<title>World, page 2 · " in client.get("/sections/world?page=2").text
    assert "Page 1 of" not in client.get("/sections/sports").text  # one page: no pager


@pytest.mark.parametrize("page", [*BAD_PAGES, "4"])
def test_a_page_past_the_last_or_not_a_number_is_a_404(app: App, client: TestClient, page: str) -> None:
    seed(app, [article(i, "World") for i in range(2 * PAGE_SIZE + 5)])
    for path in ("/sections/world", "/editions/"):
        if path == "/editions/" and page == "4":
            page = "2"  # no edition went out: one, empty, page
        response = client.get(path, params={"page": page})
        assert response.status_code == 404, (path, page)
        assert "<h1>Not found</h1>" in response.text


def _send_editions(app: App, days: int) -> list[str]:
    """``days`` Morning Editions that went out, a day apart back from the example one; and one
    draft (not sent) after them. Returns the sent ones' dates, newest first."""
    app.articles.save_many(example_articles())
    spec = EditionSpec.from_settings(app.settings)
    edition = load_edition(app.articles, spec, CUTOFF.date())
    store = app.edition_store
    dates = []
    for back in range(days):
        day = CUTOFF.date() - timedelta(days=back)
        edition_id = store.create(replace(edition, date=day))
        app.lifecycle.started(edition_id)
        dates.append(day.isoformat())
    store.create(replace(edition, date=CUTOFF.date() + timedelta(days=1)))  # a draft: not gone out
    return dates


def test_the_editions_list_shows_every_edition_gone_out_newest_first(app: App, client: TestClient) -> None:
    dates = _send_editions(app, LIST_SIZE + 3)
    first = client.get("/editions/")
    assert first.status_code == 200
    html = first.text
    assert first.headers["cache-control"].startswith("public")
    # The editions feeds, discoverable and linked.
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" [^>]*href="[^"]+/feeds/editions/'
                     r'morning\.atom">', html)  # fmt: skip
    assert re.search(r'<link rel="alternate" type="application/rss\+xml" [^>]*href="[^"]+/feeds/editions/'
                     r'morning\.rss">', html)  # fmt: skip
    linked = re.findall(r'<a href="https://[^"]+/editions/morning/(\d{4}-\d\d-\d\d)">([^<]+)</a>', html)
    second = client.get(_links(html, "next")[0]).text
    linked += re.findall(r'<a href="https://[^"]+/editions/morning/(\d{4}-\d\d-\d\d)">([^<]+)</a>', second)
    assert [day for day, _ in linked] == dates  # newest first, each once, the draft not among them
    assert all(subject.strip() for _, subject in linked)
    # The date as people write it, the machine-readable one beside it.
    # One edition name: its title is in every subject, the date alone beside it.
    assert '<time class="meta" datetime="2026-11-25">Wednesday, November 25, 2026</time>' in html
    # Each link leads to the edition's archive page.
    assert client.get("/editions/morning/2026-11-25").status_code == 200


def test_no_edition_yet_is_an_empty_list_not_an_error(client: TestClient) -> None:
    page = client.get("/editions/")
    assert page.status_code == 200 and "No edition has gone out yet." in page.text


def test_the_editions_feeds_hold_the_editions_that_went_out(app: App) -> None:
    dates = _send_editions(app, 3)
    app.feeds.build_all()
    for path in ("editions/morning.atom", "editions/morning.rss"):
        feed = parse(feed_bytes(app, path))
        assert feed.bozo == 0
        assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == dates
    # Unchanged: not rewritten. A correction to one of their articles: the digest shows it.
    assert [r.path for r in app.feeds.build_all().files if r.changed and r.path.startswith("editions/")] == []
    lead = app.articles.list()[0]
    app.articles.save_many([replace(lead, title="A corrected headline")])
    changed = [r.path for r in app.feeds.refresh([lead.section_slug]).files if r.changed]
    assert {"editions/morning.atom", "editions/morning.rss"} <= set(changed)
    assert b"A corrected headline" in feed_bytes(app, "editions/morning.atom")
