"""Article HTML is untrusted: keep a small allow-list of tags (nh3, the ammonia sanitiser)."""

from __future__ import annotations

import nh3

from publisher.text import clean_text

ALLOWED_TAGS = {
    "p", "h2", "h3", "ul", "ol", "li", "blockquote", "em", "strong", "b", "i", "a", "br",
    "figure", "figcaption", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    """Return ``html`` reduced to the allow-list; scripts, styles and event handlers are dropped."""
    if not html.strip():
        return ""
    cleaned = nh3.clean(
        clean_text(html),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()
