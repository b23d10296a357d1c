"""What feeds are rendered from: a ``Channel`` (the feed) and its ``Item``s (one per article).

An item is computed once per build and shared by every feed and format that shows the article.

Every string is cleaned of XML-forbidden characters here, whatever the ingest did, so that one
article can never make lxml (or a feed reader) reject a whole feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from publisher.article import Article, Image
from publisher.errors import FeedError
from publisher.feeds.content import item_html
from publisher.text import one_line


@dataclass(frozen=True, slots=True)
class Item:
    id: str  # the article's guid: fixed at first publication
    url: str  # the permalink
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    section: str
    section_slug: str
    image: Image | None


@dataclass(frozen=True, slots=True)
class Channel:
    title: str
    description: str
    home_url: str  # the alternate (HTML) link
    self_url: str  # the URL the feed is served at
    language: str
    author: str  # the publication: Atom needs an author for entries without a byline
    updated: datetime  # the newest item's update time; never "now"
    ttl_minutes: int  # polling hint
    hub: str | None = None  # WebSub hub
    generator_version: str = ""
    archive_url: str | None = None  # the newest archive page (RFC 5005 prev-archive), same format


def make_item(article: Article, link: str) -> Item:
    if not article.guid or article.published_at is None or article.updated_at is None:
        raise FeedError(f"article {article.slug!r} is not published (no guid or dates)")
    published = utc(article.published_at)
    image = None
    if article.image is not None:
        image = Image(one_line(article.image.url), one_line(article.image.alt), article.image.width,
                      article.image.height)  # fmt: skip
    return Item(
        id=one_line(article.guid),
        url=link,
        title=one_line(article.title) or article.slug,
        summary=one_line(article.summary),
        content_html=item_html(article, link),
        published=published,
        updated=max(published, exact_utc(article.updated_at)),
        authors=tuple(a for a in (one_line(name) for name in article.authors) if a),
        section=one_line(article.section),
        section_slug=article.section_slug,
        image=image,
    )


def utc(value: datetime) -> datetime:
    """Aware UTC, whole seconds: feeds show seconds, and equal inputs must give equal bytes."""
    return exact_utc(value).replace(microsecond=0)


def exact_utc(value: datetime) -> datetime:
    """Aware UTC to the microsecond: an update time is the real instant of the change, so that
    articles saved in one batch keep distinct ``updated`` values."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """``2026-11-25T07:00:00Z``, or ``2026-11-25T07:00:00.123456Z`` when the time has microseconds."""
    # isoformat writes the microseconds only when there are some, as wanted (strftime is slower,
    # and this runs for every entry of every archive page).
    return exact_utc(value).replace(tzinfo=None).isoformat() + "Z"
