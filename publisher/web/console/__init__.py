"""The newsroom console at ``/console/``: server-rendered pages for editors, ops and admins.

``build_router`` gathers each page module's ``router`` under ``/console``. Every route depends on
``auth.require(permission)``: the session, the CSRF token of every POST, the role's permission.
Pages render through ``pages.render`` with the layout ``templates/web/console/base.html``.
"""

from __future__ import annotations

from fastapi import APIRouter


def build_router() -> APIRouter:
    from publisher.web.console import (
        articles,
        audit,
        editions,
        login,
        people,
        schedules,
        subscribers,
        today,
        tokens,
        verbs,
    )

    router = APIRouter(prefix="/console", include_in_schema=False)
    router.include_router(login.router)
    router.include_router(editions.router)  # before the verbs' /editions/{id}/{verb}
    router.include_router(today.router)
    router.include_router(verbs.router)
    router.include_router(schedules.router)
    router.include_router(subscribers.router)
    router.include_router(articles.router)
    router.include_router(people.router)
    router.include_router(tokens.router)
    router.include_router(audit.router)
    return router
