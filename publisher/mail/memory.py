"""An in-memory mailer for tests and demos: it keeps what it was given, and can be told to fail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Sent:
    envelope_from: str
    recipients: tuple[str, ...]
    message: bytes


@dataclass
class MemoryMailer:
    """``fail`` (optional) is called before each send and may raise a DeliveryError."""

    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[str, Sequence[str]], None] | None = None
    closed: int = 0

    def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None:
        if self.fail is not None:
            self.fail(envelope_from, recipients)
        self.sent.append(Sent(envelope_from, tuple(recipients), message))

    def close(self) -> None:
        self.closed += 1
