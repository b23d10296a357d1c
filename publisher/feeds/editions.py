"""The editions that went out, read from the frozen ``editions`` table (written by delivery alone):
for the editions feeds (``/feeds/editions/<name>.atom`` and ``.rss``) and the ``/editions/`` list.

An edition "went out" once its send started (``started_at`` is set), whatever happened after
(sent, paused, halted, cancelled part way); an edition frozen with no article never did. Its
articles are read as stored now, as its web archive page shows them: corrections appear, retracted
articles drop out. An entry's ``updated`` is the newest of the send's start and its articles'
updates (retracted ones included, whose update is the retraction), so a change to the digest is
a change of the entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

import sqlalchemy as sa

from publisher.article import Article
from publisher.article_store import GUID_NAMESPACE, ArticleStore
from publisher.db.schema import editions as t
from publisher.edition.selection import Edition
from publisher.feeds.catalog import permalink, site_url
from publisher.feeds.model import exact_utc, utc
from publisher.settings import Settings
from publisher.text import one_line

WENT_OUT = sa.and_(t.c.started_at.is_not(None), t.c.status != "empty")


@dataclass(frozen=True, slots=True)
class SentEdition:
    id: int
    name: str
    title: str
    date: date
    cutoff: datetime
    started_at: datetime
    slugs: tuple[str, ...]
    max_articles: int


class SentEditions:
    def __init__(self, articles: ArticleStore) -> None:
        self.articles = articles
        self.db = articles.db

    def list(
        self, name: str | Collection[str] | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[SentEdition]:
        """Newest first; ``name`` one edition name or several."""
        query = sa.select(t.c.id, t.c.name, t.c.title, t.c.date, t.c.cutoff, t.c.started_at,
                          t.c.article_slugs, t.c.max_articles).where(WENT_OUT)  # fmt: skip
        if name is not None:
            query = query.where(_named(name))
        query = query.order_by(t.c.date.desc(), t.c.id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
        return [SentEdition(r.id, r.name, r.title, r.date, r.cutoff, r.started_at, tuple(r.article_slugs),
                            r.max_articles) for r in rows]  # fmt: skip

    def count(self, name: str | Collection[str] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t).where(WENT_OUT)
        if name is not None:
            query = query.where(_named(name))
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def load(self, sent: list[SentEdition]) -> list[tuple[SentEdition, Edition, datetime]]:
        """Each edition with its articles as stored now, and its ``updated`` time; one query."""
        if not sent:
            return []
        stored = self.articles.by_slugs(slug for s in sent for slug in s.slugs)
        out = []
        for record in sent:
            found = [stored[slug] for slug in record.slugs if slug in stored]
            live = tuple(a for a in found if a.retracted_at is None)
            updated = max(
                [exact_utc(record.started_at), *(exact_utc(a.updated_at) for a in found if a.updated_at)]
            )
            edition = Edition(name=record.name, title=record.title, date=record.date, cutoff=record.cutoff,
                              articles=live[: record.max_articles], pool=live,
                              max_articles=record.max_articles)  # fmt: skip
            out.append((record, edition, updated))
        return out


def _named(name: str | Collection[str]) -> Any:
    return t.c.name == name if isinstance(name, str) else t.c.name.in_(sorted(name))


def edition_guid(name: str, day: date) -> str:
    """An entry's id: one per edition name and day, as the editions table allows."""
    return "urn:uuid:" + str(uuid.uuid5(GUID_NAMESPACE, f"edition|{name}|{day.isoformat()}"))


def archive_page(settings: Settings, name: str, day: date) -> str:
    return f"{site_url(settings)}/editions/{name}/{day.isoformat()}"


def digest_html(settings: Settings, articles: tuple[Article, ...]) -> str:
    """The digest: per article its headline (linked), its Quick Looks, then its summary and a link
    to the Deep Look. Every field escaped here."""
    parts = []
    for article in articles:
        link = escape(permalink(settings, article.slug))
        parts.append(f'<h2><a href="{link}">{escape(one_line(article.title))}</a></h2>')
        section = escape(one_line(article.section))
        parts.append(f"<p><em>{section}</em></p>" if section else "")
        if article.quick_looks:
            heading = one_line(f"{article.quick_looks_title} Quick Looks")
            bullets = "".join(f"<li>{escape(one_line(b))}</li>" for b in article.quick_looks)
            parts.append(f"<p><strong>{escape(heading)}</strong></p><ul>{bullets}</ul>")
        if article.summary:
            parts.append(f"<p>{escape(one_line(article.summary))}</p>")
        parts.append(f'<p><a href="{link}">Read the Deep Look</a></p>')
    return "".join(parts)


def published_time(record: SentEdition) -> datetime:
    return utc(record.started_at)
