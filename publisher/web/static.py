"""``/static/site.css``: the one stylesheet of the site's pages; ``/static/subscribe.js``: the one
script (the subscribe form's time zone), served the same way; ``/static/console/...``: the
console's own stylesheet (and scripts), from ``templates/web/console/``.

Pages link it as ``/static/site.css?v=<hash of its bytes>``, so a browser may keep it for a year:
a changed stylesheet has a new URL. Without the right ``v`` it is served for five minutes, with
an ETag either way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from publisher.web.pages import SCRIPT, STYLESHEET, asset

YEAR = 365 * 24 * 3600


CSS, JS = "text/css; charset=utf-8", "text/javascript; charset=utf-8"
# Each served file, by its name under templates/web/ (which is also its path under /static/).
TYPES = {STYLESHEET: CSS, SCRIPT: JS, "console/console.css": CSS, "console/today.js": JS}


def versioned(request: Request, body: bytes, version: str, media_type: str) -> Response:
    """A file whose URL carries ``?v=`` and its version: cached for a year with the right one (a new
    file has a new URL), five minutes without; an ETag and 304 either way."""
    etag = f'"{version}"'
    immutable = request.query_params.get("v") == version
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={YEAR}, immutable" if immutable else "public, max-age=300",
    }
    if etag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def site_file(request: Request) -> Response:
    name = request.url.path.removeprefix("/static/")
    body, version = asset(request.app.state.publisher.settings.templates_dir, name)
    return versioned(request, body, version, TYPES[name])


routes = [Route(f"/static/{name}", site_file, methods=["GET", "HEAD"]) for name in TYPES]
