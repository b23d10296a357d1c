"""Getting into the console and the ops API, and being kept out: the real web app (TestClient) on
SQLite and PostgreSQL.

Login and logout, CSRF on every POST, session fixation, forged cookies, disabled users, revoked
tokens, idle sessions, the login lock after ten wrong passwords (a clock the test moves, no sleep),
and a viewer refused (403) on every changing route of ``/console`` and ``/api``: the routes are read
from the app at test time, so pages added later are covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from publisher.accounts.throttle import ACCOUNT_LIMIT, LOCK
from publisher.app import App
from publisher.web import create_app
from publisher.web.console.auth import COOKIE
from tests.console_helpers import csrf_of, login, make_user

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"
BOOTSTRAP = "bootstrap-token-4c1f9e"
# Routes under /console that any logged-in user, or nobody yet, may post to: getting in and out,
# and one's own API tokens (a token acts with its user's role, so a viewer's can only read).
OPEN_TO_EVERYONE = {
    "/console/login",
    "/console/set-password/{token}",
    "/console/logout",
    "/console/logout-everywhere",
    "/console/tokens",
    "/console/tokens/revoke",
}


class Clock:
    """A clock the test moves: the App reads it for sessions, locks and links."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 6, 55, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(any_db_app: App, clock: Clock) -> App:
    any_db_app.clock = clock
    return any_db_app


@pytest.fixture
def web(app: App) -> Any:
    return create_app(app)


@pytest.fixture
def client(web: Any) -> Iterator[TestClient]:
    with TestClient(web, base_url=BASE) as test_client:
        yield test_client


def _client(web: Any) -> TestClient:
    return TestClient(web, base_url=BASE)


def _login_form(client: TestClient, email: str, password: str, **extra: str) -> Any:
    page = client.get("/console/login")
    data = {"csrf_token": csrf_of(page.text), "email": email, "password": password, **extra}
    return client.post("/console/login", data=data, follow_redirects=False)


def _csrf(client: TestClient) -> str:
    return csrf_of(client.get("/console/tokens").text)


def _logged_in(client: TestClient) -> bool:
    return client.get("/console/tokens", follow_redirects=False).status_code == 200


# Logging in ---------------------------------------------------------------------------------------


def test_a_user_logs_in_and_out_and_the_cookie_is_httponly_samesite_secure(
    app: App, client: TestClient
) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    away = client.get("/console/tokens", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/console/login?next=%2Fconsole%2Ftokens"
    answer = _login_form(client, "OPS@example.com", PASSWORD, next="/console/tokens")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/tokens"
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE + "=")
    )
    assert (
        "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie and "Path=/console" in cookie
    )
    page = client.get("/console/tokens")
    assert page.status_code == 200 and "ops@example.com" in page.text
    assert "Log out" in page.text and '<nav class="console-nav" aria-label="Console">' in page.text
    assert "/console/people" not in page.text  # People is for admins only
    assert [e.action for e in app.audit.recent()] == ["session.login"]
    out = client.post("/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert not _logged_in(client)


def test_the_cookie_is_not_secure_on_a_plain_http_site(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings(site_url="http://localhost:8000"))
    make_user(app, "ops@example.com", "ops", PASSWORD)
    with TestClient(create_app(app), base_url="http://testserver") as client:
        answer = _login_form(client, "ops@example.com", PASSWORD)
        cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE + "=" in v)
        assert "Secure" not in cookie and "HttpOnly" in cookie
        assert _logged_in(client)
    app.close()


def test_after_login_only_console_paths_are_followed(app: App, client: TestClient) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    for target in ("https://evil.example/", "//evil.example/console", "/console\\@evil", "/feeds/index.rss"):
        answer = _login_form(client, "ops@example.com", PASSWORD, next=target)
        assert answer.headers["location"] == "/console/", target


