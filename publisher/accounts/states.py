"""A user's states and the moves between them, as data; ``lifecycle.py`` is the only writer.

    (new) ──add──▶ active ──disable──▶ disabled ──enable──▶ active

Disabling ends the user's sessions and revokes their API tokens in the same transaction: from the
moment it commits, nothing of theirs works. Users are never deleted, so the audit log's "who"
always names someone the People page knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class UserMove(StrEnum):
    ADD = "add"
    DISABLE = "disable"
    ENABLE = "enable"


@dataclass(frozen=True)
class Rule:
    leaves: frozenset[UserStatus]  # empty: the move inserts a new user
    to: UserStatus


MOVES: dict[UserMove, Rule] = {
    UserMove.ADD: Rule(frozenset(), UserStatus.ACTIVE),
    UserMove.DISABLE: Rule(frozenset({UserStatus.ACTIVE}), UserStatus.DISABLED),
    UserMove.ENABLE: Rule(frozenset({UserStatus.DISABLED}), UserStatus.ACTIVE),
}
