"""``publisher serve`` against real HTTP clients on loopback: feeds with ETag/Last-Modified/304,
HEAD, gzip, 404; article pages with feed autodiscovery."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from email.utils import format_datetime, parsedate_to_datetime

import httpx
import pytest

from publisher.feeds import etag
from publisher.web import create_app
from tests.feeds_data import article, feed_bytes, parse, seed
from tests.live_server import serving


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """The web app of ``app`` on uvicorn, on a free 127.0.0.1 port, in a thread."""
    with serving(create_app(app)) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def published(app):  # type: ignore[no-untyped-def]
    seed(app, [article(1, "World"), article(2, "Sports"), article(3, "World")])
    assert app.feeds.build_all().errors == []
    return app


def test_feed_200_with_headers_then_304_for_if_none_match_and_if_modified_since(published, base_url) -> None:
    with httpx.Client(base_url=base_url) as client:
        first = client.get("/feeds/index.rss", headers={"Accept-Encoding": "identity"})
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/rss+xml; charset=utf-8"
        assert first.headers["etag"] == etag(feed_bytes(published, "index.rss"))
        assert first.headers["cache-control"] == "public, max-age=300"
        assert first.content == feed_bytes(published, "index.rss")
        # Update times keep microseconds; an HTTP date has whole seconds.
        newest = max(a.updated_at for a in published.articles.list()).replace(microsecond=0)
        assert parsedate_to_datetime(first.headers["last-modified"]) == newest
        assert parse(first.content).bozo == 0

        by_etag = client.get("/feeds/index.rss", headers={"If-None-Match": first.headers["etag"],
                                                           "Accept-Encoding": "identity"})  # fmt: skip
        assert by_etag.status_code == 304
        assert by_etag.content == b""
        assert by_etag.headers["etag"] == first.headers["etag"]

        last_modified = first.headers["last-modified"]
        by_date = client.get("/feeds/index.rss", headers={"If-Modified-Since": last_modified})
        assert by_date.status_code == 304
        older = format_datetime(newest.replace(year=newest.year - 1), usegmt=True)
        assert client.get("/feeds/index.rss", headers={"If-Modified-Since": older}).status_code == 200
        both = {"If-None-Match": '"other"', "If-Modified-Since": last_modified}
        stale = client.get("/feeds/index.rss", headers=both)
        assert stale.status_code == 200  # If-None-Match wins

        # A change: the article is edited and the feeds refreshed; the old validators no longer match.
        time.sleep(1.1)  # a later updated_at second
        published.articles.save_many([replace(published.articles.get("story-3"), title="Story 3, updated")])
        published.feeds.refresh(["world"])
        after = client.get("/feeds/index.rss", headers={"If-None-Match": first.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"] != first.headers["etag"]
        assert parse(after.content).entries[0].title == "Story 3, updated"
        again = client.get("/feeds/index.rss", headers={"If-Modified-Since": last_modified})
        assert again.status_code == 200


def test_every_format_and_section_is_served_with_its_type(published, base_url) -> None:
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
    with httpx.Client(base_url=base_url) as client:
        for path in ("index", "sections/world", "sections/sports"):
            for ext, media_type in types.items():
                response = client.get(f"/feeds/{path}.{ext}")
                assert response.status_code == 200
                assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
                assert response.content == feed_bytes(published, f"{path}.{ext}")


def test_head_gzip_and_404(published, base_url) -> None:
    raw = feed_bytes(published, "index.atom")
    with httpx.Client(base_url=base_url) as client:
        head = client.head("/feeds/index.atom", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == str(len(raw))
        assert head.headers["etag"] == etag(raw)

        with client.stream("GET", "/feeds/index.atom", headers={"Accept-Encoding": "gzip"}) as response:
            body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == raw
        gzip_tag = response.headers["etag"]
        assert gzip_tag != etag(raw)
        headers = {"Accept-Encoding": "gzip", "If-None-Match": gzip_tag}
        revalidated = client.get("/feeds/index.atom", headers=headers)
        assert revalidated.status_code == 304
        no_gzip = client.get("/feeds/index.atom", headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in no_gzip.headers

        missing_paths = ("/feeds/nope.rss", "/feeds/index.xml", "/feeds/sections", "/feeds/",
                         "/feeds/%2e%2e/publisher.db")  # fmt: skip
        for missing in missing_paths:
            assert client.get(missing).status_code == 404, missing
    # Sent as is (an HTTP client would normalise the dots away).
    for raw_path in ("/feeds/../publisher.db", "/feeds/sections/../../publisher.db", "/feeds//etc/passwd"):
        assert _raw_status(base_url, raw_path) == 404, raw_path


def _raw_status(base_url: str, path: str) -> int:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return int(conn.recv(100).split()[1])


def test_article_page_resolves_item_links_and_autodiscovers_feeds(published, base_url) -> None:
    link = parse(feed_bytes(published, "index.rss")).entries[0].link
    assert link.startswith("https://news.example.com/articles/")
    slug = link.rsplit("/", 1)[1]
    with httpx.Client(base_url=base_url) as client:
        page = client.get(f"/articles/{slug}")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        html = page.text
        for feed in ("index.rss", "index.atom", "index.json",
                     "sections/world.rss", "sections/world.atom", "sections/world.json"):  # fmt: skip
            assert f'href="https://news.example.com/feeds/{feed}"' in html
        assert '<link rel="alternate" type="application/rss+xml" title="Newslooks (RSS)"' in html
        assert "<h1>Story 3 about World</h1>" in html
        assert client.get("/articles/no-such-story").status_code == 404
        published.retract(slug)
        assert client.get(f"/articles/{slug}").status_code == 404
        assert client.get("/sections/world").status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}


def test_article_page_escapes_markup(app, base_url, tmp_path) -> None:
    from tests.feeds_data import write_json

    evil = {"title": "<script>alert(1)</script> & co", "section": "World", "slug": "evil",
            "summary": "<img src=x onerror=alert(1)>"}  # fmt: skip
    write_json(tmp_path / "a.json", [evil])
    list(app.ingest([tmp_path / "a.json"]))
    html = httpx.get(f"{base_url}/articles/evil").text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<img src=x" not in html


def test_publisher_serve_command_serves_feeds(published, tmp_path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = published.settings
    env = {**os.environ, "PUBLISHER_DATABASE_URL": settings.database_url,
           "PUBLISHER_FEEDS_DIR": settings.feeds_dir, "PUBLISHER_VAR_DIR": settings.var_dir,
           "PUBLISHER_SITE_URL": settings.site_url, "PUBLISHER_FEED_MAX_AGE": "60"}  # fmt: skip
    command = [sys.executable, "-c", "from publisher.cli import main; main()",
               "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/feeds/sections/world.json")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "publisher serve did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=60"
        assert response.content == feed_bytes(published, "sections/world.json")
        revalidated = httpx.get(f"http://127.0.0.1:{port}/feeds/sections/world.json",
                                headers={"If-None-Match": response.headers["etag"]})  # fmt: skip
        assert revalidated.status_code == 304
    finally:
        process.terminate()
        process.wait(timeout=10)