def test_unknown_address_wrong_password_disabled_and_passwordless_get_one_answer(
    app: App, client: TestClient
) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    make_user(app, "gone@example.com", "ops", PASSWORD)
    app.people.disable("gone@example.com")
    app.people.add("new@example.com", app.users.require("ops@example.com").role)  # no password yet
    answers = [
        _login_form(client, email, password)
        for email, password in (
            ("nobody@example.com", PASSWORD),
            ("ops@example.com", "wrong password here"),
            ("gone@example.com", PASSWORD),
            ("new@example.com", PASSWORD),
            ("not an address", PASSWORD),
        )
    ]
    texts = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}
    assert [a.status_code for a in answers] == [401] * 5
    assert len(texts) == 1  # the same page, but for the address typed back into the form
    assert "do not match an account" in answers[0].text and 'role="alert"' in answers[0].text
    assert COOKIE not in client.cookies


# CSRF ----------------------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(app: App, client: TestClient) -> None:
    make_user(app, "admin@example.com", "admin", PASSWORD)
    login(client, BASE, "admin@example.com", PASSWORD)
    token = _csrf(client)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 32}, {"csrf_token": token[:-1] + "A"}):
        refused = client.post("/console/people", data={**data, "email": "new@example.com", "role": "viewer"})
        assert refused.status_code == 403, data
    assert app.users.find("new@example.com") is None
    # The header works as the form field does (for a page's own script).
    made = client.post(
        "/console/people",
        data={"email": "new@example.com", "role": "viewer"},
        headers={"X-CSRF-Token": token},
    )
    assert made.status_code == 201 and app.users.find("new@example.com") is not None


def test_the_login_form_needs_its_own_token(app: App, client: TestClient) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    client.get("/console/login")
    data = {"email": "ops@example.com", "password": PASSWORD}
    assert client.post("/console/login", data=data).status_code == 403
    # A token from another browser's form does not match this browser's nonce.
    other = _client(client.app)
    foreign = csrf_of(other.get("/console/login").text)
    assert client.post("/console/login", data={**data, "csrf_token": foreign}).status_code == 403
    assert COOKIE not in client.cookies


def test_the_csrf_token_belongs_to_the_session(app: App, web: Any) -> None:
    make_user(app, "admin@example.com", "admin", PASSWORD)
    first, second = _client(web), _client(web)
    login(first, BASE, "admin@example.com", PASSWORD)
    login(second, BASE, "admin@example.com", PASSWORD)
    stolen = _csrf(first)
    assert stolen != _csrf(second)
    refused = second.post(
        "/console/people", data={"csrf_token": stolen, "email": "x@example.com", "role": "viewer"}
    )
    assert refused.status_code == 403


# Sessions ------------------------------------------------------------------------------------------


def test_a_cookie_planted_before_login_is_not_the_session_after(app: App, web: Any) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    attacker = _client(web)
    login(attacker, BASE, "ops@example.com", PASSWORD)
    planted = attacker.cookies[COOKIE]
    victim = _client(web)
    victim.cookies.set(COOKIE, planted, domain="testserver.local", path="/console")
    login(victim, BASE, "ops@example.com", PASSWORD)
    assert victim.cookies[COOKIE] != planted
    # The session the browser brought ended at login: the attacker's copy opens nothing.
    assert not _logged_in(attacker)
    assert _logged_in(victim)


def test_forged_and_altered_cookies_are_refused(app: App, web: Any) -> None:
    make_user(app, "admin@example.com", "admin", PASSWORD)
    real = _client(web)
    login(real, BASE, "admin@example.com", PASSWORD)
    token, mac = real.cookies[COOKIE].rsplit(".", 1)
    for forged in (
        f"{token}.{'A' * len(mac)}",
        f"{token[:-1]}x.{mac}",
        token,
        "",
        "..",
        "a" * 5000,
        f"{token}.{mac}.{mac}",
    ):
        client = _client(web)
        client.cookies.set(COOKIE, forged, domain="testserver.local", path="/console")
        assert client.get("/console/tokens", follow_redirects=False).status_code == 303, forged
        assert client.post("/console/people", data={"email": "x@example.com"}).status_code == 401, forged


