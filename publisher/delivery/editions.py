"""Editions as sent: the articles are frozen (by slug, in edition order) when an edition is created,
so every worker, every retry and tomorrow's status page see the same edition. Until its first row
is queued, editors may still change them (``contents.py``, the one writer of those columns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.article_store import ArticleStore
from publisher.db import Database
from publisher.db.schema import editions as t
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.states import EditionState
from publisher.edition.selection import Edition


@dataclass(frozen=True, slots=True)
class EditionRecord:
    id: int
    name: str
    title: str
    date: date
    cutoff: datetime
    status: EditionState  # changed only by lifecycle.py
    article_slugs: tuple[str, ...]
    section_keys: tuple[str, ...]
    max_articles: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = None  # why it is halted
    subject: str | None = None  # the editor's subject line (contents.py); None: the template's
    excluded_slugs: tuple[str, ...] = ()  # stories editors took out (contents.py)
    revision: int = 0  # editors' edits so far: compiled copies are keyed by it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "date": self.date.isoformat(),
            "status": str(self.status),
            "error": self.error,
            "subject": self.subject,
            "articles": list(self.article_slugs),
            "excluded": list(self.excluded_slugs),
            "revision": self.revision,
            "created_at": iso_utc(self.created_at),
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at),
        }


class EditionStore:
    def __init__(self, db: Database, articles: ArticleStore, lifecycle: Lifecycle) -> None:
        self.db = db
        self.articles = articles
        self.lifecycle = lifecycle

    def create(self, edition: Edition, *, status: EditionState = EditionState.DRAFT) -> int:
        pool = edition.pool or edition.articles
        values = {
            "name": edition.name,
            "title": edition.title,
            "date": edition.date,
            "cutoff": edition.cutoff.astimezone(UTC),
            "article_slugs": [a.slug for a in pool],
            "section_keys": sorted({a.section_slug for a in pool}),
            "max_articles": edition.max_articles,
            "created_at": datetime.now(UTC),
        }
        return self.lifecycle.create_edition(values, status)

    def find(self, name: str, day: date) -> EditionRecord | None:
        """The edition ``name`` of ``day``: there is at most one (a unique index says so)."""
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.name == name, t.c.date == day)).mappings().first()
        return None if row is None else _record(row)

    def create_once(
        self, edition: Edition, *, status: EditionState = EditionState.DRAFT
    ) -> tuple[EditionRecord, bool]:
        """The edition of that name and day, created from ``edition`` unless it exists; True when
        this call created it. Two schedulers racing get the same edition, never two."""
        found = self.find(edition.name, edition.date)
        if found is None:
            try:
                self.create(edition, status=status)
            except sa.exc.IntegrityError:
                pass  # the other one won; read its edition below
            else:
                created = self.find(edition.name, edition.date)
                assert created is not None
                return created, True
            found = self.find(edition.name, edition.date)
        assert found is not None
        return found, False

    def latest_published(self) -> tuple[str, date] | None:
        """(name, date) of the newest edition the web archive shows (one that went out)."""
        shown = [str(s) for s in (EditionState.SENDING, EditionState.SENT, EditionState.PAUSED,
                                  EditionState.HALTED)]  # fmt: skip
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.c.name, t.c.date).where(t.c.status.in_(shown))
                .order_by(t.c.date.desc(), t.c.id.desc()).limit(1)
            ).first()  # fmt: skip
        return None if row is None else (row.name, row.date)

    def get(self, edition_id: int) -> EditionRecord | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == edition_id)).mappings().first()
        return None if row is None else _record(row)

    def load(self, record: EditionRecord) -> Edition:
        """The frozen edition with its articles as stored now (corrections show; retractions drop)."""
        pool = []
        for slug in record.article_slugs:
            article = self.articles.get(slug)
            if article is not None and article.retracted_at is None:
                pool.append(article)
        return Edition(
            name=record.name,
            title=record.title,
            date=record.date,
            cutoff=record.cutoff,
            articles=tuple(pool[: record.max_articles]),
            pool=tuple(pool),
            max_articles=record.max_articles,
            subject=record.subject,
        )


def _record(row: Any) -> EditionRecord:
    return EditionRecord(
        id=row["id"],
        name=row["name"],
        title=row["title"],
        date=row["date"],
        cutoff=row["cutoff"],
        status=EditionState(row["status"]),
        article_slugs=tuple(row["article_slugs"]),
        section_keys=tuple(row["section_keys"]),
        max_articles=row["max_articles"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        subject=row["subject"],
        excluded_slugs=tuple(row["excluded_slugs"] or ()),
        revision=row["revision"] or 0,
    )
