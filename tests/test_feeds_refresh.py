"""Publishing, updating and retracting refresh the right feeds; changed feeds are announced to the
WebSub hub (a real HTTP server on 127.0.0.1); with a broker the refresh runs in a Celery worker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from publisher.app import App
from publisher.cli import main
from publisher.errors import TransientDeliveryError
from publisher.feeds.websub import ping_hub
from tests.conftest import RedisPlace
from tests.feeds_data import feed_bytes, parse, snapshot, write_json


def _item(slug: str, section: str, title: str | None = None) -> dict[str, str]:
    return {"slug": slug, "title": title or f"Title of {slug}", "section": section, "summary": "S."}


def _ids_and_titles(app: App, path: str) -> list[str]:
    return [e.title for e in parse(feed_bytes(app, path)).entries]


def test_ingest_publishes_into_the_site_and_section_feeds(app, tmp_path: Path) -> None:
    source = write_json(tmp_path / "a.json", [_item("a", "World"), _item("b", "Sports")])
    assert [line.status for line in app.ingest([source])] == ["created", "created"]
    assert _ids_and_titles(app, "index.atom") == ["Title of b", "Title of a"]
    assert _ids_and_titles(app, "sections/world.rss") == ["Title of a"]
    assert _ids_and_titles(app, "sections/sports.rss") == ["Title of b"]


def test_an_update_refreshes_only_its_feeds_and_a_dry_run_none(app, tmp_path: Path) -> None:
    three = [_item("a", "World"), _item("b", "Sports"), _item("c", "Health")]
    source = write_json(tmp_path / "a.json", three)
    list(app.ingest([source]))
    before = snapshot(app)
    write_json(source, [_item("a", "World", "A, corrected"), _item("b", "Sports"), _item("c", "Health")])

    list(app.ingest([source], dry_run=True))
    assert snapshot(app) == before

    assert [line.status for line in app.ingest([source])] == ["updated", "unchanged", "unchanged"]
    after = snapshot(app)
    assert sorted(p for p in after if after[p] != before[p]) == [
        "index.atom", "index.json", "index.rss",
        "sections/world.atom", "sections/world.json", "sections/world.rss",
    ]  # fmt: skip
    assert _ids_and_titles(app, "sections/world.atom") == ["A, corrected"]


def test_an_article_moved_to_another_section_leaves_the_old_sections_feed(app, tmp_path: Path) -> None:
    source = write_json(tmp_path / "a.json", [_item("a", "World"), _item("b", "World")])
    list(app.ingest([source]))
    write_json(source, [_item("a", "Sports"), _item("b", "World")])
    list(app.ingest([source]))
    assert _ids_and_titles(app, "sections/world.rss") == ["Title of b"]
    assert _ids_and_titles(app, "sections/sports.rss") == ["Title of a"]


def test_retract_command_takes_the_article_out_of_its_feeds(app, tmp_path, monkeypatch) -> None:
    source = write_json(tmp_path / "a.json", [_item("a", "World"), _item("b", "World")])
    list(app.ingest([source]))
    settings = app.settings
    for name, value in (("DATABASE_URL", settings.database_url), ("FEEDS_DIR", settings.feeds_dir),
                        ("VAR_DIR", settings.var_dir), ("SITE_URL", settings.site_url)):  # fmt: skip
        monkeypatch.setenv(f"PUBLISHER_{name}", value)
    result = CliRunner().invoke(main, ["articles", "retract", "a"])
    assert result.exit_code == 0, result.output
    assert _ids_and_titles(app, "sections/world.rss") == ["Title of b"]
    assert _ids_and_titles(app, "index.rss") == ["Title of b"]


def test_feeds_build_command_json(app, tmp_path, monkeypatch) -> None:
    list(app.ingest([write_json(tmp_path / "a.json", [_item("a", "World")])]))
    for name, value in (("DATABASE_URL", app.settings.database_url), ("FEEDS_DIR", app.settings.feeds_dir),
                        ("SITE_URL", app.settings.site_url)):  # fmt: skip
        monkeypatch.setenv(f"PUBLISHER_{name}", value)
    result = CliRunner().invoke(main, ["feeds", "build", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    keys = ["path", "url", "format", "section", "items", "etag", "changed"]
    assert [list(r) for r in records] == [keys] * 6
    assert records[0] == {
        "path": "index.rss", "url": "https://news.example.com/feeds/index.rss", "format": "rss",
        "section": None, "items": 1, "etag": records[0]["etag"], "changed": False,
    }  # fmt: skip
    assert [(r["path"], r["format"], r["section"]) for r in records[3:]] == [
        ("sections/world.rss", "rss", "world"), ("sections/world.atom", "atom", "world"),
        ("sections/world.json", "json", "world"),
    ]  # fmt: skip


# -- WebSub --------------------------------------------------------------------------------------


class Hub:
    """A WebSub hub on 127.0.0.1 that records publish pings; ``fail`` first answers get a 503."""

    def __init__(self, fail: int = 0) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.fail = fail
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
                if hub.fail > 0:
                    hub.fail -= 1
                    self.send_response(503)
                else:
                    hub.pings.append(parse_qs(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


def test_changed_feeds_are_announced_to_the_hub(make_settings, hub: Hub, tmp_path: Path) -> None:
    app = App(make_settings(websub_hub=hub.url))
    try:
        list(app.ingest([write_json(tmp_path / "a.json", [_item("a", "World")])]))
        urls = [ping["hub.url"][0] for ping in hub.pings]
        assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)
        assert urls == [f"https://news.example.com/feeds/{p}" for p in (
            "index.rss", "index.atom", "index.json",
            "sections/world.rss", "sections/world.atom", "sections/world.json")]  # fmt: skip
        hub.pings.clear()
        list(app.ingest([tmp_path / "a.json"]))  # unchanged: no feed changes, no ping
        app.feeds.build_all()
        assert hub.pings == []
    finally:
        app.close()


def test_a_failing_hub_is_retried_and_never_blocks_the_refresh(make_settings, tmp_path, caplog) -> None:
    flaky = Hub(fail=1)
    try:
        assert ping_hub(flaky.url, ["https://x.example/feeds/index.rss"], backoff=0.01) == [
            "https://x.example/feeds/index.rss"
        ]
        assert len(flaky.pings) == 1  # the second try got through
    finally:
        flaky.close()

    down = Hub(fail=10_000)
    app = App(make_settings(websub_hub=down.url))
    try:
        with caplog.at_level(logging.WARNING):
            lines = list(app.ingest([write_json(tmp_path / "a.json", [_item("a", "World")])]))
        assert [line.status for line in lines] == ["created"]
        assert _ids_and_titles(app, "index.rss") == ["Title of a"]  # the feeds were written regardless
        assert "feeds.websub_ping failed" in caplog.text
        with pytest.raises(TransientDeliveryError, match="did not take"):
            ping_hub(down.url, ["https://x.example/feeds/index.rss"], backoff=0.01)
    finally:
        app.close()
        down.close()


def test_an_unreachable_hub_is_a_transient_error() -> None:
    with pytest.raises(TransientDeliveryError):
        ping_hub("http://127.0.0.1:9/hub", ["https://x.example/f.rss"], attempts=1, timeout=1)


# -- with a broker: the refresh runs in a Celery worker on the feeds queue -------------------------


@pytest.mark.redis
def test_with_a_broker_the_refresh_runs_as_a_task_on_the_feeds_queue(
    make_settings, redis_url: RedisPlace, tmp_path
) -> None:
    settings = make_settings(redis_url=redis_url.url, redis_prefix=redis_url.prefix)
    app = App(settings)
    env = {**os.environ, **{f"PUBLISHER_{k.upper()}": str(getattr(settings, k)) for k in (
        "database_url", "feeds_dir", "var_dir", "site_url", "redis_url", "redis_prefix")}}  # fmt: skip
    start_worker = (
        "from publisher.app import App; from publisher.celery_app import make_celery; "
        "from publisher.settings import Settings; s = Settings.load(); "
        "make_celery(s, services=lambda: App(s)).worker_main(['worker', '--pool=solo', '--queues=feeds', "
        "'--loglevel=warning', '--without-gossip', '--without-mingle'])"
    )
    worker = subprocess.Popen([sys.executable, "-c", start_worker], env=env, cwd=tmp_path)
    try:
        list(app.ingest([write_json(tmp_path / "a.json", [_item("a", "World"), _item("b", "Sports")])]))
        feed = Path(settings.feeds_dir) / "index.rss"
        deadline = time.monotonic() + 30
        while not feed.exists() or len(parse(feed.read_bytes()).entries) != 2:
            assert time.monotonic() < deadline, "the worker did not refresh the feeds"
            time.sleep(0.1)
        app.retract("b")
        while [e.title for e in parse(feed.read_bytes()).entries] != ["Title of a"]:
            assert time.monotonic() < deadline, "the worker did not refresh after the retraction"
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        app.close()


# -- a section left with no article at all ------------------------------------------------------


def _feed_dates(app: App, slug: str) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """(Atom updated, RSS lastBuildDate, file mtime of the RSS) of a section's feeds."""
    atom = parse(feed_bytes(app, f"sections/{slug}.atom")).feed.updated_parsed[:6]
    rss = parse(feed_bytes(app, f"sections/{slug}.rss")).feed.updated_parsed[:6]
    mtime = int((Path(app.settings.feeds_dir) / f"sections/{slug}.rss").stat().st_mtime)
    return atom, rss, mtime


