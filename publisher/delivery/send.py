"""Send one batch of ledger rows over one mail-server connection.

Per row: claim it (queued → sending; a row someone else has, or whose subscriber left, is passed
over), fill the compiled edition for the reader, DKIM-sign, wait for the rate limit, send, record.

- Rows are claimed in groups of ``CLAIM_GROUP`` (one transaction, two statements) on a ledger
  thread while this one renders and signs; the next group's claim starts when the loop is half
  way through the current one. A batch therefore holds at most ``CLAIMED_AHEAD`` rows claimed and
  not yet handed over (and those waiting to retry): what a pause lets finish, and what a killed
  worker leaves in 'sending' until the lease runs out (they were not sent: no duplicates).
- With ESMTP PIPELINING the server's reply to a message is read while the next one is built
  (``publisher.mail.smtp``); at most one message is in flight on the connection.
- Sends are recorded in groups, one durable commit each, on a second ledger thread: a group of
  ``RECORD_GROUP`` starts as soon as the previous one has committed (a smaller one when the loop
  has to wait, and at the end). At most ``UNRECORDED_BOUND`` messages per batch (so per
  worker process) are ever handed to the server and not yet recorded as sent: before a message's
  content is written, the sender waits for the ledger (or the server's reply) until fewer than
  that many are in doubt. A worker killed at any moment therefore leaves at most that many rows
  that went out and are sent again when their lease runs out (policy ``resend``).
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

import contextlib
import hashlib
import heapq
import hmac
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from publisher.delivery.ledger import BatchRow
from publisher.delivery.lifecycle import Claim, Lifecycle
from publisher.delivery.ratelimit import RateLimiter
from publisher.edition.compile import CompiledEditions
from publisher.edition.personalize import Recipient
from publisher.errors import PermanentDeliveryError, TransientDeliveryError
from publisher.inbound import verp
from publisher.mail.dkim import DkimSigner
from publisher.mail.mailer import Mailer, Outcome, ServerUnreachableError, submitter
from publisher.mail.message import render_parts
from publisher.settings import Settings
from publisher.subscribers.store import SubscriberStore
from publisher.unsubscribe import preferences_url, unsubscribe_url

log = logging.getLogger(__name__)

# The most messages one batch (one worker process) has handed to the mail server and not yet
# recorded as sent. A commit that waits for the disk takes milliseconds; this many sends cover
# one commit in progress and the group gathering behind it.
UNRECORDED_BOUND = 8
# Rows claimed per ledger transaction, and the most a batch holds claimed before their turn.
CLAIM_GROUP = 16
# Sends recorded together at least (but at the end): half the bound, so one group commits while
# the next gathers.
RECORD_GROUP = UNRECORDED_BOUND // 2
CLAIMED_AHEAD = CLAIM_GROUP + CLAIM_GROUP // 2
PHASES = ("render", "dkim", "smtp", "ledger")


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
    # Seconds this batch's thread spent in each phase (the ledger: waiting for it).
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(order=True)
class _Attempt:
    due: float
    seq: int
    row: BatchRow = field(compare=False)
    retry: int = field(default=0, compare=False)
    message: bytes | None = field(default=None, compare=False)
    wire: list[bytes] | None = field(default=None, compare=False)  # dot-stuffed, see compose()
    message_id: str = field(default="", compare=False)
    claim: Future[Claim] | None = field(default=None, compare=False)


class _Records:
    """Sends accepted by the server, recorded in groups on a thread of their own: one group
    commits while the next gathers."""

    def __init__(self, lifecycle: Lifecycle, conn: Connection | None) -> None:
        self.lifecycle = lifecycle
        self.conn = conn
        self.gathering: list[tuple[int, str]] = []
        self.committing: Future[None] | None = None
        self.committing_count = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records")

    @property
    def unrecorded(self) -> int:
        return len(self.gathering) + self.committing_count

    def add(self, row_id: int, message_id: str) -> None:
        self.gathering.append((row_id, message_id))
        self.poll()

    def poll(self, *, least: int = RECORD_GROUP) -> None:
        """Start the next group if the previous one has committed and at least ``least`` sends
        are waiting."""
        if self.committing is not None:
            if not self.committing.done():
                return
            self.wait()
        if self.gathering and len(self.gathering) >= least:
            group, self.gathering = self.gathering, []
            self.committing = self._thread.submit(self.lifecycle.mark_sent_many, group, conn=self.conn)
            self.committing_count = len(group)

    def wait(self) -> None:
        """Until the group being committed has committed (its error, if any, raised here)."""
        if self.committing is not None:
            committing, self.committing = self.committing, None
            try:
                committing.result()
            finally:
                self.committing_count = 0

    def flush(self) -> None:
        self.poll(least=1)
        self.wait()
        self.poll(least=1)
        self.wait()

    def close(self) -> None:
        self._thread.shutdown()


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
        records_conn: Connection | None = None,
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
        self.records_conn = records_conn
        self.signing_key = signing_key
        self.envelope_from = settings.envelope_from
        # VERP: with a bounce address, each row's envelope sender and List-Unsubscribe mailto
        # carry a signed tag naming the row (publisher.inbound.verp); without one, neither does.
        self.bounce_address = settings.bounce_address
        domain = self.envelope_from.rpartition("@")[2]
        self.unsubscribe_mailto = settings.unsubscribe_mailto or f"unsubscribe@{domain}"
        self.max_delay = max(0.0, settings.delivery_lease / 2)

    def send(self, rows: Sequence[BatchRow]) -> BatchResult:
        result = self._result = BatchResult()
        self._timings = result.timings
        self._heap = [_Attempt(0.0, i, row) for i, row in enumerate(rows)]  # sorted: a heap
        # First attempts not yet claimed, in order (attempt.seq is the index); None once claimed,
        # so that a sent message is not kept until the batch ends.
        self._fresh: list[_Attempt | None] = list(self._heap)
        self._claimed_to = 0  # the first attempts before this index have their claim started
        self._seq = len(self._heap)
        self._submitter = submitter(self.mailer)
        self._records = _Records(self.lifecycle, self.records_conn)
        # Claims commit on a thread of their own while this one renders and signs the message.
        self._claims = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims")
        try:
            while self._heap:
                while self._heap:
                    attempt = heapq.heappop(self._heap)
                    try:
                        self._attempt(attempt)
                    except (_Stop, sa.exc.DBAPIError):
                        raise  # the batch stops without halting the edition
                    except Exception as exc:
                        # Our own fault, not the reader's nor the server's: fail nobody for it.
                        log.exception("delivery %s: cannot send, the batch stops", attempt.row.id)
                        result.halted = f"{type(exc).__name__}: {exc}"
                        self._stop(attempt, f"not sent: {result.halted}")
                        return result
                # The last replies may ask for retries: the batch is done only when none does.
                self._settle()
        except _Stop:
            return result
        finally:
            self._claims.shutdown()
            try:
                self._records.flush()
            finally:
                self._records.close()
        return result

    def _attempt(self, attempt: _Attempt) -> None:
        clock = time.perf_counter
        if attempt.due - time.monotonic() > 0:
            # Idle until a retry is due: first settle what is in flight and record it.
            self._settle()
            wait = attempt.due - time.monotonic()
            if wait > 0:
                self.sleep(wait)
        row = attempt.row
        if attempt.retry == 0:
            attempt.message_id = self.message_id(row)
            # The next group's claim commits while the messages of this one are built and sent.
            self._claim_through(attempt.seq + CLAIM_GROUP // 2)
            build_error: Exception | None = None
            try:
                attempt.message, attempt.wire = self.compose(row, attempt.message_id)
            except Exception as exc:  # raised below, once the row is ours
                build_error = exc
            started = clock()
            assert attempt.claim is not None
            claim = attempt.claim.result()
            self._timings["ledger"] += clock() - started
            if claim is Claim.SKIPPED:
                self._result.skipped += 1
                return
            if claim is Claim.TAKEN:
                self._result.taken += 1
                return
            if build_error is not None:
                raise build_error
        if attempt.message is None:
            attempt.message, attempt.wire = self.compose(row, attempt.message_id)
        if self.limiter is not None:
            self.limiter.acquire()
        self._make_room()
        # The next message's envelope goes out behind this one's content when that row is surely
        # ours and next, so the server has answered it by the time its content is ready.
        following = self._next()
        ahead = None
        if following is not None and (following.retry > 0 or self._claimed(following)):
            ahead = (self.envelope_sender(following.row), (following.row.email,))
        started = clock()
        outcomes = self._submitter.submit(attempt, self.envelope_sender(row), [row.email], attempt.message,
                                          ahead=ahead, stuffed=attempt.wire)  # fmt: skip
        self._timings["smtp"] += clock() - started
        self._handle(outcomes)

    def _claim_through(self, last: int) -> None:
        """Start the claims of the first attempts up to index ``last``, a group at a time."""
        fresh = self._fresh
        while self._claimed_to <= min(last, len(fresh) - 1):
            start = self._claimed_to
            group = fresh[start : start + CLAIM_GROUP]
            fresh[start : start + len(group)] = [None] * len(group)  # held from here by the heap only
            self._claimed_to += len(group)
            futures: dict[int, Future[Claim]] = {}
            for attempt in group:
                assert attempt is not None
                attempt.claim = futures[attempt.row.id] = Future()
            self._claims.submit(self._claim_group, futures)

    def _claim_group(self, futures: dict[int, Future[Claim]]) -> None:
        try:
            claims = self.lifecycle.claim_many(list(futures), conn=self.conn)
        except BaseException as exc:
            for future in futures.values():
                future.set_exception(exc)
            return
        for row_id, future in futures.items():
            future.set_result(claims[row_id])

    def _next(self) -> _Attempt | None:
        """The attempt the loop takes next, if it is due now."""
        if self._heap and self._heap[0].due <= time.monotonic():
            return self._heap[0]
        return None

    @staticmethod
    def _claimed(attempt: _Attempt) -> bool:
        claim = attempt.claim
        return (
            claim is not None
            and claim.done()
            and claim.exception() is None
            and claim.result() is Claim.CLAIMED
        )

    def _handle(self, outcomes: list[Outcome]) -> None:
        """What became of messages handed over: record, retry, fail; ``_Stop`` when the server
        cannot be reached."""
        result = self._result
        unreachable: tuple[_Attempt, str] | None = None
        for attempt, error in outcomes:
            row = attempt.row
            if error is None:
                self._records.add(row.id, attempt.message_id)
                result.sent += 1
            elif isinstance(error, TransientDeliveryError):
                if attempt.retry < self.settings.smtp_retries:
                    self.lifecycle.note_retry(row.id, str(error))
                    self._seq += 1
                    due = time.monotonic() + self.delay(attempt.retry)
                    heapq.heappush(self._heap, _Attempt(due, self._seq, row, attempt.retry + 1,
                                                        attempt.message, attempt.wire,
                                                        attempt.message_id))  # fmt: skip
                    result.retries += 1
                elif isinstance(error, ServerUnreachableError):
                    unreachable = (attempt, str(error))
                else:
                    self.lifecycle.mark_failed(row.id, str(error))
                    result.failed += 1
            else:
                self.lifecycle.mark_failed(row.id, str(error))
                if isinstance(error, PermanentDeliveryError) and error.bounce:
                    self.subscribers.mark_bounced(row.subscriber_id, str(error))
                result.failed += 1
        if unreachable is not None:
            # Stop here: every row not yet sent goes back to 'queued', none is failed.
            result.unreachable = unreachable[1]
            self._stop(*unreachable)
            raise _Stop

    def _make_room(self) -> None:
        """Wait until fewer than ``UNRECORDED_BOUND`` messages are in doubt (handed over and not
        recorded), so that handing over one more keeps within the bound."""
        clock = time.perf_counter
        while self._records.unrecorded + self._submitter.in_flight >= UNRECORDED_BOUND:
            started = clock()
            if self._records.committing is not None:
                self._records.wait()
                self._records.poll()
                self._timings["ledger"] += clock() - started
            elif self._submitter.in_flight:
                self._handle(self._submitter.collect())
                self._timings["smtp"] += clock() - started
            else:
                self._records.poll(least=1)

    def _settle(self) -> None:
        """Every reply read and every accepted send recorded."""
        started = time.perf_counter()
        self._handle(self._submitter.collect())
        self._records.flush()
        self._timings["ledger"] += time.perf_counter() - started

    def _stop(self, attempt: _Attempt, reason: str) -> None:
        """The batch stops: what is in flight is settled if it can be, then the rows this batch
        holds ('sending': this one, and those waiting to retry) are given back; the rows it has
        not claimed yet are still 'queued'."""
        try:
            outcomes = self._submitter.collect()
        except Exception:  # the connection's state is unknown: its message is given back too
            log.exception("delivery %s: the message in flight is lost", attempt.row.id)
            outcomes = []
        for done, error in outcomes:
            if error is None:
                self._records.add(done.row.id, done.message_id)
                self._result.sent += 1
        held = {attempt.row.id, *(waiting.row.id for waiting in self._heap if waiting.retry > 0)}
        for waiting in self._heap:  # a row claimed ahead of its turn
            if waiting.retry == 0 and waiting.claim is not None:
                with contextlib.suppress(Exception):
                    if waiting.claim.result() is Claim.CLAIMED:
                        held.add(waiting.row.id)
        held |= {done.row.id for done, error in outcomes if error is not None}
        self._records.flush()
        for row_id in sorted(held):
            self.lifecycle.release(row_id, reason)
        self._result.released += len(held)

    def build(self, row: BatchRow, message_id: str) -> bytes:
        """The message for ``row``, signed when DKIM is on."""
        return self.compose(row, message_id)[0]

    def compose(self, row: BatchRow, message_id: str) -> tuple[bytes, list[bytes]]:
        """``build`` and the same message as SMTP's DATA carries it, dot-stuffed, in pieces whose
        constant parts are stuffed once per edition (``Rendered.stuffed``)."""
        clock = time.perf_counter
        started = clock()
        site, key = self.settings.site_url, self.signing_key
        mailto = ""
        if self.bounce_address:
            mailto = verp.verp_address(self.unsubscribe_mailto, verp.make_tag(key, row.id))
        recipient = Recipient(
            row.email, row.name, unsubscribe_url(site, key, row.subscriber_id),
            preferences_url(site, key, row.subscriber_id), mailto,
        )  # fmt: skip
        rendered = render_parts(
            self.compiled.get(row.sections), recipient, self.settings, message_id=message_id
        )
        signing = clock()
        timings = getattr(self, "_timings", None)
        if timings is not None:
            timings["render"] += signing - started
        wire = rendered.stuffed()
        if self.signer is None:
            return rendered.message(), wire
        signature = self.signer.signature_of(rendered)
        if timings is not None:
            timings["dkim"] += clock() - signing
        return signature + rendered.message(), [signature, *wire]

    def envelope_sender(self, row: BatchRow) -> str:
        """MAIL FROM for a row's message: its VERP address, or the From address when VERP is off."""
        return verp.envelope_sender(self.bounce_address, self.signing_key, row.id, self.envelope_from)

    def message_id(self, row: BatchRow) -> str:
        """The same for every attempt at a row: a duplicate after a crash carries the same
        Message-ID, which lets mailbox providers and clients fold it into one."""
        mac = hmac.new(self.signing_key.encode(), f"{row.edition_id}.{row.id}".encode(), hashlib.sha256)
        return f"edition{row.edition_id}.{row.id}.{mac.hexdigest()[:12]}"

    def delay(self, retry: int) -> float:
        """Exponential backoff with jitter: somewhere in [d/2, d], d = base·2^retry, capped."""
        full = min(self.max_delay, self.settings.smtp_retry_delay * 2**retry)
        return random.uniform(full / 2, full)


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """The batch stops (the mail server cannot be reached); its rows are given back already."""
