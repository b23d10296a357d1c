"""A reader's states and every move between them, as data; ``lifecycle.py`` is the only writer.

    (new) ──signup──▶ pending ──confirm──▶ active ──unsubscribe──▶ unsubscribed
    (new) ──add, import──────────────────▶ active ──bounce────────▶ bounced
                      pending ──ops-confirm (with a reason)──▶ active
                      unsubscribed ──signup──▶ pending (they must confirm again)
    active | pending | unsubscribed ──complain──▶ complained
    pending | active ──suppress (ops)──▶ unsubscribed, and the address on the suppression list
    bounced | complained ──unsuppress (ops)──▶ unsubscribed, and off the suppression list
    any ──forget──▶ (erased: only a keyed hash of the address stays, on the suppression list)
    pending, not confirmed within 30 days ──expire──▶ (deleted)

Only ``active`` readers get editions. Unsubscribed, bounced, complained and erased addresses are
*suppressed*: an import or ``subscribers add`` never makes them active again. Of those, only an
unsubscribed reader may come back, by signing up and confirming again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from publisher.subscribers.model import Status

S = Status


class Move(StrEnum):
    SIGNUP = "signup"
    CONFIRM = "confirm"
    OPS_CONFIRM = "ops-confirm"
    ADD = "add"  # an insert by ops or an import: active at once
    UNSUBSCRIBE = "unsubscribe"
    BOUNCE = "bounce"
    COMPLAIN = "complain"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"


@dataclass(frozen=True)
class Rule:
    leaves: frozenset[Status]  # empty: the move inserts a new reader
    to: Status


MOVES: dict[Move, Rule] = {
    Move.SIGNUP: Rule(frozenset({S.UNSUBSCRIBED}), S.PENDING),
    Move.CONFIRM: Rule(frozenset({S.PENDING}), S.ACTIVE),
    Move.OPS_CONFIRM: Rule(frozenset({S.PENDING}), S.ACTIVE),
    Move.ADD: Rule(frozenset(), S.ACTIVE),
    Move.UNSUBSCRIBE: Rule(frozenset({S.PENDING, S.ACTIVE}), S.UNSUBSCRIBED),
    Move.BOUNCE: Rule(frozenset({S.ACTIVE}), S.BOUNCED),
    Move.COMPLAIN: Rule(frozenset({S.PENDING, S.ACTIVE, S.UNSUBSCRIBED}), S.COMPLAINED),
    Move.SUPPRESS: Rule(frozenset({S.PENDING, S.ACTIVE}), S.UNSUBSCRIBED),
    Move.UNSUPPRESS: Rule(frozenset({S.BOUNCED, S.COMPLAINED}), S.UNSUBSCRIBED),
}

# States an import or an ops add never changes (nor overwrites the profile of).
SUPPRESSED = frozenset({S.UNSUBSCRIBED, S.BOUNCED, S.COMPLAINED})
# States from which the signup form sends nothing at all (an unsubscribed reader may come back).
SILENT = frozenset({S.BOUNCED, S.COMPLAINED})


class Source(StrEnum):
    """Where a change came from, as recorded in the reader's events."""

    FORM = "signup form"
    CONFIRM_LINK = "confirm link"
    IMPORT = "import"
    OPS = "ops"
    API = "api"
    ONE_CLICK = "one-click"
    PREFERENCES = "preferences"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    MAILTO = "mailto"  # mail to the List-Unsubscribe address
    AUTO_REPLY = "auto-reply"  # a vacation notice or other automatic answer (RFC 3834)
    SYSTEM = "system"
