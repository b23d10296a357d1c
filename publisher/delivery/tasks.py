"""Delivery tasks: thin adapters, ids in, one service call each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher.tasks import task

if TYPE_CHECKING:
    from publisher.tasks import Services


@task("editions.start", queue="editions")
def start_edition(app: Services, edition_id: int) -> int:
    return app.delivery.start(edition_id)


@task("deliveries.send_batch", queue="deliveries")
def send_batch(app: Services, edition_id: int, ids: list[int]) -> dict[str, Any]:
    return app.delivery.send_batch(edition_id, ids).to_json()


@task("deliveries.requeue_expired", queue="deliveries")
def requeue_expired(app: Services) -> int:
    return app.delivery.sweep()
