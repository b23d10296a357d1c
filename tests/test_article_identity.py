"""An article is its source id: corrected headlines update it, equal titles do not collide, rows
from before source ids are adopted, and concurrent saves of one article make one row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import sqlalchemy as sa

from publisher.app import App
from publisher.article import Article
from publisher.article_store import Outcome
from publisher.db.schema import articles as t

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def art(source_id: str | None, title: str, **changes: object) -> Article:
    from publisher.text import slugify

    base = Article(slug=slugify(title), title=title, section="World", summary="s", source_id=source_id)
    return replace(base, **changes)


def rows(app: App) -> list[tuple[str | None, str, str]]:
    with app.db.connect() as conn:
        query = sa.select(t.c.source_id, t.c.slug, t.c.title).order_by(t.c.id)
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def test_a_corrected_headline_updates_the_same_article(any_db_app: App) -> None:
    store = any_db_app.articles
    [first] = store.save_many([art("01-ferry.txt", "Ferry Pact Signd")], published_at=T0)
    [fixed] = store.save_many([art("01-ferry.txt", "Ferry Pact Signed")])
    assert fixed.outcome is Outcome.UPDATED
    assert (fixed.article.slug, fixed.article.guid) == ("ferry-pact-signd", first.article.guid)
    assert fixed.article.title == "Ferry Pact Signed" and fixed.article.published_at == T0
    assert rows(any_db_app) == [("01-ferry.txt", "ferry-pact-signd", "Ferry Pact Signed")]
    [again] = store.save_many([art("01-ferry.txt", "Ferry Pact Signed")])
    assert again.outcome is Outcome.UNCHANGED


def test_two_stories_with_one_title_get_their_own_slugs(any_db_app: App) -> None:
    store = any_db_app.articles
    store.save_many([art("a.txt", "Storm Warning")])
    [second, third] = store.save_many([art("b.txt", "Storm Warning", summary="other"),
                                       art("c.json", "Storm: Warning!")])  # fmt: skip
    assert (second.outcome, second.article.slug) == (Outcome.CREATED, "storm-warning-2")
    assert (third.outcome, third.article.slug) == (Outcome.CREATED, "storm-warning-3")
    assert len({s.article.guid for s in (second, third)}) == 2
    assert [r[:2] for r in rows(any_db_app)] == [
        ("a.txt", "storm-warning"), ("b.txt", "storm-warning-2"), ("c.json", "storm-warning-3"),
    ]  # fmt: skip
    stored = store.get("storm-warning")
    assert stored is not None and stored.summary == "s"  # never overwritten


def test_a_long_slug_stays_within_the_limit_when_suffixed(any_db_app: App) -> None:
    title = "word " * 40
    [one, two] = any_db_app.articles.save_many([art("x", title), art("y", title)])
    assert len(one.article.slug) <= 80 and len(two.article.slug) <= 80
    assert two.article.slug.endswith("-2") and one.article.slug != two.article.slug


def test_rows_from_before_source_ids_are_adopted_not_duplicated(any_db_app: App) -> None:
    store = any_db_app.articles
    store.save_many([art(None, "Old Story"), art(None, "Other Old Story")], published_at=T0)
    with any_db_app.db.begin() as conn:  # as migration 0006 left them
        conn.execute(t.update().values(source_id=None))
    [same, changed] = store.save_many([art("old.txt", "Old Story"),
                                       art("other.md", "Other Old Story", summary="new")])  # fmt: skip
    assert (same.outcome, changed.outcome) == (Outcome.UNCHANGED, Outcome.UPDATED)
    assert rows(any_db_app) == [("old.txt", "old-story", "Old Story"),
                                ("other.md", "other-old-story", "Other Old Story")]  # fmt: skip
    # Adopted once: a different story with that title is a new article now.
    [new] = store.save_many([art("elsewhere.txt", "Old Story")])
    assert (new.outcome, new.article.slug) == (Outcome.CREATED, "old-story-2")


def test_items_without_an_id_are_known_by_their_slug(any_db_app: App) -> None:
    store = any_db_app.articles
    [created] = store.save_many([art(None, "No Id Here")])
    assert created.article.source_id == "no-id-here"
    assert created.article.to_json()["source_id"] == "no-id-here"
    [updated] = store.save_many([art(None, "No Id Here", summary="edited")])
    assert updated.outcome is Outcome.UPDATED
    stored = store.get("no-id-here")
    assert stored is not None and stored.source_id == "no-id-here"


def test_an_edit_that_moves_sections_touches_both_sections(app: App) -> None:
    from publisher.feeds.changes import SectionTrackingStore

    app.publish([art("m.txt", "Moving Story")])
    store = SectionTrackingStore(app.articles)
    [saved] = store.save_many([art("m.txt", "Moving Story", section="Business")])
    assert (saved.outcome, saved.previous_section) == (Outcome.UPDATED, "world")
    assert store.sections == {"business", "world"}
    store.save_many([art("m.txt", "Moving Story", section="Business")])  # unchanged: no refresh
    assert store.sections == {"business", "world"}


def concurrently(count: int, job: Callable[[int], object]) -> list[object]:
    """Run ``job(i)`` in ``count`` threads released at once; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = job(i)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_concurrent_saves_of_one_new_article_make_one_row(any_db_app: App) -> None:
    """Before upserts this failed with ``UNIQUE constraint failed: articles.slug``."""
    rounds = 5
    for n in range(rounds):
        article = art(f"{n}.json", f"Breaking Story {n}")
        results = concurrently(6, lambda i, article=article: any_db_app.publish([article]))
        outcomes = sorted(saved.outcome for [saved] in results)  # type: ignore[misc]
        assert outcomes == [Outcome.CREATED] + [Outcome.UNCHANGED] * 5
        assert len({saved.article.guid for [saved] in results}) == 1  # type: ignore[misc]
    assert len(rows(any_db_app)) == rounds
    feed = feedparser.parse((Path(any_db_app.settings.feeds_dir) / "index.atom").read_bytes())
    assert sorted(e.title for e in feed.entries) == [f"Breaking Story {n}" for n in range(rounds)]


def test_concurrent_saves_of_different_stories_with_one_title(any_db_app: App) -> None:
    results = concurrently(4, lambda i: any_db_app.articles.save_many([art(f"s{i}", "Same Title")]))
    slugs = sorted(saved.article.slug for [saved] in results)  # type: ignore[misc]
    assert slugs == ["same-title", "same-title-2", "same-title-3", "same-title-4"]
    assert len(rows(any_db_app)) == 4


def test_concurrent_batches_that_overlap(any_db_app: App) -> None:
    """Writers saving overlapping batches in opposite orders: no deadlock, no error, one row each."""
    items = [art(f"k{i}", f"Story {i}") for i in range(40)]
    concurrently(4, lambda i: any_db_app.articles.save_many(items if i % 2 else items[::-1]))
    assert sorted(r[0] for r in rows(any_db_app)) == sorted(f"k{i}" for i in range(40))  # type: ignore[type-var]
    edited = [replace(a, summary="edited") for a in items]
    concurrently(4, lambda i: any_db_app.articles.save_many(edited if i % 2 else edited[::-1]))
    assert {a.summary for a in any_db_app.articles.list()} == {"edited"}
