"""What editors change in an edition before it starts sending: the one writer of its contents.

An edition's articles are frozen (by slug, in edition order) when it is created: by the scheduler's
sweep ``PUBLISHER_SCHEDULE_FREEZE_MINUTES`` before its first time zone is due, by ``edition send``,
or early by an editor who prepares an upcoming edition in the console. From then until its first
reader's copy is queued, it is a *draft*, and editors may:

- pin a story: put it first (any live article, in the edition or not, whatever its date);
- exclude a story: take it out (it is kept aside, and can be put back at the end);
- move a story up or down;
- set the subject line (empty: the template's again).

"Before it is frozen" means exactly that: the edition is ``draft`` (``states.py``, ``Verb.EDIT``),
has never started (``started_at`` is NULL) and none of its ledger rows has left ``pending``. Each
edit is ONE guarded UPDATE of the edition's row whose WHERE says all three, and also names the
revision the editor saw: an edit made over someone else's newer one is refused (409) rather than
silently undoing it. Once the edition is sending or later the UPDATE changes nothing and the
refusal names the state. Every edit bumps ``revision``; compiled copies of the edition (workers',
the console's preview and test-sends) are keyed by it, so the preview, a test-send and the sent
email all show the edit.

Status is not written here (``lifecycle.py`` owns it); ``section_keys`` follows the pool, so a
pinned story's section brings its readers in at the next fill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from publisher.article import Article
from publisher.article_store import ArticleStore
from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.delivery.editions import EditionRecord, EditionStore
from publisher.delivery.states import EDITION_MOVES, DeliveryState, EditionState, Verb, refusal
from publisher.errors import ConflictError, InvalidInputError, NotFoundError
from publisher.text import one_line

MAX_SUBJECT = 200


@dataclass(frozen=True, slots=True)
class Contents:
    """An edition's stories as editors see them: the pool in edition order (the first
    ``max_articles`` go to a reader of every section), and the ones taken out."""

    record: EditionRecord
    pool: tuple[Article, ...]
    excluded: tuple[Article, ...]
    editable: bool

    @property
    def lead_count(self) -> int:
        return min(len(self.pool), self.record.max_articles)


def check_subject(value: str) -> str | None:
    """An editor's subject line: one line of at most 200 characters; empty means the template's."""
    text = one_line(value or "")
    if not text:
        return None
    if len(text) > MAX_SUBJECT:
        raise InvalidInputError(
            f"subject: at most {MAX_SUBJECT} characters (got {len(text)})", field="subject"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInputError("subject: control characters are not allowed", field="subject")
    return text


class EditionContents:
    def __init__(self, db: Database, articles: ArticleStore, editions: EditionStore) -> None:
        self.db = db
        self.articles = articles
        self.editions = editions

    # -- reading ------------------------------------------------------------------------------------

    def of(self, edition_id: int) -> Contents:
        record = self._record(edition_id)
        stored = self.articles.by_slugs([*record.article_slugs, *record.excluded_slugs])
        pool = tuple(a for s in record.article_slugs if (a := stored.get(s)) and a.retracted_at is None)
        excluded = tuple(a for s in record.excluded_slugs if (a := stored.get(s)) is not None)
        return Contents(record, pool, excluded, self.editable(edition_id))

    def editable(self, edition_id: int) -> bool:
        with self.db.connect() as conn:
            return bool(conn.execute(sa.select(e.c.id).where(_editable(edition_id))).first())

    # -- editing ------------------------------------------------------------------------------------

    def pin(self, edition_id: int, slug: str, *, seen: int | None = None) -> EditionRecord:
        """Put the story ``slug`` first, taking it into the edition if it was not there."""
        article = self.articles.get(slug)
        if article is None:
            raise NotFoundError(f"slug: no article with slug {slug!r}", field="slug")
        if article.retracted_at is not None:
            raise InvalidInputError(f"slug: article {slug!r} is retracted", field="slug")
        return self._edit(edition_id, seen, lambda pool, out: ([slug, *(s for s in pool if s != slug)],
                                                                [s for s in out if s != slug]))  # fmt: skip

    def exclude(self, edition_id: int, slug: str, *, seen: int | None = None) -> EditionRecord:
        """Take the story out of the edition (kept aside, to be put back with ``include``)."""

        def change(pool: list[str], out: list[str]) -> tuple[list[str], list[str]]:
            if slug not in pool:
                raise NotFoundError(f"slug: {slug!r} is not in edition {edition_id}", field="slug")
            return [s for s in pool if s != slug], [*out, slug]

        return self._edit(edition_id, seen, change)

    def include(self, edition_id: int, slug: str, *, seen: int | None = None) -> EditionRecord:
        """Put an excluded story back, at the end of the edition."""

        def change(pool: list[str], out: list[str]) -> tuple[list[str], list[str]]:
            if slug not in out:
                raise NotFoundError(f"slug: {slug!r} was not taken out of edition {edition_id}", field="slug")
            return [*pool, slug], [s for s in out if s != slug]

        return self._edit(edition_id, seen, change)

    def move(self, edition_id: int, slug: str, by: int, *, seen: int | None = None) -> EditionRecord:
        """Move the story ``by`` places (-1: up, 1: down), within the edition's bounds."""

        def change(pool: list[str], out: list[str]) -> tuple[list[str], list[str]]:
            if slug not in pool:
                raise NotFoundError(f"slug: {slug!r} is not in edition {edition_id}", field="slug")
            at = pool.index(slug)
            to = max(0, min(len(pool) - 1, at + by))
            pool.insert(to, pool.pop(at))
            return pool, out

        return self._edit(edition_id, seen, change)

    def set_subject(self, edition_id: int, subject: str, *, seen: int | None = None) -> EditionRecord:
        """The editor's subject line; empty gives the template's back."""
        text = check_subject(subject)
        return self._edit(edition_id, seen, lambda pool, out: (pool, out), subject=text)

    # -- helpers ------------------------------------------------------------------------------------

    def _edit(
        self,
        edition_id: int,
        seen: int | None,
        change: Callable[[list[str], list[str]], tuple[list[str], list[str]]],
        **values: Any,
    ) -> EditionRecord:
        record = self._record(edition_id)
        revision = record.revision if seen is None else seen
        if revision != record.revision:
            raise _changed(edition_id)
        pool, out = change(list(record.article_slugs), list(record.excluded_slugs))
        stored = self.articles.by_slugs(pool)
        sections = sorted({stored[s].section_slug for s in pool if s in stored})
        with self.db.begin() as conn:
            moved = conn.execute(
                e.update()
                .where(_editable(edition_id), e.c.revision == revision)
                .values(article_slugs=pool, excluded_slugs=out, section_keys=sections,
                        revision=e.c.revision + 1, **values)
            ).rowcount  # fmt: skip
        if not moved:
            now = self._record(edition_id)
            if now.revision != revision and now.status == EditionState.DRAFT and now.started_at is None:
                raise _changed(edition_id)
            raise refusal(Verb.EDIT, edition_id, str(now.status), now.error)
        return self._record(edition_id)

    def _record(self, edition_id: int) -> EditionRecord:
        record = self.editions.get(edition_id)
        if record is None:
            raise NotFoundError(f"no edition with id {edition_id}", field="edition_id")
        return record


def _editable(edition_id: int) -> Any:
    """The edition is a draft that never started and none of whose rows has left pending."""
    moved_on = sa.exists().where(d.c.edition_id == edition_id, d.c.status != str(DeliveryState.PENDING))
    return sa.and_(
        e.c.id == edition_id,
        e.c.status.in_(sorted(EDITION_MOVES[Verb.EDIT].leaves)),
        e.c.started_at.is_(None),
        ~moved_on,
    )


def _changed(edition_id: int) -> ConflictError:
    return ConflictError(
        f"edition {edition_id} was changed by someone else since you loaded it: reload and try again",
        field="revision",
    )
