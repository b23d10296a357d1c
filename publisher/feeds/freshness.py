"""How fresh each built feed is, read back from the feed files: its item count and newest item.

The JSON Feed of the site and of each section (``index.json``, ``sections/<slug>.json``) stands for
its RSS and Atom twins: the three formats are built together from the same items. A feed file is
parsed again only when the store says it is another file (its stamp changed); a file that cannot be
read as a JSON Feed is reported as such, not raised. Readers only: builds are ``build.py``'s.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from publisher.feeds.catalog import feed_path
from publisher.feeds.store import FeedStore


@dataclass(frozen=True, slots=True)
class FeedFreshness:
    path: str  # under PUBLISHER_FEEDS_DIR: index.json, sections/world.json
    section: str | None  # the section's slug; None for the site feed
    title: str
    items: int
    newest: datetime | None  # the newest item's last update; None for an empty feed
    readable: bool = True  # False: the file is not a JSON Feed publisher could read

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "section": self.section,
            "title": self.title,
            "items": self.items,
            "newest": None if self.newest is None else self.newest.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "readable": self.readable,
        }


class FeedFreshnessReader:
    def __init__(self, store: FeedStore) -> None:
        self.store = store
        self._read: dict[str, tuple[object, FeedFreshness]] = {}  # path -> (stamp, what it said)
        self._lock = threading.Lock()

    def feeds(self) -> list[FeedFreshness]:
        """The site feed first, then each section's by path; a feed never built is left out."""
        paths = [feed_path("json", None)] + [p for p in self.store.paths("sections") if p.endswith(".json")]
        found = []
        for path in paths:
            stamp = self.store.stamp(path)
            if stamp is None:
                continue
            with self._lock:
                known = self._read.get(path)
            if known is None or known[0] != stamp:
                known = (stamp, self._parse(path))
                with self._lock:
                    self._read[path] = known
            found.append(known[1])
        with self._lock:  # forget feeds that are gone
            for path in set(self._read) - set(paths):
                del self._read[path]
        return found

    def _parse(self, path: str) -> FeedFreshness:
        section = None if path == feed_path("json", None) else path.removeprefix("sections/")[: -len(".json")]
        data = self.store.read(path)
        try:
            feed = json.loads(data or b"")
            items = feed["items"]
            title = str(feed.get("title", ""))
            dates = [_instant(item.get("date_modified") or item.get("date_published")) for item in items]
            newest = max(dates, default=None)
        except (ValueError, KeyError, TypeError, AttributeError):
            return FeedFreshness(path, section, "", 0, None, readable=False)
        return FeedFreshness(path, section, title, len(items), newest)


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("not a date")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
