"""Articles in the database: save (create / update / unchanged / retracted), read, list, retract,
restore.

An article is identified by its source id (``Article.key``), not its title: a corrected headline
updates the same row, and its slug and guid stay. A new article takes the slug of its title, or
``<slug>-2``, ``-3``... when another story has it. Rows stored before source ids existed have none;
the first save whose slug matches such a row adopts it.

Saving is batched (one SELECT for the existing rows of a batch, one executemany each for the new
and the changed ones) and safe against concurrent writers on SQLite and PostgreSQL: new rows go in
with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, and a batch that finds the database changed
under it (a row it meant to insert was inserted by someone else, a slug was taken meanwhile) is
rolled back and planned again from what is now there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from publisher.article import MAX_SLUG, Article, Image
from publisher.db import Database
from publisher.db.schema import articles as t
from publisher.errors import ConflictError

# Namespace of article GUIDs: a GUID is derived once, at first publication, then stored.
GUID_NAMESPACE = uuid.UUID("6f1f3c1e-8a5b-4c59-9d0e-3c1b9b0d7a10")
CHUNK = 500  # keys per IN (...): under SQLite's bound-parameter limit
# Each retry sees what the concurrent writers committed, so a few suffice; past them something
# else is wrong and is reported.
ATTEMPTS = 8
# PostgreSQL's deadlock_detected and serialization_failure, SQLite's SQLITE_BUSY_SNAPSHOT (a read
# snapshot that another writer moved past): the batch is simply tried again.
_RETRY_CODES = {"40P01", "40001", 517}


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # The article was retracted: it stays so (a changed version is stored, still retracted) until
    # ``publisher articles restore``.
    RETRACTED = "retracted"


@dataclass(frozen=True, slots=True)
class Saved:
    article: Article  # as stored, with its dates
    outcome: Outcome
    # The section slug the stored row had before this save (None for a new one): an edit that
    # moves an article to another section changes the feed of the section it left.
    previous_section: str | None = None


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class _ChangeClock:
    """The time of each change, to the microsecond and strictly increasing within one batch: two
    articles saved together changed at two instants, and feed readers (and the feed validator)
    take equal ``updated`` values for one edit seen twice."""

    def __init__(self) -> None:
        self.last: datetime | None = None

    def __call__(self) -> datetime:
        now = datetime.now(UTC)
        if self.last is not None and now <= self.last:
            now = self.last + timedelta(microseconds=1)
        self.last = now
        return now


class _ReplanError(Exception):
    """The database changed between a batch's reads and its writes."""


