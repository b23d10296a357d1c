"""How many tasks wait in each broker queue: one ``LLEN`` per queue on Redis (kombu keeps a queue
as a list named after it, under PUBLISHER_REDIS_PREFIX). Read by ``/metrics`` and the console.

Without a broker tasks run in-process and nothing waits: None. A broker that cannot be reached
is None too (``/healthz`` reports it); a quick timeout keeps a page from hanging on it.
"""

from __future__ import annotations

from publisher.settings import Settings
from publisher.tasks import QUEUES

TIMEOUT = 2.0  # seconds


def queue_lengths(settings: Settings) -> dict[str, int] | None:
    """{queue: tasks waiting} for every queue, or None (no broker, or it did not answer)."""
    if not settings.redis_url:
        return None
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        return {queue: int(client.llen(f"{settings.redis_prefix}{queue}")) for queue in QUEUES}  # type: ignore[arg-type]
    except redis.RedisError:
        return None
    finally:
        client.close()
