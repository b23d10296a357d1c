"""``/articles/{slug}``, ``/sections/{slug}`` and ``/``: plain HTML pages, so that every link in the
feeds resolves, each with ``<link rel="alternate">`` autodiscovery of the site's and section's feeds.
A section's page lists all its articles, newest first, ``PAGE_SIZE`` to a page (``?page=2``).

Article text is untrusted: the templates escape every field; the body is the HTML sanitised at
ingest (links made absolute as in the feeds).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from publisher.article import Article, iso_utc
from publisher.feeds.catalog import MEDIA_TYPES, FeedSpec, feed_specs, permalink, site_url
from publisher.feeds.catalog import section_page as section_page_url
from publisher.feeds.content import absolute_body
from publisher.settings import Settings
from publisher.text import one_line
from publisher.web.pages import Pager, not_found, pager, render

router = APIRouter()
FORMAT_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
PAGE_SIZE = 30  # articles on a page of a section


def _common(settings: Settings, feeds: list[FeedSpec]) -> dict[str, Any]:
    return {
        "feeds": feeds,
        "media_types": MEDIA_TYPES,
        "format_names": FORMAT_NAMES,
        "iso_utc": iso_utc,
        "article_url": lambda article: permalink(settings, article.slug),
    }


def _listing(settings: Settings, title: str, heading: str, feeds: list[FeedSpec],
             articles: list[Article], pages: Pager | None = None) -> HTMLResponse:  # fmt: skip
    return render(settings, "listing.html", headers={"Cache-Control": "public, max-age=60"}, title=title,
                  heading=heading, articles=articles, pager=pages, **_common(settings, feeds))  # fmt: skip


def json_ld(settings: Settings, article: Article) -> Markup:
    """The ``NewsArticle`` of schema.org as JSON for the page's ``application/ld+json`` script
    data block: the less-than, greater-than and ampersand signs written as JSON escapes, so no
    headline can close the element or open a comment. A data block is never run, so the CSP's
    ``script-src 'none'`` leaves it alone."""
    url = permalink(settings, article.slug)
    names = [name for name in (one_line(a) for a in article.authors) if name]
    site = one_line(settings.site_title)
    publisher = {"@type": "Organization", "name": site, "url": f"{site_url(settings)}/"}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": one_line(article.title),
        "datePublished": iso_utc(article.published_at),
        "dateModified": iso_utc(article.updated_at or article.published_at),
        "author": [{"@type": "Person", "name": name} for name in names] or [publisher],
        "publisher": publisher,
        "articleSection": one_line(article.section),
    }  # fmt: skip
    if article.summary:
        data["description"] = one_line(article.summary)
    if article.image is not None:
        image = article.image
        if image.width is not None and image.height is not None:  # its size where known
            data["image"] = [{"@type": "ImageObject", "url": one_line(image.url), "width": image.width,
                              "height": image.height}]  # fmt: skip
        else:
            data["image"] = [one_line(image.url)]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # JSON with every markup character escaped, above


@router.get("/articles/{slug}", response_class=HTMLResponse, include_in_schema=False)
def article_page(request: Request, slug: str) -> HTMLResponse:
    app = request.app.state.publisher
    settings = app.settings
    article = app.articles.get(slug)
    if article is None or article.retracted_at is not None:
        return not_found(settings, "There is no article at this address.")
    feeds = feed_specs(settings, None) + feed_specs(settings, article.section_slug, article.section)
    return render(
        settings, "article.html", headers={"Cache-Control": "public, max-age=60"}, article=article,
        byline=", ".join(one_line(a) for a in article.authors),
        body_html=absolute_body(article.body_html, permalink(settings, article.slug)),
        canonical=permalink(settings, article.slug), json_ld=json_ld(settings, article),
        section_url=section_page_url(settings, article.section_slug),
        **_common(settings, feeds),
    )  # fmt: skip


@router.get("/sections/{slug}", response_class=HTMLResponse, include_in_schema=False)
def section_page(request: Request, slug: str) -> HTMLResponse:
    app = request.app.state.publisher
    settings = app.settings
    names = dict((s, n) for n, s in app.articles.sections())
    if slug not in names:
        return not_found(settings, "There is no section at this address.")
    pages = pager(request, app.articles.count_live(slug), PAGE_SIZE)
    if pages is None:
        return not_found(settings, "This section has no such page.")
    articles = app.articles.list(section=slug, limit=PAGE_SIZE, offset=(pages.page - 1) * PAGE_SIZE)
    feeds = feed_specs(settings, slug, names[slug])
    name = one_line(names[slug])
    where = name if pages.page == 1 else f"{name}, page {pages.page}"
    title = f"{where} · {settings.site_title}"
    return _listing(settings, title, name, feeds, articles, pages)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home_page(request: Request) -> HTMLResponse:
    app = request.app.state.publisher
    settings = app.settings
    articles = app.articles.list(limit=settings.feed_items)
    return _listing(settings, settings.site_title, settings.site_title, feed_specs(settings, None), articles)