@dataclass(slots=True)
class _Plan:
    results: list[Saved] = field(default_factory=list)
    inserts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by source id
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # by source id
    # What each written source id must look like afterwards: (slug, content hash).
    expected: dict[str, tuple[str, str]] = field(default_factory=dict)


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
        """Create new articles, update changed ones, leave identical ones alone (by source id).

        ``published_at`` applies to new articles that carry no date of their own; an update never
        moves ``published_at``, the slug or the guid, only ``updated_at``. A retracted article
        stays retracted (``Outcome.RETRACTED``); ``restore`` publishes it again.
        """
        if not items:
            return []
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.db.begin() as conn:
                    plan = self._plan(conn, items, published_at, _ChangeClock())
                    if not dry_run:  # a dry run ran only SELECTs: nothing to undo
                        self._write(conn, plan)
                return plan.results
            except _ReplanError:
                pass
            except sa.exc.IntegrityError:
                pass  # a unique key (slug, guid) taken by a concurrent writer after our reads
            except sa.exc.OperationalError as exc:
                code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorcode", None)
                if code not in _RETRY_CODES:
                    raise
            if attempt == ATTEMPTS:
                break
        raise ConflictError(f"articles could not be saved: still changing under {ATTEMPTS} attempts")

    def _plan(
        self, conn: sa.Connection, items: Sequence[Article], published_at: datetime | None,
        clock: _ChangeClock,
    ) -> _Plan:  # fmt: skip
        by_key = self._rows(conn, t.c.source_id, [a.key for a in items])
        unknown_slugs = [a.slug for a in items if a.key not in by_key]
        by_slug = self._rows(conn, t.c.slug, unknown_slugs)
        taken = set(by_slug)  # slugs in use: stored, or given to an earlier item of this batch
        plan = _Plan()
        for article in items:
            now = clock()  # this article's change, to the microsecond
            key = article.key
            row = by_key.get(key)
            adopted = False
            if row is None:
                legacy = by_slug.get(article.slug)
                if legacy is not None and legacy["source_id"] is None:
                    row, adopted = legacy, True  # stored before source ids: this is the same article
                    legacy["source_id"] = key
                    by_key[key] = row
            if row is None:
                slug = self._free_slug(conn, article.slug, taken)
                taken.add(slug)
                stored = replace(article, slug=slug, source_id=key)
                # A publication time in whole seconds, as feeds show it; the change time exact.
                published = article.published_at or published_at or now.replace(microsecond=0)
                stored = stored.with_dates(published, max(published, now))
                stored = replace(stored, guid=_new_guid(stored))
                digest = stored.content_hash()
                plan.inserts[key] = _row(stored, digest)
                plan.expected[key] = (slug, digest)
                by_key[key] = {**_row(stored, digest), "section_slug": stored.section_slug}
                plan.results.append(Saved(stored, Outcome.CREATED))
                continue
            stored = replace(article, slug=row["slug"], source_id=key, guid=row["guid"])
            digest = stored.content_hash()
            retracted = row["retracted_at"]
            before = row["section_slug"]
            if row["content_hash"] == digest:
                stored = replace(stored.with_dates(row["published_at"], row["updated_at"]),
                                 retracted_at=retracted)  # fmt: skip
                outcome = Outcome.UNCHANGED if retracted is None else Outcome.RETRACTED
                if adopted:
                    plan.updates[key] = {"source_id": key, "b_slug": row["slug"], "b_key": key}
                    plan.expected[key] = (row["slug"], digest)
                plan.results.append(Saved(stored, outcome, before))
                continue
            updated = max(now, row["published_at"])
            stored = replace(stored.with_dates(row["published_at"], updated), retracted_at=retracted)
            values = _row(stored, digest)
            for name in ("guid", "slug", "published_at", "retracted_at"):
                values.pop(name)
            values.update(b_slug=row["slug"], b_key=key)
            plan.updates[key] = values
            plan.expected[key] = (row["slug"], digest)
            row.update(content_hash=digest, updated_at=updated, section_slug=stored.section_slug)
            outcome = Outcome.UPDATED if retracted is None else Outcome.RETRACTED
            plan.results.append(Saved(stored, outcome, before))
        return plan

    def _write(self, conn: sa.Connection, plan: _Plan) -> None:
        # Sorted, so that two writers lock rows in the same order and never deadlock each other.
        inserts = [plan.inserts[key] for key in sorted(plan.inserts)]
        if inserts:
            insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
            stmt = insert.on_conflict_do_nothing().returning(t.c.source_id)
            landed = set(conn.execute(stmt, inserts).scalars())
            if landed != set(plan.inserts):
                raise _ReplanError  # someone else stored one of them first: it is an update now
        updates = [plan.updates[key] for key in sorted(plan.updates)]
        for columns in {tuple(u) for u in updates}:  # an adoption sets fewer columns than an edit
            conn.execute(
                t.update()
                .where(
                    t.c.slug == sa.bindparam("b_slug"),
                    sa.or_(t.c.source_id.is_(None), t.c.source_id == sa.bindparam("b_key")),
                )
                .values({k: sa.bindparam(k) for k in columns if not k.startswith("b_")}),
                [u for u in updates if tuple(u) == columns],
            )
        if plan.updates:
            found = self._rows(conn, t.c.source_id, list(plan.updates))
            for key in plan.updates:
                row = found.get(key)
                if row is None or (row["slug"], row["content_hash"]) != plan.expected[key]:
                    raise _ReplanError

    def _rows(
        self, conn: sa.Connection, column: sa.Column[str], values: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(values))
        cols = (t.c.slug, t.c.source_id, t.c.section_slug, t.c.content_hash, t.c.published_at,
                t.c.updated_at, t.c.guid, t.c.retracted_at)  # fmt: skip
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), CHUNK):
            query = sa.select(*cols).where(column.in_(wanted[start : start + CHUNK]))
            for row in conn.execute(query).mappings():
                found[row[column.name]] = dict(row)
        return found

    def _free_slug(self, conn: sa.Connection, slug: str, taken: set[str]) -> str:
        """``slug``, or the first of ``slug-2``, ``slug-3``... that no other story has."""
        if slug not in taken:
            return slug
        base = slug[: MAX_SLUG - 4].rstrip("-") or slug
        # Slugs are [a-z0-9-] only, so LIKE's wildcards cannot occur in ``base``.
        query = sa.select(t.c.slug).where(t.c.slug.like(f"{base}-%"))
        used = taken | set(conn.execute(query).scalars())
        n = 2
        while f"{base}-{n}" in used:
            n += 1
        return f"{base}-{n}"

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
        offset: int = 0,
    ) -> list[Article]:
        """Newest first. ``section`` matches the name or its slug, case-insensitively."""
        query = sa.select(t).order_by(t.c.published_at.desc(), t.c.id.desc())
        if section:
            query = query.where(_in_section(section))
        if offset:
            query = query.offset(offset)
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

    def count_live(self, section: str | None = None) -> int:
        """How many live articles ``list`` pages through (``section`` as there)."""
        query = sa.select(sa.func.count()).select_from(t).where(t.c.retracted_at.is_(None))
        if section:
            query = query.where(_in_section(section))
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def live_rows(self) -> list[tuple[Any, ...]]:
        """(id, guid, slug, title, section, section_slug, published_at, updated_at, content_hash) of
        every live article, oldest first: what archives and sitemaps are planned from, without the
        text."""
        # The two times read as the driver gives them and made aware here: the column type's
        # per-value processing was a third of the read, and this runs on every feeds refresh.
        published, updated = (sa.type_coerce(c, sa.String) for c in (t.c.published_at, t.c.updated_at))
        cols = (t.c.id, t.c.guid, t.c.slug, t.c.title, t.c.section, t.c.section_slug, published, updated,
                t.c.content_hash)  # fmt: skip
        query = sa.select(*cols).where(t.c.retracted_at.is_(None)).order_by(t.c.published_at, t.c.id)
        with self.db.connect() as conn:
            return [
                (i, g, s, ti, se, ss, _utc(p), _utc(u), h)
                for i, g, s, ti, se, ss, p, u, h in conn.execute(query)
            ]

    def by_ids(self, ids: Iterable[int]) -> dict[int, Article]:
        """The articles with these row ids (retracted or not), by id."""
        return self._by(t.c.id, ids)

    def digests(self, ids: Iterable[int]) -> dict[int, Article]:
        """The articles with these row ids, by id, with only what an archive entry shows (the
        digest): no body, source, dateline or edition, nor whether retracted (the archives ask for
        live rows). The archives read every article of a month this way, so the columns are few
        and read raw, times and JSON converted here (as in live_rows)."""
        wanted = sorted(set(ids))
        raw = (t.c.quick_looks, t.c.authors, t.c.published_at, t.c.updated_at)
        ql, authors, published, updated = (sa.type_coerce(c, sa.String) for c in raw)
        cols = (t.c.id, t.c.guid, t.c.slug, t.c.title, t.c.section, t.c.summary, t.c.quick_looks_title, ql,
                authors, t.c.image_url, t.c.image_alt, t.c.image_width, t.c.image_height, published,
                updated)  # fmt: skip
        found: dict[int, Article] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), 1000):
                # The ids written into the statement: whole numbers (int() of each), so nothing to
                # escape, and no bound parameter for SQLAlchemy to name one by one (a fifth of the
                # time of this read).
                listed = ",".join(str(int(i)) for i in wanted[start : start + 1000])
                query = sa.select(*cols).where(t.c.id.in_(sa.text(listed)))
                for i, guid, slug, title, section, summary, ql_title, ql, authors, url, alt, width, height, \
                        published, updated in conn.execute(query):  # fmt: skip
                    found[i] = Article(
                        slug=slug, title=title, section=section, summary=summary, quick_looks_title=ql_title,
                        quick_looks=tuple(_json(ql)), authors=tuple(_json(authors)),
                        image=Image(url, alt or "", width, height) if url else None,
                        published_at=_utc(published), updated_at=_utc(updated), guid=guid,
                    )  # fmt: skip
        return found

    def by_slugs(self, slugs: Iterable[str]) -> dict[str, Article]:
        """The articles with these slugs (retracted or not), by slug."""
        return self._by(t.c.slug, slugs)

    def _by(self, column: Any, values: Iterable[Any]) -> dict[Any, Article]:
        """Whole articles whose ``column`` is one of ``values``, keyed by that value, read in
        chunks (a long IN list is cut at CHUNK)."""
        wanted = sorted(set(values))
        found: dict[Any, Article] = {}
        with self.db.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                query = sa.select(t).where(column.in_(wanted[start : start + CHUNK]))
                for row in conn.execute(query).mappings():
                    found[row[column.name]] = _article(row)
        return found

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

    def last_updated(self) -> datetime | None:
        """The newest ``updated_at`` of any article, retracted or not (None when there is none).
        Rows are never deleted and a save never moves a row's ``updated_at`` back, so this only
        goes down when a future-dated article (``updated_at`` = its ``published_at``) is
        retracted or restored, which stamps it with the present."""
        with self.db.connect() as conn:
            value: datetime | None = conn.execute(sa.select(sa.func.max(t.c.updated_at))).scalar()
        return value

    def retract(self, slug: str) -> Article | None:
        """Withdraw an article from feeds and editions; the row is kept. None if unknown."""
        now = datetime.now(UTC)
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.slug == slug, t.c.retracted_at.is_(None))
                .values(retracted_at=now, updated_at=now)
            )
            row = conn.execute(sa.select(t).where(t.c.slug == slug)).mappings().first()
        return _article(row) if row else None

    def restore(self, slug: str) -> Article | None:
        """Publish a retracted article again (as last stored); a no-op for a live one. None if
        unknown. ``updated_at`` moves, so feed readers see the item come back as changed."""
        now = datetime.now(UTC)
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.slug == slug, t.c.retracted_at.is_not(None))
                .values(retracted_at=None, updated_at=now)
            )
            row = conn.execute(sa.select(t).where(t.c.slug == slug)).mappings().first()
        return _article(row) if row else None


