"""Celery beat with celery-redbeat: exactly one beat enqueues the sweep every minute.

The beat schedule holds only the sweep; editions and feed refreshes are schedules in the database
that the sweep reads, so ops change them at run time without touching beat. redbeat keeps its lock
in Redis; with the lock timeout lowered from 25 minutes to ``PUBLISHER_BEAT_LOCK_TIMEOUT`` (60 s),
a standby beat takes over about a minute after the active one stops. A sweep queued but not run
within one interval expires: the next one does its work.
"""

from __future__ import annotations

from celery import Celery

from publisher.celery_app import make_celery
from publisher.settings import Settings

SWEEP_ENTRY = "publisher-sweep"


def make_beat(settings: Settings) -> Celery:
    celery = make_celery(settings)
    interval = float(settings.sweep_interval)
    celery.conf.update(
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=settings.redis_url,
        redbeat_key_prefix=f"{settings.redis_prefix}redbeat:",
        result_expires=None,  # no results are kept: no celery.backend_cleanup entry either
        redbeat_lock_timeout=settings.beat_lock_timeout,
        # beat must wake up well within the lock timeout to renew its lock.
        beat_max_loop_interval=max(1, min(30, settings.beat_lock_timeout // 3)),
        beat_schedule={
            SWEEP_ENTRY: {
                "task": "schedule.sweep",
                "schedule": interval,
                "options": {"queue": "editions", "expires": interval},
            }
        },
    )
    return celery
