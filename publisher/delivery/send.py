"""Send one batch of ledger rows over one mail-server connection.

Per row: claim it (queued → sending; a row someone else has, or whose subscriber left, is passed
over), fill the compiled edition for the reader, DKIM-sign, wait for the rate limit, send, record.

- 4xx and dropped connections: the row is tried again after an exponential, jittered delay, up to
  ``smtp_retries`` times, meanwhile the batch goes on with other rows; the lease is renewed at
  each attempt and no delay is longer than half a lease. Retries used up → failed, with the reply.
  Only when the server cannot be reached at all is the row released to 'queued' (not failed): an
  outage must not fail a whole list; the lease sweep sends it when the server is back.
- 5xx: failed at once, with the reply; 550/551/553 on RCPT also mark the subscriber bounced.
- Publisher's own fault (a template that does not render, an unusable setting or DKIM key, a bug):
  no row is failed for it. The batch stops, the rows it holds go back to 'queued', and the result
  says why, so the service halts the edition until ops fix the cause and resume it.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from publisher.delivery.ledger import BatchRow
from publisher.delivery.lifecycle import Claim, Lifecycle
from publisher.delivery.ratelimit import RateLimiter
from publisher.edition.compile import CompiledEditions
from publisher.edition.personalize import Recipient
from publisher.errors import PermanentDeliveryError, TransientDeliveryError
from publisher.mail.dkim import DkimSigner
from publisher.mail.mailer import Mailer, ServerUnreachableError
from publisher.mail.message import render_parts
from publisher.settings import Settings
from publisher.subscribers.store import SubscriberStore
from publisher.unsubscribe import preferences_url, unsubscribe_url

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    taken: int = 0  # claimed by someone else (a duplicate task) or already done
    released: int = 0
    retries: int = 0
    unreachable: str = ""  # the mail server could not be reached: the batch stopped
    halted: str = ""  # publisher's own fault: the batch stopped, the edition is to be halted

    def to_json(self) -> dict[str, int | str]:
        return dict(self.__dict__)


@dataclass(order=True)
class _Attempt:
    due: float
    seq: int
    row: BatchRow = field(compare=False)
    retry: int = field(default=0, compare=False)
    message: bytes | None = field(default=None, compare=False)


class BatchSender:
    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        subscribers: SubscriberStore,
        compiled: CompiledEditions,
        mailer: Mailer,
        *,
        signing_key: str,
        signer: DkimSigner | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        conn: Connection | None = None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.subscribers = subscribers
        self.compiled = compiled
        self.mailer = mailer
        self.signer = signer
        self.limiter = limiter
        self.sleep = sleep
        self.conn = conn
        self.signing_key = signing_key
        self.envelope_from = settings.envelope_from
        self.max_delay = max(0.0, settings.delivery_lease / 2)

    def send(self, rows: Sequence[BatchRow]) -> BatchResult:
        result = BatchResult()
        heap = [_Attempt(0.0, i, row) for i, row in enumerate(rows)]
        seq = len(heap)
        # The last row sent, not yet recorded: recorded with the next claim (one commit per message)
        # or before anything else touches the ledger. At most this one row is sent-but-unrecorded.
        self._unrecorded: tuple[int, str] | None = None
        # The ledger's writes of a batch run on one thread of their own: the claim of a row (and the
        # record of the previous one) commits while this thread renders and signs the row's message.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        try:
            while heap:
                attempt = heapq.heappop(heap)
                wait = attempt.due - time.monotonic()
                if wait > 0:
                    self._record_sent()
                    self.sleep(wait)
                row = attempt.row
                message_id = self.message_id(row)
                build_error: Exception | None = None
                if attempt.retry == 0:
                    claiming = self._db.submit(
                        self.lifecycle.claim, row.id, sent=self._unrecorded, conn=self.conn
                    )
                    self._unrecorded = None
                    try:
                        attempt.message = self.build(row, message_id)
                    except Exception as exc:  # reported below, once the row is ours
                        build_error = exc
                    claim = claiming.result()
                    if claim is Claim.SKIPPED:
                        result.skipped += 1
                        continue
                    if claim is Claim.TAKEN:
                        result.taken += 1
                        continue
                try:
                    if build_error is not None:
                        raise build_error
                    if attempt.message is None:
                        attempt.message = self.build(row, message_id)
                    if self.limiter is not None:
                        self.limiter.acquire()
                    self.mailer.send(self.envelope_from, [row.email], attempt.message)
                except TransientDeliveryError as exc:
                    self._record_sent()
                    if attempt.retry < self.settings.smtp_retries:
                        self.lifecycle.note_retry(row.id, str(exc))
                        seq += 1
                        due = time.monotonic() + self.delay(attempt.retry)
                        heapq.heappush(heap, _Attempt(due, seq, row, attempt.retry + 1, attempt.message))
                        result.retries += 1
                    elif isinstance(exc, ServerUnreachableError):
                        # Stop here: every row not yet sent goes back to 'queued', none is failed.
                        result.unreachable = str(exc)
                        result.released += self._release_held(row, heap, str(exc))
                        return result
                    else:
                        self.lifecycle.mark_failed(row.id, str(exc))
                        result.failed += 1
                except PermanentDeliveryError as exc:
                    self._record_sent()
                    self.lifecycle.mark_failed(row.id, str(exc))
                    if exc.bounce:
                        self.subscribers.mark_bounced(row.subscriber_id, str(exc))
                    result.failed += 1
                except Exception as exc:
                    # Our own fault, not the reader's nor the server's: fail nobody for it.
                    self._record_sent()
                    log.exception("delivery %s: cannot send, the batch stops", row.id)
                    result.halted = f"{type(exc).__name__}: {exc}"
                    result.released += self._release_held(row, heap, f"not sent: {result.halted}")
                    return result
                else:
                    self._record_sent()
                    self._unrecorded = (row.id, message_id)
                    result.sent += 1
        finally:
            self._record_sent()
            self._db.shutdown()
        return result

    def _release_held(self, row: BatchRow, heap: list[_Attempt], reason: str) -> int:
        """Give back the rows this batch holds ('sending': this one and those waiting to retry);
        the rows it has not claimed yet are still 'queued'."""
        held = [row.id, *(waiting.row.id for waiting in heap if waiting.retry > 0)]
        for row_id in held:
            self.lifecycle.release(row_id, reason)
        return len(held)

    def _record_sent(self) -> None:
        if self._unrecorded is not None:
            self._db.submit(self.lifecycle.mark_sent, *self._unrecorded, conn=self.conn).result()
            self._unrecorded = None

    def build(self, row: BatchRow, message_id: str) -> bytes:
        site, key = self.settings.site_url, self.signing_key
        recipient = Recipient(
            row.email, row.name, unsubscribe_url(site, key, row.subscriber_id),
            preferences_url(site, key, row.subscriber_id),
        )  # fmt: skip
        rendered = render_parts(
            self.compiled.get(row.sections), recipient, self.settings, message_id=message_id
        )
        return self.signer.sign_rendered(rendered) if self.signer is not None else rendered.message()

    def message_id(self, row: BatchRow) -> str:
        """The same for every attempt at a row: a duplicate after a crash carries the same
        Message-ID, which lets mailbox providers and clients fold it into one."""
        mac = hmac.new(
            self.signing_key.encode(), f"{row.edition_id}.{row.id}".encode(), hashlib.sha256
        )
        return f"edition{row.edition_id}.{row.id}.{mac.hexdigest()[:12]}"

    def delay(self, retry: int) -> float:
        """Exponential backoff with jitter: somewhere in [d/2, d], d = base·2^retry, capped."""
        full = min(self.max_delay, self.settings.smtp_retry_delay * 2**retry)
        return random.uniform(full / 2, full)
