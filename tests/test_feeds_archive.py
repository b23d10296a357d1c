"""Archived feeds, sitemaps, robots.txt and the article page's structured data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from publisher.app import App
from publisher.web import create_app
from tests.feeds_data import article, feed_bytes, parse, seed

SCHEMAS = Path(__file__).parent / "data" / "sitemaps" / "all.xsd"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def _months_of_articles(app: App, count: int = 30) -> list[str]:
    """``count`` articles, one every three days back from an hour ago: about three months."""
    now = datetime.now(UTC).replace(microsecond=0)
    items = [article(i, ("World", "Sports")[i % 2],
                     published_at=now - timedelta(hours=1, days=3 * (count - 1 - i)))
             for i in range(count)]  # fmt: skip
    seed(app, items)
    return [a.slug for a in items]


def _walk(app: App, path: str) -> tuple[list[str], list[list[str]]]:
    """What a feed reader sees: the feed's ids, then each archive page's, following prev-archive."""
    feed = parse(feed_bytes(app, path))
    current = [e.id for e in feed.entries]
    pages = []
    link = next((x.href for x in feed.feed.links if x.rel == "prev-archive"), None)
    seen = set()
    while link:
        assert link not in seen
        seen.add(link)
        page = parse(feed_bytes(app, link.split("/feeds/", 1)[1]))
        assert page.bozo == 0
        pages.append([e.id for e in page.entries])
        link = next((x.href for x in page.feed.links if x.rel == "prev-archive"), None)
    return current, pages


def test_a_reader_pages_back_through_the_archives_and_sees_each_article_once(make_settings) -> None:
    app = App(make_settings(feed_items=5))
    try:
        _months_of_articles(app)
        assert app.feeds.build_all().errors == []
        guids = {a.guid for a in app.articles.list()}
        for path in ("index.atom", "index.rss", "sections/world.atom"):
            current, pages = _walk(app, path)
            in_archives = [guid for page in pages for guid in page]
            assert len(in_archives) == len(set(in_archives))  # each article in one page only
            world = {a.guid for a in app.articles.list(section="world")}
            wanted = guids if path.startswith("index") else world
            assert set(in_archives) == wanted  # back to the oldest article, none missed
            assert set(current) <= wanted and len(pages) >= 3
        # Finished months are archive documents; the current month's page is still open.
        pages_on_disk = sorted(p.name for p in (Path(app.settings.feeds_dir) / "archive").glob("*.atom"))
        oldest = feed_bytes(app, "archive/" + pages_on_disk[0])
        assert b"<fh:archive/>" in oldest and b'rel="current"' in oldest
        # A rebuild of unchanged articles changes no byte.
        assert [r for r in app.feeds.build_all().files if r.changed] == []
    finally:
        app.close()


def test_a_retracted_article_leaves_its_archive_page_and_the_sitemaps(make_settings) -> None:
    app = App(make_settings(feed_items=5))
    try:
        slugs = _months_of_articles(app)
        app.feeds.build_all()
        newest = app.articles.get(slugs[-1])
        assert newest is not None
        news = etree.fromstring(feed_bytes(app, "sitemaps/news.xml"))
        assert [u.findtext(f"{SITEMAP}loc") for u in news] == [
            f"https://news.example.com/articles/{slugs[-1]}"
        ]
        app.retract(slugs[-1])
        assert not (Path(app.settings.feeds_dir) / "sitemaps/news.xml").exists()  # nothing recent left
        root = Path(app.settings.feeds_dir)
        files = [p for p in root.rglob("*") if p.is_file() and {"archive", "sitemaps"} & set(p.parts)]
        everything = b"".join(p.read_bytes() for p in files)
        assert newest.guid is not None and newest.guid.encode() not in everything
        assert f"/articles/{slugs[-1]}<".encode() not in everything
    finally:
        app.close()


def test_sitemaps_are_valid_against_the_sitemap_and_news_schemas(make_settings) -> None:
    app = App(make_settings())
    try:
        slugs = _months_of_articles(app)
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        seed(app, [article(99, "Tech & <Science>", title='Fish & <chips> "rise"', published_at=recent)])
        assert app.feeds.build_all().errors == []
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS)))
        root = Path(app.settings.feeds_dir) / "sitemaps"
        files = sorted(root.glob("*.xml"))
        assert {"index.xml", "news.xml", "pages.xml"} <= {f.name for f in files}
        for file in files:
            assert schema.validate(etree.parse(str(file))), (file.name, schema.error_log)
        index = etree.parse(str(root / "index.xml")).getroot()
        listed = {s.findtext(f"{SITEMAP}loc").rsplit("/", 1)[1] for s in index}
        assert listed == {f.name for f in files} - {"index.xml", "news.xml"}
        urls = {u.findtext(f"{SITEMAP}loc") for f in files if f.name.startswith("articles-")
                for u in etree.parse(str(f)).getroot()}  # fmt: skip
        assert urls == {f"https://news.example.com/articles/{s}" for s in [*slugs, "story-99"]}
        news = etree.parse(str(root / "news.xml")).getroot()
        titles = [u.findtext(f"{NEWS}news/{NEWS}title") for u in news]
        assert titles == ["Story 29 about Sports", 'Fish & <chips> "rise"']
        assert news.findtext(f".//{NEWS}publication/{NEWS}name") == "Newslooks"
        robots = (Path(app.settings.feeds_dir) / "robots.txt").read_text()
        assert "Sitemap: https://news.example.com/sitemap.xml" in robots
        assert "Sitemap: https://news.example.com/sitemaps/news.xml" in robots
    finally:
        app.close()


def test_sitemaps_and_robots_are_served_like_feeds(app: App) -> None:
    _months_of_articles(app, 3)
    app.feeds.build_all()
    with TestClient(create_app(app)) as client:
        xml = "application/xml"
        for path, kind in (("/sitemap.xml", xml), ("/sitemaps/news.xml", xml), ("/sitemaps/pages.xml", xml),
                           ("/robots.txt", "text/plain")):  # fmt: skip
            first = client.get(path)
            assert first.status_code == 200 and first.headers["content-type"].startswith(kind), path
            again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304
        assert client.get("/sitemaps/index.xml").status_code == 404  # only as /sitemap.xml
        assert client.get("/feeds/robots.txt").status_code == 404


def test_the_article_page_has_news_article_json_ld_open_graph_and_a_canonical_link(app: App) -> None:
    hostile = 'Breaking </script><script>alert(1)</script> & "quotes" <!--'
    seed(app, [article(1, "World", title=hostile, authors=("Ann </script>",))])
    with TestClient(create_app(app)) as client:
        page = client.get("/articles/story-1")
    assert page.status_code == 200
    html = page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]  # the data block is not a script
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1 and "<" not in blocks[0]  # nothing in it can close or open an element
    data = json.loads(blocks[0])
    assert data["@type"] == "NewsArticle" and data["headline"] == hostile
    for key in ("headline", "datePublished", "dateModified", "author", "publisher", "articleSection"):
        assert data[key], key
    assert data["author"] == [{"@type": "Person", "name": "Ann </script>"}]
    assert data["publisher"]["name"] == "Newslooks"
    assert '<link rel="canonical" href="https://news.example.com/articles/story-1">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert html.index("Quick Looks") < html.index("Deep Look")
    assert html.count("<script") == 1  # only the data block
