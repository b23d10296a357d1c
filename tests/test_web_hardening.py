"""The public web side under hostile input: body limits while streaming, the API token checked
before any body is read, security headers, /healthz that leaks nothing, and no 500 from any route
for any path, query, header or body."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.app import App
from publisher.subscribers.model import validate
from publisher.unsubscribe import make_token
from publisher.web import create_app
from tests.live_server import serving

TOKEN = "ops-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MB = 1024 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SENDGRID_KEY = base64.b64encode(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()  # fmt: skip


@pytest.fixture
def ops_app(make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    # The webhooks on too, so the fuzz reaches their checks rather than their 404.
    app = App(make_settings(api_token=TOKEN, mailgun_signing_key="mailgun-key-123",
                            sendgrid_public_key=SENDGRID_KEY, postmark_webhook_auth="pm:pass-123",
                            ses_topic_arns="arn:aws:sns:us-east-1:123456789012:ses"))  # fmt: skip
    yield app
    app.close()


@pytest.fixture
def client(ops_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(ops_app), raise_server_exceptions=False) as test_client:
        yield test_client


def _call(asgi: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]
          ) -> tuple[int, int, bytes]:  # fmt: skip
    """Run one request through the ASGI app; returns (status, bytes of body pulled, response body)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path_only, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path_only, "raw_path": path_only.encode(),
             "query_string": query.encode(),
             "root_path": "", "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 1),
             "server": ("testserver", 80)}  # fmt: skip
    asyncio.run(asgi(scope, receive, send))
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, body


def _megabytes(count: int) -> Iterator[bytes]:
    chunk = b"x" * MB
    for _ in range(count):
        yield chunk


# 1. The body limit ---------------------------------------------------------------------------------


def test_a_100_mb_chunked_body_is_cut_off_at_the_limit_without_buffering_it(ops_app: App) -> None:
    asgi = create_app(ops_app)
    tracemalloc.start()
    try:
        status, pulled, _ = _call(asgi, "POST", "/api/articles",
                                  [(b"authorization", AUTH["Authorization"].encode()),
                                   (b"content-type", b"application/json")], _megabytes(100))  # fmt: skip
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    assert pulled <= ops_app.settings.max_body_bytes + MB  # stopped reading one chunk past the limit
    assert peak < 8 * MB


def test_a_declared_content_length_over_the_limit_is_413_before_reading(ops_app: App) -> None:
    asgi = create_app(ops_app)
    headers = [(b"content-length", str(100 * MB).encode()), (b"content-type", b"application/json"),
               (b"authorization", AUTH["Authorization"].encode())]  # fmt: skip
    status, pulled, _ = _call(asgi, "POST", "/api/articles", headers, _megabytes(100))
    assert (status, pulled) == (413, 0)
    bad = _call(asgi, "POST", "/unsubscribe/1.x", [(b"content-length", b"12x")], _megabytes(1))
    assert bad[:2] == (400, 0)


def test_the_limit_is_a_setting(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=TOKEN, max_body_bytes=2048))
    with TestClient(create_app(app)) as small:
        big = small.post("/api/articles", content=b"{" + b" " * 2048 + b"}", headers=AUTH)
        assert big.status_code == 413
        ok = small.post("/api/articles", json={"title": "T", "section": "World"}, headers=AUTH)
        assert ok.status_code == 201
    app.close()


@pytest.fixture
def base_url(ops_app: App) -> Iterator[str]:
    with serving(create_app(ops_app)) as (host, port):
        yield f"{host}:{port}"


def test_uvicorn_answers_413_while_a_huge_chunked_body_is_still_coming(base_url: str) -> None:
    host, port = base_url.split(":")
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /api/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                     "Content-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())  # fmt: skip
        conn.setblocking(False)
        answer = b""
        while sent < 100 * MB and not answer:
            try:
                conn.sendall(framed)
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
            with contextlib.suppress(BlockingIOError):
                answer = conn.recv(100)
        conn.setblocking(True)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 10 * MB  # the server answered long before the 100 MB were sent


# 2. The API token before any body ------------------------------------------------------------------


def test_the_api_token_is_checked_before_the_body_is_read(ops_app: App, client: TestClient) -> None:
    # FastAPI parses a body before running dependencies: without the middleware this is a 422.
    assert client.post("/api/schedules", content=b"{not json").status_code == 401
    assert client.post("/api/schedules", content=b"{not json", headers={"Authorization": "Bearer x"}
                       ).status_code == 401  # fmt: skip
    status, pulled, body = _call(create_app(ops_app), "POST", "/api/articles",
                                 [(b"content-type", b"application/json")], _megabytes(5))  # fmt: skip
    assert (status, pulled) == (401, 0)
    assert b"bearer token" in body
    assert client.post("/api/schedules", content=b"{not json", headers=AUTH).status_code == 422
    for path in ("/api", "/api/", "/api/nothing-here"):
        assert client.get(path).status_code == 401, path