def test_moving_a_sections_only_article_away_empties_its_feeds(any_db_app, tmp_path: Path) -> None:
    app = any_db_app
    a = {**_item("a", "World"), "id": "src-a", "published_at": "2026-01-05T08:00:00Z"}
    b = {**_item("b", "Sports"), "id": "src-b", "published_at": "2026-01-05T09:00:00Z"}
    source = write_json(tmp_path / "a.json", [a, b])
    list(app.ingest([source]))
    guid = app.articles.get("a").guid
    assert _ids_and_titles(app, "sections/world.rss") == ["Title of a"]
    atom_before, rss_before, mtime_before = _feed_dates(app, "world")

    write_json(source, [{**a, "section": "Sports", "slug": "renamed-too"}, b])
    assert [line.status for line in app.ingest([source])] == ["updated", "unchanged"]
    moved = app.articles.get("a")  # same source id: same row, same slug and guid
    assert (moved.section, moved.guid) == ("Sports", guid)

    for fmt in ("rss", "atom"):
        emptied = parse(feed_bytes(app, f"sections/world.{fmt}"))
        assert emptied.bozo == 0, emptied.get("bozo_exception")
        assert emptied.entries == []
    assert json.loads(feed_bytes(app, "sections/world.json"))["items"] == []
    assert guid in [e.id for e in parse(feed_bytes(app, "sections/sports.atom")).entries]

    atom_after, rss_after, mtime_after = _feed_dates(app, "world")
    assert atom_after >= atom_before and rss_after >= rss_before
    assert atom_after == rss_after == moved.updated_at.timetuple()[:6]  # the move, from content
    assert mtime_after > mtime_before  # Last-Modified moved on: If-Modified-Since sees the change

    before = snapshot(app)
    assert app.feeds.build_all().changed == []
    assert app.feeds.refresh(["world"]).changed == []
    assert snapshot(app) == before  # byte-identical, nothing rewritten


