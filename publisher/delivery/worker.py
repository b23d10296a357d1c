"""What a ``publisher worker`` adds to Celery: a timer that sweeps expired leases.

Every quarter lease the worker's main process enqueues ``deliveries.requeue_expired`` (it does no
database work itself, so nothing is open when the pool forks). Rows of a killed worker are thus
taken up again about one lease after it died, by whichever worker is alive, instead of after
Redis's visibility timeout (an hour), and even when no other batch is left to run.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, bootsteps

from publisher.settings import Settings

SWEEP = "deliveries.requeue_expired"


def install_sweeper(celery: Celery, settings: Settings) -> None:
    interval = max(1.0, settings.delivery_lease / 4)

    class LeaseSweeper(bootsteps.StartStopStep):
        requires = ("celery.worker.components:Timer",)

        def __init__(self, worker: Any, **kwargs: Any) -> None:
            self.tref: Any = None

        def start(self, worker: Any) -> None:
            self.tref = worker.timer.call_repeatedly(interval, self.tick, priority=10)

        def tick(self) -> None:
            # A sweep not run within two intervals is pointless: a newer one is queued by then.
            celery.send_task(SWEEP, queue="deliveries", expires=interval * 2)

        def stop(self, worker: Any) -> None:
            if self.tref is not None:
                self.tref.cancel()

    celery.steps["worker"].add(LeaseSweeper)
