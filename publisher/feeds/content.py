"""The HTML of one feed item: the image, the Quick Looks bullets, then the Deep Look.

Article text is untrusted. Plain fields are escaped here; the body, already sanitised at ingest, is
sanitised again (a row written by an older version or by hand must not break a feed) and its links
made absolute, since feed readers show items away from the site and validators flag relative URLs.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urljoin, urlsplit

from publisher.article import Article
from publisher.sanitize import ALLOWED_TAGS, URL_SCHEMES, sanitize_html
from publisher.text import one_line

# The W3C validator knows HTML 4 tags only: HTML5's figure/figcaption would be "non-html tags".
# nh3 drops the tags and keeps their text.
FEED_TAGS = ALLOWED_TAGS - {"figure", "figcaption"}


def item_html(article: Article, link: str) -> str:
    """Full content of an item; ``link`` is the article's permalink (the base of relative links)."""
    parts = []
    if article.image is not None:
        src, alt = escape(one_line(article.image.url)), escape(one_line(article.image.alt))
        parts.append(f'<p><img src="{src}" alt="{alt}"></p>')
    if article.quick_looks:
        heading = one_line(f"{article.quick_looks_title} Quick Looks")
        bullets = "".join(f"<li>{escape(one_line(b))}</li>" for b in article.quick_looks)
        parts.append(f"<h2>{escape(heading)}</h2><ul>{bullets}</ul>")
    body = absolute_body(article.body_html, link)
    if body:
        parts.append(f"<h2>Deep Look</h2>{body}")
    elif article.summary:
        parts.append(f"<p>{escape(one_line(article.summary))}</p>")
    return "".join(parts)


def absolute_body(body_html: str, base: str) -> str:
    def absolute(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            url = urljoin(base, value)
            return url if urlsplit(url).scheme in URL_SCHEMES else None
        return value

    return sanitize_html(body_html, tags=FEED_TAGS, attribute_filter=absolute)