def test_a_disabled_users_session_and_tokens_stop_at_once(app: App, client: TestClient) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    login(client, BASE, "ops@example.com", PASSWORD)
    _, token = app.api_tokens.create(app.users.require("ops@example.com").id, "script")
    assert client.get("/api/schedules", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app.people.disable("ops@example.com")
    assert not _logged_in(client)
    assert client.get("/api/schedules", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # Enabled again, the old session and token stay dead; a new login works.
    app.people.enable("ops@example.com")
    assert not _logged_in(client)
    assert client.get("/api/schedules", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    login(client, BASE, "ops@example.com", PASSWORD)
    assert _logged_in(client)


def test_an_idle_session_ends(app: App, client: TestClient, clock: Clock) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    login(client, BASE, "ops@example.com", PASSWORD)
    idle = timedelta(minutes=app.settings.console_idle_minutes)
    clock.advance(idle - timedelta(minutes=1))
    assert _logged_in(client)  # used: the idle time starts again
    clock.advance(idle - timedelta(minutes=1))
    assert _logged_in(client)
    clock.advance(idle + timedelta(seconds=1))
    assert (
        client.get("/console/tokens", follow_redirects=False).headers["location"].startswith("/console/login")
    )
    clock.advance(-idle)  # a session once refused for idleness is gone, not merely asleep
    assert not _logged_in(client)


def test_logging_out_everywhere_ends_every_session_of_the_user(app: App, web: Any) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    make_user(app, "ed@example.com", "editor", PASSWORD)
    phone, laptop, colleague = _client(web), _client(web), _client(web)
    login(phone, BASE, "ops@example.com", PASSWORD)
    login(laptop, BASE, "ops@example.com", PASSWORD)
    login(colleague, BASE, "ed@example.com", PASSWORD)
    answer = phone.post(
        "/console/logout-everywhere", data={"csrf_token": _csrf(phone)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert not _logged_in(phone) and not _logged_in(laptop)
    assert _logged_in(colleague)
    [entry] = app.audit.recent(action="session.logout-everywhere")
    assert (entry.actor, entry.detail) == ("ops@example.com", {"sessions": 2})


# The login lock ------------------------------------------------------------------------------------


def test_ten_wrong_passwords_lock_the_account_for_a_while(app: App, client: TestClient, clock: Clock) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    for attempt in range(ACCOUNT_LIMIT - 1):
        assert _login_form(client, "ops@example.com", f"wrong {attempt}").status_code == 401
    tenth = _login_form(client, "ops@example.com", "wrong again")
    assert tenth.status_code == 429 and "locked for 15 minutes" in tenth.text
    # The eleventh, with the right password, is refused until the lock passes.
    right = _login_form(client, "ops@example.com", PASSWORD)
    assert right.status_code == 429 and COOKIE not in client.cookies
    clock.advance(LOCK - timedelta(minutes=1))
    still = _login_form(client, "ops@example.com", PASSWORD)
    assert still.status_code == 429 and "locked for 1 minute;" in still.text
    clock.advance(timedelta(minutes=1, seconds=1))
    assert _login_form(client, "ops@example.com", PASSWORD).status_code == 303
    assert _logged_in(client)


def test_an_unknown_address_locks_the_same_way(client: TestClient) -> None:
    answers = [
        _login_form(client, "nobody@example.com", f"guess {n}").status_code for n in range(ACCOUNT_LIMIT + 1)
    ]
    assert answers == [401] * (ACCOUNT_LIMIT - 1) + [429, 429]


def test_the_lock_holds_across_web_processes(app: App, make_settings, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "ops@example.com", "ops", PASSWORD)
    other = App(app.settings, clock=clock)  # another process on the same database
    with (
        TestClient(create_app(app), base_url=BASE) as one,
        TestClient(create_app(other), base_url=BASE) as two,
    ):
        for attempt in range(ACCOUNT_LIMIT):
            _login_form(one if attempt % 2 else two, "ops@example.com", f"wrong {attempt}")
        assert _login_form(two, "ops@example.com", PASSWORD).status_code == 429
    other.close()


def test_a_good_login_clears_the_accounts_failures(app: App, client: TestClient) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    for attempt in range(ACCOUNT_LIMIT - 1):
        _login_form(client, "ops@example.com", f"wrong {attempt}")
    assert _login_form(client, "ops@example.com", PASSWORD).status_code == 303
    assert _login_form(client, "ops@example.com", "wrong once more").status_code == 401


# Set-password links --------------------------------------------------------------------------------


def test_a_set_password_link_works_once_and_checks_the_password(app: App, client: TestClient) -> None:
    added = app.people.add("new@example.com", app.users.find("x") or _role("editor"))
    path = f"/console/set-password/{added.link_token}"
    page = client.get(path)
    assert page.status_code == 200 and "new@example.com" in page.text
    token = csrf_of(page.text)
    short = client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert 'id="password"' in short.text and 'aria-invalid="true"' in short.text
    differ = client.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD + "!"})
    assert differ.status_code == 422 and "differ" in differ.text
    assert client.post(path, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 403
    done = client.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200 and "Your password is set" in done.text
    again = client.post(
        path,
        data={"csrf_token": token, "password": "another long password", "confirm": "another long password"},
    )
    assert again.status_code == 404 and client.get(path).status_code == 404
    assert _login_form(client, "new@example.com", PASSWORD).status_code == 303
    assert [e.action for e in app.audit.recent(actor="new@example.com")] == [
        "session.login",
        "user.set-password",
    ]


def test_a_set_password_link_expires(app: App, client: TestClient, clock: Clock) -> None:
    added = app.people.add("new@example.com", _role("ops"))
    clock.advance(timedelta(hours=72, seconds=1))
    assert client.get(f"/console/set-password/{added.link_token}").status_code == 404
    assert client.get("/console/set-password/not-a-token").status_code == 404


def _role(name: str) -> Any:
    from publisher.accounts.roles import Role

    return Role(name)


# Roles ---------------------------------------------------------------------------------------------


def _changing_routes(web: Any, prefix: str) -> list[tuple[str, str]]:
    """(method, path) of every route under ``prefix`` but reads, as the app routes them now."""
    found = []
    for route in iter_route_contexts(web.routes):
        if isinstance(route.original_route, APIRoute) and (route.path or "").startswith(prefix):
            found += [(method, route.path) for method in sorted(set(route.methods or ()) - {"GET", "HEAD"})]
    return found


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_a_viewer_gets_403_on_every_changing_console_route(app: App, client: TestClient, web: Any) -> None:
    make_user(app, "viewer@example.com", "viewer", PASSWORD)
    make_user(app, "admin@example.com", "admin", PASSWORD)
    login(client, BASE, "viewer@example.com", PASSWORD)
    token = _csrf(client)
    routes = _changing_routes(web, "/console")
    guarded = [(m, p) for m, p in routes if p not in OPEN_TO_EVERYONE]
    assert {p for _m, p in routes} >= OPEN_TO_EVERYONE
    assert ("POST", "/console/people") in guarded and ("POST", "/console/people/disable") in guarded
    for method, path in guarded:
        body = {
            "csrf_token": token,
            "email": "admin@example.com",
            "role": "viewer",
            "token_id": "1",
            "name": "x",
        }
        answer = client.request(method, _fill(path), data=body, follow_redirects=False)
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text[:200])
        assert "does not allow this" in answer.text
    assert app.users.require("admin@example.com").role == "admin"
    assert [e.action for e in app.audit.recent()] == ["session.login"]


def test_a_viewer_token_and_a_viewer_session_are_refused_on_every_changing_api_route(
    app: App, client: TestClient, web: Any
) -> None:
    make_user(app, "viewer@example.com", "viewer", PASSWORD)
    _, token = app.api_tokens.create(app.users.require("viewer@example.com").id, "dashboard")
    routes = _changing_routes(web, "/api")
    assert len(routes) >= 12
    for method, path in routes:
        answer = client.request(
            method,
            _fill(path),
            headers={"Authorization": f"Bearer {token}"},
            content=b"{not json",
            follow_redirects=False,
        )
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text[:200])
        assert answer.json()["detail"].startswith("role viewer does not have the ")
    assert client.get("/api/schedules", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # A console session is not an API credential.
    login(client, BASE, "viewer@example.com", PASSWORD)
    assert client.post("/api/schedules", json={"name": "morning", "at": "07:00"}).status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status"),
    [
        ("editor", "POST", "/api/schedules", {"name": "morning", "at": "07:00"}, 403),
        ("editor", "POST", "/api/editions/1/pause", None, 403),
        ("editor", "POST", "/api/editions/1/test-send", {"addresses": ["a@example.org"]}, 404),
        ("editor", "POST", "/api/articles", {"title": "T", "section": "World"}, 201),
        ("ops", "POST", "/api/articles", {"title": "T", "section": "World"}, 403),
        ("ops", "DELETE", "/api/articles/t", None, 403),
        ("ops", "POST", "/api/editions/1/test-send", {"addresses": ["a@example.org"]}, 403),
        ("ops", "POST", "/api/schedules", {"name": "morning", "at": "07:00"}, 201),
        ("ops", "POST", "/api/editions/1/pause", None, 404),
        ("admin", "POST", "/api/schedules", {"name": "morning", "at": "07:00"}, 201),
    ],
)
def test_each_api_route_needs_its_permission(
    app: App, client: TestClient, role: str, method: str, path: str, body: Any, status: int
) -> None:
    make_user(app, f"{role}@example.com", role, PASSWORD)
    _, token = app.api_tokens.create(app.users.require(f"{role}@example.com").id, "script")
    answer = client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status, answer.text[:300]
    if status == 403:
        needed = "edit" if "articles" in path or "test-send" in path else "operate"
        assert answer.json()["detail"] == f"role {role} does not have the {needed} permission this needs"


def test_the_role_is_checked_before_the_body_is_read(app: App, client: TestClient) -> None:
    make_user(app, "viewer@example.com", "viewer", PASSWORD)
    _, token = app.api_tokens.create(app.users.require("viewer@example.com").id, "dashboard")
    big = b"[" * 500_000  # parsed, this would be a 422 (or worse)
    answer = client.post(
        "/api/articles",
        content=big,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 403


def test_a_revoked_token_is_refused_and_a_role_change_applies_at_once(app: App, client: TestClient) -> None:
    make_user(app, "ops@example.com", "ops", PASSWORD)
    make_user(app, "admin@example.com", "admin", PASSWORD)
    token_id, token = app.api_tokens.create(app.users.require("ops@example.com").id, "script")
    auth = {"Authorization": f"Bearer {token}"}
    schedule = {"at": "07:00", "edition": "morning"}
    assert client.post("/api/schedules", json={"name": "a", **schedule}, headers=auth).status_code == 201
    app.people.set_role("ops@example.com", _role("viewer"))
    assert client.post("/api/schedules", json={"name": "b", **schedule}, headers=auth).status_code == 403
    assert app.api_tokens.revoke(token_id)
    assert client.get("/api/schedules", headers=auth).status_code == 401
    assert client.get("/api/schedules", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    [made] = app.api_tokens.list()
    assert made.revoked and made.last_used_at is not None


def test_the_bootstrap_token_stays_an_admin_and_the_api_records_who_did_what(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings(api_token=BOOTSTRAP))
    make_user(app, "ops@example.com", "ops", PASSWORD)
    _, token = app.api_tokens.create(app.users.require("ops@example.com").id, "script")
    with TestClient(create_app(app), base_url=BASE) as client:
        made = client.post(
            "/api/schedules",
            json={"name": "morning", "at": "07:00"},
            headers={"Authorization": f"Bearer {BOOTSTRAP}"},
        )
        assert made.status_code == 201
        paused = client.patch(
            "/api/schedules/morning",
            json={"paused": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert paused.status_code == 200
    entries = app.audit.recent()
    assert [(e.actor, e.action, e.target, e.source) for e in entries] == [
        ("ops@example.com", "schedule.change", "morning", "testclient"),
        ("api-token", "schedule.add", "morning", "testclient"),
    ]
    assert entries[0].detail == {"changes": {"paused": True}}
    app.close()
