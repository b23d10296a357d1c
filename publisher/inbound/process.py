"""One inbound message: classified, matched to a reader, and applied through the reader lifecycle.

The VERP tag (or, for a complaint, our signed Message-ID in the returned original) decides the
ledger row and so the reader; without a usable one, the addresses the report names are matched to
readers. Hard bounce → bounced, complaint → complained, mailto unsubscribe → unsubscribed, each
only through ``SubscriberLifecycle`` (the one writer of a reader's status); its moves leave a
reader only from the states they apply to, so the same report processed twice changes nothing.
A soft bounce of an active reader is recorded as an event (once per report) and
``PUBLISHER_SOFT_BOUNCE_LIMIT`` of them within ``PUBLISHER_SOFT_BOUNCE_DAYS`` make the reader
bounced; auto-replies and unknown mail change nothing.

A report that named its ledger row (VERP tag or Message-ID) records the row and its edition on the
reader's event; after a hard bounce, soft bounce or complaint about an edition, the reputation guard
checks that edition's hard-bounce rate (and halts it past ``PUBLISHER_BOUNCE_PAUSE_RATE``). Reports
matched only by address name no edition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscribers as t
from publisher.inbound.classify import Classified, Kind, classify
from publisher.inbound.verp import read_message_id, read_tag
from publisher.settings import Settings
from publisher.subscribers.lifecycle import About, SubscriberLifecycle
from publisher.subscribers.states import Source

if TYPE_CHECKING:
    from publisher.delivery.reputation import ReputationGuard


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    email: str  # the reader it was about; "" when none was found
    action: str  # what changed: bounced, complained, unsubscribed, or "none (why)"
    report: Classified


class Inbound:
    def __init__(self, settings: Settings, db: Database, lifecycle: SubscriberLifecycle,
                 signing_key: Callable[[], str], guard: ReputationGuard | None = None) -> None:  # fmt: skip
        self.db = db
        self.guard = guard
        self.lifecycle = lifecycle
        self.signing_key = signing_key
        self.soft_limit = settings.soft_bounce_limit
        self.soft_days = settings.soft_bounce_days
        self.bounce_local = (settings.bounce_address or "bounces@").rpartition("@")[0]
        domain = settings.envelope_from.rpartition("@")[2]
        self.unsubscribe_address = settings.unsubscribe_mailto or f"unsubscribe@{domain}"

    def process(self, raw: bytes) -> Outcome:
        report = classify(raw, bounce_local=self.bounce_local, unsubscribe_address=self.unsubscribe_address)
        found = self._reader(report)
        outcome = self._apply(report, found)
        about = found[3] if found else None
        if about is not None and self.guard is not None and outcome.kind in _COUNTED:
            self.guard.check(about.edition_id)
        return outcome

    def _apply(self, report: Classified, reader: tuple[int, str, str, About | None] | None) -> Outcome:
        if reader is None:
            acts = report.kind in _ACTS or report.kind == Kind.SOFT_BOUNCE
            why = "no reader found" if acts else _QUIET.get(report.kind, "nothing to do")
            named = report.recipients[0] if report.recipients else ""
            return Outcome(report.kind, named, f"none ({why})", report)
        reader_id, email, status, about = reader
        detail = report.detail + (f" {report.message_id}" if report.message_id else "")
        if report.kind == Kind.SOFT_BOUNCE:
            return Outcome(report.kind, email, self._soft(reader_id, status, detail, about), report)
        if report.kind == Kind.AUTO_REPLY:
            # Recorded in the reader's history for ops; never acted on, never answered.
            self.lifecycle.auto_reply(reader_id, detail, about=about)
        if report.kind not in _ACTS:
            return Outcome(report.kind, email, f"none ({_QUIET[report.kind]})", report)
        lifecycle = self.lifecycle
        if report.kind == Kind.HARD_BOUNCE:
            moved = lifecycle.bounce(reader_id, detail, about=about)
        elif report.kind == Kind.COMPLAINT:
            moved = lifecycle.complain(reader_id, source=Source.COMPLAINT, detail=detail, about=about)
        else:
            lifecycle.unsubscribe(reader_id, source=Source.MAILTO, detail=detail, about=about)
            # unsubscribe() says whether the reader exists, not whether it moved them.
            moved = status in ("pending", "active") and self._status(reader_id) == "unsubscribed"
        action = _ACTS[report.kind] if moved else f"none (already {status})"
        return Outcome(report.kind, email, action, report)

    def _soft(self, reader_id: int, status: str, detail: str, about: About | None) -> str:
        recorded, count, moved = self.lifecycle.soft_bounce(reader_id, detail, limit=self.soft_limit,
                                                            days=self.soft_days, about=about)  # fmt: skip
        if moved:
            return "bounced"
        if not recorded:
            return f"none (already {status})" if status != "active" else "none (already counted)"
        return f"counted ({count} of {self.soft_limit} in {self.soft_days} days)"

    def _reader(self, report: Classified) -> tuple[int, str, str, About | None] | None:
        """The reader (id, email, status) and, when the report named its ledger row, that row."""
        key = self.signing_key()
        delivery_id = read_tag(key, report.tag) if report.tag else None
        if delivery_id is None and report.original_message_id:
            delivery_id = read_message_id(key, report.original_message_id)
        with self.db.connect() as conn:
            columns = (t.c.id, t.c.email, t.c.status)
            if delivery_id is not None:
                row = conn.execute(
                    sa.select(*columns, d.c.edition_id).join(d, d.c.subscriber_id == t.c.id)
                    .where(d.c.id == delivery_id)
                ).first()  # fmt: skip
                if row is not None:
                    return int(row.id), row.email, row.status, About(int(row.edition_id), delivery_id)
            for address in report.recipients:
                row = conn.execute(sa.select(*columns).where(t.c.email_key == address.lower())).first()
                if row is not None:
                    return int(row.id), row.email, row.status, None
        return None

    def _status(self, reader_id: int) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(sa.select(t.c.status).where(t.c.id == reader_id)).scalar()


_COUNTED = frozenset({Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT})
_ACTS = {Kind.HARD_BOUNCE: "bounced", Kind.COMPLAINT: "complained", Kind.UNSUBSCRIBE: "unsubscribed"}
_QUIET = {Kind.SOFT_BOUNCE: "soft bounce", Kind.AUTO_REPLY: "auto-reply",
          Kind.UNKNOWN: "not a report we act on"}  # fmt: skip
