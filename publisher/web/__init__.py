"""The web side (``publisher serve``): feeds, article pages, the edition archive, unsubscribe, ops API.

``create_app`` builds the ASGI app around one publisher ``App`` (the composition root); each
concern is a router in its own module, included here.
"""

from __future__ import annotations

from fastapi import FastAPI

from publisher.app import App


def create_app(app: App | None = None) -> FastAPI:
    from publisher.web import api, articles, editions, feeds, health, metrics, preferences, unsubscribe

    publisher_app = app or App()
    web = FastAPI(title="publisher", version="0.1.0")
    web.state.publisher = publisher_app
    web.include_router(health.router)
    web.include_router(unsubscribe.router)
    web.include_router(preferences.router)
    web.include_router(metrics.router)
    web.include_router(feeds.router)
    web.include_router(articles.router)
    web.include_router(editions.router)
    web.include_router(api.build_router())
    return web
