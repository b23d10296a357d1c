"""The web side (``publisher serve``): feeds, article pages, the edition archive, signup,
unsubscribe, preferences, ops API, the newsroom console (``/console``).

``create_app`` builds the ASGI app around one publisher ``App`` (the composition root); each
concern is a router in its own module, included here. Before any route: the security headers,
the ops API's token check and the request body limit (``guard.py``); after any route: errors
answered by their type (``errors.py``).

The API is described by ``/openapi.json``, shown by ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc),
both served from this site with no CDN (``docs.py``).
"""

from __future__ import annotations

from fastapi import FastAPI

from publisher.app import App


def create_app(app: App | None = None) -> FastAPI:
    from publisher.web import (
        api,
        articles,
        console,
        docs,
        editions,
        errors,
        feeds,
        health,
        metrics,
        preferences,
        static,
        subscribe,
        unsubscribe,
        webhooks,
    )
    from publisher.web.guard import ApiAuth, BodyLimit, SecurityHeaders

    publisher_app = app or App()
    settings = publisher_app.settings
    web = FastAPI(title="publisher", version="0.1.0", docs_url=None, redoc_url=None)
    web.state.publisher = publisher_app
    web.include_router(health.router)
    web.include_router(unsubscribe.router)
    web.include_router(preferences.router)
    web.include_router(subscribe.router)
    web.include_router(metrics.router)
    web.include_router(feeds.router)
    web.include_router(articles.router)
    web.include_router(editions.router)
    web.include_router(api.build_router())
    web.include_router(console.build_router())
    web.include_router(webhooks.router)
    web.state.webhooks = webhooks.WebhookState(settings.webhook_max_age)
    web.router.routes.extend(static.routes)
    web.router.routes.extend(docs.routes(web.title, web.openapi_url or "/openapi.json"))
    errors.install(web)
    # The last added runs first: headers on every answer, then the token, then the body limit.
    web.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    web.add_middleware(ApiAuth, token=settings.api_token, resolve=publisher_app.api_tokens.principal)
    web.add_middleware(SecurityHeaders)
    return web
