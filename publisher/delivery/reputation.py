"""The reputation guard: an edition's hard bounces, soft bounces and complaints, and a halt when
its hard-bounce rate passes ``PUBLISHER_BOUNCE_PAUSE_RATE``.

Counts come from the reader events that name the edition (``subscriber_events.edition_id``: set
when the report named its ledger row, by VERP tag or our Message-ID; reports matched only by
address name no edition and are not counted), rates are over the edition's sent rows. Both are
indexed counts, cheap enough to run after every report. The halt goes through ``Lifecycle.halt``,
the one writer of an edition's state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscriber_events as ev
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.states import DeliveryState

log = logging.getLogger(__name__)

MIN_SENDS = 500  # below this many sends a rate says too little to halt on
COMPLAINT_LIMIT = 0.003  # Gmail's and Yahoo's bulk-sender rules: spam complaints under 0.3 % a day
HARD, SOFT, COMPLAINT = "bounce", "soft-bounce", "complain"  # the reader events' kinds


@dataclass(frozen=True, slots=True)
class Reputation:
    sent: int
    hard_bounces: int
    soft_bounces: int
    complaints: int

    def rate(self, count: int) -> float | None:
        return count / self.sent if self.sent else None

    def to_json(self) -> dict[str, Any]:
        def rounded(count: int) -> float | None:
            rate = self.rate(count)
            return None if rate is None else round(rate, 6)

        return {
            "sent": self.sent,
            "hard_bounces": self.hard_bounces,
            "soft_bounces": self.soft_bounces,
            "complaints": self.complaints,
            "hard_bounce_rate": rounded(self.hard_bounces),
            "soft_bounce_rate": rounded(self.soft_bounces),
            "complaint_rate": rounded(self.complaints),
        }


class ReputationGuard:
    def __init__(self, db: Database, lifecycle: Lifecycle, pause_rate: float) -> None:
        self.db = db
        self.lifecycle = lifecycle
        self.pause_rate = pause_rate

    def of(self, edition_id: int) -> Reputation:
        sent = sa.select(sa.func.count()).where(d.c.edition_id == edition_id,
                                                d.c.status == str(DeliveryState.SENT))  # fmt: skip
        kinds = (
            sa.select(ev.c.kind, sa.func.count())
            .where(ev.c.edition_id == edition_id, ev.c.kind.in_((HARD, SOFT, COMPLAINT)))
            .group_by(ev.c.kind)
        )
        with self.db.connect() as conn:
            n = int(conn.execute(sent).scalar_one())
            found = dict(conn.execute(kinds).all())
        return Reputation(n, int(found.get(HARD, 0)), int(found.get(SOFT, 0)), int(found.get(COMPLAINT, 0)))

    def check(self, edition_id: int) -> str | None:
        """After a report about the edition: halt it when its hard-bounce rate passes the limit
        after at least MIN_SENDS sends. Returns the reason when this call halted it."""
        rep = self.of(edition_id)
        rate = rep.rate(rep.hard_bounces)
        if rep.sent < MIN_SENDS or rate is None or rate <= self.pause_rate:
            return None
        reason = (f"hard-bounce rate {rate:.2%} ({rep.hard_bounces} of {rep.sent} sent) passed "
                  f"PUBLISHER_BOUNCE_PAUSE_RATE {self.pause_rate:.2%}")  # fmt: skip
        if not self.lifecycle.halt(edition_id, reason):
            return None
        log.error("edition %s halted: %s", edition_id, reason)
        return reason

    def recent(self, limit: int = 30) -> list[tuple[Any, Reputation]]:
        """The newest ``limit`` editions (rows with id, name, date) and their reputations."""
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(e.c.id, e.c.name, e.c.date).order_by(e.c.date.desc(), e.c.id.desc()).limit(limit)
            ).all()
            ids = [r.id for r in rows]
            if not ids:
                return []
            sent = dict(conn.execute(
                sa.select(d.c.edition_id, sa.func.count())
                .where(d.c.edition_id.in_(ids), d.c.status == str(DeliveryState.SENT))
                .group_by(d.c.edition_id)
            ).all())  # fmt: skip
            found: dict[tuple[int, str], int] = {
                (r.edition_id, r.kind): int(r.n)
                for r in conn.execute(
                    sa.select(ev.c.edition_id, ev.c.kind, sa.func.count().label("n"))
                    .where(ev.c.edition_id.in_(ids), ev.c.kind.in_((HARD, SOFT, COMPLAINT)))
                    .group_by(ev.c.edition_id, ev.c.kind)
                )
            }
        return [(r, Reputation(int(sent.get(r.id, 0)), found.get((r.id, HARD), 0), found.get((r.id, SOFT), 0),
                               found.get((r.id, COMPLAINT), 0))) for r in rows]  # fmt: skip

    def daily(self, days: int = 30) -> list[dict[str, Any]]:
        """Per edition day (newest first, the last ``days`` with sends): sent, complaints and the
        complaint rate, with ``warning`` when it is over COMPLAINT_LIMIT."""
        sent = (
            sa.select(e.c.date, sa.func.count().label("sent"))
            .join(d, d.c.edition_id == e.c.id)
            .where(d.c.status == str(DeliveryState.SENT))
            .group_by(e.c.date)
            .order_by(e.c.date.desc())
            .limit(days)
        )
        with self.db.connect() as conn:
            by_day: dict[date, int] = {r.date: int(r.sent) for r in conn.execute(sent)}
            if not by_day:
                return []
            complaints = dict(conn.execute(
                sa.select(e.c.date, sa.func.count())
                .join(ev, ev.c.edition_id == e.c.id)
                .where(ev.c.kind == COMPLAINT, e.c.date.in_(list(by_day)))
                .group_by(e.c.date)
            ).all())  # fmt: skip
        out = []
        for day in sorted(by_day, reverse=True):
            n, c = by_day[day], int(complaints.get(day, 0))
            rate = c / n
            out.append({"date": day.isoformat(), "sent": n, "complaints": c, "complaint_rate": round(rate, 6),
                        "warning": rate > COMPLAINT_LIMIT})  # fmt: skip
        return out
