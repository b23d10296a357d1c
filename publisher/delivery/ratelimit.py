"""A global send rate: messages per second across all workers, as a token bucket in Redis.

The bucket is one Redis hash updated by a Lua script (atomic, clocked by Redis's own TIME, so
worker clocks do not matter). ``acquire`` blocks until a token is free. Off (``NoLimit``) unless
``PUBLISHER_RATE_LIMIT`` is set; without a broker the bucket lives in the process.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class RateLimiter(Protocol):
    def acquire(self) -> None: ...


class NoLimit:
    def acquire(self) -> None:
        return None


class LocalTokenBucket:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst or max(1.0, rate)
        self.tokens = self.burst
        self.at = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
                self.at = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


class RedisTokenBucket:
    def __init__(self, redis_url: str, rate: float, *, key: str = "publisher:ratelimit") -> None:
        import redis

        self.client = redis.Redis.from_url(redis_url)
        self.rate = rate
        # A burst of one second's worth: the rate holds over any window longer than a second.
        self.burst = max(1.0, rate)
        self.key = key
        self._take = self.client.register_script(TAKE)

    def acquire(self) -> None:
        while True:
            wait = float(self._take(keys=[self.key], args=[self.rate, self.burst]))
            if wait <= 0:
                return
            time.sleep(wait)
