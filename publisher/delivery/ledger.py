"""The delivery ledger, read: one row per (edition, subscriber), the only record of who got what.

Its rows change state only through ``lifecycle.py`` (see ``states.py`` for the moves); this module
reads them: the rows of a batch, counts per state, the commonest errors, the send window, a page
of rows for the console.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscribers as s
from publisher.delivery.states import OPEN_ROWS, DeliveryState
from publisher.subscribers.model import decode_section_keys


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: int
    edition_id: int
    subscriber_id: int
    email: str
    name: str
    sections: frozenset[str] | None  # None: every section


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One reader's copy of an edition, as ops look at it."""

    id: int
    subscriber_id: int
    email: str
    timezone: str
    status: str
    attempts: int
    due_at: datetime | None
    sent_at: datetime | None
    reply: str | None  # the SMTP server's last reply (or why the row was skipped)


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def batch_rows(self, ids: Sequence[int]) -> list[BatchRow]:
        """The queued rows among ``ids``, with what sending needs of their subscribers."""
        if not ids:
            return []
        query = (
            sa.select(d.c.id, d.c.edition_id, d.c.subscriber_id, s.c.email, s.c.name, s.c.section_keys)
            .join(s, s.c.id == d.c.subscriber_id)
            .where(d.c.id.in_(list(ids)), d.c.status == str(DeliveryState.QUEUED))
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

    def counts(self, edition_id: int) -> dict[str, int]:
        query = (
            sa.select(d.c.status, sa.func.count()).where(d.c.edition_id == edition_id).group_by(d.c.status)
        )
        with self.db.connect() as conn:
            found = dict(conn.execute(query).all())
        return {str(status): int(found.get(str(status), 0)) for status in DeliveryState}

    def open_count(self, edition_id: int) -> int:
        query = sa.select(sa.func.count()).where(
            d.c.edition_id == edition_id, d.c.status.in_(sorted(OPEN_ROWS))
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def errors(self, edition_id: int, limit: int = 10) -> list[tuple[str, int]]:
        """The commonest replies of failed rows, most frequent first."""
        query = (
            sa.select(d.c.last_error, sa.func.count().label("n"))
            .where(d.c.edition_id == edition_id, d.c.status == str(DeliveryState.FAILED))
            .group_by(d.c.last_error)
            .order_by(sa.desc("n"), d.c.last_error)
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [(str(e), int(n)) for e, n in conn.execute(query)]

    def due_window(self, edition_id: int) -> tuple[datetime | None, datetime | None]:
        """The first and last due time of the edition's rows. One index seek per state and end
        (``ix_deliveries_edition_status``), not a scan: it stays instant at a million rows."""
        ends = []
        for state in DeliveryState:
            rows = sa.select(d.c.due_at).where(
                d.c.edition_id == edition_id, d.c.status == str(state), d.c.due_at.is_not(None)
            )
            ends.append(rows.order_by(d.c.due_at.asc()).limit(1).scalar_subquery())
            ends.append(rows.order_by(d.c.due_at.desc()).limit(1).scalar_subquery())
        with self.db.connect() as conn:
            found = [t for t in conn.execute(sa.select(*ends)).one() if t is not None]
        if not found:
            return None, None
        found = [t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in found]
        return min(found), max(found)

    def rows(
        self, edition_id: int, *, state: DeliveryState | None = None, after: int = 0, limit: int = 50
    ) -> list[LedgerRow]:
        """A page of the edition's rows by reader id (keyset: ``after`` is the last reader id of the
        previous page), along the (edition, subscriber) unique index; ``state`` filters."""
        query = (
            sa.select(d.c.id, d.c.subscriber_id, s.c.email, s.c.timezone, d.c.status, d.c.attempts,
                      d.c.due_at, d.c.sent_at, d.c.last_error)
            .join(s, s.c.id == d.c.subscriber_id)
            .where(d.c.edition_id == edition_id, d.c.subscriber_id > after)
            .order_by(d.c.subscriber_id)
            .limit(limit)
        )  # fmt: skip
        if state is not None:
            query = query.where(d.c.status == str(state))
        with self.db.connect() as conn:
            return [LedgerRow(r.id, r.subscriber_id, r.email, r.timezone, r.status, r.attempts, r.due_at,
                              r.sent_at, r.last_error) for r in conn.execute(query)]  # fmt: skip

    def sent_since(self, edition_id: int, since: datetime) -> int:
        """Rows of the edition sent (claimed) since ``since``: the recent rate, read along
        ``ix_deliveries_status_claimed`` so it costs what the last minute sent, not the edition."""
        query = sa.select(sa.func.count()).where(
            d.c.status == str(DeliveryState.SENT), d.c.claimed_at >= since, d.c.edition_id == edition_id
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())
