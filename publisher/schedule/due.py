"""Ledger rows with a due time: claimed when due, skipped when too late (the ledger fills them).

The sweep's SQL. Claiming is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` per
chunk on PostgreSQL, so two sweeps (a beat and a standby, or a sweep and ``edition resume``) never
wait on each other and never take the same row; SQLite has one writer at a time, which gives the
same guarantee.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscribers as s

# Editions whose pending rows may be queued; a paused or cancelled edition's rows stay put.
LIVE_EDITIONS = ("draft", "sending")
CLAIM_CHUNK = 10_000


class DueRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def active_zones(self) -> list[str]:
        query = sa.select(s.c.timezone).where(s.c.status == "active").distinct()
        with self.db.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def skip_late(self, now: datetime, lateness_seconds: float) -> dict[int, int]:
        """Pending rows more than the lateness limit past due are skipped (and reported); a paused
        edition's rows wait, and meet the limit when it is resumed."""
        limit = now - timedelta(seconds=lateness_seconds)
        not_paused = d.c.edition_id.in_(sa.select(e.c.id).where(e.c.status != "paused"))
        stmt = (
            d.update()
            .where(d.c.status == "pending", d.c.due_at.is_not(None), d.c.due_at < limit, not_paused)
            .values(
                status="skipped",
                last_error=f"late: not sent within {lateness_seconds / 3600:g} h of due time",
            )
            .returning(d.c.edition_id)
        )
        counts: dict[int, int] = {}
        with self.db.begin() as conn:
            for edition_id in conn.execute(stmt).scalars():
                counts[edition_id] = counts.get(edition_id, 0) + 1
        return counts

    def claim_due(self, now: datetime, *, chunk: int = CLAIM_CHUNK) -> dict[int, list[int]]:
        """pending → queued for every due row of a live edition; returns {edition id: row ids}."""
        live = sa.select(e.c.id).where(e.c.status.in_(LIVE_EDITIONS))
        claimed: dict[int, list[int]] = {}
        while True:
            due = (
                sa.select(d.c.id)
                .where(d.c.status == "pending", d.c.due_at <= now, d.c.edition_id.in_(live))
                .order_by(d.c.due_at, d.c.id)
                .limit(chunk)
            )
            if not self.db.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            stmt = (
                d.update()
                .where(d.c.id.in_(due.scalar_subquery()), d.c.status == "pending")
                .values(status="queued", claimed_at=now)
                .returning(d.c.id, d.c.edition_id)
            )
            with self.db.begin() as conn:
                rows = conn.execute(stmt).all()
            for row_id, edition_id in rows:
                claimed.setdefault(edition_id, []).append(row_id)
            if len(rows) < chunk:
                break
        return {edition_id: sorted(ids) for edition_id, ids in claimed.items()}