def test_build_all_empties_the_feeds_of_a_section_that_is_gone(app, tmp_path: Path) -> None:
    source = write_json(tmp_path / "a.json", [{**_item("a", "World"), "id": "src-a"}])
    list(app.ingest([source]))
    stray = Path(app.settings.feeds_dir) / "sections"
    (stray / "notes.txt").write_text("not a feed")
    (stray / "Not A Slug.rss").write_text("not ours")
    # Moved behind the feeds' back (no refresh): only the periodic build_all can notice.
    app.articles.save_many([replace(app.articles.get("a"), section="Sports")])
    assert _ids_and_titles(app, "sections/world.rss") == ["Title of a"]

    result = app.feeds.build_all()

    assert result.errors == []
    assert [(r.path, r.items) for r in result.records if r.section == "world"] == [
        ("sections/world.rss", 0), ("sections/world.atom", 0), ("sections/world.json", 0),
    ]  # fmt: skip
    assert _ids_and_titles(app, "sections/world.rss") == []
    assert _ids_and_titles(app, "sections/sports.rss") == ["Title of a"]
    assert (stray / "notes.txt").read_text() == "not a feed"
    assert (stray / "Not A Slug.rss").read_text() == "not ours"
    before = snapshot(app)
    assert app.feeds.build_all().changed == []
    assert snapshot(app) == before
