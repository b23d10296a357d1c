"""Archived feeds (RFC 5005): every live article in one archive page of its month, per feed.

The site feed and each section's feed keep their newest ``PUBLISHER_FEED_ITEMS`` articles and link
``prev-archive`` to the newest archive page; each page links ``prev-archive`` / ``next-archive``
to its neighbours and ``current`` to the feed, so a reader away for weeks pages back and misses
nothing. A page holds the articles published in one UTC month, oldest first split into pages of
``PAGE_SIZE`` (``2026-11.atom``, then ``2026-11-2.atom`` ...): new articles only ever land on the
last page of their month, so earlier pages stay as they are. Pages of a month that is over carry
``<fh:archive/>`` and do not change again (short of a correction or retraction of one of their
articles); the current month always has a page, empty until its first article, so that every
finished month has a ``next-archive`` neighbour.

Archives hold every article, thousands per month, so an archive entry is the article's digest —
its image, Quick Looks and summary, with a link to the Deep Look on its page — not its whole body
(which would make a month of a busy newsroom hundreds of megabytes, and cost a sanitiser pass per
article). Entries are written here as strings, each rendered once per build and shared by the
site's page and its section's, instead of through feedgen's per-feed element trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import NamedTuple

from publisher.article import Article, Image
from publisher.errors import FeedError
from publisher.feeds.model import Item, exact_utc, rfc3339, utc
from publisher.text import one_line

PAGE_SIZE = 1000
ARCHIVE_DIR = "archive"
ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
MEDIA_NS = "http://search.yahoo.com/mrss/"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
# Characters XML 1.0 forbids; model.py cleans every field, this guards the sanitised body too.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def month_of(value: datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def month_words(month: str) -> str:
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def archive_folder(section: str | None) -> str:
    return ARCHIVE_DIR if section is None else f"{ARCHIVE_DIR}/sections/{section}"


def page_name(month: str, number: int) -> str:
    return month if number == 1 else f"{month}-{number}"


class Row(NamedTuple):
    """What placing an article in the archives needs, read without its text (store.live_rows).

    A tuple, so that comparing a page's rows with those it was last written from, and keying the
    rendered entries by row, cost one C-level comparison or hash: ``content_hash`` changes with
    anything a reader sees, ``updated_at`` and ``published_at`` with the dates an entry shows."""

    id: int
    guid: str
    slug: str
    title: str
    section: str
    section_slug: str
    published_at: datetime
    updated_at: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # 2026-11 or 2026-11-2
    month: str
    rows: tuple[Row, ...]  # oldest first
    closed: bool  # its month is over: an archive document (fh:archive)


def by_month(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """The rows grouped by the UTC month of publication, each group in the order given. Rows come
    oldest first, so a row's month is worked out only where it differs from the one before's
    (one comparison per row instead of formatting a month per row, twice per build)."""
    groups: dict[str, list[Row]] = {}
    start = end = None
    group: list[Row] = []
    for row in rows:
        when = row.published_at
        if start is None or not start <= when < end:  # type: ignore[operator]
            month = month_of(when)
            group = groups.setdefault(month, [])
            start = when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
                month=start.month + 1)  # fmt: skip
        group.append(row)
    return groups


def plan_pages(rows: Sequence[Row], current_month: str) -> list[Page]:
    """The pages of one feed's archive, oldest first, from its live articles (oldest first)."""
    months = by_month(rows)
    if rows:
        months.setdefault(current_month, [])
    pages = []
    for month in sorted(months):
        chunk = months[month]
        starts = range(0, len(chunk), PAGE_SIZE) if chunk else [0]
        for number, start in enumerate(starts, 1):
            rows_here = tuple(chunk[start : start + PAGE_SIZE])
            pages.append(Page(page_name(month, number), month, rows_here, closed=month < current_month))
    return pages


@dataclass(frozen=True, slots=True)
class Meta:
    """One archive page as a document: its links and names. With the page's rows, what its bytes
    depend on (the build compares both with those it last wrote the page from)."""

    title: str
    subtitle: str
    self_url: str
    home_url: str
    current_url: str
    prev_url: str | None
    next_url: str | None
    language: str
    author: str
    updated: datetime
    closed: bool
    generator_version: str


