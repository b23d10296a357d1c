"""Saving articles on SQLite and PostgreSQL: create, update, no-op, retract, list, migrations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from publisher.app import App
from publisher.article import Article
from publisher.article_store import Outcome
from publisher.db.schema import metadata

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def art(slug: str, section: str = "World", **changes: object) -> Article:
    base = Article(slug=slug, title=slug.replace("-", " ").title(), section=section, summary="s")
    return replace(base, **changes)


def test_create_update_unchanged(any_db_app: App) -> None:
    store = any_db_app.articles
    with time_machine.travel(T0, tick=False):
        [saved] = store.save_many([art("a-story")])
    assert saved.outcome is Outcome.CREATED
    assert saved.article.published_at == saved.article.updated_at == T0
    guid = saved.article.guid
    assert guid and guid.startswith("urn:uuid:")

    with time_machine.travel(T0.replace(hour=8), tick=False):
        [same] = store.save_many([art("a-story")])
        [changed] = store.save_many([art("a-story", summary="new")])
    assert same.outcome is Outcome.UNCHANGED
    assert changed.outcome is Outcome.UPDATED
    stored = store.get("a-story")
    assert stored is not None
    assert (stored.summary, stored.guid, stored.published_at) == ("new", guid, T0)
    assert stored.updated_at == T0.replace(hour=8)


def test_published_at_is_given_or_now_and_never_moves(any_db_app: App) -> None:
    store = any_db_app.articles
    given = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    store.save_many([art("dated")], published_at=given)
    store.save_many([art("dated", summary="edit")], published_at=datetime(2027, 1, 1, tzinfo=UTC))
    stored = store.get("dated")
    assert stored is not None and stored.published_at == given


def test_dry_run_stores_nothing(any_db_app: App) -> None:
    [saved] = any_db_app.articles.save_many([art("dry")], dry_run=True)
    assert saved.outcome is Outcome.CREATED
    assert any_db_app.articles.get("dry") is None


def test_list_filters_and_orders_newest_first(any_db_app: App) -> None:
    store = any_db_app.articles
    for hour, slug, section in [(1, "old", "World"), (3, "new", "US News"), (2, "mid", "World")]:
        store.save_many([art(slug, section)], published_at=T0.replace(hour=hour))
    assert [a.slug for a in store.list()] == ["new", "mid", "old"]
    assert [a.slug for a in store.list(section="world")] == ["mid", "old"]
    assert [a.slug for a in store.list(section="us-news")] == ["new"]
    assert [a.slug for a in store.list(limit=1)] == ["new"]
    assert [a.slug for a in store.list(since=T0.replace(hour=2))] == ["new", "mid"]
    assert store.sections() == [("US News", "us-news"), ("World", "world")]


def test_retraction_sticks_until_restored(any_db_app: App) -> None:
    store = any_db_app.articles
    store.save_many([art("gone")])
    retracted = store.retract("gone")
    assert retracted is not None and retracted.retracted_at is not None
    assert store.list() == []
    assert [a.slug for a in store.list(include_retracted=True)] == ["gone"]
    assert store.retract("no-such-article") is None

    [same] = store.save_many([art("gone")])
    assert same.outcome is Outcome.RETRACTED and same.article.retracted_at is not None
    [fixed] = store.save_many([art("gone", summary="corrected")])  # kept, still retracted
    assert fixed.outcome is Outcome.RETRACTED
    assert store.list() == []

    restored = store.restore("gone")
    assert restored is not None and restored.retracted_at is None
    assert [(a.slug, a.summary) for a in store.list()] == [("gone", "corrected")]
    assert store.restore("no-such-article") is None
    [again] = store.save_many([art("gone", summary="corrected")])
    assert again.outcome is Outcome.UNCHANGED


def test_many_articles_in_one_batch(any_db_app: App) -> None:
    items = [art(f"story-{i}", section=f"S{i % 7}") for i in range(1200)]
    outcomes = {s.outcome for s in any_db_app.articles.save_many(items)}
    assert outcomes == {Outcome.CREATED}
    assert len(any_db_app.articles.list()) == 1200
    assert {s.outcome for s in any_db_app.articles.save_many(items)} == {Outcome.UNCHANGED}


def test_the_same_slug_twice_in_one_batch(any_db_app: App) -> None:
    results = any_db_app.articles.save_many([art("twin"), art("twin", summary="second")])
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.UPDATED]
    stored = any_db_app.articles.get("twin")
    assert stored is not None and stored.summary == "second"


def test_migrated_schema_matches_the_metadata(any_db_app: App) -> None:
    any_db_app.db.upgrade()
    with any_db_app.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert any_db_app.db.current_revision() == any_db_app.db.head_revision()


def test_upgrade_is_idempotent(any_db_app: App) -> None:
    any_db_app.db.upgrade()
    before, after = any_db_app.db.upgrade()
    assert before == after == any_db_app.db.head_revision()
    with any_db_app.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() is not None
