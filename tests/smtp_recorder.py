"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, and can misbehave:
answer 451 at random, 550 for chosen addresses at RCPT, and drop connections at random. It offers
ESMTP PIPELINING unless told not to (aiosmtpd reads commands strictly in order, which is all
pipelining asks of a server), so the senders' pipelined path is what the tests exercise."""

from __future__ import annotations

import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Recorder:
    fail_rate: float = 0.0  # 451 after DATA
    drop_rate: float = 0.0  # connection closed instead of a reply to DATA
    bounce: frozenset[str] = frozenset()  # 550 at RCPT
    seed: int = 5
    pipelining: bool = True
    # Called with each accepted message before the server answers it (the sender waits meanwhile).
    on_accept: Callable[[str, bytes], None] | None = None
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    # The envelope sender (MAIL FROM) of each accepted message, beside ``messages``: (sender, rcpt).
    envelopes: list[tuple[str, str]] = field(default_factory=list)
    replies: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]  # noqa: N802
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address in self.bounce:
            self.replies["550"] += 1
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        roll = self._random.random()
        if roll < self.drop_rate:
            self.replies["drop"] += 1
            server.transport.close()
            return "421 gone"
        if roll < self.drop_rate + self.fail_rate:
            self.replies["451"] += 1
            return "451 4.3.0 try again later"
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                if self.on_accept is not None:
                    self.on_accept(rcpt, envelope.content)
                self.messages.append((rcpt, envelope.content))
                self.envelopes.append((envelope.mail_from, rcpt))
        self.replies["250"] += 1
        return "250 OK"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(rcpt for rcpt, _ in self.messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self, recorder: Recorder, port: int | None = None) -> None:
        self.recorder = recorder
        self.port = port or free_port()
        self.controller = Controller(recorder, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