def archive_item(article: Article, link: str) -> Item:
    """An archive entry's Item: the digest of the article (see the module's docstring)."""
    if not article.guid or article.published_at is None or article.updated_at is None:
        raise FeedError(f"article {article.slug!r} is not published (no guid or dates)")
    parts = []
    image = None
    if article.image is not None:
        image = Image(one_line(article.image.url), one_line(article.image.alt), article.image.width,
                      article.image.height)  # fmt: skip
        parts.append(f'<p><img src="{escape(image.url)}" alt="{escape(image.alt)}"></p>')
    if article.quick_looks:
        heading = one_line(f"{article.quick_looks_title} Quick Looks")
        # The bullets escaped at once, joined by a newline, which none holds after one_line.
        bullets = escape("\n".join(one_line(b) for b in article.quick_looks)).replace("\n", "</li><li>")
        parts.append(f"<h2>{escape(heading)}</h2><ul><li>{bullets}</li></ul>")
    summary = one_line(article.summary)
    if summary:
        parts.append(f"<p>{escape(summary)}</p>")
    parts.append(f'<p><a href="{escape(link)}">Read the Deep Look</a></p>')
    published = utc(article.published_at)
    return Item(
        id=one_line(article.guid), url=link, title=one_line(article.title) or article.slug,
        summary=summary, content_html="".join(parts), published=published,
        updated=max(published, exact_utc(article.updated_at)),
        authors=tuple(a for a in (one_line(name) for name in article.authors) if a),
        section=one_line(article.section), section_slug=article.section_slug, image=image,
    )  # fmt: skip


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(value: datetime) -> str:
    """``Wed, 25 Nov 2026 07:00:00 +0000``, whole seconds: what ``email.utils.format_datetime``
    writes for a UTC time, in a tenth of its time (it runs for every archived RSS item)."""
    v = exact_utc(value)
    return (f"{_DAYS[v.weekday()]}, {v.day:02d} {_MONTH_ABBR[v.month - 1]} {v.year:04d} "
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} +0000")  # fmt: skip


def xml_text(value: str) -> str:
    if _NOT_XML.search(value):  # cleaned upstream (one_line); a guard, not the common path
        value = _NOT_XML.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(value: str) -> str:
    return xml_text(value).replace('"', "&quot;")


def rss_text(value: str) -> str:
    # Hexadecimal references, as the RSS profile asks (render.rss_references).
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("", value)
    return value.replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&gt;")


def rss_attr(value: str) -> str:
    return rss_text(value).replace('"', "&quot;")


def entries(item: Item) -> tuple[str, str]:
    """The item's Atom entry and RSS item, written at once (10,000 of each for a full build).

    The item comes from ``archive_item``, every text field through ``one_line``: no character XML
    forbids, so text is escaped without ``xml_text``'s guard. The RSS item is escaped with
    entities like the Atom entry, then given hexadecimal references in one pass over it (as
    ``render.rss_references`` does for the feeds): its markup holds no ``&amp;`` or ``&lt;`` of its own.
    """
    title, link, guid = _escape(item.title), _escape(item.url), _escape(item.id)
    content, section = _escape(item.content_html), _escape(item.section)
    authors = [_escape(name) for name in item.authors]
    media = _media(item, xml_attr, xml_text) if item.image is not None else ""
    atom = [f"  <entry>\n    <id>{guid}</id>\n    <title>{title}</title>\n"
            f"    <updated>{rfc3339(item.updated)}</updated>\n"]  # fmt: skip
    rss = [f"    <item>\n      <title>{title}</title>\n      <link>{link}</link>\n"]
    for name in authors:
        atom.append(f"    <author>\n      <name>{name}</name>\n    </author>\n")
    href = link.replace(_QUOTE, "&quot;")
    atom.append(f'    <content type="html">{content}</content>\n'
                f'    <link href="{href}" rel="alternate" type="text/html"/>\n')  # fmt: skip
    if item.summary:
        # As text, or as HTML when it holds a "<" (render.atom_summary); HTML by convention in RSS,
        # as in the feed (render.render_rss). Either way the summary escaped once as HTML first.
        once = _escape(item.summary)
        twice = _escape(once) if once != item.summary else once  # nothing to escape: as it is
        if "<" in item.summary:
            atom.append(f'    <summary type="html">{twice}</summary>\n')
        else:
            atom.append(f'    <summary type="text">{once}</summary>\n')
        rss.append(f"      <description>{twice}</description>\n")
    rss.append(f"      <content:encoded>{content}</content:encoded>\n")
    for name in authors:
        rss.append(f"      <dc:creator>{name}</dc:creator>\n")
    rss.append(f'      <guid isPermaLink="false">{guid}</guid>\n')
    if item.section:
        atom.append(f'    <category term="{section.replace(_QUOTE, "&quot;")}"/>\n')
        rss.append(f"      <category>{section}</category>\n")
    atom.append(f"    <published>{rfc3339(item.published)}</published>\n{media}  </entry>\n")
    rss.append(f"      <pubDate>{rfc822(item.published)}</pubDate>\n")
    if media:
        rss.append("  " + media.replace("\n    ", "\n      "))
    rss.append("    </item>\n")
    return "".join(atom), "".join(rss).replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;")


