"""Read article files and save them, a batch at a time; one bad file never stops the others."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

from publisher.article import Article
from publisher.article_store import ArticleStore, Saved
from publisher.ingest.files import Parsed, parse_paths

BATCH = 500


@dataclass(frozen=True, slots=True)
class IngestLine:
    """One line of ingest output: what happened to one article (or file)."""

    where: str  # file, or file[index] for an item of a JSON list
    status: str  # created | updated | unchanged | retracted | error
    article: Article | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "error"


def ingest_paths(
    store: ArticleStore,
    paths: Iterable[str | Path],
    *,
    published_at: datetime | None = None,
    dry_run: bool = False,
) -> Iterator[IngestLine]:
    """Parse and save everything under ``paths``; yields one line per article as batches land."""
    parsed = parse_paths(paths)
    while batch := list(islice(parsed, BATCH)):
        good = [p.article for p in batch if p.article is not None]
        saved = iter(store.save_many(good, published_at=published_at, dry_run=dry_run))
        for item in batch:
            yield _line(item, next(saved) if item.article is not None else None)


def _line(item: Parsed, saved: Saved | None) -> IngestLine:
    if saved is None:
        return IngestLine(item.where, "error", error=str(item.error))
    return IngestLine(item.where, saved.outcome.value, article=saved.article)
