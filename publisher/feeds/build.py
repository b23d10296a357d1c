"""Build feeds: read the newest articles of each feed, render every format, store what changed.

``FeedService.build_all`` builds the site feed and every section's, including the sections that
still have feed files but no article any more; ``refresh(sections)`` only the site feed and those
sections' (what publishing, updating, moving or retracting one article touches). Both also write
those feeds' monthly archives (``archive.py``), the sitemaps and robots.txt (``sitemaps.py``) and
the editions feeds (``editions.py``). One bad article is logged and left out; one feed that cannot
be built is reported, the others still are.

Archive pages are many and mostly unchanged: each page's inputs are hashed (``Meta.digest``) and a
page whose hash this service already wrote is not rendered again, so a refresh after one change
renders the one page that holds the article, in each of its two feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePosixPath
from typing import Any

from publisher.article import Article
from publisher.article_store import ArticleStore
from publisher.edition.compile import edition_subject
from publisher.edition.selection import parse_edition_names
from publisher.errors import FeedError
from publisher.feeds import archive, sitemaps
from publisher.feeds.archive import Meta, Page, Row, archive_folder, month_of, plan_pages
from publisher.feeds.catalog import (
    EXTENSIONS,
    FEEDS_PATH,
    FeedSpec,
    feed_path,
    feed_specs,
    permalink,
    section_page,
    site_url,
)
from publisher.feeds.editions import SentEditions, archive_page, digest_html, edition_guid, published_time
from publisher.feeds.jsonfeed import render_json
from publisher.feeds.model import Channel, Item, exact_utc, make_item
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
ARCHIVE_FORMATS = {
    "atom": (archive.atom_entry, archive.atom_page),
    "rss": (archive.rss_item, archive.rss_page),
}
EDITION_FORMATS = ("atom", "rss")


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
    records: list[FeedRecord] = field(default_factory=list)  # the site's and sections' feeds
    errors: list[str] = field(default_factory=list)  # feeds that could not be built, and why
    # Archive pages rendered, sitemaps, robots.txt, the editions feeds.
    files: list[FeedRecord] = field(default_factory=list)

    @property
    def changed(self) -> list[FeedRecord]:
        return [r for r in self.records if r.changed]

    @property
    def announced(self) -> list[FeedRecord]:
        """Changed feeds that readers subscribe to (WebSub): the feeds and the editions feeds; not
        archive pages, which readers only page through, nor sitemaps, nor an editions feed that has
        no edition yet."""
        editions = [r for r in self.files if r.changed and r.items and r.path.startswith("editions/")]
        return self.changed + editions


class FeedService:
    def __init__(
        self,
        settings: Settings,
        articles: ArticleStore,
        store: FeedStore,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.articles = articles
        self.store = store
        # Only which month is current and the news sitemap's window read the clock.
        self.clock = clock or (lambda: datetime.now(UTC))
        self._written: dict[str, str] = {}  # archive page path -> digest of what was written there
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
        entries: dict[tuple[str, str], str] = {}  # (format, guid) -> archive entry, made once
        now = self.clock()
        rows = [Row(*r) for r in self.articles.live_rows()]
        by_section: dict[str, list[Row]] = {}
        for row in rows:
            by_section.setdefault(row.section_slug, []).append(row)
        for section, name in scopes:
            scope_rows = rows if section is None else by_section.get(section, [])
            pages = plan_pages(scope_rows, month_of(now))
            if section is not None and name is None and scope_rows:
                name = scope_rows[-1].section
            try:
                result.records += self._build_scope(section, name, cache, pages)
                result.files += self._build_archive(section, name, pages, cache, entries)
            except Exception as exc:
                which = f"section {section!r}" if section else "the site"
                log.exception("feeds of %s could not be built", which)
                result.errors.append(f"feeds of {which}: {exc}")
        for what, build in (("sitemaps", lambda: self._build_sitemaps(rows, now)),
                            ("editions feeds", self._build_editions)):  # fmt: skip
            try:
                result.files += build()
            except Exception as exc:
                log.exception("%s could not be built", what)
                result.errors.append(f"{what}: {exc}")
        return result

    def _archive_url(self, section: str | None, pages: list[Page], fmt: str) -> str | None:
        if not pages:
            return None
        folder = archive_folder(section)
        return f"{site_url(self.settings)}{FEEDS_PATH}{folder}/{pages[-1].name}.{EXTENSIONS[fmt]}"

    def _build_scope(
        self, section: str | None, name: str | None, cache: dict[str, Item], pages: list[Page]
    ) -> list[FeedRecord]:
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
            channel = self._channel(spec, updated, self._archive_url(section, pages, spec.format))
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

    def _build_archive(
        self,
        section: str | None,
        name: str | None,
        pages: list[Page],
        cache: dict[str, Item],
        entries: dict[tuple[str, str], str],
    ) -> list[FeedRecord]:
        """The feed's archive pages in Atom and RSS: each page whose inputs changed is rendered and
        stored; pages no longer in the archive (their articles retracted or moved) are removed."""
        base, folder = site_url(self.settings), archive_folder(section)
        site = one_line(self.settings.site_title)
        label = site if section is None else f"{site}: {one_line(name or section)}"
        home = f"{base}/" if section is None else section_page(self.settings, section)
        records: list[FeedRecord] = []
        wanted: set[str] = set()
        loaded: dict[int, Article] = {}
        for fmt, (render_entry, render_page) in ARCHIVE_FORMATS.items():
            ext = EXTENSIONS[fmt]
            current = f"{base}{FEEDS_PATH}{feed_path(fmt, section)}"

            def url(page: Page, ext: str = ext) -> str:
                return f"{base}{FEEDS_PATH}{folder}/{page.name}.{ext}"

            for i, page in enumerate(pages):
                path = f"{folder}/{page.name}.{ext}"
                wanted.add(path)
                updated = max((exact_utc(r.updated_at) for r in page.rows), default=None)
                meta = Meta(
                    title=f"{label}: {archive.month_words(page.month)}"
                    + (f" (part {page.name.rsplit('-', 1)[1]})" if page.name != page.month else ""),
                    subtitle=f"Articles of {archive.month_words(page.month)} from {label}",
                    self_url=url(page), home_url=home, current_url=current,
                    prev_url=url(pages[i - 1]) if i > 0 else None,
                    next_url=url(pages[i + 1]) if i + 1 < len(pages) else None,
                    language=self.settings.language, author=site,
                    # An empty page (the current month before its first article) is dated by the
                    # page before it: never by the clock.
                    updated=updated or _previous_update(pages, i), closed=page.closed,
                    generator_version=self.generator_version,
                )  # fmt: skip
                digest = meta.digest([(r.guid, r.updated_at) for r in page.rows])
                if self._written.get(path) == digest and self.store.exists(path):
                    continue
                missing = [r.id for r in page.rows if r.id not in loaded and (fmt, r.guid) not in entries]
                if missing:
                    loaded.update(self.articles.by_ids(missing, body=False))
                parts = []
                for row in reversed(page.rows):  # newest first, as in the feed
                    key = (fmt, row.guid)
                    entry = entries.get(key)
                    if entry is None:
                        item = self._archive_item(loaded.get(row.id), cache)
                        if item is None:
                            continue
                        entry = entries[key] = render_entry(item)
                    parts.append(entry)
                data = render_page(meta, parts)
                changed = self.store.write(path, data, meta.updated)
                self._written[path] = digest
                records.append(FeedRecord(path, url(page), fmt, section, len(parts), etag(data), changed))
        for path in self.store.paths(folder):
            if path not in wanted and path.rsplit(".", 1)[-1] in ("atom", "rss"):
                self.store.delete(path)
                self._written.pop(path, None)
        return records

    def _archive_item(self, article: Article | None, cache: dict[str, Item]) -> Item | None:
        if article is None:
            return None
        key = "archive:" + (article.guid or article.slug)
        found = cache.get(key)
        if found is None:
            try:
                found = cache[key] = archive.archive_item(article, permalink(self.settings, article.slug))
            except Exception:
                log.exception("article %r left out of the archives", article.slug)
                return None
        return found

    def _build_sitemaps(self, rows: list[Row], now: datetime) -> list[FeedRecord]:
        base = site_url(self.settings)
        files: list[tuple[str, bytes, datetime]] = []
        index: list[tuple[str, datetime | None]] = []
        newest = max((exact_utc(r.updated_at) for r in rows), default=NEVER_UPDATED)
        # The pages: home, each section, the editions list.
        sections: dict[str, datetime] = {}
        for row in rows:
            updated = exact_utc(row.updated_at)
            sections[row.section_slug] = max(sections.get(row.section_slug, updated), updated)
        pages = [(f"{base}/", newest if rows else None), (f"{base}/editions/", None)]
        pages += [(section_page(self.settings, slug), sections[slug]) for slug in sorted(sections)]
        files.append((sitemaps.PAGES_PATH, sitemaps.urlset(pages), newest))
        index.append((f"{base}/{sitemaps.PAGES_PATH}", newest if rows else None))
        for stem, chunk in sitemaps.monthly(rows).items():
            entries = [(permalink(self.settings, r.slug), exact_utc(r.updated_at)) for r in chunk]
            lastmod = max(modified for _, modified in entries)
            files.append((f"{sitemaps.FOLDER}/{stem}.xml", sitemaps.urlset(entries), lastmod))
            index.append((f"{base}/{sitemaps.FOLDER}/{stem}.xml", lastmod))
        since = now - timedelta(hours=sitemaps.NEWS_HOURS)
        recent = [r for r in reversed(rows) if since <= r.published_at <= now][: sitemaps.NEWS_MAX]
        news = [(permalink(self.settings, r.slug), r.published_at, r.title or r.slug) for r in recent]
        news_updated = max((exact_utc(r.updated_at) for r in recent), default=NEVER_UPDATED)
        if news:
            data = sitemaps.news_sitemap(self.settings.site_title, self.settings.language, news)
            files.append((sitemaps.NEWS_PATH, data, news_updated))
        files.append((sitemaps.INDEX_PATH, sitemaps.sitemap_index(index), newest))
        files.append((sitemaps.ROBOTS_PATH, sitemaps.robots_txt(self.settings.site_url), NEVER_UPDATED))
        records = []
        for path, data, modified in files:
            changed = self.store.write(path, data, modified)
            records.append(FeedRecord(path, _public_url(base, path), "sitemap", None, 0, etag(data), changed))
        wanted = {path for path, _, _ in files}
        for path in self.store.paths(sitemaps.FOLDER):
            if path not in wanted and path.endswith(".xml"):
                # A month whose articles were all retracted; the news sitemap with nothing recent
                # (the schema wants at least one url: no file, and /sitemaps/news.xml answers 404).
                self.store.delete(path)
        return records

    def _build_editions(self) -> list[FeedRecord]:
        """``editions/<name>.atom`` and ``.rss`` per configured edition: its newest editions that
        went out, one entry each, carrying the digest."""
        base, site = site_url(self.settings), one_line(self.settings.site_title)
        source = SentEditions(self.articles)
        records = []
        for name, (title, _cutoff) in parse_edition_names(self.settings.edition_names).items():
            loaded = source.load(source.list(name, limit=self.settings.feed_items))
            items = []
            for record, edition, updated in loaded:
                url = archive_page(self.settings, record.name, record.date)
                items.append(Item(
                    id=edition_guid(record.name, record.date), url=url,
                    title=one_line(edition_subject(edition, self.settings)) or one_line(record.title),
                    summary="", content_html=digest_html(self.settings, edition.articles),
                    published=published_time(record), updated=max(updated, published_time(record)),
                    authors=(), section="", section_slug="", image=None,
                ))  # fmt: skip
            updated = max((item.updated for item in items), default=NEVER_UPDATED)
            for fmt in EDITION_FORMATS:
                path = f"editions/{name}.{EXTENSIONS[fmt]}"
                name_line = one_line(title)
                spec = FeedSpec(fmt, None, None, path, f"{base}{FEEDS_PATH}{path}", f"{site}: {name_line}",
                                f"Every {name_line} of {site} as it went out",
                                f"{base}/editions/")  # fmt: skip
                data, count = _render(spec, self._channel(spec, updated, None), items)
                changed = self.store.write(path, data, updated)
                records.append(FeedRecord(path, spec.url, fmt, None, count, etag(data), changed))
        return records

    def _channel(self, spec: FeedSpec, updated: datetime, archive_url: str | None = None) -> Channel:
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
            archive_url=archive_url,
        )


def _previous_update(pages: list[Page], index: int) -> datetime:
    for page in reversed(pages[:index]):
        if page.rows:
            return max(exact_utc(r.updated_at) for r in page.rows)
    return NEVER_UPDATED


def _public_url(base: str, path: str) -> str:
    if path == sitemaps.INDEX_PATH:
        return f"{base}/sitemap.xml"
    return f"{base}/{path}"


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
