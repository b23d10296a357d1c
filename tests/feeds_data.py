"""Articles and readers for the feed tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser

from publisher.app import App
from publisher.article import Article, Image

BASE = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
_DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
RFC822 = re.compile(rf"^{_DAY}, \d\d {_MONTH} \d{{4}} \d\d:\d\d:\d\d \+0000$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def article(i: int, section: str = "World", **changes: Any) -> Article:
    """Article number ``i``: published ``i`` minutes after BASE, so higher numbers are newer."""
    fields: dict[str, Any] = {
        "slug": f"story-{i}",
        "title": f"Story {i} about {section}",
        "section": section,
        "authors": ("A. Writer", "B. Editor"),
        "summary": f"Summary of story {i}.",
        "quick_looks_title": "Key",
        "quick_looks": (f"First point of {i}", f"Second point of {i}"),
        "body_html": f"<p>Deep text of story {i}.</p>",
        "published_at": BASE + timedelta(minutes=i),
    }
    fields.update(changes)
    return Article(**fields)


def seed(app: App, articles: list[Article]) -> None:
    app.articles.save_many(articles)


def write_json(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def parse(data: bytes) -> feedparser.FeedParserDict:
    return feedparser.parse(data)


def feed_bytes(app: App, rel: str) -> bytes:
    return (Path(app.settings.feeds_dir) / rel).read_bytes()


# What the build writes besides the site's and sections' feeds (tests/test_feeds_archive.py).
OTHER_FILES = ("archive/", "sitemaps/", "editions/", "robots.txt")


def archive_month() -> str:
    """The current month's archive page name: the newest page of any feed with an article."""
    now = datetime.now(UTC)
    return f"{now.year:04d}-{now.month:02d}"


def snapshot(app: App, *, everything: bool = False) -> dict[str, tuple[int, int, bytes]]:
    """path → (inode, mtime_ns, bytes) of every feed file (of every file with ``everything``)."""
    root = Path(app.settings.feeds_dir)
    out = {}
    for file in sorted(root.rglob("*")):
        if not everything and file.relative_to(root).as_posix().startswith(OTHER_FILES):
            continue
        if file.is_file():
            st = file.stat()
            out[file.relative_to(root).as_posix()] = (st.st_ino, st.st_mtime_ns, file.read_bytes())
    return out


__all__ = [
    "BASE", "OTHER_FILES", "RFC822", "RFC3339", "Image", "archive_month", "article", "feed_bytes", "parse",
    "seed", "snapshot",
]  # fmt: skip
