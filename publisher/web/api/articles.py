"""``/api/articles``: publish (same validation and errors as ``publisher ingest``), retract, restore.

All three refresh the feeds the article is in, like ingest does. The body of a publish is read
with the ingest's own JSON reader, not FastAPI's: hostile JSON (nesting thousands deep, numbers of
thousands of digits, ``NaN``) is then a 422 naming the problem instead of a 400 or a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from publisher.article import JSON_KEYS, Article, article_from_mapping
from publisher.article_store import Outcome
from publisher.errors import IngestError
from publisher.ingest.files import MAX_FILE_BYTES
from publisher.ingest.jsonfile import load_json
from publisher.web.api import EDIT, PublisherApp, audit, field_error

router = APIRouter(prefix="/articles", tags=["articles"])

_ARTICLE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {key: {} for key in ("id", *JSON_KEYS)},
                "required": ["title", "section"],
            },
            "example": {
                "id": "markets-0412",
                "title": "Markets Rally",
                "section": "Business",
                "summary": "Stocks rose.",
            },
        }
    },
}


def _article(raw: bytes) -> Article:
    if len(raw) > MAX_FILE_BYTES:
        raise IngestError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError("not UTF-8 text") from None
    data = load_json(text)
    if not isinstance(data, dict):
        raise IngestError("expected one article object")
    return article_from_mapping(data)


@router.post("", status_code=201, openapi_extra={"requestBody": _ARTICLE_BODY, **EDIT})
async def publish_article(request: Request, response: Response, app: PublisherApp) -> dict[str, Any]:
    """Create or update one article from its JSON fields (``id`` identifies it; without one, the
    slug): 201 created; 200 updated, unchanged, or ``retracted`` (stored, still retracted)."""
    try:
        article = _article(await request.body())
    except IngestError as exc:
        raise field_error(exc.field or "body", exc.reason) from None
    [saved] = await run_in_threadpool(app.publish, [article])
    await run_in_threadpool(
        audit, request, "article.publish", saved.article.slug, {"outcome": saved.outcome.value}
    )
    if saved.outcome is not Outcome.CREATED:
        response.status_code = 200
    return {"status": saved.outcome.value, "article": saved.article.to_json()}


@router.delete("/{slug}", openapi_extra=EDIT)
def retract_article(slug: str, app: PublisherApp, request: Request) -> dict[str, Any]:
    article = app.retract(slug)
    if article is None:
        raise HTTPException(404, f"no article with slug {slug!r}")
    audit(request, "article.retract", article.slug)
    return {"status": "retracted", "article": article.to_json()}


@router.post("/{slug}/restore", openapi_extra=EDIT)
def restore_article(slug: str, app: PublisherApp, request: Request) -> dict[str, Any]:
    """Publish a retracted article again (re-ingesting it does not)."""
    article = app.restore(slug)
    if article is None:
        raise HTTPException(404, f"no article with slug {slug!r}")
    audit(request, "article.restore", article.slug)
    return {"status": "restored", "article": article.to_json()}
