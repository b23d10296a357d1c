"""``/docs`` and ``/redoc`` served from this site: no CDN, their own CSP with the inline script
allowed by its hash, and Swagger UI and ReDoc really running under it in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.web import create_app
from publisher.web.docs import script_hashes
from publisher.web.guard import PAGE_CSP
from tests.chromium import CHROMIUM, FLAGS
from tests.conftest import REQUIRE_SERVICES
from tests.live_server import serving

TOKEN = "ops-token-123"
JS = "text/javascript"


@pytest.fixture
def ops_app(make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=TOKEN))
    yield app
    app.close()


@pytest.fixture
def client(ops_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(ops_app)) as test_client:
        yield test_client


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)


def _policy(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_load_everything_from_this_site(client: TestClient, path: str) -> None:
    response = client.get(path)  # no token: public, like /openapi.json
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _asset_urls(response.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "http://" not in response.text and "https://" not in response.text
    assert "fonts.googleapis" not in response.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert "immutable" in asset.headers["cache-control"], url


def test_the_inline_script_is_allowed_by_its_hash_and_nothing_else_is_loosened(client: TestClient) -> None:
    page = client.get("/docs")
    policy = _policy(page.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert len(inline) == 1 and "SwaggerUIBundle(" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]
    redoc = _policy(client.get("/redoc").headers["content-security-policy"])
    assert redoc["script-src"] == ["'self'"]  # ReDoc's page has no inline script
    assert redoc["worker-src"] == ["blob:"]
    # Every other page keeps the strict policy.
    for path in ("/", "/nowhere", "/static/docs/nothing.js"):
        assert client.get(path).headers["content-security-policy"] == PAGE_CSP, path


def test_script_hashes_cover_inline_scripts_only() -> None:
    page = "<p>x</p><script src='/a.js'></script><script>alert(1 < 2)</script><SCRIPT>\n f()\n</SCRIPT>"
    expected = ["'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
                for s in ("alert(1 < 2)", "\n f()\n")]  # fmt: skip
    assert script_hashes(page) == expected


def test_the_assets_are_javascript_css_and_cached_by_version(client: TestClient) -> None:
    urls = {u.split("?")[0].rsplit("/", 1)[1]: u for u in _asset_urls(client.get("/docs").text)}
    urls.update({u.split("?")[0].rsplit("/", 1)[1]: u for u in _asset_urls(client.get("/redoc").text)})
    assert set(urls) == {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}
    for name in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        response = client.get(urls[name])
        assert response.status_code == 200 and response.headers["content-type"].startswith(JS)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 100_000
        again = client.get(urls[name], headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        stale = client.get(urls[name].split("?")[0] + "?v=old")
        assert stale.status_code == 200 and stale.headers["cache-control"] == "public, max-age=300"
    assert client.get(urls["swagger-ui.css"]).headers["content-type"].startswith("text/css")
    assert client.head(urls["swagger-ui-bundle.js"]).status_code == 200
    for path in ("/static/docs/__init__.py", "/static/docs/..%2f__init__.py", "/static/docs/../docs.py",
                 "/static/docs/", "/static/docs/a/swagger-ui.css"):  # fmt: skip
        assert client.get(path).status_code == 404, path


# In a real browser --------------------------------------------------------------------------------


@pytest.fixture
def base_url(ops_app: App) -> Iterator[str]:
    with serving(create_app(ops_app)) as (host, port):
        yield f"http://{host}:{port}"


def _render(url: str) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and the Content-Security-Policy violations logged."""
    assert CHROMIUM, "chromium is not installed"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,1600", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    violations = [line for line in result.stderr.splitlines() if "Content Security Policy" in line]
    return result.stdout, violations


browser = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRE_SERVICES,
        reason="needs headless Chromium: apt-get install -y chromium",
    ),
]


@pytest.mark.parametrize("path", [pytest.param(p, marks=browser) for p in ("/docs", "/redoc")])
def test_swagger_ui_and_redoc_run_under_the_csp(base_url: str, client: TestClient, path: str) -> None:
    served = client.get(path).text
    assert "/api/editions" not in served  # so whatever lists the operations was drawn by the script
    dom, violations = _render(base_url + path)
    assert "/api/editions/{edition_id}/preview" in dom, dom[-2000:]
    if path == "/docs":
        assert "opblock-summary-path" in dom  # Swagger UI's row for one operation
        assert violations == []
    else:
        # ReDoc's footer shows an image from Redocly's site: blocked, as anything off-site is.
        assert all("Loading the image 'https://" in v for v in violations), violations