# 3. The preferences form ---------------------------------------------------------------------------


@pytest.fixture
def token(ops_app: App) -> str:
    ops_app.subscribers.upsert_many([validate("ana@example.org", "Ana", "Europe/London", "Sports")])
    subscriber = ops_app.subscribers.find("ana@example.org")
    assert subscriber is not None
    return make_token(ops_app.settings.secret_key, subscriber.id)


def test_preferences_form_is_read_up_to_16_kb(ops_app: App, client: TestClient, token: str) -> None:
    big = client.post(f"/preferences/{token}", content="name=" + "a" * 20_000, headers=FORM)
    assert big.status_code == 413
    # Streamed without a length: refused once past the limit, the rest never read.
    status, pulled, _ = _call(create_app(ops_app), "POST", f"/preferences/{token}",
                              [(b"content-type", FORM["Content-Type"].encode())],
                              iter([b"name=" + b"a" * 8192] * 1000))  # fmt: skip
    assert status == 413 and pulled <= 16_384 + 8197
    subscriber = ops_app.subscribers.find("ana@example.org")
    assert subscriber is not None and subscriber.name == "Ana"


@pytest.mark.parametrize(
    "body",
    [b"name=%FF%FE&timezone=UTC", b"name=\xff\xfe&timezone=UTC", b"name=a&name=b",
     b"timezone=UTC&timezone=Europe/Paris", b"&".join([b"section=x"] * 300)],
)  # fmt: skip
def test_bad_preferences_forms_are_422_never_500(
    ops_app: App, client: TestClient, token: str, body: bytes
) -> None:
    response = client.post(f"/preferences/{token}", content=body, headers=FORM)
    assert response.status_code == 422, response.text
    assert 'role="alert"' in response.text
    subscriber = ops_app.subscribers.find("ana@example.org")
    assert subscriber is not None and (subscriber.name, subscriber.timezone) == ("Ana", "Europe/London")


# 4. Security headers -------------------------------------------------------------------------------


def test_pages_carry_csp_no_framing_no_sniffing_no_referrer(
    ops_app: App, client: TestClient, token: str
) -> None:
    ops_app.articles.save_many([])
    for path in ("/", f"/preferences/{token}", f"/unsubscribe/{token}", "/articles/nothing", "/nowhere"):
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'none'" in csp and "unsafe-inline" not in csp, path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in response.text and " style=" not in response.text, path
    for path in ("/healthz", "/metrics", "/api/schedules", "/feeds/index.rss"):
        response = client.get(path, headers=AUTH)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path


# 5. /healthz ---------------------------------------------------------------------------------------


def test_healthz_says_only_unavailable_and_logs_the_reason(make_settings, caplog) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings(database_url="postgresql://secretuser@127.0.0.1:1/secretdb"))
    with TestClient(create_app(app)) as broken:
        response = broken.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert "secret" not in response.text and "127.0.0.1" not in response.text
    assert "127.0.0.1" in caplog.text  # the detail is in the server's log
    app.close()


# 6. Never a 500 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/feeds/%00index.rss", None, 404),
        ("GET", "/feeds/" + "a" * 5000 + ".rss", None, 404),
        ("GET", "/feeds/%2e%2e/%2e%2e/etc/passwd", None, 404),
        ("GET", "/sitemaps/%00news.xml", None, 404),
        ("GET", "/sitemaps/%2e%2e%2frobots.txt", None, 404),
        ("GET", "/sitemaps/index.xml", None, 404),
        ("GET", "/sitemaps/" + "a" * 5000 + ".xml", None, 404),
        ("GET", "/editions/morning/0001-01-01", None, 404),
        ("GET", "/editions/morning/9999-12-31", None, 404),
        ("GET", "/editions/morning/%ff%fe", None, 404),
        ("GET", "/articles/%ff%fe%00", None, 404),
        ("GET", "/sections/" + "%ff" * 2000, None, 404),
        ("GET", "/editions/?page=99999999999999999999999", None, 404),
        ("GET", "/editions/?page=%ff%00", None, 404),
        ("GET", "/editions/?page=1&page=-1", None, 404),
        ("GET", "/preferences/99999999999999999999999.x", None, 400),
        ("GET", "/api/editions/99999999999999999999999", None, 422),
        ("GET", "/api/editions/0", None, 422),
        ("POST", "/api/editions/99999999999999999999999/pause", None, 422),
        ("GET", "/api/editions?days=99999999999999999999999", None, 200),
        ("GET", "/api/editions?days=-99999999999999999999999", None, 200),
        ("POST", "/api/editions", {"name": "morning", "date": "0001-01-01"}, 422),
        ("POST", "/api/editions", {"name": "morning", "date": "9999-12-31"}, 422),
        ("POST", "/api/editions", {"name": "nope", "date": "2026-01-01"}, 422),
        ("POST", "/api/editions/1/reschedule", {"to": "0001-01-01T00:00:00Z"}, 422),
        ("POST", "/api/editions/1/reschedule", {"delay_minutes": 10**18}, 422),
        ("POST", "/api/editions/1/pause", None, 404),
        ("POST", "/api/schedules", {"name": "morning", "at": "07:00", "window_hours": 10**30}, 422),
    ],
)
def test_extreme_ids_dates_and_paths_are_answered_not_crashed_on(
    client: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=body, headers=AUTH)
    assert response.status_code == status, response.text[:300]


