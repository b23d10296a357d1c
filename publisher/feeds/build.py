"""Build feeds: read the newest articles of each feed, render every format, store what changed.

``FeedService.build_all`` builds the site feed and every section's, including the sections that
still have feed files but no article any more; ``refresh(sections)`` only the site feed and those
sections' (what publishing, updating, moving or retracting one article touches). One bad article is
logged and left out; one feed that cannot be built is reported, the others still are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePosixPath
from typing import Any

from publisher.article import Article
from publisher.article_store import ArticleStore
from publisher.errors import FeedError
from publisher.feeds.catalog import EXTENSIONS, FeedSpec, feed_path, feed_specs, permalink
from publisher.feeds.jsonfeed import render_json
from publisher.feeds.model import Channel, Item, make_item
from publisher.feeds.render import render_atom, render_rss
from publisher.feeds.store import FeedStore, etag
from publisher.settings import Settings
from publisher.text import one_line, slugify

log = logging.getLogger(__name__)

RENDERERS: dict[str, Callable[[Channel, list[Item]], bytes]] = {
    "rss": render_rss,
    "atom": render_atom,
    "json": render_json,
}
# `updated` of a feed that never had an item: fixed, so that even an empty feed is reproducible.
NEVER_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedRecord:
    path: str
    url: str
    format: str
    section: str | None
    items: int
    etag: str
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "url": self.url,
            "format": self.format,
            "section": self.section,
            "items": self.items,
            "etag": self.etag,
            "changed": self.changed,
        }


@dataclass(slots=True)
class BuildResult:
    records: list[FeedRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # feeds that could not be built, and why

    @property
    def changed(self) -> list[FeedRecord]:
        return [r for r in self.records if r.changed]


class FeedService:
    def __init__(self, settings: Settings, articles: ArticleStore, store: FeedStore) -> None:
        self.settings = settings
        self.articles = articles
        self.store = store
        try:
            self.generator_version = version("publisher")
        except PackageNotFoundError:  # running from a source tree that was never installed
            self.generator_version = ""

    def build_all(self) -> BuildResult:
        """The site feed and every section's, in every format; also the sections whose feed files
        are still there but which have no article left (moved away without a refresh), which get
        empty feeds, so that readers stop seeing articles that left them."""
        names: dict[str, str | None] = {slug: name for name, slug in self.articles.sections()}
        for slug in self._sections_on_disk():
            names.setdefault(slug, None)
        return self._build([(None, None), *sorted(names.items())])

    def refresh(self, sections: Iterable[str]) -> BuildResult:
        """The site feed and the feeds of ``sections`` (slugs), e.g. after one article changed."""
        names = {slug: name for name, slug in self.articles.sections()}
        wanted = sorted(set(sections))
        return self._build([(None, None), *((slug, names.get(slug)) for slug in wanted)])

    def _build(self, scopes: list[tuple[str | None, str | None]]) -> BuildResult:
        result = BuildResult()
        cache: dict[str, Item] = {}  # an article in the site feed and its section's is made once
        for section, name in scopes:
            try:
                result.records += self._build_scope(section, name, cache)
            except Exception as exc:
                which = f"section {section!r}" if section else "the site"
                log.exception("feeds of %s could not be built", which)
                result.errors.append(f"feeds of {which}: {exc}")
        return result

    def _build_scope(self, section: str | None, name: str | None, cache: dict[str, Item]) -> list[FeedRecord]:
        articles = self.articles.list(section=section, limit=self.settings.feed_items)
        items = [item for item in (self._item(a, cache) for a in articles) if item is not None]
        if items:
            updated = max(item.updated for item in items)
            name = name or items[0].section
        else:
            empty = self._empty_feed(section, name)
            if empty is None:  # a section that never had an article: no feed to write
                return []
            updated, name = empty
        records = []
        for spec in feed_specs(self.settings, section, name):
            channel = self._channel(spec, updated)
            data, count = _render(spec, channel, items)
            changed = self.store.write(spec.path, data, updated)
            records.append(FeedRecord(spec.path, spec.url, spec.format, section, count, etag(data), changed))
        return records

    def _item(self, article: Article, cache: dict[str, Item]) -> Item | None:
        key = article.guid or article.slug
        found = cache.get(key)
        if found is None:
            try:
                found = cache[key] = make_item(article, permalink(self.settings, article.slug))
            except Exception:
                log.exception("article %r left out of the feeds", article.slug)
                return None
        return found

    def _empty_feed(self, section: str | None, name: str | None) -> tuple[datetime, str | None] | None:
        """A feed with no live article: its date and section name, or None to write nothing."""
        gone = self.articles.list(section=section, include_retracted=True, limit=self.settings.feed_items)
        if gone:  # its articles were all retracted: updated when the last one left
            latest = max(a.updated_at or NEVER_UPDATED for a in gone)
            return latest.replace(microsecond=0), name or gone[0].section
        if section is None:  # an empty site
            return NEVER_UPDATED, name
        if not any(self.store.read(feed_path(fmt, section)) is not None for fmt in EXTENSIONS):
            return None  # a section that never had an article: no feed to write
        # Every article it had moved to other sections (no row names it any more), but readers
        # still poll its files: they get an empty feed rather than a 404. Its date is the site's
        # newest update, which is never earlier than the move that emptied it (the moved row's
        # updated_at is the move), hence never earlier than the feed it replaces; it comes from
        # the rows alone, so a rebuild gives the same bytes. Later updates elsewhere move it on
        # too (the periodic build rewrites it then): the price of a date that needs no record of
        # which articles left.
        latest = self.articles.last_updated() or NEVER_UPDATED
        return latest.replace(microsecond=0), name

    def _sections_on_disk(self) -> list[str]:
        """Slugs of the sections with a feed file in the store, whether or not they have articles."""
        found = set()
        for path in self.store.paths("sections"):
            stem, _, ext = PurePosixPath(path).name.rpartition(".")
            if ext in EXTENSIONS.values() and stem and slugify(stem) == stem:  # ours, not a stray file
                found.add(stem)
        return sorted(found)

    def _channel(self, spec: FeedSpec, updated: datetime) -> Channel:
        return Channel(
            title=spec.title,
            description=spec.description,
            home_url=spec.home_url,
            self_url=spec.url,
            language=self.settings.language,
            author=one_line(self.settings.site_title),
            updated=updated,
            ttl_minutes=max(1, round(self.settings.feed_max_age / 60)),
            hub=self.settings.websub_hub or None,
            generator_version=self.generator_version,
        )


def _render(spec: FeedSpec, channel: Channel, items: list[Item]) -> tuple[bytes, int]:
    """Render; if that fails, find and drop the items that make it fail, and render the rest."""
    render = RENDERERS[spec.format]
    try:
        return render(channel, items), len(items)
    except Exception:
        good = []
        for item in items:
            try:
                render(channel, [item])
            except Exception:
                log.exception("item %s left out of %s", item.id, spec.path)
                continue
            good.append(item)
        try:
            return render(channel, good), len(good)
        except Exception as exc:
            raise FeedError(f"{spec.path}: {exc}") from exc
