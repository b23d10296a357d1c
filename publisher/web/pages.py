"""The small HTML pages a reader sees on the site (unsubscribe, preferences): one plain layout."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse

INVALID_LINK = "<p>This link is not valid. Use the link from the newest email you received.</p>"


def reader_page(site_title: str, heading: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    """``body`` is HTML the caller built (escaping what it holds); nothing here is cached."""
    title = html.escape(f"{heading} · {site_title}")
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{title}</title></head>'
        f"<body><main><h1>{html.escape(heading)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status_code, headers={"Cache-Control": "no-store"})


def invalid_link(site_title: str) -> HTMLResponse:
    return reader_page(site_title, "Invalid link", INVALID_LINK, status_code=400)