def _in_section(section: str) -> Any:
    return sa.or_(sa.func.lower(t.c.section) == section.lower(), t.c.section_slug == section)


_JSON = json.JSONDecoder()


def _json(value: Any) -> Any:
    """A JSON column read raw: SQLite gives the text (as written by json.dumps, which raw_decode
    reads at a third of the cost of json.loads), PostgreSQL the value already parsed."""
    if not isinstance(value, str):
        return value
    try:
        return _JSON.raw_decode(value)[0]
    except ValueError:  # e.g. leading whitespace in a row written by hand
        return json.loads(value)


def _utc(value: datetime | str) -> datetime:
    """A stored time as UTCDateTime reads it: SQLite gives text, PostgreSQL a naive datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")  # faster than replace(tzinfo=UTC) after
    return value.replace(tzinfo=UTC)


def _new_guid(article: Article) -> str:
    assert article.published_at is not None
    return "urn:uuid:" + str(uuid.uuid5(GUID_NAMESPACE, f"{article.slug}|{article.published_at.isoformat()}"))


def _row(article: Article, digest: str) -> dict[str, Any]:
    return {
        "guid": article.guid,
        "slug": article.slug,
        "source_id": article.key,
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
        "image_width": article.image.width if article.image else None,
        "image_height": article.image.height if article.image else None,
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
        image=Image(row["image_url"], row["image_alt"] or "", row["image_width"], row["image_height"])
        if row["image_url"]
        else None,
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        guid=row["guid"],
        retracted_at=row["retracted_at"],
        source_id=row["source_id"],
    )
