"""``/static/site.css``: the one stylesheet of the site's pages.

Pages link it as ``/static/site.css?v=<hash of its bytes>``, so a browser may keep it for a year:
a changed stylesheet has a new URL. Without the right ``v`` it is served for five minutes, with
an ETag either way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from publisher.web.pages import stylesheet

YEAR = 365 * 24 * 3600


async def site_css(request: Request) -> Response:
    body, version = stylesheet(request.app.state.publisher.settings.templates_dir)
    etag = f'"{version}"'
    immutable = request.query_params.get("v") == version
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={YEAR}, immutable" if immutable else "public, max-age=300",
    }
    if etag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/css; charset=utf-8", headers=headers)


routes = [Route("/static/site.css", site_css, methods=["GET", "HEAD"])]
