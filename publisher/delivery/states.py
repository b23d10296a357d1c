"""The states of an edition and of its deliveries, and every move between them, as data.

This module answers "can ops pause a halted edition?" by reading one table; ``lifecycle.py`` is the
only code that writes either status column, and every write it makes is an UPDATE whose WHERE names
the states listed here.

An edition:

    draft ──send──▶ sending ──(no open rows)──▶ sent ──send again──▶ sending
      │               │  ▲
      │         pause │  │ resume           halt: our own fault (a setting, a template, the DKIM
      ├──────▶ paused ┘  │                  key) stops the edition; its rows wait, none is failed
      └──────▶ halted ───┘
    draft | sending | paused | halted ──cancel──▶ cancelled
    (frozen with no articles) empty

A delivery (one row of the ledger, one edition for one reader):

    pending ──queue──▶ queued ──claim──▶ sending ──▶ sent | failed (the SMTP server said 5xx)
       ▲                 │  ▲               │
       └────hold─────────┘  └───release─────┘   (paused or halted; server unreachable)
    pending | queued ──cancel, late, reader gone──▶ skipped
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from publisher.errors import EditionStateError


class EditionState(StrEnum):
    DRAFT = "draft"  # frozen, not started: rows may be pending until their due time
    SENDING = "sending"
    PAUSED = "paused"  # by ops: nothing is queued or claimed until resumed
    HALTED = "halted"  # by publisher, on its own fault: like paused, with the error, until resumed
    CANCELLED = "cancelled"
    SENT = "sent"  # no row left open
    EMPTY = "empty"  # frozen with no articles: nothing to send


class DeliveryState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


E, D = EditionState, DeliveryState

# Editions whose rows may be queued, claimed and sent.
LIVE = frozenset({E.DRAFT, E.SENDING})
# States in which an edition's rows stay where they are (a lease sweep puts expired ones back to
# pending) until ops act.
HELD = frozenset({E.PAUSED, E.HALTED})
OPEN_ROWS = frozenset({D.PENDING, D.QUEUED, D.SENDING})
DONE_ROWS = frozenset({D.SENT, D.FAILED, D.SKIPPED})


@dataclass(frozen=True)
class Move:
    """A verb's rule: the states it leaves and the state it leads to (None: the state stays)."""

    leaves: frozenset[str]
    to: str | None


class Verb(StrEnum):
    SEND = "send"  # first send, or again: readers not yet in the ledger get it
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    TEST_SEND = "test-send"
    EDIT = "edit"  # editors: pin, exclude, reorder, subject (contents.py), before any row is queued
    HALT = "halt"  # publisher's own, on its own fault
    FINISH = "finish"  # publisher's own, when no row is left open


# The edition table. ``resume`` leads to sending when the edition had started, else to draft;
# ``send`` from sent leads to sending (and back to sent at once when nobody new was found).
EDITION_MOVES: dict[Verb, Move] = {
    Verb.SEND: Move(frozenset({E.DRAFT, E.SENDING, E.SENT}), E.SENDING),
    Verb.PAUSE: Move(frozenset({E.DRAFT, E.SENDING, E.PAUSED}), E.PAUSED),
    Verb.RESUME: Move(frozenset({E.PAUSED, E.HALTED}), None),
    Verb.CANCEL: Move(frozenset({E.DRAFT, E.SENDING, E.PAUSED, E.HALTED}), E.CANCELLED),
    Verb.RESCHEDULE: Move(frozenset({E.DRAFT, E.SENDING, E.PAUSED, E.HALTED}), None),
    Verb.TEST_SEND: Move(frozenset(E) - {E.EMPTY}, None),
    # Its contents, not its state: only a draft none of whose rows has been queued yet.
    Verb.EDIT: Move(frozenset({E.DRAFT}), None),
    Verb.HALT: Move(frozenset({E.DRAFT, E.SENDING, E.PAUSED}), E.HALTED),
    Verb.FINISH: Move(frozenset({E.SENDING}), E.SENT),
}


