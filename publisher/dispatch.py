"""Enqueue a task: on Celery when a broker is configured, in-process otherwise.

Call ``enqueue`` only after the database transaction that the task reads has committed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from publisher.tasks import load_all, run_task

if TYPE_CHECKING:
    from celery import Celery

    from publisher.tasks import Services

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def enqueue(self, name: str, **kwargs: Any) -> None: ...


class InProcessDispatcher:
    """The embedded default: run the task in this process, now. A failure is logged, not raised,
    as it would be in a worker; the caller's own work is already committed.

    A task that enqueues another (a send sweeping leases and queueing a batch) does not run it
    inside itself: it runs once the first has returned, as a worker would take it next. So tasks
    never nest, however many they enqueue. Each thread (the web app's request threads) has its own
    run, so a request's tasks are done when it returns.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._local = threading.local()

    def enqueue(self, name: str, **kwargs: Any) -> None:
        waiting: deque[tuple[str, dict[str, Any]]] | None = getattr(self._local, "waiting", None)
        if waiting is not None:  # inside a task of this thread: it runs next
            waiting.append((name, kwargs))
            return
        waiting = self._local.waiting = deque([(name, kwargs)])
        try:
            while waiting:
                task_name, task_kwargs = waiting.popleft()
                try:
                    run_task(self.services, task_name, task_kwargs)
                except Exception:
                    log.exception("task %s failed in-process", task_name)
        finally:
            self._local.waiting = None


class CeleryDispatcher:
    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self.registry = load_all()

    def enqueue(self, name: str, **kwargs: Any) -> None:
        spec = self.registry[name]
        self.celery.send_task(name, kwargs=kwargs, queue=spec.queue)
