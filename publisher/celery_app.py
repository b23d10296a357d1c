"""The one Celery app, configured for "never lose, never duplicate" on Redis
(docs/dependencies.md).

- JSON only; ``acks_late`` + ``task_reject_on_worker_lost``: a task whose worker dies is redelivered.
- prefetch 1: a killed worker holds at most one unacknowledged task beyond the running one.
- The visibility timeout is set in every place Celery 5.5+ reads it (celery #7651) and is longer
  than any task; no ETA/countdown longer than a few minutes is ever used (celery #2481).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu import Queue

from publisher.errors import TransientDeliveryError
from publisher.settings import Settings
from publisher.tasks import QUEUES, Services, TaskSpec, load_all

VISIBILITY_TIMEOUT = 3600  # seconds; every task is far shorter (a batch of 500 sends: ~seconds)


def make_celery(settings: Settings, services: Callable[[], Services] | None = None) -> Celery:
    """The Celery app. ``services`` makes what tasks run with (the composition root passes its own
    factory): called once per worker process, after the fork, on the first task. Without it the
    app only sends tasks (beat, and processes that enqueue)."""
    made: dict[int, Services] = {}

    def current() -> Services:
        found = made.get(os.getpid())
        if found is None:
            if services is None:
                raise RuntimeError("this Celery app only sends tasks: it was made without services")
            found = made[os.getpid()] = services()
        return found

    celery = Celery("publisher", broker=settings.redis_url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if settings.redis_prefix:
        # Every key (queues, unacked, fanout) under the prefix: several installs share one Redis.
        transport["global_keyprefix"] = settings.redis_prefix
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        visibility_timeout=VISIBILITY_TIMEOUT,
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="editions",
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone="UTC",
    )
    specs = load_all().values()
    celery.conf.task_routes = {spec.name: {"queue": spec.queue} for spec in specs}
    for spec in specs:
        _register(celery, current, spec)
    return celery


def _register(celery: Celery, current: Callable[[], Services], spec: TaskSpec) -> None:
    # shared=False: a shared task would be added to every Celery app made later in the process
    # (tests make one per App), and the first callable registered under a name would win.
    @celery.task(name=spec.name, bind=True, max_retries=spec.max_retries, shared=False)
    def run(self: Any, **kwargs: Any) -> Any:
        try:
            return spec.func(current(), **kwargs)
        except TransientDeliveryError as exc:
            # Short, growing delays only: long countdowns are redelivered by Redis (docs/dependencies.md).
            raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc
