"""Which sections' feeds an ingest touched: those of created and updated articles, before and after.

An edit can move an article to another section; the feed of the section it left must lose it. The
store reports the section each saved row had before the save (``Saved.previous_section``), read in
the same transaction as the write, so a concurrent edit cannot slip between the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from publisher.article import Article
from publisher.article_store import ArticleStore, Outcome, Saved


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
        saved = super().save_many(items, published_at=published_at, dry_run=dry_run)
        if not dry_run:
            for result in saved:
                # A retracted article is in no feed, whatever was stored for it.
                if result.outcome in (Outcome.CREATED, Outcome.UPDATED):
                    self.sections.add(result.article.section_slug)
                    if result.previous_section is not None:
                        self.sections.add(result.previous_section)
        return saved
