"""A real uvicorn server on 127.0.0.1 in a thread, for tests that need a socket (a browser, raw
HTTP framing): ``with serving(asgi_app) as (host, port): ...``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(
    asgi_app: Any, timeout: float = 10.0, sock: socket.socket | None = None
) -> Iterator[tuple[str, int]]:
    """``sock``: a socket already bound (when the app must know its URL before it serves)."""
    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield "127.0.0.1", int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