def test_the_api_names_the_field_of_an_out_of_range_value(client: TestClient) -> None:
    sent = client.post("/api/editions", json={"name": "morning", "date": "0001-01-01"}, headers=AUTH)
    assert [e["loc"][-1] for e in sent.json()["detail"]] == ["date"]
    unknown = client.post("/api/editions", json={"name": "nope", "date": "2026-01-01"}, headers=AUTH)
    assert [e["loc"][-1] for e in unknown.json()["detail"]] == ["name"]
    moved = client.post("/api/editions/1/reschedule", json={"to": "9999-12-31T00:00:00Z"}, headers=AUTH)
    assert [e["loc"][-1] for e in moved.json()["detail"]] == ["to"]


def test_errors_are_answered_by_type(ops_app: App, client: TestClient) -> None:
    from publisher.errors import ConfigError, ConflictError, InvalidInputError, NotFoundError
    from publisher.web.errors import status_of

    assert [status_of(e) for e in (NotFoundError("x"), ConflictError("x"), InvalidInputError("x"),
                                   ConfigError("x"))] == [404, 409, 422, 500]  # fmt: skip
    assert (
        client.post("/api/schedules", json={"name": "morning", "at": "07:00"}, headers=AUTH).status_code
        == 201
    )
    again = client.post("/api/schedules", json={"name": "morning", "at": "08:00"}, headers=AUTH)
    assert again.status_code == 409


def test_no_html_is_built_from_strings_in_publisher_web() -> None:
    web = Path(__file__).resolve().parents[1] / "publisher" / "web"
    markup = re.compile(r"""(f|rf|fr)?["'][^"'\n]*<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*[\s>/]""")
    found = [f"{p.name}:{n}" for p in web.rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if markup.search(line)]  # fmt: skip
    assert found == []


# Every route, random input --------------------------------------------------------------------------

# Values that have broken a route before, by path parameter; any text besides.
HINTS = {
    "name": ["morning", "nonexistent", "feeds"],
    "day": ["0001-01-01", "9999-12-31", "2026-11-25", "2026-02-30", "%ff%fe"],
    "edition_id": ["99999999999999999999999", "2147483648", "0", "-1", "1", "1e9"],
    "path": ["%00index.rss", "index.rss", "sections/world.rss", "../../etc/passwd", "a" * 300 + ".rss"],
    "token": ["1.abc", "99999999999999999999999.x", "%ff.%fe", "-1.a", ""],
    "slug": ["%00", "..", "a" * 300],
    "email": ["ana@example.org", "%00@x", "a" * 300, "nobody@example.org", "@"],
}
_anything = st.one_of(st.text(max_size=30), st.sampled_from(["..", "%00", "%ff%fe", "a" * 300, "-1"]))


def _segment(param: str) -> st.SearchStrategy[str]:
    hints = HINTS.get(param)
    if not hints:
        return _anything
    return st.one_of(st.sampled_from(hints), st.sampled_from(hints), st.sampled_from(hints), _anything)


_headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Accept", "Accept-Encoding", "If-None-Match", "If-Modified-Since",
                     "Content-Encoding", "Cookie", "X-Forwarded-For", "Range",
                     "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=4,
)  # fmt: skip
_json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["0001-01-01", "9999-12-31T23:59:59Z", "25:99", "Mars/Olympus", "subscriber"])
)  # fmt: skip


def _json_nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)


