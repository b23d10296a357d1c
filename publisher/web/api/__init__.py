"""The ops HTTP JSON API under ``/api``: bearer-token auth, 422s that name each bad field.

Every route requires ``Authorization: Bearer $PUBLISHER_API_TOKEN``; with no token configured the
API refuses everything (401), so a forgotten setting never leaves it open. The check that counts is
``publisher.web.guard.ApiAuth``, before any body is read; ``require_token`` repeats it as the
routes' dependency so that the OpenAPI document shows the bearer scheme.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from publisher.app import App
from publisher.limits import MAX_ID

_bearer = HTTPBearer(auto_error=False, description="PUBLISHER_API_TOKEN")


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    expected = request.app.state.publisher.settings.api_token
    given = credentials.credentials if credentials else ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token (Authorization: Bearer $PUBLISHER_API_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def publisher_app(request: Request) -> App:
    return request.app.state.publisher


# Route parameter type: the publisher App of this web app.
PublisherApp = Annotated[App, Depends(publisher_app)]
# An edition id in the path: a number no database column overflows on (else a 422 naming it).
EditionId = Annotated[int, Path(ge=1, le=MAX_ID)]


def field_error(field: str, message: str, *, where: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(
        status_code=422, detail=[{"loc": [where, field], "msg": message, "type": "value_error"}]
    )


def build_router() -> APIRouter:
    from publisher.web.api import articles, editions, schedules, subscribers

    router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    router.include_router(schedules.router)
    router.include_router(articles.router)
    router.include_router(editions.router)
    router.include_router(subscribers.router)
    return router
