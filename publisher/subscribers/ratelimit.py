"""Per-client signup limits: at most N requests per client per window (a fixed window).

``RedisWindow`` counts in Redis (INCR + EXPIRE), shared by every web process; ``LocalWindow`` counts
in this process, for the embedded default. The local table is bounded: past ``MAX_CLIENTS`` the
oldest windows are dropped, so a flood of addresses cannot grow memory without end.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

MAX_CLIENTS = 100_000


class WindowLimiter(Protocol):
    def allow(self, client: str) -> bool: ...


class LocalWindow:
    def __init__(self, limit: int, window: float, clock: object = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._counts: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            started, count = self._counts.get(client, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            count += 1
            self._counts[client] = (started, count)
            self._counts.move_to_end(client)
            while len(self._counts) > MAX_CLIENTS:
                self._counts.popitem(last=False)
            return count <= self.limit


class RedisWindow:
    def __init__(self, url: str, limit: int, window: int, *, prefix: str = "") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.limit = limit
        self.window = window
        self.prefix = f"{prefix}publisher:signup:"

    def allow(self, client: str) -> bool:
        slot = int(time.time() // self.window)
        key = f"{self.prefix}{client}:{slot}"
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, self.window + 60)
        count, _ = pipe.execute()
        return int(count) <= self.limit
