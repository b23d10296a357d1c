"""Articles for the edition tests: the example articles, dated, and a full 12-article edition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from publisher.article import Article, Image
from publisher.ingest import parse_paths
from tests.conftest import EXAMPLES

DAY = date(2026, 11, 25)
CUTOFF = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def example_articles(first: datetime = CUTOFF - timedelta(hours=1)) -> list[Article]:
    """The example articles, published ten minutes apart going back from ``first``."""
    parsed = [p.article for p in parse_paths([EXAMPLES / "articles"])]
    articles = [a for a in parsed if a is not None]
    assert len(articles) >= 9, "examples/articles is incomplete"
    return [
        a.with_dates(first - timedelta(minutes=10 * i), first - timedelta(minutes=10 * i))
        for i, a in enumerate(articles)
    ]


def full_edition_articles(count: int = 12) -> list[Article]:
    """``count`` articles (the examples and renamed copies), every one with an image and 7 bullets:
    the heaviest realistic edition, for size limits and the benchmark."""
    base = example_articles()
    out = []
    for i in range(count):
        a = base[i % len(base)]
        bullets = (
            a.quick_looks + tuple(f"Another point about {a.section.lower()} number {n}" for n in range(7))
        )[:7]
        out.append(
            replace(
                a,
                slug=f"{a.slug}-{i}" if i >= len(base) else a.slug,
                quick_looks=bullets,
                image=Image(f"https://news.example.com/images/{i}.jpg", f"Photo for {a.title}"),
            )
        )
    return out