_QUOTE = '"'


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _media(item: Item, attr, text) -> str:  # type: ignore[no-untyped-def]
    image = item.image
    assert image is not None
    url = attr(image.url)
    # Attributes in the order lxml writes them for the feeds (render.py): url, medium, width, height.
    if image.width is not None:
        url += f'" medium="image" width="{image.width:d}'
        if image.height is not None:
            url += f'" height="{image.height:d}'
    elif image.height is not None:
        url += f'" medium="image" height="{image.height:d}'
    else:
        url += '" medium="image'
    if not image.alt:
        return f'    <media:content url="{url}"/>\n'
    return (f'    <media:content url="{url}">\n'
            f'      <media:description type="plain">{text(image.alt)}</media:description>\n'
            "    </media:content>\n")  # fmt: skip


def _links(meta: Meta, element: str, media_type: str, attr: Callable[[str], str]) -> str:
    pairs = [(meta.self_url, "self"), (meta.current_url, "current"), (meta.prev_url, "prev-archive"),
             (meta.next_url, "next-archive")]  # fmt: skip
    indent = "  " if element == "link" else "    "
    return "".join(
        f'{indent}<{element} href="{attr(url)}" rel="{rel}" type="{media_type}"/>\n'
        for url, rel in pairs
        if url
    )


def atom_page(meta: Meta, entries: Sequence[str]) -> bytes:
    alternate = f'  <link href="{xml_attr(meta.home_url)}" rel="alternate" type="text/html"/>\n'
    version = f' version="{xml_attr(meta.generator_version)}"' if meta.generator_version else ""
    lang = xml_attr(meta.language)
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<feed xmlns="{ATOM_NS}" xmlns:fh="{HISTORY_NS}" xmlns:media="{MEDIA_NS}" xml:lang="{lang}">\n'
        f"  <id>{xml_text(meta.self_url)}</id>\n  <title>{xml_text(meta.title)}</title>\n"
        f"  <updated>{rfc3339(meta.updated)}</updated>\n"
        f"  <author>\n    <name>{xml_text(meta.author)}</name>\n  </author>\n"
        + _links(meta, "link", "application/atom+xml", xml_attr) + alternate
        + f"  <generator{version}>publisher</generator>\n"
        f"  <subtitle>{xml_text(meta.subtitle)}</subtitle>\n"
        + ("  <fh:archive/>\n" if meta.closed else "")
    )  # fmt: skip
    return (head + "".join(entries) + "</feed>\n").encode("utf-8")


def rss_page(meta: Meta, entries: Sequence[str]) -> bytes:
    links = _links(meta, "atom:link", "application/rss+xml", rss_attr)
    version = f" {meta.generator_version}" if meta.generator_version else ""
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<rss xmlns:atom="{ATOM_NS}" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:fh="{HISTORY_NS}" xmlns:media="{MEDIA_NS}" '
        'version="2.0">\n  <channel>\n'
        f"    <title>{rss_text(meta.title)}</title>\n    <link>{rss_text(meta.home_url)}</link>\n"
        f"    <description>{rss_text(meta.subtitle)}</description>\n"
        + links
        + "    <docs>http://www.rssboard.org/rss-specification</docs>\n"
        f"    <generator>publisher{rss_text(version)}</generator>\n"
        f"    <language>{rss_text(meta.language)}</language>\n"
        f"    <lastBuildDate>{rfc822(meta.updated)}</lastBuildDate>\n"
        + ("    <fh:archive/>\n" if meta.closed else "")
    )  # fmt: skip
    return (head + "".join(entries) + "  </channel>\n</rss>\n").encode("utf-8")
