"""``/api/articles``: publish (same validation and errors as ``publisher ingest``) and retract.

Both refresh the feeds the article is in, like ingest does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Response

from publisher.article import article_from_mapping
from publisher.article_store import Outcome
from publisher.errors import IngestError
from publisher.web.api import PublisherApp, field_error

router = APIRouter(prefix="/articles", tags=["articles"])


@router.post("", status_code=201)
def publish_article(
    response: Response,
    app: PublisherApp,
    body: dict[str, Any] = Body(  # noqa: B008 - FastAPI's way of declaring a free-form body
        ..., examples=[{"title": "Markets Rally", "section": "Business", "summary": "Stocks rose."}]
    ),
) -> dict[str, Any]:
    """Create or update one article from its JSON fields: 201 created, 200 updated or unchanged."""
    try:
        article = article_from_mapping(body)
    except IngestError as exc:
        raise field_error(exc.field or "body", exc.reason) from None
    [saved] = app.publish([article])
    if saved.outcome is not Outcome.CREATED:
        response.status_code = 200
    return {"status": saved.outcome.value, "article": saved.article.to_json()}


@router.delete("/{slug}")
def retract_article(slug: str, app: PublisherApp) -> dict[str, Any]:
    article = app.retract(slug)
    if article is None:
        raise HTTPException(404, f"no article with slug {slug!r}")
    return {"status": "retracted", "article": article.to_json()}
