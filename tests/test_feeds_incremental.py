"""What a FeedService keeps between builds: unchanged files are neither rendered nor written, a
change re-renders only what shows it, and the bytes are those a fresh build writes. Also image
sizes, from the article to Media RSS."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from publisher.app import App
from publisher.article import Image, article_from_mapping
from publisher.errors import IngestError
from publisher.feeds import archive
from publisher.feeds.build import FeedService
from publisher.feeds.store import DirectoryFeedStore
from publisher.ingest.frontmatter import parse_markdown
from tests.feeds_data import article, feed_bytes, parse, seed

MEDIA = "{http://search.yahoo.com/mrss/}"


def _every_file(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _three_months(app: App) -> list[str]:
    """Articles over three months, the newest an hour ago: two closed months and the current one."""
    now = datetime.now(UTC).replace(microsecond=0)
    items = [article(i, ("World", "Sports")[i % 2], published_at=now - timedelta(hours=1, days=6 * (14 - i)))
             for i in range(15)]  # fmt: skip
    seed(app, items)
    return [a.slug for a in items]


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"pages": 0, "entries": 0}
    for name, kind in (("atom_page", "pages"), ("rss_page", "pages"), ("archive_item", "entries")):
        original = getattr(archive, name)

        def counting(*args, _original=original, _kind=kind):  # type: ignore[no-untyped-def]
            calls[_kind] += 1
            return _original(*args)

        monkeypatch.setattr(archive, name, counting)
    import publisher.feeds.build as build

    monkeypatch.setattr(build, "ARCHIVE_FORMATS", {"atom": archive.atom_page, "rss": archive.rss_page})
    return calls


def test_a_refresh_renders_only_what_changed_and_writes_what_a_fresh_build_writes(
    make_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(make_settings(feed_items=3))
    try:
        slugs = _three_months(app)
        assert app.feeds.build_all().errors == []
        calls = _count_renders(monkeypatch)
        # Nothing changed: no archive page, entry or sitemap is rendered, no file is written.
        root = Path(app.settings.feeds_dir)
        before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
        result = app.feeds.build_all()
        assert calls == {"pages": 0, "entries": 0}
        assert [r.path for r in result.records + result.files if r.changed] == []
        assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before
        # A correction to the oldest article (a month that is over): its page in the site's archive
        # and in its section's, in both formats, and one new entry; no other month's page.
        oldest = app.articles.get(slugs[0])
        assert oldest is not None
        app.articles.save_many([replace(oldest, title="Corrected headline")])
        result = app.feeds.refresh([oldest.section_slug])
        assert calls == {"pages": 4, "entries": 1}
        month = archive.month_of(oldest.published_at)
        rewritten = sorted(r.path for r in result.files if r.changed and r.path.startswith("archive/"))
        assert rewritten == [f"archive/{month}.atom", f"archive/{month}.rss",
                             f"archive/sections/{oldest.section_slug}/{month}.atom",
                             f"archive/sections/{oldest.section_slug}/{month}.rss"]  # fmt: skip
        assert b"Corrected headline" in feed_bytes(app, f"archive/{month}.atom")
        # Its month's sitemap, the index (lastmod) and the pages (the home page's lastmod).
        maps = sorted(r.path for r in result.files if r.changed and r.path.startswith("sitemaps/"))
        assert maps == [f"sitemaps/articles-{month}.xml", "sitemaps/index.xml", "sitemaps/pages.xml"]
        # A retraction and a new article; then a fresh service builds the same bytes from scratch.
        app.articles.retract(slugs[5])
        seed(app, [article(99, "World", published_at=datetime.now(UTC) - timedelta(minutes=5))])
        app.feeds.build_all()
        fresh_root = tmp_path / "fresh"
        fresh = FeedService(app.settings, app.articles, DirectoryFeedStore(fresh_root))
        assert fresh.build_all().errors == []
        assert _every_file(fresh_root) == _every_file(root)
    finally:
        app.close()


def test_entries_kept_between_builds_are_bounded_by_the_live_articles(make_settings, monkeypatch) -> None:
    import publisher.feeds.build as build

    monkeypatch.setattr(build, "KEEP_ENTRIES", 4)
    monkeypatch.setattr(build, "ENTRY_SLACK", 0)
    app = App(make_settings(feed_items=3))
    try:
        slugs = _three_months(app)
        app.feeds.build_all()
        assert sorted(row.slug for row in app.feeds._entries) == sorted(slugs[-4:])  # the newest four
        for slug in slugs[-3:]:
            app.articles.retract(slug)
            app.feeds.build_all()
            assert len(app.feeds._entries) <= 5  # four, and stale ones up to a quarter more
    finally:
        app.close()


def test_image_width_and_height_are_optional_positive_whole_numbers() -> None:
    base = {"title": "Harbor Opens", "section": "World"}
    image = {"url": "https://img.example.com/a.jpg", "alt": "The harbour", "width": 1200, "height": 800}
    parsed = article_from_mapping({**base, "image": image})
    assert parsed.image == Image("https://img.example.com/a.jpg", "The harbour", 1200, 800)
    assert parsed.to_json()["image"] == image
    only_url = article_from_mapping({**base, "image": {"url": image["url"]}})
    assert only_url.image == Image(image["url"], "")
    assert only_url.to_json()["image"] == {"url": image["url"], "alt": ""}  # the content hash as before
    for bad in (0, -1, 20_001, 1.5, "1200", True, [1]):
        with pytest.raises(IngestError) as caught:
            article_from_mapping({**base, "image": {**image, "height": bad}})
        assert caught.value.field == "image.height"
    text = ("---\ntitle: Harbor Opens\nsection: World\nimage:\n  url: https://img.example.com/a.jpg\n"
            "  alt: The harbour\n  width: 640\n---\nBody.\n")  # fmt: skip
    front = parse_markdown(text)
    assert front.image == Image("https://img.example.com/a.jpg", "The harbour", 640, None)


def test_image_sizes_are_stored_and_written_to_media_rss(app) -> None:
    seed(app, [article(1, image=Image("https://img.example.com/1.jpg", "One", 1200, 800)),
               article(2, image=Image("https://img.example.com/2.jpg", "", None, 300)),
               article(3, image=Image("https://img.example.com/3.jpg", "Three"))])  # fmt: skip
    stored = app.articles.get("story-1")
    assert stored is not None and stored.image == Image("https://img.example.com/1.jpg", "One", 1200, 800)
    app.feeds.build_all()
    month = archive.month_of(article(1).published_at)  # type: ignore[arg-type]
    for path in ("index.rss", "index.atom", f"archive/{month}.rss", f"archive/{month}.atom"):
        data = feed_bytes(app, path)
        assert parse(data).bozo == 0
        found = {c.get("url"): (c.get("width"), c.get("height"))
                 for c in etree.fromstring(data).iter(f"{MEDIA}content")}  # fmt: skip
        assert found == {"https://img.example.com/1.jpg": ("1200", "800"),
                         "https://img.example.com/2.jpg": (None, "300"),
                         "https://img.example.com/3.jpg": (None, None)}, path  # fmt: skip


def test_the_article_page_gives_the_image_size_where_known(app) -> None:
    from fastapi.testclient import TestClient

    from publisher.web import create_app

    seed(app, [article(1, image=Image("https://img.example.com/1.jpg", "One", 1200, 800)),
               article(2, image=Image("https://img.example.com/2.jpg", "Two", 1200, None))])  # fmt: skip
    with TestClient(create_app(app)) as client:
        sized = client.get("/articles/story-1").text
        assert '<img src="https://img.example.com/1.jpg" alt="One" width="1200" height="800">' in sized
        assert '<meta property="og:image:width" content="1200">' in sized
        assert '<meta property="og:image:height" content="800">' in sized
        ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', sized).group(1))
        assert ld["image"] == [{"@type": "ImageObject", "url": "https://img.example.com/1.jpg", "width": 1200,
                                "height": 800}]  # fmt: skip
        half = client.get("/articles/story-2").text
        assert '<img src="https://img.example.com/2.jpg" alt="Two">' in half  # both or neither
        assert "og:image:height" not in half
        ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', half).group(1))
        assert ld["image"] == ["https://img.example.com/2.jpg"]


@pytest.mark.parametrize("kind", ["directory", "memory"])
def test_a_file_another_process_wrote_is_written_again(make_settings, kind: str) -> None:
    from publisher.feeds.store import MemoryFeedStore

    app = App(make_settings(feed_items=3))
    try:
        _three_months(app)
        store = DirectoryFeedStore(app.settings.feeds_dir) if kind == "directory" else MemoryFeedStore()
        service = FeedService(app.settings, app.articles, store)
        service.build_all()
        month = archive.month_of(datetime.now(UTC) - timedelta(days=40))
        paths = ["index.atom", f"archive/{month}.rss", f"sitemaps/articles-{month}.xml",
                 "editions/morning.atom"]  # fmt: skip
        good = {path: store.read(path) for path in paths}
        # Another worker process (its own service) wrote older versions of these files.
        for path in paths:
            store.write(path, b"<stale/>", datetime.now(UTC))
        result = service.build_all()
        assert {r.path for r in result.files + result.records if r.changed} == set(paths)  # those only
        assert {path: store.read(path) for path in paths} == good
    finally:
        app.close()
