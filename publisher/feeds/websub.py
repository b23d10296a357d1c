"""Tell the WebSub hub that feeds changed: ``hub.mode=publish`` with the feed's URL, form-encoded.

One POST per feed URL (hubs differ in accepting several ``hub.url`` at once). A hub that is down or
answers 429/5xx is a transient failure: retried here a couple of times, then by the task queue; a
4xx answer would be the same next time and is only logged. Nothing here can fail a feed refresh:
the ping runs after the feeds are written, as its own task.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from publisher.errors import TransientDeliveryError

log = logging.getLogger(__name__)


def ping_hub(
    hub: str,
    urls: Sequence[str],
    *,
    timeout: float = 5.0,
    attempts: int = 2,
    backoff: float = 0.5,
) -> list[str]:
    """Announce ``urls`` to ``hub``; returns the URLs the hub accepted.

    Raises TransientDeliveryError naming the URLs still unannounced after ``attempts`` tries.
    """
    pending = list(dict.fromkeys(urls))
    accepted: list[str] = []
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        failed = []
        for url in pending:
            outcome = _publish(hub, url, timeout)
            if outcome == "ok":
                accepted.append(url)
            elif outcome == "retry":
                failed.append(url)
        pending = failed
        if not pending:
            return accepted
    raise TransientDeliveryError(f"WebSub hub {hub} did not take: {', '.join(pending)}")


def _publish(hub: str, url: str, timeout: float) -> str:
    """ok | retry | refused (a 4xx that a retry would not change)."""
    body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
    request = urllib.request.Request(
        hub, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
        return "ok"
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            log.warning("WebSub hub %s answered %s for %s; will retry", hub, exc.code, url)
            return "retry"
        log.error("WebSub hub %s refused %s: %s", hub, url, exc.code)
        return "refused"
    except (OSError, ValueError) as exc:  # connection refused, timeout, DNS, bad hub URL scheme
        log.warning("WebSub hub %s unreachable for %s: %s; will retry", hub, url, exc)
        return "retry"
