"""Build feeds: read the newest articles of each feed, render every format, store what changed.

``FeedService.build_all`` builds the site feed and every section's, including the sections that
still have feed files but no article any more; ``refresh(sections)`` only the site feed and those
sections' (what publishing, updating, moving or retracting one article touches). Both also write
those feeds' monthly archives (``archive.py``), the sitemaps and robots.txt (``sitemaps.py``) and
the editions feeds (``editions.py``). One bad article is logged and left out; one feed that cannot
be built is reported, the others still are.

What a build rendered is kept by the service for the next one, so that a refresh costs what changed:

- every file remembers the inputs it was last written from (a page's ``Meta`` and rows, a feed's
  channel and items, a monthly sitemap's rows) and the store's stamp of what was written; a file
  whose inputs are equal and which is still that file (no other process wrote it since, nobody
  removed it) is neither rendered nor written. A month that is over keeps its rows, so its pages
  and sitemap are left alone until one of its articles changes.
- archive entries are kept per article row (``Row``: its content hash and dates), rendered in Atom
  and RSS at once, so the page that holds a corrected article is put together again from the
  entries of the others and the one new entry; feed items are kept per article as stored.

What is kept is bounded: entries of at most ``KEEP_ENTRIES`` live articles (the newest), feed items
up to twice what all the feeds show, the editions feeds' entries of the editions they show.
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
    edition_feed_specs,
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
ARCHIVE_FORMATS = {"atom": archive.atom_page, "rss": archive.rss_page}  # entries: (atom, rss) pairs
EDITION_FORMATS = ("atom", "rss")
# Rendered archive entries kept between builds, newest articles first: two formats of about 2 kB each,
# so at most about 80 MB. A correction to an older article renders its page's entries again.
KEEP_ENTRIES = 20_000
ENTRY_SLACK = 64  # stale entries tolerated beyond a quarter of those kept, before a sweep


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
        # path -> (the inputs of what this service last wrote there, the file's stamp then, what
        # else its record needs): see the module's docstring
        self._written: dict[str, tuple[object, object, object]] = {}
        # archive row -> its (Atom, RSS) entry, or None for an article that cannot be archived
        self._entries: dict[Row, tuple[str, str] | None] = {}
        self._items: dict[tuple[Article, str | None], Item | None] = {}  # (article, guid) -> item
        self._urls: dict[Row, str] = {}  # archive row -> its <url> in the monthly sitemap
        self._rows: dict[tuple[object, ...], Row] = {}  # the last build's rows, by their values
        self._edition_items: dict[tuple[object, ...], Item] = {}  # (edition, its articles) -> entry
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
        items_used: set[tuple[Article, str | None]] = set()
        now = self.clock()
        # Rows unchanged since the last build are the same objects: a refresh then allocates none
        # for the thousands of unchanged articles (plain tuples the cyclic GC stops tracking at
        # once, where each new Row is tracked and would bring on full collections).
        raw = self.articles.live_rows()
        known = self._rows
        rows = [known.get(values) or Row._make(values) for values in raw]
        self._rows = dict(zip(raw, rows, strict=True))
        by_section: dict[str, list[Row]] = {}
        for row in rows:
            by_section.setdefault(row.section_slug, []).append(row)
        for section, name in scopes:
            scope_rows = rows if section is None else by_section.get(section, [])
            pages = plan_pages(scope_rows, month_of(now))
            if section is not None and name is None and scope_rows:
                name = scope_rows[-1].section
            try:
                result.records += self._build_scope(section, name, items_used, pages)
                result.files += self._build_archive(section, name, pages)
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
        self._forget(rows, items_used, len(by_section) + 1)
        return result

    def _forget(self, rows: list[Row], items_used: set[tuple[Article, str | None]], feeds: int) -> None:
        """Drop what no later build can use: entries of rows no longer live (changed, retracted)
        or beyond the newest ``KEEP_ENTRIES``; items of articles no longer in any feed (a
        refresh builds a few feeds: the others' items stay until the bound is passed)."""
        # Stale entries (of rows changed since) only accumulate with changes: sweep them once they
        # are a quarter of what is kept, not on every refresh.
        bound = min(len(rows), KEEP_ENTRIES) * 5 // 4 + ENTRY_SLACK
        if len(self._entries) > bound or len(self._urls) > bound:
            keep = set(rows[-KEEP_ENTRIES:])
            self._entries = {row: entry for row, entry in self._entries.items() if row in keep}
            self._urls = {row: url for row, url in self._urls.items() if row in keep}
        if len(self._items) > 2 * feeds * self.settings.feed_items:  # twice what all the feeds show
            self._items = {key: item for key, item in self._items.items() if key in items_used}

    def _archive_url(self, section: str | None, pages: list[Page], fmt: str) -> str | None:
        if not pages:
            return None
        folder = archive_folder(section)
        return f"{site_url(self.settings)}{FEEDS_PATH}{folder}/{pages[-1].name}.{EXTENSIONS[fmt]}"

    def _build_scope(
        self, section: str | None, name: str | None, used: set[tuple[Article, str | None]], pages: list[Page]
    ) -> list[FeedRecord]:
        articles = self.articles.list(section=section, limit=self.settings.feed_items)
        items = [item for item in (self._item(a, used) for a in articles) if item is not None]
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
            records.append(self._write_feed(spec, channel, items, section))
        return records

    def _item(self, article: Article, used: set[tuple[Article, str | None]]) -> Item | None:
        """The article's feed item, made once per version of the article: the key is the stored
        article itself (its every field, guid apart, which Article leaves out of equality)."""
        key = (article, article.guid)
        used.add(key)
        if key in self._items:
            return self._items[key]
        try:
            found = make_item(article, permalink(self.settings, article.slug))
        except Exception:
            log.exception("article %r left out of the feeds", article.slug)
            found = None
        self._items[key] = found
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

    def _build_archive(self, section: str | None, name: str | None, pages: list[Page]) -> list[FeedRecord]:
        """The feed's archive pages in Atom and RSS: each page whose inputs changed is put together
        and stored; pages no longer in the archive (their articles retracted or moved) are removed."""
        base, folder = site_url(self.settings), archive_folder(section)
        site = one_line(self.settings.site_title)
        label = site if section is None else f"{site}: {one_line(name or section)}"
        home = f"{base}/" if section is None else section_page(self.settings, section)
        records: list[FeedRecord] = []
        wanted: set[str] = set()
        for i, page in enumerate(pages):
            updated = exact_utc(max(r.updated_at for r in page.rows)) if page.rows else None
            title = f"{label}: {archive.month_words(page.month)}" + (
                f" (part {page.name.rsplit('-', 1)[1]})" if page.name != page.month else "")  # fmt: skip
            parts: list[tuple[str, str]] | None = None
            for index, (fmt, render_page) in enumerate(ARCHIVE_FORMATS.items()):
                ext = EXTENSIONS[fmt]
                path = f"{folder}/{page.name}.{ext}"
                wanted.add(path)

                def url(name: str, ext: str = ext) -> str:
                    return f"{base}{FEEDS_PATH}{folder}/{name}.{ext}"

                meta = Meta(
                    title=title, subtitle=f"Articles of {archive.month_words(page.month)} from {label}",
                    self_url=url(page.name), home_url=home,
                    current_url=f"{base}{FEEDS_PATH}{feed_path(fmt, section)}",
                    prev_url=url(pages[i - 1].name) if i > 0 else None,
                    next_url=url(pages[i + 1].name) if i + 1 < len(pages) else None,
                    language=self.settings.language, author=site,
                    # An empty page (the current month before its first article) is dated by the
                    # page before it: never by the clock.
                    updated=updated or _previous_update(pages, i), closed=page.closed,
                    generator_version=self.generator_version,
                )  # fmt: skip
                inputs = (meta, page.rows)
                if self._unchanged(path, inputs):
                    continue
                if parts is None:
                    parts = self._archive_entries(page.rows)
                data = render_page(meta, [entry[index] for entry in parts])
                changed = self.store.write(path, data, meta.updated)
                self._wrote(path, inputs)
                record = FeedRecord(path, url(page.name), fmt, section, len(parts), etag(data), changed)
                records.append(record)
        for path in self.store.paths(folder):
            if path not in wanted and path.rsplit(".", 1)[-1] in ("atom", "rss"):
                self.store.delete(path)
                self._written.pop(path, None)
        return records

    def _archive_entries(self, rows: tuple[Row, ...]) -> list[tuple[str, str]]:
        """The (Atom, RSS) entries of a page's rows, newest first, as in the feed: kept ones as they
        are, the others rendered from the articles as stored (without their bodies, which archive
        entries do not show)."""
        found = {row: self._entries[row] for row in rows if row in self._entries}
        missing = [row for row in rows if row not in found]
        if missing:
            loaded = self.articles.digests([row.id for row in missing])
            for row in missing:
                article = loaded.get(row.id)
                entry = None
                if article is not None:
                    try:
                        item = archive.archive_item(article, permalink(self.settings, article.slug))
                        entry = archive.entries(item)
                    except Exception:
                        log.exception("article %r left out of the archives", article.slug)
                found[row] = entry
                # Kept only while the stored article is the row's version: it may have changed
                # since the rows were read, and the next build renders it again for its new row.
                if article is not None and exact_utc(article.updated_at or NEVER_UPDATED) == row.updated_at:
                    self._entries[row] = entry
        return [entry for entry in (found[row] for row in reversed(rows)) if entry is not None]

    def _build_sitemaps(self, rows: list[Row], now: datetime) -> list[FeedRecord]:
        base = site_url(self.settings)
        files: list[tuple[str, bytes, datetime]] = []
        index: list[tuple[str, datetime | None]] = []
        # The pages: home, each section, the editions list. (Rows hold aware times: compared as
        # they are, converted once.)
        sections: dict[str, datetime] = {}
        for row in rows:
            last = sections.get(row.section_slug)
            if last is None or row.updated_at > last:
                sections[row.section_slug] = row.updated_at
        sections = {slug: exact_utc(updated) for slug, updated in sections.items()}
        newest = max(sections.values(), default=NEVER_UPDATED)
        pages = [(f"{base}/", newest if rows else None), (f"{base}/editions/", None)]
        pages += [(section_page(self.settings, slug), sections[slug]) for slug in sorted(sections)]
        files.append((sitemaps.PAGES_PATH, sitemaps.urlset(pages), newest))
        index.append((f"{base}/{sitemaps.PAGES_PATH}", newest if rows else None))
        kept: list[str] = []  # monthly sitemaps whose rows are those they were last written from
        written: list[tuple[str, object]] = []  # the others, with their inputs
        for stem, chunk in sitemaps.monthly(rows).items():
            path = f"{sitemaps.FOLDER}/{stem}.xml"
            lastmod = exact_utc(max(r.updated_at for r in chunk))
            index.append((f"{base}/{path}", lastmod))
            inputs = ("sitemap", base, tuple(chunk))
            if self._unchanged(path, inputs):
                kept.append(path)
                continue
            elements = []
            for row in chunk:
                element = self._urls.get(row)
                if element is None:
                    element = self._urls[row] = sitemaps.url_element(permalink(self.settings, row.slug),
                                                                      exact_utc(row.updated_at))  # fmt: skip
                elements.append(element)
            files.append((path, sitemaps.urlset_of(elements), lastmod))
            written.append((path, inputs))
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
        for path, inputs in written:
            self._wrote(path, inputs)
        wanted = {path for path, _, _ in files} | set(kept)
        for path in self.store.paths(sitemaps.FOLDER):
            if path not in wanted and path.endswith(".xml"):
                # A month whose articles were all retracted; the news sitemap with nothing recent
                # (the schema wants at least one url: no file, and /sitemaps/news.xml answers 404).
                self.store.delete(path)
                self._written.pop(path, None)
        return records

    def _build_editions(self) -> list[FeedRecord]:
        """``editions/<name>.atom`` and ``.rss`` per configured edition: its newest editions that
        went out, one entry each, carrying the digest. An entry is made once per edition and
        version of its articles, a feed rendered only when its entries changed."""
        source = SentEditions(self.articles)
        records = []
        kept: dict[tuple[object, ...], Item] = {}
        for name, (title, _cutoff) in parse_edition_names(self.settings.edition_names).items():
            loaded = source.load(source.list(name, limit=self.settings.feed_items))
            items = []
            for record, edition, updated in loaded:
                key = (record, edition.articles, updated)
                item = self._edition_items.get(key)
                if item is None:
                    url = archive_page(self.settings, record.name, record.date)
                    item = Item(
                        id=edition_guid(record.name, record.date), url=url,
                        title=one_line(edition_subject(edition, self.settings)) or one_line(record.title),
                        summary="", content_html=digest_html(self.settings, edition.articles),
                        published=published_time(record), updated=max(updated, published_time(record)),
                        authors=(), section="", section_slug="", image=None,
                    )  # fmt: skip
                kept[key] = item
                items.append(item)
            updated = max((item.updated for item in items), default=NEVER_UPDATED)
            for spec in edition_feed_specs(self.settings, name, title):
                records.append(self._write_feed(spec, self._channel(spec, updated, None), items, None))
        self._edition_items = kept
        return records

    def _write_feed(
        self, spec: FeedSpec, channel: Channel, items: list[Item], section: str | None
    ) -> FeedRecord:
        """Render and store a feed, unless it is what this service last wrote there and still is."""
        inputs = (channel, tuple(items))
        last = self._written.get(spec.path)
        if last is not None and last[0] == inputs and self.store.stamp(spec.path) == last[1]:
            _, _, (count, tag) = last
            return FeedRecord(spec.path, spec.url, spec.format, section, count, tag, False)
        data, count = _render(spec, channel, items)
        changed = self.store.write(spec.path, data, channel.updated)
        tag = etag(data)
        self._wrote(spec.path, inputs, (count, tag))
        return FeedRecord(spec.path, spec.url, spec.format, section, count, tag, changed)

    def _unchanged(self, path: str, inputs: object) -> bool:
        """The file at ``path`` is what this service last wrote there, from these inputs."""
        last = self._written.get(path)
        return last is not None and last[0] == inputs and self.store.stamp(path) == last[1]

    def _wrote(self, path: str, inputs: object, extra: object = None) -> None:
        self._written[path] = (inputs, self.store.stamp(path), extra)

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
