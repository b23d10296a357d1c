"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no CDN.

The scripts and the stylesheet come from the installed ``fastapi-offline`` package (its ``static``
folder), read from there and served under ``/static/docs/<file>?v=<hash of its bytes>``: a browser
may keep them for a year, as a changed file has a new URL. The pages are FastAPI's own, pointed at
those URLs.

Their Content-Security-Policy (``guard.docs_csp``) is looser than the rest of the site's, and only
theirs: the inline script FastAPI writes into ``/docs`` is allowed by its SHA-256, computed here
from the page as generated, so a different FastAPI cannot run a script nobody hashed. Both pages
are public, like ``/openapi.json``: they describe the API, and every call still needs the token.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib.resources import files

from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from publisher.web.guard import docs_csp
from publisher.web.static import versioned

PREFIX = "/static/docs/"
# The files served, by name, with their type; nothing else in the folder is reachable.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


@functools.cache
def asset(name: str) -> tuple[bytes, str]:
    """The file's bytes and the version its URL carries (the start of their SHA-256)."""
    body = (files("fastapi_offline") / "static" / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def asset_url(name: str) -> str:
    return f"{PREFIX}{name}?v={asset(name)[1]}"


class _InlineScripts(HTMLParser):
    """Collects the text of every ``script`` element without ``src``, exactly as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(key == "src" for key, _ in attrs):
            self._open = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.scripts.append("".join(self._open))
            self._open = None


def script_hashes(page: str) -> list[str]:
    """CSP source expressions (``'sha256-...'``) for the page's inline scripts."""
    parser = _InlineScripts()
    parser.feed(page)
    parser.close()
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in parser.scripts
    ]


@dataclass(frozen=True)
class Page:
    body: bytes
    csp: str


def _page(response: HTMLResponse) -> Page:
    body = bytes(response.body)
    return Page(body, docs_csp(script_hashes(body.decode())))


@functools.cache
def pages(title: str, openapi_url: str) -> dict[str, Page]:
    """Both pages, built once per title and spec URL (and so their hashes, at start-up)."""
    favicon = asset_url("favicon.png")
    return {
        "/docs": _page(get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} — API",
            swagger_js_url=asset_url("swagger-ui-bundle.js"), swagger_css_url=asset_url("swagger-ui.css"),
            swagger_favicon_url=favicon,
            # Swagger UI's validator badge would call an outside service; no layout shows it, but off.
            swagger_ui_parameters={"validatorUrl": None},
        )),
        "/redoc": _page(get_redoc_html(
            openapi_url=openapi_url, title=f"{title} — API", redoc_js_url=asset_url("redoc.standalone.js"),
            redoc_favicon_url=favicon, with_google_fonts=False,
        )),
    }  # fmt: skip


async def docs_page(request: Request) -> Response:
    page = pages(request.app.title, request.app.openapi_url)[request.url.path]
    return Response(page.body, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": page.csp, "Cache-Control": "no-cache"})  # fmt: skip


async def docs_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise HTTPException(404)
    body, version = asset(name)
    return versioned(request, body, version, ASSETS[name])


def routes(title: str, openapi_url: str) -> list[Route]:
    """The routes; builds both pages now, so that a missing package fails at start-up."""
    pages(title, openapi_url)
    return [
        Route("/docs", docs_page, methods=["GET", "HEAD"]),
        Route("/redoc", docs_page, methods=["GET", "HEAD"]),
        Route(PREFIX + "{name}", docs_asset, methods=["GET", "HEAD"]),
    ]
