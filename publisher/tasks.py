"""Background tasks: plain functions of (services, **json_kwargs), registered by name and queue.

A task takes ids and small JSON values, never message bodies, and calls one service. The same
function runs in a Celery worker (``celery_app.py``) when a broker is configured and in-process
otherwise (``dispatch.py``), so the embedded default and the distributed deployment share code.
A task raises ``TransientDeliveryError`` (or another ``Retryable``) for what a retry may fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from publisher.delivery.service import DeliveryService
    from publisher.dispatch import Dispatcher
    from publisher.feeds import FeedService
    from publisher.schedule.sweep import Scheduler
    from publisher.settings import Settings
    from publisher.stats import StatsStore


class Services(Protocol):
    """What a task runs with: the composition root's ``App`` is one (tasks never import it)."""

    settings: Settings

    @property
    def delivery(self) -> DeliveryService: ...

    @property
    def scheduler(self) -> Scheduler: ...

    @property
    def feeds(self) -> FeedService: ...

    @property
    def stats(self) -> StatsStore: ...

    @property
    def dispatcher(self) -> Dispatcher: ...


QUEUES = ("editions", "deliveries", "feeds")


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    queue: str
    func: Callable[..., Any]
    max_retries: int = 5


REGISTRY: dict[str, TaskSpec] = {}


def task(
    name: str, *, queue: str, max_retries: int = 5
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(services, **kwargs)`` as the task ``name`` on ``queue``."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = TaskSpec(name, queue, func, max_retries)
        return func

    return register


def load_all() -> dict[str, TaskSpec]:
    """Import every module that defines tasks, so the registry is complete."""
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)
    return REGISTRY


# Modules defining @task functions; each feature adds its own.
TASK_MODULES: list[str] = ["publisher.feeds.tasks", "publisher.delivery.tasks", "publisher.schedule.tasks"]


def run_task(services: Services, name: str, kwargs: dict[str, Any]) -> Any:
    return load_all()[name].func(services, **kwargs)
