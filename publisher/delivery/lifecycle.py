"""Every write to ``editions.status`` and ``deliveries.status``: nobody else changes either.

Each write is one UPDATE whose WHERE names the states it leaves, taken from the tables in
``states.py``, so two workers, a task delivered twice, a sweep and an ops verb racing each other can
never both move the same row: the one whose UPDATE changed it owns the move. Rows are only queued
and claimed while their edition is live (draft or sending), checked inside the same UPDATE, so once
``pause``, ``halt`` or ``cancel`` has committed no further row of that edition is claimed; the
messages already claimed (``CLAIMED_AHEAD`` and one per batch at most, see ``send.py``) finish.

``claimed_at`` is when a row's current lease began (queued or sending); rows past the lease are taken
up again by ``requeue_expired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscribers as s
from publisher.delivery.states import (
    DONE_ROWS,
    EDITION_MOVES,
    LIVE,
    RELEASE_BY_EDITION,
    ROW_MOVES,
    DeliveryState,
    EditionState,
    RowMove,
    Verb,
    refusal,
)
from publisher.errors import NotFoundError

CLAIM_CHUNK = 10_000
ANALYZE_AFTER = 10_000  # rows added by one fill
LEASE_RESEND = "lease expired while sending: sent again"
LEASE_SKIP = "lease expired while sending: not sent again (policy skip)"
CANCELLED = "edition cancelled"


class Claim(StrEnum):
    CLAIMED = "claimed"  # this worker owns the row now: send it
    SKIPPED = "skipped"  # the subscriber is no longer active; recorded as skipped
    TAKEN = "taken"  # another worker has it, it is done already, or its edition is not live


def now_utc() -> datetime:
    return datetime.now(UTC)


def _leaves(move: RowMove) -> Any:
    return d.c.status.in_(sorted(ROW_MOVES[move].leaves))


def _to(move: RowMove) -> str:
    to = ROW_MOVES[move].to
    assert to is not None
    return str(to)


def _edition_in(states: Iterable[str]) -> Any:
    """The row's edition is in one of ``states`` (evaluated inside the row's UPDATE)."""
    return d.c.edition_id.in_(sa.select(e.c.id).where(e.c.status.in_(sorted(states))))


def following(section_keys: Iterable[str]) -> Any:
    """The subscriber follows one of ``section_keys`` (slugs), or every section: who an edition's
    fill reaches (``Lifecycle.fill``), and whom a send would add (``impact.py``)."""
    keys = sorted(set(section_keys))
    return sa.or_(s.c.section_keys == "", *[s.c.section_keys.like(f"%|{k}|%") for k in keys])


class Lifecycle:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- editions -----------------------------------------------------------------------------------

    def create_edition(self, values: Mapping[str, Any], state: EditionState) -> int:
        """Insert a frozen edition in its first state (draft, or empty when it has no articles)."""
        assert state in (EditionState.DRAFT, EditionState.EMPTY)
        with self.db.begin() as conn:
            stmt = e.insert().values(**values, status=str(state)).returning(e.c.id)
            return int(conn.execute(stmt).scalar_one())

    def require(self, verb: Verb, edition_id: int, conn: Connection | None = None) -> str:
        """The edition's state, if ``verb`` applies to it; else the refusal naming what to do."""
        with self._begin(conn) as tx:
            state, error = self._state(tx, edition_id)
        if state not in EDITION_MOVES[verb].leaves:
            raise refusal(verb, edition_id, state, error)
        return state

    def start(self, edition_id: int, now: datetime | None = None) -> None:
        """send (first or again): draft | sending | sent → sending."""
        now = now or now_utc()
        self._move(
            Verb.SEND, edition_id, status=str(EditionState.SENDING), finished_at=None,
            started_at=sa.func.coalesce(e.c.started_at, now),
        )  # fmt: skip

    def started(self, edition_id: int, now: datetime | None = None) -> None:
        """A scheduled edition's first rows were queued: draft → sending (anything else stays)."""
        with self.db.begin() as conn:
            conn.execute(
                e.update()
                .where(e.c.id == edition_id, e.c.status == str(EditionState.DRAFT))
                .values(status=str(EditionState.SENDING), started_at=now or now_utc())
            )

    def pause(self, edition_id: int) -> int:
        """draft | sending → paused; its queued rows go back to pending. Returns how many."""
        with self.db.begin() as conn:
            self._move(Verb.PAUSE, edition_id, conn=conn, status=str(EditionState.PAUSED))
            return self._hold(conn, edition_id)

    def halt(self, edition_id: int, error: str) -> bool:
        """Publisher's own fault: draft | sending | paused → halted with the error; its queued rows
        go back to pending (none is failed). False if the edition was in another state."""
        with self.db.begin() as conn:
            moved = conn.execute(
                e.update()
                .where(e.c.id == edition_id, e.c.status.in_(sorted(EDITION_MOVES[Verb.HALT].leaves)))
                .values(status=str(EditionState.HALTED), error=error[:2000])
            ).rowcount
            if moved:
                self._hold(conn, edition_id)
        return bool(moved)

    def resume(self, edition_id: int) -> str:
        """paused | halted → sending if it had started, else draft; the error is cleared."""
        state = sa.case((e.c.started_at.is_(None), str(EditionState.DRAFT)), else_=str(EditionState.SENDING))
        with self.db.begin() as conn:
            self._move(Verb.RESUME, edition_id, conn=conn, status=state, error=None)
            return str(conn.execute(sa.select(e.c.status).where(e.c.id == edition_id)).scalar_one())

    def cancel(self, edition_id: int, now: datetime | None = None) -> int:
        """draft | sending | paused | halted → cancelled; every row not yet claimed is skipped."""
        with self.db.begin() as conn:
            self._move(Verb.CANCEL, edition_id, conn=conn, status=str(EditionState.CANCELLED),
                       finished_at=now or now_utc())  # fmt: skip
            return conn.execute(
                d.update()
                .where(d.c.edition_id == edition_id, _leaves(RowMove.CANCEL))
                .values(status=_to(RowMove.CANCEL), last_error=CANCELLED)
            ).rowcount

    def finish_if_done(self, edition_id: int, now: datetime | None = None) -> bool:
        """sending → sent, in one UPDATE that checks no row is left open."""
        still_open = sa.exists().where(d.c.edition_id == edition_id, d.c.status.not_in(sorted(DONE_ROWS)))
        with self.db.begin() as conn:
            return bool(
                conn.execute(
                    e.update()
                    .where(e.c.id == edition_id, e.c.status.in_(sorted(EDITION_MOVES[Verb.FINISH].leaves)),
                           ~still_open)
                    .values(status=str(EditionState.SENT), finished_at=now or now_utc())
                ).rowcount
            )  # fmt: skip

    # -- rows ---------------------------------------------------------------------------------------

    def fill(
        self,
        edition_id: int,
        section_keys: Iterable[str],
        *,
        due_at: datetime | Mapping[str, datetime] | Mapping[tuple[str, str | None], datetime] | None = None,
    ) -> int:
        """Add a pending row for every active subscriber who follows a section of the live edition
        (or all sections): ONE ``INSERT ... SELECT``. Idempotent: rows already there are kept.

        ``due_at``: None (send now), one instant, or a mapping, each subscriber's row due at their
        own instant: {time zone: instant} (the scheduler's "07:00 in each reader's zone"), or
        {(time zone, the reader's own hour or None): instant} (readers who chose their hour);
        subscribers whose zone (and hour) is not named get no row yet.
        """
        keys = sorted(set(section_keys))
        if not keys:
            return 0
        follows = following(keys)
        # Rows only for an edition that exists and is live (the ledger has no foreign key to it).
        live = sa.exists().where(e.c.id == edition_id, e.c.status.in_(sorted(LIVE)))
        where = [s.c.status == "active", follows, live]
        if isinstance(due_at, Mapping):
            if not due_at:
                return 0
            due, has_slot = _due_by_slot(due_at)
            where.append(has_slot)
        else:
            due = sa.literal(due_at, d.c.due_at.type)
        select = sa.select(
            sa.literal(edition_id, sa.Integer),
            s.c.id,
            sa.literal(_to(RowMove.FILL), sa.String),
            sa.literal(0, sa.Integer),
            due,
        ).where(*where)
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(d)
        stmt = insert.from_select(
            ["edition_id", "subscriber_id", "status", "attempts", "due_at"], select
        ).on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
        with self.db.begin() as conn:
            # SQLAlchemy reports an INSERT ... SELECT's rowcount only when asked to.
            added = conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
        if added >= ANALYZE_AFTER and not self.db.is_sqlite:
            # Statistics now, not when autovacuum gets round to it: the sweep's claims and the
            # status reads are planned right after a fill of the whole list.
            with self.db.begin() as conn:
                conn.execute(sa.text("ANALYZE deliveries"))
        return added

    def queue_pending(self, edition_id: int, now: datetime | None = None) -> list[int]:
        """pending → queued for the edition's due rows, while it is live; returns their ids (each to
        exactly one caller)."""
        now = now or now_utc()
        stmt = (
            d.update()
            .where(
                d.c.edition_id == edition_id,
                _leaves(RowMove.QUEUE),
                sa.or_(d.c.due_at.is_(None), d.c.due_at <= now),
                _edition_in(LIVE),
            )
            .values(status=_to(RowMove.QUEUE), claimed_at=now)
            .returning(d.c.id)
        )
        with self.db.begin() as conn:
            return sorted(conn.execute(stmt).scalars())

    def claim_due(self, now: datetime, *, chunk: int = CLAIM_CHUNK) -> dict[int, list[int]]:
        """The sweep: pending → queued for every due row of a live edition; {edition id: row ids}.

        Edition by edition, in due order along ``ix_deliveries_edition_status``, one chunk per
        ``UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))`` on PostgreSQL (the
        ARRAY keeps the planner on the primary key instead of joining the whole table back), so
        two sweeps never wait on each other and never take the same row; SQLite has one writer at
        a time, which gives the same guarantee.
        """
        with self.db.connect() as conn:
            live = conn.execute(sa.select(e.c.id).where(e.c.status.in_(sorted(LIVE)))).scalars().all()
        claimed: dict[int, list[int]] = {}
        for edition_id in sorted(live):
            while True:
                due = (
                    sa.select(d.c.id)
                    .where(d.c.edition_id == edition_id, _leaves(RowMove.QUEUE), d.c.due_at <= now)
                    .order_by(d.c.due_at)
                    .limit(chunk)
                )
                if self.db.is_sqlite:
                    chosen = d.c.id.in_(due.scalar_subquery())
                else:
                    locked = due.with_for_update(skip_locked=True).scalar_subquery()
                    chosen = d.c.id == sa.any_(sa.func.array(locked))
                # The edition's state as a constant subquery, not a join: the planner then takes
                # the chunk's ids from the primary key even before the table has statistics.
                still_live = sa.exists().where(e.c.id == edition_id, e.c.status.in_(sorted(LIVE)))
                stmt = (
                    d.update()
                    .where(chosen, _leaves(RowMove.QUEUE), still_live)
                    .values(status=_to(RowMove.QUEUE), claimed_at=now)
                    .returning(d.c.id)
                )
                with self.db.begin() as conn:
                    ids = conn.execute(stmt).scalars().all()
                if ids:
                    claimed.setdefault(edition_id, []).extend(ids)
                if len(ids) < chunk:
                    break
        return {edition_id: sorted(ids) for edition_id, ids in claimed.items()}

    def skip_late(self, now: datetime, lateness_seconds: float) -> dict[int, int]:
        """Pending rows of live editions more than the lateness limit past due are skipped; a paused
        or halted edition's rows wait, and meet the limit when it is resumed. {edition id: count}."""
        limit = now - timedelta(seconds=lateness_seconds)
        stmt = (
            d.update()
            .where(_leaves(RowMove.LATE), d.c.due_at.is_not(None), d.c.due_at < limit, _edition_in(LIVE))
            .values(
                status=_to(RowMove.LATE),
                last_error=f"late: not sent within {lateness_seconds / 3600:g} h of due time",
            )
            .returning(d.c.edition_id)
        )
        counts: dict[int, int] = {}
        with self.db.begin() as conn:
            for edition_id in conn.execute(stmt).scalars():
                counts[edition_id] = counts.get(edition_id, 0) + 1
        return counts

    def claim(self, row_id: int, now: datetime | None = None, *, conn: Connection | None = None) -> Claim:
        """queued → sending, if the row is still queued, its edition live and its reader active."""
        return self.claim_many([row_id], now, conn=conn)[row_id]

    def claim_many(
        self, row_ids: Sequence[int], now: datetime | None = None, *, conn: Connection | None = None
    ) -> dict[int, Claim]:
        """``claim`` for a group of rows in one transaction: two statements whatever its size
        (claim those that can be; of the rest, skip those whose reader left, SKIPPED; any other
        is TAKEN: another worker has it, it is done, or its edition is not live)."""
        if not row_ids:
            return {}
        now = now or now_utc()
        ids = list(row_ids)
        with self._begin(conn) as tx:
            claimed = set(tx.execute(_CLAIM_MANY, {"row_ids": ids, "now": now}).scalars())
            rest = [row_id for row_id in ids if row_id not in claimed]
            skipped = set(tx.execute(_SKIP_GONE_MANY, {"row_ids": rest}).scalars()) if rest else set()
        sorted_out = {**dict.fromkeys(ids, Claim.TAKEN), **dict.fromkeys(skipped, Claim.SKIPPED)}
        return {**sorted_out, **dict.fromkeys(claimed, Claim.CLAIMED)}

    def mark_sent(
        self, row_id: int, message_id: str, now: datetime | None = None, *, conn: Connection | None = None
    ) -> None:
        self.mark_sent_many([(row_id, message_id)], now, conn=conn)

    def mark_sent_many(
        self, sent: Sequence[tuple[int, str]], now: datetime | None = None, *, conn: Connection | None = None
    ) -> None:
        """Record a group of sends, (row id, Message-ID) each, in one transaction (one commit)."""
        if not sent:
            return
        now = now or now_utc()
        with self._begin(conn) as tx:
            if tx.dialect.name == "postgresql":  # one statement for the group, not one per row
                ids, message_ids = zip(*sent, strict=True)
                tx.execute(_SENT_GROUP, {"row_ids": list(ids), "message_ids": list(message_ids), "now": now})
                return
            params = [{"row_id": row_id, "b_message_id": mid, "now": now} for row_id, mid in sent]
            tx.execute(_SENT_EACH, params)

    @contextmanager
    def claiming(self) -> Iterator[Connection]:
        """A connection for a batch's claims, whose commits do not wait for the disk.

        A claim lost in a database crash leaves its row queued: if the row went out before the
        crash, its send was not yet recorded either (records commit durably, and a durable
        commit carries every earlier one), so it is one of the sends the guarantee already
        counts as possibly repeated. Every other kind of failure (a killed worker, a lost task)
        finds the claim committed: the database itself did not go down.
        """
        with self.db.connect() as conn:
            if self.db.is_sqlite:
                yield conn
                return
            conn.exec_driver_sql("SET synchronous_commit TO OFF")
            conn.commit()
            try:
                yield conn
            finally:
                try:
                    if conn.in_transaction():
                        conn.rollback()
                    conn.exec_driver_sql("RESET synchronous_commit")
                    conn.commit()
                except sa.exc.DBAPIError:
                    conn.invalidate()  # never back to the pool with commits that do not wait

    def mark_failed(self, row_id: int, reply: str) -> None:
        """The SMTP server refused the message for good (5xx, or 4xx past the retries)."""
        self._set(row_id, RowMove.FAILED, status=_to(RowMove.FAILED), last_error=reply[:2000])

    def note_retry(self, row_id: int, reply: str, now: datetime | None = None) -> None:
        """A transient failure: keep the reply, count the attempt, renew the lease (still ours)."""
        self._set(row_id, RowMove.RETRY, last_error=reply[:2000], claimed_at=now or now_utc(),
                  attempts=d.c.attempts + 1)  # fmt: skip

    def release(self, row_id: int, reply: str, now: datetime | None = None) -> None:
        """Give back a row this worker holds, unsent (the mail server is unreachable, or publisher
        halted the batch): queued again if its edition is live, else where the edition's state
        says (``RELEASE_BY_EDITION``)."""
        with self.db.begin() as conn:
            self._give_back(conn, d.c.id == row_id, now or now_utc(), reply[:2000])

    def requeue_expired(
        self, lease: float, *, resend: bool = True, now: datetime | None = None
    ) -> dict[int, list[int]]:
        """Take back rows whose lease ran out; returns {edition id: row ids to queue again}.

        A row in 'sending' past the lease belongs to a dead worker (a live one renews the lease on
        every attempt). It may have gone out just before the crash, so with ``resend`` it is given
        back like a released row (at most one duplicate), otherwise skipped.
        A row in 'queued' past the lease may just be waiting in a long queue, so it is only taken
        back when its live edition has made no progress for a whole lease — then its task was lost
        (a killed worker's prefetched task, a Redis restart without AOF).
        """
        now = now or now_utc()
        cutoff = now - timedelta(seconds=lease)
        out: dict[int, list[int]] = {}
        with self.db.begin() as conn:
            expired = d.c.claimed_at < cutoff
            if resend:
                for row_id, edition_id in self._give_back(conn, expired, now, LEASE_RESEND):
                    out.setdefault(edition_id, []).append(row_id)
            else:
                conn.execute(
                    d.update()
                    .where(_leaves(RowMove.LEASE_SKIP), expired)
                    .values(status=_to(RowMove.LEASE_SKIP), last_error=LEASE_SKIP)
                )
            waiting = conn.execute(
                sa.select(d.c.edition_id)
                .where(d.c.status == str(DeliveryState.QUEUED), expired, _edition_in(LIVE))
                .distinct()
            ).scalars()
            moving = [*sorted(DONE_ROWS), str(DeliveryState.SENDING)]
            for edition_id in list(waiting):
                progress = conn.execute(
                    sa.select(d.c.id)
                    .where(d.c.edition_id == edition_id, d.c.status.in_(moving), d.c.claimed_at >= cutoff)
                    .limit(1)
                ).first()
                if progress is not None:
                    continue
                taken = conn.execute(
                    d.update()
                    .where(d.c.edition_id == edition_id, d.c.status == str(DeliveryState.QUEUED), expired,
                           _edition_in(LIVE))
                    .values(claimed_at=now)
                    .returning(d.c.id)
                ).scalars()  # fmt: skip
                out.setdefault(edition_id, []).extend(taken)
        return {edition_id: sorted(ids) for edition_id, ids in out.items() if ids}

    # -- helpers ------------------------------------------------------------------------------------

    def _give_back(self, conn: Connection, which: Any, now: datetime, reason: str) -> list[tuple[int, int]]:
        """'sending' rows matching ``which`` back by their edition's state; the (row, edition) ids
        queued again (live editions), which the caller enqueues."""
        queued: list[tuple[int, int]] = []
        for move, states in RELEASE_BY_EDITION.items():
            stmt = (
                d.update()
                .where(which, _leaves(move), _edition_in(states))
                .values(status=_to(move), last_error=reason,
                        claimed_at=now if move is RowMove.RELEASE else None)
                .returning(d.c.id, d.c.edition_id)
            )  # fmt: skip
            rows = [(row.id, row.edition_id) for row in conn.execute(stmt)]
            if move is RowMove.RELEASE:
                queued = rows
        return queued

    def _hold(self, conn: Connection, edition_id: int) -> int:
        return conn.execute(
            d.update()
            .where(d.c.edition_id == edition_id, _leaves(RowMove.HOLD))
            .values(status=_to(RowMove.HOLD), claimed_at=None)
        ).rowcount

    def _move(self, verb: Verb, edition_id: int, *, conn: Connection | None = None, **values: Any) -> None:
        """One guarded UPDATE of an edition's state; the refusal when the verb does not apply."""
        with self._begin(conn) as tx:
            moved = tx.execute(
                e.update()
                .where(e.c.id == edition_id, e.c.status.in_(sorted(EDITION_MOVES[verb].leaves)))
                .values(**values)
            ).rowcount
            if not moved:
                state, error = self._state(tx, edition_id)
                raise refusal(verb, edition_id, state, error)

    def _state(self, conn: Connection, edition_id: int) -> tuple[str, str | None]:
        row = conn.execute(sa.select(e.c.status, e.c.error).where(e.c.id == edition_id)).first()
        if row is None:
            raise NotFoundError(f"no edition with id {edition_id}", field="edition_id")
        return str(row.status), row.error

    @contextmanager
    def _begin(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is None:
            with self.db.begin() as fresh:
                yield fresh
        elif conn.in_transaction():
            yield conn
        else:
            with conn.begin():
                yield conn

    def _set(self, row_id: int, move: RowMove, **values: object) -> int:
        with self.db.begin() as conn:
            return conn.execute(d.update().where(d.c.id == row_id, _leaves(move)).values(**values)).rowcount


def _due_by_slot(due_at: Mapping[Any, datetime]) -> tuple[Any, Any]:
    """A subscriber row's due time as a CASE, and the condition that the subscriber has one.

    Readers without an hour of their own (nearly all) meet one CASE on the zone, as before; only
    those with one meet a second CASE on (zone, hour). The condition names exactly the pairs
    given, so a reader who changed their hour since the caller looked gets no row yet (rather than
    one due at once)."""
    default: dict[str, datetime] = {}
    own: dict[tuple[str, str], datetime] = {}
    for key, at in due_at.items():
        zone, hour = (key, None) if isinstance(key, str) else key
        if hour is None:
            default[zone] = at
        else:
            own[(zone, hour)] = at
    kind = d.c.due_at.type
    by_zone = sa.case(*[(s.c.timezone == z, sa.literal(at, kind))
                        for z, at in default.items()]) if default else None  # fmt: skip
    by_slot = sa.case(*[(sa.and_(s.c.timezone == z, s.c.send_time == h), sa.literal(at, kind))
                        for (z, h), at in own.items()]) if own else None  # fmt: skip
    plain = sa.and_(s.c.send_time.is_(None), s.c.timezone.in_(list(default)))
    chosen = sa.tuple_(s.c.timezone, s.c.send_time).in_(list(own))
    if by_slot is None:
        return by_zone, plain
    if by_zone is None:
        return by_slot, chosen
    return sa.case((s.c.send_time.is_(None), by_zone), else_=by_slot), sa.or_(plain, chosen)


# The statements of the per-message path, built once (building one costs more than running it).
# They are planned alike whatever the statistics say: the rows are found by primary
# key only, and the reader and the edition by theirs, one lookup per row: each state test is written
# so no index serves it (after a fill or an import the status statistics are stale, and once led
# the planner to scan every queued row, or every active reader, per group), and OFFSET 0 keeps each
# EXISTS a per-row subplan rather than a join the planner may drive from a table it misjudges.
def _state_of_row_in(move: RowMove) -> Any:
    return d.c.status.concat("").in_(sorted(ROW_MOVES[move].leaves))


_ACTIVE_EACH = sa.exists(
    sa.select(s.c.id).where(s.c.id == d.c.subscriber_id, s.c.status.concat("") == "active").offset(0)
)
_LIVE_EACH = sa.exists(
    sa.select(e.c.id).where(e.c.id == d.c.edition_id, e.c.status.concat("").in_(sorted(LIVE))).offset(0)
)
_CLAIM_MANY = (
    d.update()
    .where(d.c.id.in_(sa.bindparam("row_ids", expanding=True)), _state_of_row_in(RowMove.CLAIM),
           _ACTIVE_EACH, _LIVE_EACH)
    .values(status=_to(RowMove.CLAIM), claimed_at=sa.bindparam("now"), attempts=d.c.attempts + 1)
    .returning(d.c.id)
)  # fmt: skip
_SKIP_GONE_MANY = (
    d.update()
    .where(d.c.id.in_(sa.bindparam("row_ids", expanding=True)), _state_of_row_in(RowMove.GONE), ~_ACTIVE_EACH)
    .values(
        status=_to(RowMove.GONE),
        last_error=sa.literal("subscriber ")
        + sa.func.coalesce(
            sa.select(s.c.status).where(s.c.id == d.c.subscriber_id).scalar_subquery(), "removed"
        ),
    )
    .returning(d.c.id)
)
# SQLite: a group of sends by executemany (one commit), which takes no expanding IN list: the
# states it leaves as literals.
_SENT_LEAVES = sorted(ROW_MOVES[RowMove.SENT].leaves)
_SENT_EACH = (
    d.update()
    .where(d.c.id == sa.bindparam("row_id"),
           sa.or_(*[d.c.status == sa.literal_column(f"'{state}'") for state in _SENT_LEAVES]))
    .values(status=_to(RowMove.SENT), message_id=sa.bindparam("b_message_id"), sent_at=sa.bindparam("now"))
)  # fmt: skip
# PostgreSQL: a group of sends as one statement over two arrays (row ids, Message-IDs), each row
# found by its primary key (``id = ANY``; see the claims above for why the state test is so).
_SENT_IDS = sa.bindparam("row_ids", type_=postgresql.ARRAY(sa.BigInteger))
_SENT_ROWS = (
    sa.func.unnest(_SENT_IDS, sa.bindparam("message_ids", type_=postgresql.ARRAY(sa.Text)))
    .table_valued("row_id", "message_id")
    .render_derived(name="sent_rows")
)
_SENT_GROUP = (
    d.update()
    .where(d.c.id == sa.any_(_SENT_IDS), _state_of_row_in(RowMove.SENT))
    .values(
        status=_to(RowMove.SENT),
        message_id=sa.select(_SENT_ROWS.c.message_id).where(_SENT_ROWS.c.row_id == d.c.id).scalar_subquery(),
        sent_at=sa.bindparam("now"),
    )
)
