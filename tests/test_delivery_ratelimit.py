"""The global send rate: a token bucket in Redis shared by every worker (and its in-process twin)."""

from __future__ import annotations

import threading
import time

import pytest

from publisher.app import App
from publisher.delivery.ratelimit import LocalTokenBucket, RedisTokenBucket
from tests.conftest import RedisPlace


def _elapsed(acquire, n: int) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    for _ in range(n):
        acquire()
    return time.monotonic() - started


def test_local_bucket_holds_the_rate() -> None:
    bucket = LocalTokenBucket(rate=40)
    assert _elapsed(bucket.acquire, 40) < 0.1  # a second's worth at once
    assert 0.45 < _elapsed(bucket.acquire, 20) < 0.9


def test_off_by_default(make_settings) -> None:
    assert App(make_settings()).rate_limiter is None
    assert isinstance(App(make_settings(rate_limit=5)).rate_limiter, LocalTokenBucket)


@pytest.mark.redis
def test_redis_bucket_is_shared_by_all_takers(redis_url: RedisPlace) -> None:
    key = f"{redis_url.prefix}ratelimit"
    buckets = [RedisTokenBucket(redis_url.url, 30, key=key) for _ in range(3)]  # three "workers"
    started = time.monotonic()
    threads = [threading.Thread(target=lambda b=b: [b.acquire() for _ in range(20)]) for b in buckets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # 60 messages at 30/s with a burst of 30: the last 30 need a second, together, not each.
    assert 0.9 < elapsed < 1.8
