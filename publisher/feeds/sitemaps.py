"""Sitemaps for search engines, written with the feeds: pure functions, rows in, bytes out.

- ``sitemaps/news.xml`` (``/sitemaps/news.xml``): a Google News sitemap of the articles published
  in the last ``NEWS_HOURS`` hours, at most ``NEWS_MAX``, newest first.
- ``sitemaps/articles-YYYY-MM.xml``: every live article published that (UTC) month, ``lastmod``
  its last update; a month past ``MAX_URLS`` articles continues in ``articles-YYYY-MM-2.xml``.
- ``sitemaps/pages.xml``: the home page, each section page and the editions list.
- ``sitemaps/index.xml`` (``/sitemap.xml``): the index of all of those.
- ``robots.txt`` (``/robots.txt``): names the index and the news sitemap.

Dates come from the articles, never from the clock, so an unchanged site gives the same bytes;
only the news sitemap's 48-hour window moves with time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from publisher.feeds.archive import Row, by_month, xml_text
from publisher.feeds.model import rfc3339
from publisher.text import one_line

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS_HOURS = 48
NEWS_MAX = 1000
MAX_URLS = 50_000  # the protocol's limit per sitemap file
FOLDER = "sitemaps"
INDEX_PATH = f"{FOLDER}/index.xml"
NEWS_PATH = f"{FOLDER}/news.xml"
PAGES_PATH = f"{FOLDER}/pages.xml"
ROBOTS_PATH = "robots.txt"
HEAD = "<?xml version='1.0' encoding='UTF-8'?>\n"


def news_language(language: str) -> str:
    """The ISO 639 code Google News takes: ``en`` for ``en-US``; Chinese keeps ``zh-cn``/``zh-tw``."""
    code = language.strip().lower().replace("_", "-")
    return code if code.startswith("zh-") else code.split("-")[0] or "en"


def news_sitemap(publication: str, language: str, entries: Iterable[tuple[str, datetime, str]]) -> bytes:
    """``entries``: (url, published, title), newest first."""
    name, lang = xml_text(one_line(publication)), xml_text(news_language(language))
    urls = [
        f"  <url>\n    <loc>{xml_text(url)}</loc>\n    <news:news>\n      <news:publication>\n"
        f"        <news:name>{name}</news:name>\n        <news:language>{lang}</news:language>\n"
        f"      </news:publication>\n      <news:publication_date>{rfc3339(published.replace(microsecond=0))}"
        f"</news:publication_date>\n      <news:title>{xml_text(one_line(title))}</news:title>\n"
        "    </news:news>\n  </url>\n"
        for url, published, title in entries
    ]
    return (
        f'{HEAD}<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">\n' + "".join(urls) + "</urlset>\n"
    ).encode()


def url_element(url: str, modified: datetime | None) -> str:
    """One ``<url>`` of a urlset (kept per article by the build, which puts a month together again
    from them when one of its articles changed)."""
    lastmod = f"    <lastmod>{rfc3339(modified)}</lastmod>\n" if modified is not None else ""
    return f"  <url>\n    <loc>{xml_text(url)}</loc>\n{lastmod}  </url>\n"


def urlset_of(elements: Iterable[str]) -> bytes:
    return (f'{HEAD}<urlset xmlns="{SITEMAP_NS}">\n' + "".join(elements) + "</urlset>\n").encode()


def urlset(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    return urlset_of(url_element(url, modified) for url, modified in entries)


def sitemap_index(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    maps = [
        f"  <sitemap>\n    <loc>{xml_text(url)}</loc>\n"
        + (f"    <lastmod>{rfc3339(modified)}</lastmod>\n" if modified is not None else "")
        + "  </sitemap>\n"
        for url, modified in entries
    ]
    return (f'{HEAD}<sitemapindex xmlns="{SITEMAP_NS}">\n' + "".join(maps) + "</sitemapindex>\n").encode()


def robots_txt(site_url: str) -> bytes:
    base = site_url.rstrip("/")
    return (
        "# publisher: everything may be crawled; the sitemaps list every article.\n"
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /unsubscribe/\nDisallow: /preferences/\n\n"
        f"Sitemap: {base}/sitemap.xml\nSitemap: {base}/sitemaps/news.xml\n"
    ).encode()


def monthly(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """The article sitemaps' file names (``articles-2026-11``) and their rows, oldest first."""
    months = by_month(rows)
    files: dict[str, list[Row]] = {}
    for month in sorted(months):
        chunk = months[month]
        for number, start in enumerate(range(0, len(chunk), MAX_URLS), 1):
            files[f"articles-{month}" + ("" if number == 1 else f"-{number}")] = chunk[
                start : start + MAX_URLS
            ]
    return files
