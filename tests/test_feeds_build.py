"""Building every feed from the store: what feed readers get, and what a rebuild writes."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from publisher.feeds import etag
from publisher.feeds.build import FeedService
from publisher.feeds.store import MemoryFeedStore
from tests.feeds_data import article, feed_bytes, parse, seed, snapshot

SITE = "https://news.example.com"
SECTIONS = ["World", "Sports", "Health"]


def _seed_three_sections(app, count=12):  # type: ignore[no-untyped-def]
    articles = [article(i, SECTIONS[i % 3]) for i in range(count)]
    seed(app, articles)
    return articles


def test_every_feed_reads_with_bozo_0_newest_first_with_stable_ids_and_permalinks(app) -> None:
    _seed_three_sections(app)
    result = app.feeds.build_all()

    assert result.errors == []
    assert [(r.path, r.format, r.section, r.items) for r in result.records] == [
        ("index.rss", "rss", None, 12), ("index.atom", "atom", None, 12), ("index.json", "json", None, 12),
        ("sections/health.rss", "rss", "health", 4), ("sections/health.atom", "atom", "health", 4),
        ("sections/health.json", "json", "health", 4),
        ("sections/sports.rss", "rss", "sports", 4), ("sections/sports.atom", "atom", "sports", 4),
        ("sections/sports.json", "json", "sports", 4),
        ("sections/world.rss", "rss", "world", 4), ("sections/world.atom", "atom", "world", 4),
        ("sections/world.json", "json", "world", 4),
    ]  # fmt: skip
    for record in result.records:
        assert record.url == f"{SITE}/feeds/{record.path}"
        data = feed_bytes(app, record.path)
        assert record.etag == etag(data)
        stored = app.articles.list(section=record.section)
        expected_ids = [a.guid for a in stored]
        expected_links = [f"{SITE}/articles/{a.slug}" for a in stored]
        if record.format == "json":
            feed = json.loads(data)
            assert feed["version"] == "https://jsonfeed.org/version/1.1"
            assert feed["feed_url"] == record.url
            assert [i["id"] for i in feed["items"]] == expected_ids
            assert [i["url"] for i in feed["items"]] == expected_links
            continue
        parsed = parse(data)
        assert parsed.bozo == 0, (record.path, parsed.get("bozo_exception"))
        assert parsed.version == ("rss20" if record.format == "rss" else "atom10")
        assert [e.id for e in parsed.entries] == expected_ids
        assert [e.link for e in parsed.entries] == expected_links
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [record.url]


def test_items_carry_dates_authors_section_summary_and_content_in_order(app) -> None:
    seed(app, [article(1, "World")])
    app.feeds.build_all()
    stored = app.articles.get("story-1")
    for path in ("index.rss", "index.atom"):
        entry = parse(feed_bytes(app, path)).entries[0]
        assert entry.title == "Story 1 about World"
        assert entry.summary == "Summary of story 1."
        assert [t.term for t in entry.tags] == ["World"]
        assert entry.published_parsed[:6] == stored.published_at.timetuple()[:6]
        assert {a.name for a in entry.authors} == {"A. Writer", "B. Editor"}
        html = entry.content[0].value
        assert html == (
            "<h2>Key Quick Looks</h2><ul><li>First point of 1</li><li>Second point of 1</li></ul>"
            "<h2>Deep Look</h2><p>Deep text of story 1.</p>"
        )
    atom_entry = parse(feed_bytes(app, "index.atom")).entries[0]
    assert atom_entry.updated_parsed[:6] == stored.updated_at.timetuple()[:6]
    assert atom_entry.content[0].type == "text/html"


def test_newest_n_per_feed_from_the_setting(make_settings) -> None:
    from publisher.app import App

    app = App(make_settings(feed_items=3))
    try:
        seed(app, [article(i, "World") for i in range(7)])
        app.feeds.build_all()
        entries = parse(feed_bytes(app, "index.atom")).entries
        assert [e.link.rsplit("/", 1)[1] for e in entries] == ["story-6", "story-5", "story-4"]
    finally:
        app.close()


def test_unchanged_rebuild_is_byte_identical_and_writes_nothing(app) -> None:
    _seed_three_sections(app)
    first = app.feeds.build_all()
    before = snapshot(app)
    second = app.feeds.build_all()
    assert snapshot(app) == before  # same inode, same mtime, same bytes
    assert [r.changed for r in first.records] == [True] * 12
    assert [r.changed for r in second.records] == [False] * 12
    assert [r.etag for r in second.records] == [r.etag for r in first.records]


def test_two_stores_built_from_the_same_articles_are_identical(app) -> None:
    _seed_three_sections(app)
    a, b = MemoryFeedStore(), MemoryFeedStore()
    FeedService(app.settings, app.articles, a).build_all()
    FeedService(app.settings, app.articles, b).build_all()
    assert a.files == b.files


def test_changing_one_article_rewrites_only_the_site_and_its_section_feeds(app, tmp_path: Path) -> None:
    _seed_three_sections(app)
    app.feeds.build_all()
    before = snapshot(app)
    changed = replace(app.articles.get("story-4"), title="Story 4, corrected")  # a Sports story
    app.articles.save_many([changed])

    result = app.feeds.refresh(["sports"])

    after = snapshot(app)
    rewritten = sorted(p for p in after if after[p] != before[p])
    assert rewritten == ["index.atom", "index.json", "index.rss",
                         "sections/sports.atom", "sections/sports.json", "sections/sports.rss"]  # fmt: skip
    assert sorted(r.path for r in result.changed) == rewritten
    titles = [e.title for e in parse(after["sections/sports.rss"][2]).entries]
    assert "Story 4, corrected" in titles


def test_guid_survives_an_edit_and_a_new_site_url(app, make_settings) -> None:
    from publisher.app import App

    seed(app, [article(1)])
    app.feeds.build_all()
    first_id = parse(feed_bytes(app, "index.atom")).entries[0].id
    seed(app, [article(1, title="Edited title", body_html="<p>Rewritten.</p>")])
    moved = App(make_settings(site_url="https://elsewhere.example.org/news/"))
    try:
        moved.feeds.build_all()
        entry = parse(feed_bytes(moved, "index.atom")).entries[0]
        assert entry.title == "Edited title"
        assert entry.id == first_id
        assert entry.link == "https://elsewhere.example.org/news/articles/story-1"
    finally:
        moved.close()


def test_feed_updated_is_the_newest_items_update_time_not_now(app) -> None:
    seed(app, [article(1), article(2)])
    app.feeds.build_all()
    newest = max(a.updated_at for a in app.articles.list())
    atom = parse(feed_bytes(app, "index.atom"))
    rss = parse(feed_bytes(app, "index.rss"))
    assert atom.feed.updated_parsed[:6] == newest.timetuple()[:6]
    assert rss.feed.updated_parsed[:6] == newest.timetuple()[:6]
    mtime = (Path(app.settings.feeds_dir) / "index.rss").stat().st_mtime
    assert int(mtime) == int(newest.timestamp())


def test_retracted_articles_leave_the_feeds_and_an_emptied_section_stays_valid(app) -> None:
    _seed_three_sections(app, count=3)  # one article per section
    app.feeds.build_all()
    health = app.articles.get("story-2")
    assert health.section == "Health"

    app.retract("story-2")  # refreshes in-process: no broker in tests

    site = parse(feed_bytes(app, "index.rss"))
    assert health.guid not in [e.id for e in site.entries]
    assert len(site.entries) == 2
    for path in ("sections/health.rss", "sections/health.atom"):
        emptied = parse(feed_bytes(app, path))
        assert emptied.bozo == 0
        assert emptied.entries == []
    assert json.loads(feed_bytes(app, "sections/health.json"))["items"] == []


def test_one_broken_article_is_logged_and_skipped(app, caplog) -> None:
    seed(app, [article(1), article(2)])
    good = app.articles.get("story-1")
    broken = replace(app.articles.get("story-2"), guid=None)  # as if a row lost its guid

    class OneBroken:  # the real store cannot hold a row without a guid
        db = app.db  # the editions feeds read the (empty) editions table

        def list(self, **kwargs):  # type: ignore[no-untyped-def]
            return [broken, good]

        def sections(self):  # type: ignore[no-untyped-def]
            return [("World", "world")]

        def live_rows(self):  # type: ignore[no-untyped-def]
            return []  # no archive pages: the feeds alone are under test

    service = FeedService(app.settings, OneBroken(), MemoryFeedStore())  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        result = service.build_all()
    assert result.errors == []
    assert {r.items for r in result.records} == {1}
    assert "story-2" in caplog.text


def test_build_and_refresh_on_sqlite_and_postgresql(any_db_app, tmp_path: Path) -> None:
    from tests.feeds_data import write_json

    app = any_db_app
    items = [{"slug": f"s{i}", "title": f"T{i}", "section": SECTIONS[i % 3]} for i in range(6)]
    list(app.ingest([write_json(tmp_path / "a.json", items)]))
    before = snapshot(app)
    assert len(before) == 12
    items[0]["section"] = "Sports"  # s0 moves from World to Sports
    list(app.ingest([write_json(tmp_path / "a.json", items)]))
    after = snapshot(app)
    assert sorted(p for p in after if after[p] != before[p]) == [
        "index.atom", "index.json", "index.rss",
        "sections/sports.atom", "sections/sports.json", "sections/sports.rss",
        "sections/world.atom", "sections/world.json", "sections/world.rss",
    ]  # fmt: skip
    world = parse(after["sections/world.atom"][2])
    assert world.bozo == 0
    assert [e.title for e in world.entries] == ["T3"]
    assert app.feeds.build_all().changed == []


def test_an_empty_site_gets_valid_empty_feeds_and_unknown_sections_none(app) -> None:
    result = app.feeds.refresh(["no-such-section"])
    assert [(r.path, r.items) for r in result.records] == [
        ("index.rss", 0), ("index.atom", 0), ("index.json", 0),
    ]  # fmt: skip
    assert sorted(snapshot(app)) == ["index.atom", "index.json", "index.rss"]
    for path in ("index.rss", "index.atom"):
        parsed = parse(feed_bytes(app, path))
        assert parsed.bozo == 0
        assert parsed.entries == []
        assert parsed.feed.updated_parsed[:3] == (2000, 1, 1)
