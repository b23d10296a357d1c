"""Which sections' feeds an ingest touched: those of created and updated articles, before and after.

An edit can move an article to another section; the feed of the section it left must lose it, so
the old section is read just before the save.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from publisher.article import Article
from publisher.article_store import ArticleStore, Outcome, Saved
from publisher.db.schema import articles as t


class SectionTrackingStore(ArticleStore):
    """An ArticleStore that collects, in ``sections``, the section slugs its saves changed."""

    def __init__(self, store: ArticleStore) -> None:
        super().__init__(store.db)
        self.sections: set[str] = set()

    def save_many(
        self,
        items: Sequence[Article],
        *,
        published_at: datetime | None = None,
        dry_run: bool = False,
    ) -> list[Saved]:
        before = {} if dry_run else self._sections_of([a.slug for a in items])
        saved = super().save_many(items, published_at=published_at, dry_run=dry_run)
        if not dry_run:
            for result in saved:
                if result.outcome is not Outcome.UNCHANGED:
                    self.sections.add(result.article.section_slug)
                    if result.article.slug in before:
                        self.sections.add(before[result.article.slug])
        return saved

    def _sections_of(self, slugs: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.db.connect() as conn:
            for start in range(0, len(slugs), 500):  # SQLite's bound-parameter limit
                query = sa.select(t.c.slug, t.c.section_slug).where(t.c.slug.in_(slugs[start : start + 500]))
                found.update((slug, section) for slug, section in conn.execute(query))
        return found
