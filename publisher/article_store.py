"""Articles in the database: save (create / update / unchanged), read, list, retract.

Saving is batched: one SELECT for the existing rows of a batch and one executemany each for the new
and the changed ones, so ingesting thousands of files is a handful of statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from publisher.article import Article, Image
from publisher.db import Database
from publisher.db.schema import articles as t

# Namespace of article GUIDs: a GUID is derived once, at first publication, then stored.
GUID_NAMESPACE = uuid.UUID("6f1f3c1e-8a5b-4c59-9d0e-3c1b9b0d7a10")


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Saved:
    article: Article  # as stored, with its dates
    outcome: Outcome


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class ArticleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save_many(
        self,
        items: Sequence[Article],
        *,
        published_at: datetime | None = None,
        dry_run: bool = False,
    ) -> list[Saved]:
        """Create new articles, update changed ones, leave identical ones alone (by slug).

        ``published_at`` applies to new articles that carry no date of their own; an update never
        moves ``published_at`` or the slug, only ``updated_at``. Re-ingesting a retracted article
        publishes it again.
        """
        now = now_utc()
        results: list[Saved] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        with self.db.begin() as conn:
            existing = self._existing(conn, [a.slug for a in items])
            for article in items:
                digest = article.content_hash()
                row = existing.get(article.slug)
                if row is None:
                    published = article.published_at or published_at or now
                    stored = article.with_dates(published, max(published, now))
                    stored = _with_guid(stored, _new_guid(stored))
                    inserts.append(_row(stored, digest))
                    existing[article.slug] = {
                        "content_hash": digest, "published_at": stored.published_at,
                        "updated_at": stored.updated_at, "guid": stored.guid, "retracted_at": None,
                    }  # fmt: skip
                    results.append(Saved(stored, Outcome.CREATED))
                elif row["content_hash"] == digest and row["retracted_at"] is None:
                    stored = _with_guid(
                        article.with_dates(row["published_at"], row["updated_at"]), row["guid"]
                    )
                    results.append(Saved(stored, Outcome.UNCHANGED))
                else:
                    updated = max(now, row["published_at"])
                    stored = _with_guid(article.with_dates(row["published_at"], updated), row["guid"])
                    values = _row(stored, digest)
                    for key in ("guid", "slug", "published_at"):
                        values.pop(key)
                    values["b_slug"] = article.slug
                    updates.append(values)
                    row.update(content_hash=digest, updated_at=updated, retracted_at=None)
                    results.append(Saved(stored, Outcome.UPDATED))
            if dry_run:  # only SELECTs ran: nothing to undo
                return results
            if inserts:
                conn.execute(t.insert(), inserts)
            if updates:
                conn.execute(
                    t.update()
                    .where(t.c.slug == sa.bindparam("b_slug"))
                    .values({k: sa.bindparam(k) for k in updates[0] if k != "b_slug"}),
                    updates,
                )
        return results

    def get(self, slug: str) -> Article | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.slug == slug)).mappings().first()
        return _article(row) if row else None

    def list(
        self,
        *,
        section: str | None = None,
        include_retracted: bool = False,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]:
        """Newest first. ``section`` matches the name or its slug, case-insensitively."""
        query = sa.select(t).order_by(t.c.published_at.desc(), t.c.id.desc())
        if section:
            query = query.where(
                sa.or_(sa.func.lower(t.c.section) == section.lower(), t.c.section_slug == section)
            )
        if not include_retracted:
            query = query.where(t.c.retracted_at.is_(None))
        if since is not None:
            query = query.where(t.c.published_at >= since)
        if until is not None:
            query = query.where(t.c.published_at < until)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [_article(row) for row in conn.execute(query).mappings()]

    def sections(self) -> list[tuple[str, str]]:
        """(section name, slug) of every section with a live article, by slug."""
        query = (
            sa.select(t.c.section_slug, sa.func.min(t.c.section))
            .where(t.c.retracted_at.is_(None))
            .group_by(t.c.section_slug)
            .order_by(t.c.section_slug)
        )
        with self.db.connect() as conn:
            return [(name, slug) for slug, name in conn.execute(query)]

    def retract(self, slug: str) -> Article | None:
        """Withdraw an article from feeds and editions; the row is kept. None if unknown."""
        now = now_utc()
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.slug == slug, t.c.retracted_at.is_(None))
                .values(retracted_at=now, updated_at=now)
            )
            row = conn.execute(sa.select(t).where(t.c.slug == slug)).mappings().first()
        return _article(row) if row else None

    def _existing(self, conn: sa.Connection, slugs: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(slugs))
        found: dict[str, dict[str, Any]] = {}
        cols = (t.c.slug, t.c.content_hash, t.c.published_at, t.c.updated_at, t.c.guid, t.c.retracted_at)
        for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            for row in conn.execute(sa.select(*cols).where(t.c.slug.in_(chunk))).mappings():
                found[row["slug"]] = dict(row)
        return found


def _new_guid(article: Article) -> str:
    assert article.published_at is not None
    return "urn:uuid:" + str(uuid.uuid5(GUID_NAMESPACE, f"{article.slug}|{article.published_at.isoformat()}"))


def _with_guid(article: Article, guid: str) -> Article:
    return replace(article, guid=guid)


def _row(article: Article, digest: str) -> dict[str, Any]:
    return {
        "guid": article.guid,
        "slug": article.slug,
        "title": article.title,
        "section": article.section,
        "section_slug": article.section_slug,
        "top_story": article.top_story,
        "source": article.source,
        "dateline": article.dateline,
        "authors": list(article.authors),
        "edition": article.edition,
        "summary": article.summary,
        "quick_looks_title": article.quick_looks_title,
        "quick_looks": list(article.quick_looks),
        "body_html": article.body_html,
        "image_url": article.image.url if article.image else None,
        "image_alt": article.image.alt if article.image else None,
        "content_hash": digest,
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "retracted_at": None,
    }


def _article(row: Any) -> Article:
    return Article(
        slug=row["slug"],
        title=row["title"],
        section=row["section"],
        top_story=bool(row["top_story"]),
        source=row["source"],
        dateline=row["dateline"],
        authors=tuple(row["authors"]),
        edition=row["edition"],
        summary=row["summary"],
        quick_looks_title=row["quick_looks_title"],
        quick_looks=tuple(row["quick_looks"]),
        body_html=row["body_html"],
        image=Image(row["image_url"], row["image_alt"] or "") if row["image_url"] else None,
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        guid=row["guid"],
        retracted_at=row["retracted_at"],
    )
