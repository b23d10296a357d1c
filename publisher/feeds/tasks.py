"""Feed tasks on the ``feeds`` queue: thin adapters around FeedService and the WebSub ping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher.errors import FeedError
from publisher.feeds.websub import ping_hub
from publisher.tasks import task

if TYPE_CHECKING:
    from publisher.tasks import Services


@task("feeds.refresh", queue="feeds")
def refresh(app: Services, sections: list[str] | None = None) -> dict[str, Any]:
    """Rebuild the site feed and ``sections``' feeds; every feed when ``sections`` is None (the
    periodic refresh). Changed feeds are announced to the WebSub hub by a separate task."""
    with app.stats.timed("feed_build"):  # for /metrics
        result = app.feeds.build_all() if sections is None else app.feeds.refresh(sections)
    changed = [record.url for record in result.announced]
    if changed and app.settings.websub_hub:
        app.dispatcher.enqueue("feeds.websub_ping", urls=changed)
    if result.errors:
        raise FeedError("; ".join(result.errors))
    return {"feeds": len(result.records), "changed": len(changed), "files": len(result.files)}


@task("feeds.websub_ping", queue="feeds", max_retries=8)
def websub_ping(app: Services, urls: list[str]) -> None:
    if app.settings.websub_hub:
        ping_hub(app.settings.websub_hub, urls)
