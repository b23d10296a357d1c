"""The ops HTTP JSON API under ``/api``: bearer-token auth, roles, 422s that name each bad field.

Every route requires ``Authorization: Bearer TOKEN``: ``$PUBLISHER_API_TOKEN`` (the bootstrap
token, an admin) or a user's personal token (made in the console, acting with the user's role);
with neither the API refuses everything (401), so a forgotten setting never leaves it open. A
viewer may only read; each changing route declares the permission it needs (``needs(...)`` in its
``openapi_extra``: edition verbs, schedules and subscribers OPERATE; articles and test-sends
EDIT). The checks that count are ``publisher.web.guard.ApiAuth``'s, before any body is read;
``require_token`` stands for them as the routes' dependency, so that the OpenAPI document shows the
bearer scheme. Every change is recorded in the audit log (``audit``): who, what, on what, from where.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.app import App
from publisher.limits import MAX_ID
from publisher.web.console.auth import source_of
from publisher.web.context import publisher_app
from publisher.web.guard import needs

_bearer = HTTPBearer(auto_error=False, description="PUBLISHER_API_TOKEN, or a personal token (pub_...)")
# openapi_extra of a changing route: the permission its caller's role needs.
OPERATE = needs(Permission.OPERATE)
EDIT = needs(Permission.EDIT)


def principal_of(request: Request) -> Principal:
    """Who is calling, as ``ApiAuth`` found them (401 if it did not run: never reached in practice)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    principal_of(request)


def audit(request: Request, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Record a change made through the API by its caller."""
    publisher_app(request).audit.record(
        principal_of(request).email, action, target, source=source_of(request), detail=detail
    )


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
