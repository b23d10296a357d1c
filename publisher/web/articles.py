"""``/articles/{slug}``, ``/sections/{slug}`` and ``/``: plain HTML pages, so that every link in the
feeds resolves, each with ``<link rel="alternate">`` autodiscovery of the site's and section's feeds.

Article text is untrusted: every field is escaped; the body is the HTML sanitised at ingest.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.article import Article, iso_utc
from publisher.feeds.catalog import MEDIA_TYPES, FeedSpec, feed_specs, permalink
from publisher.feeds.content import item_html
from publisher.settings import Settings
from publisher.text import one_line

router = APIRouter()
FORMAT_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def _page(settings: Settings, title: str, feeds: list[FeedSpec], body: str) -> str:
    links = "\n".join(
        f'<link rel="alternate" type="{MEDIA_TYPES[f.format]}" '
        f'title="{escape(f.title)} ({FORMAT_NAMES[f.format]})" href="{escape(f.url)}">'
        for f in feeds
    )
    return (
        f'<!doctype html>\n<html lang="{escape(settings.language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{links}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _feed_list(feeds: list[FeedSpec]) -> str:
    items = "".join(f'<li><a href="{escape(f.url)}">{FORMAT_NAMES[f.format]}</a></li>' for f in feeds)
    return f"<nav><ul>{items}</ul></nav>"


def _article_list(settings: Settings, articles: list[Article]) -> str:
    rows = "".join(
        f'<li><a href="{escape(permalink(settings, a.slug))}">{escape(one_line(a.title))}</a> '
        f'<time datetime="{iso_utc(a.published_at)}">{iso_utc(a.published_at)}</time></li>'
        for a in articles
    )
    return f"<ul>{rows}</ul>"


@router.get("/articles/{slug}", response_class=HTMLResponse, include_in_schema=False)
def article_page(request: Request, slug: str) -> HTMLResponse:
    app = request.app.state.publisher
    article = app.articles.get(slug)
    if article is None or article.retracted_at is not None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such article.</p>", status_code=404)
    settings = app.settings
    feeds = feed_specs(settings, None) + feed_specs(settings, article.section_slug, article.section)
    byline = ", ".join(one_line(a) for a in article.authors)
    body = (
        f"<article>\n<p>{escape(one_line(article.section))}</p>\n<h1>{escape(one_line(article.title))}</h1>\n"
        f'<p>{escape(byline)} <time datetime="{iso_utc(article.published_at)}">'
        f"{iso_utc(article.published_at)}</time></p>\n"
        f"<p>{escape(one_line(article.summary))}</p>\n"
        f"{item_html(article, permalink(settings, article.slug))}\n</article>"
    )
    return HTMLResponse(_page(settings, f"{one_line(article.title)} · {settings.site_title}", feeds, body))


@router.get("/sections/{slug}", response_class=HTMLResponse, include_in_schema=False)
def section_page(request: Request, slug: str) -> HTMLResponse:
    app = request.app.state.publisher
    names = dict((s, n) for n, s in app.articles.sections())
    if slug not in names:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such section.</p>", status_code=404)
    settings = app.settings
    feeds = feed_specs(settings, slug, names[slug])
    articles = app.articles.list(section=slug, limit=settings.feed_items)
    body = f"<h1>{escape(names[slug])}</h1>\n{_feed_list(feeds)}\n{_article_list(settings, articles)}"
    return HTMLResponse(_page(settings, f"{names[slug]} · {settings.site_title}", feeds, body))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home_page(request: Request) -> HTMLResponse:
    app = request.app.state.publisher
    settings = app.settings
    feeds = feed_specs(settings, None)
    articles = app.articles.list(limit=settings.feed_items)
    body = f"<h1>{escape(settings.site_title)}</h1>\n{_feed_list(feeds)}\n{_article_list(settings, articles)}"
    return HTMLResponse(_page(settings, settings.site_title, feeds, body))
