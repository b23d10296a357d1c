"""What an ops verb would do to an edition's readers, read before a person confirms it.

The console's confirmation step shows, for send, pause, resume, cancel and reschedule, how many
readers the verb moves and how: the rows it takes (by the moves of ``states.py``), counted along
``ix_deliveries_edition_status``; for send, also the active readers not yet in the ledger whom a
send adds (``lifecycle.following``, the fill's own rule). Whether the verb applies at all is the
edition table's answer (``states.allows``). Readers only: the verbs themselves are
``control.py``'s and ``service.py``'s, through ``lifecycle.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscribers as s
from publisher.delivery.editions import EditionRecord
from publisher.delivery.lifecycle import following
from publisher.delivery.states import DeliveryState, Verb, allows

D = DeliveryState
OPS_VERBS = (Verb.SEND, Verb.PAUSE, Verb.RESUME, Verb.CANCEL, Verb.RESCHEDULE)


@dataclass(frozen=True, slots=True)
class Impact:
    verb: Verb
    applies: bool  # the edition's state allows the verb
    readers: int  # readers whose copy the verb moves (or, for send, who get it now or are added)
    now: int = 0  # of those: send and resume, queued at once; pause, being sent (they finish)
    later: int = 0  # of those: send and resume, waiting for their due time; pause, held
    added: int = 0  # send: active readers not yet in the ledger, added by the send

    def to_json(self) -> dict[str, object]:
        return {"verb": str(self.verb), "applies": self.applies, "readers": self.readers, "now": self.now,
                "later": self.later, "added": self.added}  # fmt: skip


class ImpactReader:
    def __init__(self, db: Database) -> None:
        self.db = db

    def of(self, record: EditionRecord, verb: Verb, now: datetime | None = None) -> Impact:
        now = now or datetime.now(UTC)
        applies = allows(verb, str(record.status))
        counts = self._counts(record.id, now)
        pending_due, pending_later = counts["pending_due"], counts["pending_later"]
        pending = pending_due + pending_later
        queued, sending = counts[str(D.QUEUED)], counts[str(D.SENDING)]
        if verb == Verb.PAUSE:
            # Pending and queued rows wait; the few a worker holds finish their send.
            return Impact(verb, applies, pending + queued + sending, now=sending, later=pending + queued)
        if verb == Verb.RESUME:
            return Impact(verb, applies, pending, now=pending_due, later=pending_later)
        if verb == Verb.CANCEL:
            return Impact(verb, applies, pending + queued, later=0)
        if verb == Verb.RESCHEDULE:
            return Impact(verb, applies, pending)
        if verb == Verb.SEND:
            added = self._not_in_ledger(record) if applies else 0
            return Impact(verb, applies, pending_due + added, now=pending_due + added, later=pending_later,
                          added=added)  # fmt: skip
        raise ValueError(f"not an ops verb: {verb}")

    def _counts(self, edition_id: int, now: datetime) -> dict[str, int]:
        due = sa.or_(d.c.due_at.is_(None), d.c.due_at <= now)
        query = (
            sa.select(d.c.status, due.label("due"), sa.func.count())
            .where(
                d.c.edition_id == edition_id, d.c.status.in_([str(D.PENDING), str(D.QUEUED), str(D.SENDING)])
            )
            .group_by(d.c.status, "due")
        )
        found = {"pending_due": 0, "pending_later": 0, str(D.QUEUED): 0, str(D.SENDING): 0}
        with self.db.connect() as conn:
            for state, is_due, n in conn.execute(query):
                if state == str(D.PENDING):
                    found["pending_due" if is_due else "pending_later"] += int(n)
                else:
                    found[str(state)] += int(n)
        return found

    def _not_in_ledger(self, record: EditionRecord) -> int:
        """Active readers following the edition's sections who have no row of it yet."""
        if not record.section_keys:
            return 0
        in_ledger = sa.exists().where(d.c.edition_id == record.id, d.c.subscriber_id == s.c.id)
        query = sa.select(sa.func.count()).where(
            s.c.status == "active", following(record.section_keys), ~in_ledger
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())