_json_value = st.recursive(_json_leaf, _json_nest, max_leaves=8)
_field_names = st.sampled_from(["name", "at", "days", "timezone", "sections", "window_hours", "edition",
                                "every_minutes", "paused", "date", "to", "delay_minutes", "addresses",
                                "title", "section", "published_at", "slug", "email", "confirmed",
                                "reason", "hour", "status", "q", "cursor"])  # fmt: skip
_body = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.dictionaries(_field_names, _json_value, max_size=5),
    _json_value,
)


def _fill(template: str, data: Any) -> str:
    from urllib.parse import quote

    return re.sub(r"\{([^}]+)\}", lambda m: quote(data.draw(_segment(m.group(1))), safe="%/"), template)


# The routes outside the OpenAPI document; the API's routes are taken from it.
PAGES = [
    ("GET", "/"), ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/static/site.css"),
    ("GET", "/feeds/{path}"), ("HEAD", "/feeds/{path}"),
    ("GET", "/sitemap.xml"), ("GET", "/sitemaps/{name}"), ("HEAD", "/sitemaps/{name}"),
    ("GET", "/robots.txt"),
    ("GET", "/articles/{slug}"), ("GET", "/sections/{slug}"), ("GET", "/editions/{name}/{day}"),
    ("GET", "/editions/"),
    ("GET", "/unsubscribe/{token}"), ("POST", "/unsubscribe/{token}"),
    ("GET", "/preferences/{token}"), ("POST", "/preferences/{token}"),
    ("GET", "/preferences/{token}/data"), ("GET", "/preferences/{token}/delete"),
    ("POST", "/preferences/{token}/delete"), ("GET", "/subscribe"), ("POST", "/subscribe"),
    ("GET", "/confirm/{token}"), ("POST", "/confirm/{token}"), ("GET", "/static/subscribe.js"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/static/docs/{name}"),
    ("GET", "/{slug}"), ("DELETE", "/{slug}"),
    ("POST", "/webhooks/mailgun"), ("POST", "/webhooks/sendgrid"), ("POST", "/webhooks/postmark"),
    ("POST", "/webhooks/ses"),
    ("GET", "/console/login"), ("POST", "/console/login"), ("GET", "/console/set-password/{token}"),
    ("POST", "/console/set-password/{token}"), ("GET", "/console/people"), ("POST", "/console/people"),
    ("GET", "/console/tokens"), ("POST", "/console/tokens/revoke"), ("GET", "/console/audit"),
    ("POST", "/console/logout"),
]  # fmt: skip


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    api = sorted((m.upper(), path) for path, ops in spec["paths"].items() for m in ops)
    assert len(api) >= 19
    return PAGES + api


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_route_answers_500_to_anything(client: TestClient, data: Any) -> None:
    method, template = data.draw(st.sampled_from(_routes(client)))
    path = _fill(template, data)
    keys = ["days", "format", "v", "x", "status", "q", "cursor", "page"]
    query = data.draw(st.dictionaries(st.sampled_from(keys), _anything, max_size=2))
    headers = data.draw(_headers)
    if data.draw(st.booleans()):
        headers["Authorization"] = AUTH["Authorization"]
    body = data.draw(_body)
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None and method not in ("GET", "HEAD"):
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)
    assert response.status_code < 500 or (path == "/healthz" and response.status_code == 503), (
        method, path, kwargs, response.status_code, response.text[:300]
    )  # fmt: skip


