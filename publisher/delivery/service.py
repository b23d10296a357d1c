"""The delivery service: create and start an edition, send a batch, sweep expired leases.

Tasks (``tasks.py``) and the CLI call these; each step commits before it enqueues, so a worker
never sees a task before the rows it names.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.article_store import ArticleStore
from publisher.delivery.editions import EditionRecord, EditionStore
from publisher.delivery.ledger import Ledger
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.ratelimit import RateLimiter
from publisher.delivery.send import BatchResult, BatchSender
from publisher.delivery.states import OPEN_ROWS, DeliveryState, EditionState
from publisher.dispatch import Dispatcher
from publisher.edition.compile import CompiledEditions
from publisher.edition.selection import EditionSpec, load_edition
from publisher.errors import NotFoundError, PublisherError, TransientDeliveryError
from publisher.mail.dkim import DkimSigner
from publisher.mail.mailer import Mailer
from publisher.settings import Settings
from publisher.subscribers.store import SubscriberStore

log = logging.getLogger(__name__)
SEND_BATCH = "deliveries.send_batch"
RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class EditionStatus:
    edition: EditionRecord
    counts: dict[str, int]
    rate: float | None  # messages per second between the first and the last send
    errors: list[tuple[str, int]]

    @property
    def open(self) -> int:
        return sum(self.counts[str(state)] for state in OPEN_ROWS)

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
    """Create and start editions, send batches, take back expired leases. Every state change goes
    through ``lifecycle``; ``signer`` is called when a batch starts, so an unusable DKIM key halts
    the edition instead of failing its readers."""

    def __init__(
        self,
        settings: Settings,
        *,
        lifecycle: Lifecycle,
        ledger: Ledger,
        editions: EditionStore,
        articles: ArticleStore,
        subscribers: SubscriberStore,
        dispatcher: Dispatcher,
        open_mailer: Callable[[], Mailer],
        signing_key: str,
        signer: Callable[[], DkimSigner | None],
        rate_limiter: RateLimiter | None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.ledger = ledger
        self.editions = editions
        self.articles = articles
        self.subscribers = subscribers
        self.dispatcher = dispatcher
        self.open_mailer = open_mailer
        self.signing_key = signing_key
        self.signer = signer
        self.rate_limiter = rate_limiter
        self._compiled: OrderedDict[tuple[int, int], CompiledEditions] = OrderedDict()

    def create_edition(self, name: str, day: date) -> int:
        """The id of edition ``name`` of ``day``, its articles frozen now unless it exists already."""
        spec = EditionSpec.from_settings(self.settings, name)
        existing = self.editions.find(name, day)
        if existing is not None:
            # One edition per name and day: sending it again reaches only who has not had it yet.
            return existing.id
        edition = load_edition(self.articles, spec, day)
        if not edition.articles:
            raise PublisherError(f"the {spec.title} of {day.isoformat()} has no articles: nothing to send")
        record, _created = self.editions.create_once(edition)
        return record.id

    def start(self, edition_id: int) -> int:
        """send, or send again: fill the ledger with readers not yet in it and enqueue the due rows;
        returns how many were queued. Idempotent. A paused, halted or cancelled edition is refused
        with what to do instead."""
        record = self._record(edition_id)
        self.lifecycle.start(edition_id)
        self.lifecycle.fill(edition_id, record.section_keys)
        ids = self.lifecycle.queue_pending(edition_id)
        self._enqueue(edition_id, ids)
        self.lifecycle.finish_if_done(edition_id)
        return len(ids)

    def send_batch(self, edition_id: int, ids: list[int]) -> BatchResult:
        self.sweep()
        rows = self.ledger.batch_rows(ids)
        result = BatchResult()
        if rows:
            try:
                compiled = self.compiled(edition_id)
                signer = self.signer()
            except (sa.exc.DBAPIError, TransientDeliveryError):
                raise  # not ours to judge: the task is retried, the rows stay queued
            except Exception as exc:
                log.exception("edition %s: cannot prepare the batch", edition_id)
                result.halted = f"{type(exc).__name__}: {exc}"
            else:
                mailer = self.open_mailer()
                try:
                    # Two connections: the claims (quick commits) and the records of sends
                    # (durable commits), each on a thread of its own.
                    with self.lifecycle.claiming() as claims, self.ledger.connection() as records:
                        sender = BatchSender(
                            self.settings, self.lifecycle, self.subscribers, compiled, mailer,
                            signing_key=self.signing_key, signer=signer, limiter=self.rate_limiter,
                            conn=claims, records_conn=records,
                        )  # fmt: skip
                        result = sender.send(rows)
                finally:
                    mailer.close()
                if result.sent:
                    per = {k: round(v / result.sent * 1e6) for k, v in result.timings.items()}
                    log.info("batch of edition %s: %d sent; us per message: %s", edition_id, result.sent,
                             " ".join(f"{k}={v}" for k, v in per.items()))  # fmt: skip
        if result.halted:
            if self.lifecycle.halt(edition_id, result.halted):
                log.error("edition %s halted: %s", edition_id, result.halted)
            return result
        self.lifecycle.finish_if_done(edition_id)
        if result.unreachable:
            raise TransientDeliveryError(result.unreachable)
        return result

    def sweep(self, now: datetime | None = None) -> int:
        """Queue again the rows whose lease ran out; returns how many. Safe to run anywhere, often."""
        resend = self.settings.delivery_stuck_policy == "resend"
        taken = self.lifecycle.requeue_expired(self.settings.delivery_lease, resend=resend, now=now)
        for edition_id, ids in taken.items():
            log.warning("edition %s: %d rows past their lease queued again", edition_id, len(ids))
            self._enqueue(edition_id, ids)
        return sum(len(ids) for ids in taken.values())

    def status(self, edition_id: int, now: datetime | None = None) -> EditionStatus:
        """Counts per state and the send rate: over the last minute while sending (what an ETA
        needs), over the whole send once it is over."""
        now = now or datetime.now(UTC)
        record = self._record(edition_id)
        counts = self.ledger.counts(edition_id)
        rate = None
        if record.status == EditionState.SENDING:
            recent = self.ledger.sent_since(edition_id, now - RATE_WINDOW)
            rate = recent / RATE_WINDOW.total_seconds() if recent else None
        elif record.started_at and record.finished_at and record.finished_at > record.started_at:
            rate = counts[str(DeliveryState.SENT)] / (record.finished_at - record.started_at).total_seconds()
        return EditionStatus(record, counts, rate, self.ledger.errors(edition_id))

    def compiled(self, edition_id: int) -> CompiledEditions:
        """Each worker compiles an edition once per section selection and keeps the last few, keyed
        by the edition's revision: an editor's change (``contents.py``) is never served stale."""
        record = self._record(edition_id)
        key = (edition_id, record.revision)
        found = self._compiled.get(key)
        if found is None:
            edition = self.editions.load(record)
            found = self._compiled[key] = CompiledEditions(edition, self.settings)
            while len(self._compiled) > 4:
                self._compiled.popitem(last=False)
        return found

    def enqueue_rows(self, edition_id: int, ids: list[int]) -> None:
        """Send tasks for rows already marked queued (the scheduler's sweep claims due rows)."""
        self._enqueue(edition_id, ids)

    def _enqueue(self, edition_id: int, ids: list[int]) -> None:
        size = max(1, self.settings.delivery_batch_size)
        for start in range(0, len(ids), size):
            self.dispatcher.enqueue(SEND_BATCH, edition_id=edition_id, ids=ids[start : start + size])

    def _record(self, edition_id: int) -> EditionRecord:
        record = self.editions.get(edition_id)
        if record is None:
            raise NotFoundError(f"no edition with id {edition_id}", field="edition_id")
        return record
