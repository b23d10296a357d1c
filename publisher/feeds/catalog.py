"""Which feeds exist: the site feed and one per section, each as RSS, Atom and JSON Feed.

A ``FeedSpec`` fixes a feed's file path under ``PUBLISHER_FEEDS_DIR``, the URL it is served at (its
self link) and what it is about; everything else about a feed is derived from its articles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from publisher.settings import Settings
from publisher.text import one_line

FORMATS = ("rss", "atom", "json")
EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json"}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
FEEDS_PATH = "/feeds/"  # where `publisher serve` serves PUBLISHER_FEEDS_DIR


@dataclass(frozen=True, slots=True)
class FeedSpec:
    format: str  # rss | atom | json
    section: str | None  # section slug; None for the site feed
    section_name: str | None
    path: str  # relative to PUBLISHER_FEEDS_DIR, "/"-separated
    url: str  # absolute URL the feed is served at: its self link
    title: str
    description: str
    home_url: str  # the HTML page the feed is the alternate of


def site_url(settings: Settings) -> str:
    return settings.site_url.rstrip("/")


def permalink(settings: Settings, slug: str) -> str:
    return f"{site_url(settings)}/articles/{slug}"


def section_page(settings: Settings, slug: str) -> str:
    return f"{site_url(settings)}/sections/{slug}"


def feed_path(fmt: str, section: str | None) -> str:
    name = "index" if section is None else f"sections/{section}"
    return f"{name}.{EXTENSIONS[fmt]}"


def feed_specs(settings: Settings, section: str | None, section_name: str | None = None) -> list[FeedSpec]:
    """The three formats of the site feed (``section=None``) or of one section's feed."""
    base = site_url(settings)
    site, name = one_line(settings.site_title), one_line(section_name or section or "")
    title = site if section is None else f"{site}: {name}"
    description = (
        f"The latest articles from {site}" if section is None else f"The latest {name} articles from {site}"
    )
    home = f"{base}/" if section is None else section_page(settings, section)
    specs = []
    for fmt in FORMATS:
        path = feed_path(fmt, section)
        specs.append(
            FeedSpec(fmt, section, section_name, path, f"{base}{FEEDS_PATH}{path}", title, description, home)
        )
    return specs


def catalog(settings: Settings, sections: Iterable[tuple[str, str]]) -> list[FeedSpec]:
    """Every feed: the site's, then each section's (``sections`` as (name, slug) pairs)."""
    specs = feed_specs(settings, None)
    for name, slug in sections:
        specs += feed_specs(settings, slug, name)
    return specs


def edition_feed_specs(settings: Settings, name: str, title: str) -> list[FeedSpec]:
    """The editions feeds of one edition name (``editions/morning.atom`` and ``.rss``): every
    edition of it that went out, one entry each; their page is the editions list."""
    base, site, name_line = site_url(settings), one_line(settings.site_title), one_line(title)
    specs = []
    for fmt in ("atom", "rss"):
        path = f"editions/{name}.{EXTENSIONS[fmt]}"
        about = f"Every {name_line} of {site} as it went out"
        specs.append(FeedSpec(fmt, None, None, path, f"{base}{FEEDS_PATH}{path}", f"{site}: {name_line}",
                              about, f"{base}/editions/"))  # fmt: skip
    return specs