# 5. The console, logged in ------------------------------------------------------------------------
# The Edition, Subscribers and Articles pages, fuzzed as a logged-in admin (who may do everything) with
# the session's CSRF token, so the fuzz reaches the routes' own checks, not the login redirect.
CONSOLE_ROUTES = [
    ("GET", "/console/editions"), ("GET", "/console/editions/{edition_id}"),
    ("GET", "/console/editions/{edition_id}/preview"), ("POST", "/console/editions/{edition_id}/contents"),
    ("POST", "/console/editions/{edition_id}/subject"), ("POST", "/console/editions/{edition_id}/test-send"),
    ("GET", "/console/subscribers"), ("GET", "/console/subscribers/export.csv"),
    ("GET", "/console/subscribers/{subscriber_id}"),
    ("POST", "/console/subscribers/{subscriber_id}/suppress"),
    ("POST", "/console/subscribers/{subscriber_id}/unsuppress"),
    ("GET", "/console/articles"), ("GET", "/console/articles/{slug}"),
    ("POST", "/console/articles/{slug}/retract"), ("POST", "/console/articles/{slug}/restore"),
    ("GET", "/console/"), ("GET", "/console/today.json"), ("GET", "/static/console/today.js"),
    *[(m, f"/console/editions/{{edition_id}}/{verb}") for verb in ("send", "pause", "resume", "cancel",
                                                                   "reschedule") for m in ("GET", "POST")],
    ("GET", "/console/schedules"), ("GET", "/console/schedules/new"), ("POST", "/console/schedules"),
    ("GET", "/console/schedules/{name}"), ("POST", "/console/schedules/{name}"),
    ("POST", "/console/schedules/{name}/pause"), ("POST", "/console/schedules/{name}/resume"),
    ("GET", "/console/schedules/{name}/remove"), ("POST", "/console/schedules/{name}/remove"),
    ("GET", "/console/login"), ("POST", "/console/login"), ("GET", "/console/set-password/{token}"),
    ("POST", "/console/set-password/{token}"), ("GET", "/console/people"), ("POST", "/console/people"),
    ("POST", "/console/people/role"), ("POST", "/console/people/disable"), ("POST", "/console/people/enable"),
    ("POST", "/console/people/link"), ("POST", "/console/people/tokens"),
    ("POST", "/console/people/tokens/revoke"), ("GET", "/console/tokens"), ("POST", "/console/tokens"),
    ("POST", "/console/tokens/revoke"), ("GET", "/console/audit"),
]  # fmt: skip
_console_fields = st.sampled_from(["action", "slug", "revision", "subject", "addresses", "reason", "x", "how",
                                   "delay_minutes", "at", "timezone", "to_date", "to_time", "back", "name",
                                   "day", "policy", "zone", "sections", "window_hours", "edition",
                                   "every_minutes", "email", "role", "token_id", "password", "confirm",
                                   "next"])  # fmt: skip
_console_values = st.one_of(
    _anything, st.sampled_from(["pin", "exclude", "include", "up", "down", "0", "1", "99999999999", "s1",
                                "a@example.org", "bad@@x", "\x00", "é" * 300, "delay", "at", "to", "07:30",
                                "25:99", "fixed", "subscriber", "Europe/London", "Mars/Olympus", "mon",
                                "9999-12-31", "0001-01-01", "-99999999", "/console/", "//evil.example",
                                "root@example.com", "ROOT@example.com", "viewer", "admin", "editor"])
)  # fmt: skip


@pytest.fixture
def admin_client(ops_app: App) -> Iterator[tuple[TestClient, str]]:
    from publisher.article import Article
    from tests.console_helpers import csrf_of, login, make_user

    ops_app.articles.save_many([Article(slug="s1", title="Story", section="World", summary="s",
                                        quick_looks=("b",))])  # fmt: skip
    ops_app.subscribers.upsert_many([validate("ana@example.org", "Ana", "UTC")])
    from datetime import UTC, datetime

    from publisher.edition.selection import EditionSpec, load_edition

    now = datetime.now(UTC)
    ops_app.edition_store.create(load_edition(ops_app.articles, EditionSpec.from_settings(ops_app.settings),
                                              now.date(), cutoff=now))  # fmt: skip
    from publisher.schedule.model import edition_schedule

    ops_app.schedules.add(edition_schedule("s1", at="07:00"))  # a schedule the fuzz's names can reach
    make_user(ops_app, "root@example.com", "admin", "correct horse battery staple")
    web = create_app(ops_app)
    with TestClient(web, base_url="https://testserver", raise_server_exceptions=False) as admin:
        login(admin, "https://testserver", "root@example.com", "correct horse battery staple")
        yield admin, csrf_of(admin.get("/console/articles/s1").text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_console_page_answers_500_to_a_logged_in_admin(admin_client: tuple[TestClient, str], data: Any
                                                          ) -> None:  # fmt: skip
    client, token = admin_client
    method, template = data.draw(st.sampled_from(CONSOLE_ROUTES))
    path = re.sub(r"\{([^}]+)\}", lambda m: data.draw(st.sampled_from(["1", "2", "s1", "0", "-1", "x" * 120,
                                                                        "99999999999999999999", "%00"])),
                  template)  # fmt: skip
    keys = ["state", "after", "done", "q", "status", "section", "page", "x", "edition", "back", "preview",
            "name", "at", "day", "policy", "zone", "window_hours", "every_minutes", "actor",
            "next"]  # fmt: skip
    query = data.draw(st.dictionaries(st.sampled_from(keys), _console_values, max_size=3))
    form = data.draw(st.dictionaries(_console_fields, _console_values, max_size=4))
    if method == "POST" and data.draw(st.booleans()):
        form["csrf_token"] = token
    response = client.request(method, path, params=query, data=form if method == "POST" else None,
                              follow_redirects=False)  # fmt: skip
    assert response.status_code < 500, (method, path, query, form, response.status_code, response.text[:300])
