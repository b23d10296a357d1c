"""The console's Articles pages: the stories by section (newest first, retracted ones too), a story's
preview as the site shows it, and retract and restore (``App.retract`` / ``App.restore``: the
article store's verbs, then the feeds of its section are rebuilt). Each change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.errors import NotFoundError
from publisher.web.console.auth import require, source_of
from publisher.web.console.pages import render
from publisher.web.console.words import moment
from publisher.web.context import publisher_app

router = APIRouter()
PAGE = 50
MAX_PAGE = 2000
Slug = Annotated[str, Path(min_length=1, max_length=100)]
DONE = {"retract": "Story retracted: gone from the site, the feeds and editions not yet sent.",
        "restore": "Story restored: back on the site and in the feeds."}  # fmt: skip


@router.get("/articles", response_class=HTMLResponse)
async def articles_page(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    section: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    app = publisher_app(request)

    def read() -> tuple[list[tuple[str, str]], list[Any]]:
        found = app.articles.list(section=section or None, include_retracted=True, limit=PAGE + 1,
                                  offset=(page - 1) * PAGE)  # fmt: skip
        return app.articles.sections(), found

    sections, found = await run_in_threadpool(read)
    more = len(found) > PAGE
    base = {"section": section} if section else {}
    return render(
        request, "articles.html", principal, heading="Articles", sections=sections, section=section,
        articles=found[:PAGE], moment=moment,
        next_url=f"/console/articles?{urlencode({**base, 'page': page + 1})}" if more else None,
        previous_url=f"/console/articles?{urlencode({**base, 'page': page - 1})}" if page > 1 else None,
    )  # fmt: skip


@router.get("/articles/{slug}", response_class=HTMLResponse)
async def article_page(
    request: Request,
    slug: Slug,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    article = await run_in_threadpool(_found, publisher_app(request), slug)
    return render(request, "article.html", principal, heading=article.title, article=article,
                  notice=DONE.get(done), moment=moment)  # fmt: skip


@router.post("/articles/{slug}/retract")
async def retract(
    request: Request, slug: Slug, principal: Annotated[Principal, Depends(require(Permission.EDIT))]
) -> Response:
    return await _change(request, principal, slug, "retract")


@router.post("/articles/{slug}/restore")
async def restore(
    request: Request, slug: Slug, principal: Annotated[Principal, Depends(require(Permission.EDIT))]
) -> Response:
    return await _change(request, principal, slug, "restore")


async def _change(request: Request, principal: Principal, slug: str, verb: str) -> Response:
    app = publisher_app(request)
    article = await run_in_threadpool(app.retract if verb == "retract" else app.restore, slug)
    if article is None:
        raise NotFoundError(f"no article with slug {slug!r}", field="slug")
    await run_in_threadpool(app.audit.record, principal.email, f"article.{verb}", slug,
                            source=source_of(request), detail={"section": article.section})  # fmt: skip
    return RedirectResponse(f"/console/articles/{slug}?done={verb}", status_code=303)


def _found(app: Any, slug: str) -> Any:
    article = app.articles.get(slug)
    if article is None:
        raise NotFoundError(f"no article with slug {slug!r}", field="slug")
    return article
