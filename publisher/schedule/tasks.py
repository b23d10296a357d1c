"""The sweep as a task: beat enqueues it every minute on the ``editions`` queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher.tasks import task

if TYPE_CHECKING:
    from publisher.tasks import Services


@task("schedule.sweep", queue="editions", max_retries=0)
def sweep(app: Services) -> dict[str, Any]:
    return app.scheduler.sweep().to_json()
