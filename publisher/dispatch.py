"""Enqueue a task: on Celery when a broker is configured, in-process otherwise.

Call ``enqueue`` only after the database transaction that the task reads has committed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from publisher.tasks import load_all, run_task

if TYPE_CHECKING:
    from celery import Celery

    from publisher.tasks import Services

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def enqueue(self, name: str, **kwargs: Any) -> None: ...


class InProcessDispatcher:
    """The embedded default: run the task now, in this process. A failure is logged, not raised,
    as it would be in a worker; the caller's own work is already committed."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def enqueue(self, name: str, **kwargs: Any) -> None:
        try:
            run_task(self.services, name, kwargs)
        except Exception:
            log.exception("task %s failed in-process", name)


class CeleryDispatcher:
    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self.registry = load_all()

    def enqueue(self, name: str, **kwargs: Any) -> None:
        spec = self.registry[name]
        self.celery.send_task(name, kwargs=kwargs, queue=spec.queue)
