"""The delivery ledger: one row per (edition, subscriber), the only record of who got what.

    pending ──queue──▶ queued ──claim──▶ sending ──▶ sent | failed
                          │                 │
                          └──────▶ skipped ◀┘ (subscriber left; or the 'skip' lease policy)

Every transition is one UPDATE whose WHERE names the status it leaves, so two workers (or a task
delivered twice) can never both take a row: the one whose UPDATE changed a row owns it.
``claimed_at`` is when the current lease began (queued or sending); a row past the lease is taken
up again by ``requeue_expired`` (see there for why queued and sending rows differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscribers as s
from publisher.subscribers.model import decode_section_keys


class Row(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


OPEN = (Row.PENDING, Row.QUEUED, Row.SENDING)
DONE = (Row.SENT, Row.FAILED, Row.SKIPPED)


LEASE_RESEND = "lease expired while sending: sent again"
LEASE_SKIP = "lease expired while sending: not sent again (policy skip)"


class Claim(StrEnum):
    CLAIMED = "claimed"  # this worker owns the row now: send it
    SKIPPED = "skipped"  # the subscriber is no longer active; recorded as skipped
    TAKEN = "taken"  # another worker has it, or it is done already


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: int
    edition_id: int
    subscriber_id: int
    email: str
    name: str
    sections: frozenset[str] | None  # None: every section


def now_utc() -> datetime:
    return datetime.now(UTC)


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def fill(
        self,
        edition_id: int,
        section_keys: Iterable[str],
        *,
        due_at: datetime | Mapping[str, datetime] | None = None,
    ) -> int:
        """Add a pending row for every active subscriber who follows a section of the edition (or
        all sections): ONE ``INSERT ... SELECT``. Idempotent: rows already there are kept.

        ``due_at``: None (send now), one instant, or {time zone: instant}, each subscriber's row due
        at their zone's instant (the scheduler's "07:00 in each reader's zone"); subscribers in a
        zone not named get no row yet.
        """
        keys = sorted(set(section_keys))
        if not keys:
            return 0
        follows = sa.or_(s.c.section_keys == "", *[s.c.section_keys.like(f"%|{k}|%") for k in keys])
        where = [s.c.status == "active", follows]
        if isinstance(due_at, Mapping):
            if not due_at:
                return 0
            due = sa.case(
                *[(s.c.timezone == zone, sa.literal(at, d.c.due_at.type)) for zone, at in due_at.items()]
            )
            where.append(s.c.timezone.in_(list(due_at)))
        else:
            due = sa.literal(due_at, d.c.due_at.type)
        select = sa.select(
            sa.literal(edition_id, sa.Integer),
            s.c.id,
            sa.literal(str(Row.PENDING), sa.String),
            sa.literal(0, sa.Integer),
            due,
        ).where(*where)
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(d)
        stmt = insert.from_select(
            ["edition_id", "subscriber_id", "status", "attempts", "due_at"], select
        ).on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
        with self.db.begin() as conn:
            # SQLAlchemy reports an INSERT ... SELECT's rowcount only when asked to.
            return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount

    def queue_pending(self, edition_id: int, now: datetime | None = None) -> list[int]:
        """pending → queued for the rows that are due; returns their ids (each to exactly one caller)."""
        now = now or now_utc()
        stmt = (
            d.update()
            .where(
                d.c.edition_id == edition_id,
                d.c.status == Row.PENDING,
                sa.or_(d.c.due_at.is_(None), d.c.due_at <= now),
            )
            .values(status=Row.QUEUED, claimed_at=now)
            .returning(d.c.id)
        )
        with self.db.begin() as conn:
            return sorted(conn.execute(stmt).scalars())

    def batch_rows(self, ids: Sequence[int]) -> list[BatchRow]:
        """The queued rows among ``ids``, with what sending needs of their subscribers."""
        if not ids:
            return []
        query = (
            sa.select(d.c.id, d.c.edition_id, d.c.subscriber_id, s.c.email, s.c.name, s.c.section_keys)
            .join(s, s.c.id == d.c.subscriber_id)
            .where(d.c.id.in_(list(ids)), d.c.status == Row.QUEUED)
            .order_by(d.c.id)
        )
        with self.db.connect() as conn:
            return [
                BatchRow(
                    r.id, r.edition_id, r.subscriber_id, r.email, r.name, decode_section_keys(r.section_keys)
                )
                for r in conn.execute(query)
            ]

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One connection for a batch of claims and marks (a check-out per message costs a ping)."""
        with self.db.connect() as conn:
            yield conn

    def claim(
        self,
        row_id: int,
        now: datetime | None = None,
        *,
        sent: tuple[int, str] | None = None,
        conn: Connection | None = None,
    ) -> Claim:
        """queued → sending, if the row is still queued and its subscriber still active.

        ``sent`` (row id, Message-ID) records the previous row as sent in the same transaction: one
        commit per message instead of two, and nothing is sent between the two writes.
        """
        now = now or now_utc()
        with self._begin(conn) as tx:
            if sent is not None:
                tx.execute(_SENT, {"row_id": sent[0], "b_message_id": sent[1], "now": now})
            if tx.execute(_CLAIM, {"row_id": row_id, "now": now}).rowcount:
                return Claim.CLAIMED
            skipped = tx.execute(_SKIP_GONE, {"row_id": row_id}).rowcount
        return Claim.SKIPPED if skipped else Claim.TAKEN

    def mark_sent(
        self, row_id: int, message_id: str, now: datetime | None = None, *, conn: Connection | None = None
    ) -> None:
        with self._begin(conn) as tx:
            tx.execute(_SENT, {"row_id": row_id, "b_message_id": message_id, "now": now or now_utc()})

    def mark_failed(self, row_id: int, reply: str) -> None:
        self._set(row_id, (Row.SENDING, Row.QUEUED), status=Row.FAILED, last_error=reply[:2000])

    def note_retry(self, row_id: int, reply: str, now: datetime | None = None) -> None:
        """A transient failure: keep the reply, count the attempt, renew the lease (still ours)."""
        self._set(row_id, (Row.SENDING,), last_error=reply[:2000], claimed_at=now or now_utc(),
                  attempts=d.c.attempts + 1)  # fmt: skip

    def release(self, row_id: int, reply: str, now: datetime | None = None) -> None:
        """sending → queued: not sent, to be tried again later (the mail server is unreachable)."""
        self._set(row_id, (Row.SENDING,), status=Row.QUEUED, last_error=reply[:2000],
                  claimed_at=now or now_utc())  # fmt: skip

    def requeue_expired(
        self, lease: float, *, resend: bool = True, now: datetime | None = None
    ) -> dict[int, list[int]]:
        """Take back rows whose lease ran out; returns {edition id: row ids to queue again}.

        A row in 'sending' past the lease belongs to a dead worker (a live one renews the lease on
        every attempt): queued again (``resend``; it may have gone out just before the crash, so at
        most one duplicate) or skipped. A row in 'queued' past the lease may just be waiting in a
        long queue, so it is only taken back when its edition has made no progress for a whole lease
        — then its task was lost (a killed worker's prefetched task, a Redis restart without AOF).
        """
        now = now or now_utc()
        cutoff = now - timedelta(seconds=lease)
        out: dict[int, list[int]] = {}
        with self.db.begin() as conn:
            stuck = d.update().where(d.c.status == Row.SENDING, d.c.claimed_at < cutoff)
            if resend:
                stmt = stuck.values(status=Row.QUEUED, claimed_at=now, last_error=LEASE_RESEND)
            else:
                stmt = stuck.values(status=Row.SKIPPED, last_error=LEASE_SKIP)
            for row_id, edition_id in conn.execute(stmt.returning(d.c.id, d.c.edition_id)):
                if resend:
                    out.setdefault(edition_id, []).append(row_id)
            waiting = conn.execute(
                sa.select(d.c.edition_id).where(d.c.status == Row.QUEUED, d.c.claimed_at < cutoff).distinct()
            ).scalars()
            for edition_id in list(waiting):
                progress = conn.execute(
                    sa.select(d.c.id)
                    .where(d.c.edition_id == edition_id, d.c.status.in_([*DONE, Row.SENDING]),
                           d.c.claimed_at >= cutoff)
                    .limit(1)
                ).first()  # fmt: skip
                if progress is not None:
                    continue
                taken = conn.execute(
                    d.update()
                    .where(d.c.edition_id == edition_id, d.c.status == Row.QUEUED, d.c.claimed_at < cutoff)
                    .values(claimed_at=now)
                    .returning(d.c.id)
                ).scalars()
                out.setdefault(edition_id, []).extend(taken)
        return {edition_id: sorted(ids) for edition_id, ids in out.items() if ids}

    def counts(self, edition_id: int) -> dict[str, int]:
        query = (
            sa.select(d.c.status, sa.func.count()).where(d.c.edition_id == edition_id).group_by(d.c.status)
        )
        with self.db.connect() as conn:
            found = dict(conn.execute(query).all())
        return {str(status): int(found.get(str(status), 0)) for status in Row}

    def open_count(self, edition_id: int) -> int:
        query = sa.select(sa.func.count()).where(d.c.edition_id == edition_id, d.c.status.in_(list(OPEN)))
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def errors(self, edition_id: int, limit: int = 10) -> list[tuple[str, int]]:
        """The commonest replies of failed rows, most frequent first."""
        query = (
            sa.select(d.c.last_error, sa.func.count().label("n"))
            .where(d.c.edition_id == edition_id, d.c.status == Row.FAILED)
            .group_by(d.c.last_error)
            .order_by(sa.desc("n"), d.c.last_error)
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [(str(e), int(n)) for e, n in conn.execute(query)]

    def send_window(self, edition_id: int) -> tuple[datetime | None, datetime | None]:
        query = sa.select(sa.func.min(d.c.sent_at), sa.func.max(d.c.sent_at)).where(
            d.c.edition_id == edition_id, d.c.status == Row.SENT
        )
        with self.db.connect() as conn:
            first, last = conn.execute(query).one()
        return first, last

    @contextmanager
    def _begin(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is None:
            with self.db.begin() as fresh:
                yield fresh
        else:
            with conn.begin():
                yield conn

    def _set(self, row_id: int, from_status: tuple[Row, ...], **values: object) -> int:
        with self.db.begin() as conn:
            return conn.execute(
                d.update()
                .where(d.c.id == row_id, d.c.status.in_([str(x) for x in from_status]))
                .values(**values)
            ).rowcount


# The statements of the per-message path, built once (building one costs more than running it).
_ACTIVE = sa.exists().where(s.c.id == d.c.subscriber_id, s.c.status == "active")
_CLAIM = (
    d.update()
    .where(d.c.id == sa.bindparam("row_id"), d.c.status == str(Row.QUEUED), _ACTIVE)
    .values(status=str(Row.SENDING), claimed_at=sa.bindparam("now"), attempts=d.c.attempts + 1)
)
_SKIP_GONE = (
    d.update()
    .where(d.c.id == sa.bindparam("row_id"), d.c.status == str(Row.QUEUED), ~_ACTIVE)
    .values(
        status=str(Row.SKIPPED),
        last_error=sa.literal("subscriber ")
        + sa.func.coalesce(
            sa.select(s.c.status).where(s.c.id == d.c.subscriber_id).scalar_subquery(), "removed"
        ),
    )
)
# 'queued' too: if a sweep took the row back while this send was under way, marking it sent now
# stops the second send.
_SENT = (
    d.update()
    .where(d.c.id == sa.bindparam("row_id"), d.c.status.in_([str(Row.SENDING), str(Row.QUEUED)]))
    .values(status=str(Row.SENT), message_id=sa.bindparam("b_message_id"), sent_at=sa.bindparam("now"))
)
