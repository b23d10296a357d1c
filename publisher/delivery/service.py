"""The delivery service: create and start an edition, send a batch, sweep expired leases.

Tasks (``tasks.py``) and the CLI call these; each step commits before it enqueues, so a worker
never sees a task before the rows it names.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from publisher.delivery.editions import EditionRecord, EditionStore
from publisher.delivery.ledger import Ledger, Row
from publisher.delivery.send import BatchResult, BatchSender
from publisher.edition.compile import CompiledEditions
from publisher.edition.selection import EditionSpec, load_edition
from publisher.errors import ConfigError, NotFoundError, PublisherError, TransientDeliveryError

if TYPE_CHECKING:
    from publisher.app import App

log = logging.getLogger(__name__)
SEND_BATCH = "deliveries.send_batch"


@dataclass(frozen=True, slots=True)
class EditionStatus:
    edition: EditionRecord
    counts: dict[str, int]
    rate: float | None  # messages per second between the first and the last send
    errors: list[tuple[str, int]]

    @property
    def open(self) -> int:
        return sum(self.counts[str(s)] for s in (Row.PENDING, Row.QUEUED, Row.SENDING))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            **self.edition.to_json(),
            "counts": self.counts,
            "total": self.total,
            "rate": None if self.rate is None else round(self.rate, 1),
            "errors": [{"reply": reply, "count": n} for reply, n in self.errors],
        }


class DeliveryService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.ledger = Ledger(app.db)
        self.editions = EditionStore(app.db, app.articles)
        self._compiled: OrderedDict[int, CompiledEditions] = OrderedDict()

    def create_edition(self, name: str, day: date) -> int:
        """The id of edition ``name`` of ``day``, its articles frozen now unless it exists already."""
        spec = EditionSpec.from_settings(self.settings, name)
        existing = self.editions.find(name, day)
        if existing is not None:
            # One edition per name and day: sending it again reaches only who has not had it yet.
            return existing.id
        edition = load_edition(self.app.articles, spec, day)
        if not edition.articles:
            raise PublisherError(f"the {spec.title} of {day.isoformat()} has no articles: nothing to send")
        record, _created = self.editions.create_once(edition)
        return record.id

    def start(self, edition_id: int) -> int:
        """Fill the ledger and enqueue the batches; returns how many rows were queued. Idempotent."""
        record = self._record(edition_id)
        self.ledger.fill(edition_id, record.section_keys)
        self.editions.mark_started(edition_id)
        ids = self.ledger.queue_pending(edition_id)
        self._enqueue(edition_id, ids)
        self._finish_if_done(edition_id)
        return len(ids)

    def send_batch(self, edition_id: int, ids: list[int]) -> BatchResult:
        self.sweep()
        rows = self.ledger.batch_rows(ids)
        result = BatchResult()
        if rows:
            mailer = self.app.open_mailer()
            compiled = self.compiled(edition_id)
            try:
                with self.ledger.connection() as conn:
                    sender = BatchSender(
                        self.settings, self.ledger, self.app.subscribers, compiled, mailer,
                        signing_key=self.app.signing_key, signer=self.app.dkim_signer, limiter=self.app.rate_limiter, conn=conn,
                    )  # fmt: skip
                    result = sender.send(rows)
            finally:
                mailer.close()
        self._finish_if_done(edition_id)
        if result.unreachable:
            raise TransientDeliveryError(result.unreachable)
        return result

    def sweep(self, now: datetime | None = None) -> int:
        """Queue again the rows whose lease ran out; returns how many. Safe to run anywhere, often."""
        policy = self.settings.delivery_stuck_policy.strip().lower()
        if policy not in ("resend", "skip"):
            raise ConfigError(f"PUBLISHER_DELIVERY_STUCK_POLICY: expected resend or skip, got {policy!r}")
        resend = policy == "resend"
        taken = self.ledger.requeue_expired(self.settings.delivery_lease, resend=resend, now=now)
        for edition_id, ids in taken.items():
            log.warning("edition %s: %d rows past their lease queued again", edition_id, len(ids))
            self._enqueue(edition_id, ids)
        return sum(len(ids) for ids in taken.values())

    def status(self, edition_id: int) -> EditionStatus:
        record = self._record(edition_id)
        counts = self.ledger.counts(edition_id)
        first, last = self.ledger.send_window(edition_id)
        rate = None
        if first is not None and last is not None and last > first:
            rate = counts[str(Row.SENT)] / (last - first).total_seconds()
        return EditionStatus(record, counts, rate, self.ledger.errors(edition_id))

    def compiled(self, edition_id: int) -> CompiledEditions:
        """Each worker compiles an edition once per section selection and keeps the last few."""
        found = self._compiled.get(edition_id)
        if found is None:
            edition = self.editions.load(self._record(edition_id))
            found = self._compiled[edition_id] = CompiledEditions(edition, self.settings)
            while len(self._compiled) > 4:
                self._compiled.popitem(last=False)
        return found

    def enqueue_rows(self, edition_id: int, ids: list[int]) -> None:
        """Send tasks for rows already marked queued (the scheduler's sweep claims due rows)."""
        self._enqueue(edition_id, ids)

    def _enqueue(self, edition_id: int, ids: list[int]) -> None:
        size = max(1, self.settings.delivery_batch_size)
        for start in range(0, len(ids), size):
            self.app.dispatcher.enqueue(SEND_BATCH, edition_id=edition_id, ids=ids[start : start + size])

    def _finish_if_done(self, edition_id: int) -> None:
        if self.ledger.open_count(edition_id) == 0 and self.editions.mark_finished(edition_id):
            log.info("edition %s: sent", edition_id)

    def _record(self, edition_id: int) -> EditionRecord:
        record = self.editions.get(edition_id)
        if record is None:
            raise NotFoundError(f"no edition with id {edition_id}")
        return record