class RowMove(StrEnum):
    FILL = "fill"  # a new row: pending
    QUEUE = "queue"
    CLAIM = "claim"
    GONE = "gone"  # the reader unsubscribed or bounced before their row was claimed
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"  # a 4xx: still ours, lease renewed
    HOLD = "hold"  # the edition was paused or halted
    CANCEL = "cancel"
    LATE = "late"
    # A row given back unsent (the server is unreachable, publisher halted the batch, or its
    # worker died and the lease ran out) goes where its edition's state says:
    RELEASE = "release"  # a live edition: queued again
    RELEASE_HELD = "release-held"  # a paused or halted edition: pending, waiting with the rest
    RELEASE_CANCELLED = "release-cancelled"  # a cancelled edition: skipped
    LEASE_SKIP = "lease-skip"  # a dead worker's row, not sent again (policy skip)


# The ledger table. SENT and FAILED also leave 'queued': if a lease sweep took a row back while its
# send was under way, recording the send stops a second one.
ROW_MOVES: dict[RowMove, Move] = {
    RowMove.FILL: Move(frozenset(), D.PENDING),
    RowMove.QUEUE: Move(frozenset({D.PENDING}), D.QUEUED),
    RowMove.CLAIM: Move(frozenset({D.QUEUED}), D.SENDING),
    RowMove.GONE: Move(frozenset({D.QUEUED}), D.SKIPPED),
    RowMove.SENT: Move(frozenset({D.SENDING, D.QUEUED}), D.SENT),
    RowMove.FAILED: Move(frozenset({D.SENDING, D.QUEUED}), D.FAILED),
    RowMove.RETRY: Move(frozenset({D.SENDING}), D.SENDING),
    RowMove.HOLD: Move(frozenset({D.QUEUED}), D.PENDING),
    RowMove.CANCEL: Move(frozenset({D.PENDING, D.QUEUED}), D.SKIPPED),
    RowMove.LATE: Move(frozenset({D.PENDING}), D.SKIPPED),
    RowMove.RELEASE: Move(frozenset({D.SENDING}), D.QUEUED),
    RowMove.RELEASE_HELD: Move(frozenset({D.SENDING}), D.PENDING),
    RowMove.RELEASE_CANCELLED: Move(frozenset({D.SENDING}), D.SKIPPED),
    RowMove.LEASE_SKIP: Move(frozenset({D.SENDING}), D.SKIPPED),
}

# Which give-back applies to a row, by its edition's state.
RELEASE_BY_EDITION: dict[RowMove, frozenset[EditionState]] = {
    RowMove.RELEASE: LIVE,
    RowMove.RELEASE_HELD: HELD,
    RowMove.RELEASE_CANCELLED: frozenset({E.CANCELLED}),
}


def allows(verb: Verb, state: str) -> bool:
    return state in EDITION_MOVES[verb].leaves


def refusal(verb: Verb, edition_id: int, state: str, error: str | None = None) -> EditionStateError:
    """The error for a verb that does not apply: the edition, its state and what to do instead."""
    cmd = "publisher edition"
    if verb == Verb.EDIT and state in (E.DRAFT, E.SENDING):
        text = f"edition {edition_id} has started sending: its contents are frozen"
    elif state == E.PAUSED:
        hint = f"`{cmd} resume {edition_id}` first" if verb != Verb.RESUME else "nothing to do"
        text = f"edition {edition_id} is paused: {hint}"
    elif state == E.HALTED:
        why = f" ({error})" if error else ""
        text = f"edition {edition_id} is halted{why}: fix the cause, then `{cmd} resume {edition_id}`"
    elif state == E.CANCELLED:
        text = f"edition {edition_id} is cancelled: nothing more goes out"
    elif state == E.EMPTY:
        text = f"edition {edition_id} is empty: it has no articles to send"
    elif state == E.SENT:
        text = f"edition {edition_id} is sent: nothing left to {verb}"
    elif verb == Verb.RESUME:
        text = f"edition {edition_id} is {state}, not paused or halted: nothing to resume"
    else:
        text = f"edition {edition_id} is {state}: it cannot {verb}"
    return EditionStateError(text, edition_id=edition_id, state=state, verb=str(verb))
