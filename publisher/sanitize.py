"""Article HTML is untrusted: keep a small allow-list of tags (nh3, the ammonia sanitiser)."""

from __future__ import annotations

from collections.abc import Callable

import nh3

from publisher.text import clean_text

ALLOWED_TAGS = {
    "p", "h2", "h3", "ul", "ol", "li", "blockquote", "em", "strong", "b", "i", "a", "br",
    "figure", "figcaption", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(
    html: str,
    *,
    tags: set[str] = ALLOWED_TAGS,
    attribute_filter: Callable[[str, str, str], str | None] | None = None,
) -> str:
    """Return ``html`` reduced to the allow-list; scripts, styles and event handlers are dropped.

    ``tags`` narrows the allow-list and ``attribute_filter`` rewrites attribute values (the feeds
    drop HTML5-only tags and make links absolute)."""
    if not html.strip():
        return ""
    cleaned = nh3.clean(
        clean_text(html),
        tags=tags,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()
