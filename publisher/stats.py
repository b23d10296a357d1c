"""Timings a process reports for ``/metrics`` (sweep duration, feed build time), kept in the database
so the web process can serve what the beat and the workers measured."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from publisher.db import Database
from publisher.db.schema import runtime_stats as t


@dataclass(frozen=True, slots=True)
class Stat:
    name: str
    last: float
    count: int
    total: float
    updated_at: datetime


class StatsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, name: str, value: float) -> None:
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
        stmt = insert.values(name=name, last=value, count=1, total=value, updated_at=datetime.now(UTC))
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "last": stmt.excluded.last,
                "count": t.c.count + 1,
                "total": t.c.total + stmt.excluded.total,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        with self.db.begin() as conn:
            conn.execute(stmt)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Record how long the block took (also when it raised)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - started)

    def all(self) -> dict[str, Stat]:
        with self.db.connect() as conn:
            return {
                r.name: Stat(r.name, r.last, r.count, r.total, r.updated_at)
                for r in conn.execute(sa.select(t))
            }
