"""People and access in a real browser: headless Chromium (the Debian package, driven by Playwright
with ``executable_path``; nothing is downloaded) at 375 px, on ``publisher``'s web app served by
uvicorn on 127.0.0.1.

An admin asks for People, is sent to the login page, mistypes, logs in and lands on People; adds an
editor and copies their one-time link; the editor, in another browser, sets a password and logs in;
the admin disables them and their open page stops working. No page scrolls sideways, loads
anything that fails or breaks its Content-Security-Policy.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from publisher.app import App
from publisher.web import create_app
from tests.chromium import CHROMIUM
from tests.conftest import REQUIRE_SERVICES
from tests.console_helpers import make_user
from tests.live_server import serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRE_SERVICES,
                       reason="needs headless Chromium: apt-get install -y chromium"),
]  # fmt: skip
PASSWORD = "correct horse battery staple"
EDITOR_PASSWORD = "a long walk to the printing press"


@pytest.fixture
def site(make_settings) -> Iterator[tuple[App, str]]:  # type: ignore[no-untyped-def]
    # The site URL must be the served one: set-password links are made from it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = App(make_settings(site_url=f"http://127.0.0.1:{sock.getsockname()[1]}"))
    make_user(app, "root@example.com", "admin", PASSWORD)
    with serving(create_app(app), sock=sock) as (host, bound):
        yield app, f"http://{host}:{bound}"
    app.close()


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # CSP refusals are console errors; failed loads are judged by their responses below (a wrong
    # password's 401 is the login page's answer, not a failure).
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load") else None)  # fmt: skip
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") and "/console/login" not in r.url
            else None)  # fmt: skip
    return problems


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url


def test_an_admin_adds_an_editor_who_sets_a_password_logs_in_and_is_disabled(site: tuple[App, str]) -> None:
    from playwright.sync_api import sync_playwright

    app, base = site
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            admin = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            problems = _watch(admin)
            admin.goto(f"{base}/console/people")
            assert admin.url == f"{base}/console/login?next=%2Fconsole%2Fpeople"
            _fits(admin)
            admin.fill("#email", "root@example.com")
            admin.fill("#password", "not my password")
            admin.click("button:has-text('Log in')")
            assert admin.locator("[role=alert]").inner_text() == (
                "That email address and password do not match an account.")  # fmt: skip
            admin.fill("#password", PASSWORD)
            admin.click("button:has-text('Log in')")
            admin.wait_for_url(f"{base}/console/people")
            assert admin.locator("h1").inner_text() == "People"
            assert admin.locator("nav[aria-label=Console] a[aria-current=page]").inner_text() == "People"
            _fits(admin)

            admin.fill("#add-email", "Maria@Example.com")
            admin.select_option("#add-role", "editor")
            admin.click("button:has-text('Add and make their link')")
            link = admin.input_value("#secret-value")
            assert link.startswith(f"{base}/console/set-password/")
            assert "maria@example.com" in admin.locator("#secret-heading").inner_text()
            _fits(admin)

            editor = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            problems += _watch(editor)
            editor.goto(link)
            assert not editor.locator("input[name=username]").is_visible()  # for password managers only
            editor.fill("#password", EDITOR_PASSWORD)
            editor.fill("#confirm", EDITOR_PASSWORD)
            editor.click("button:has-text('Set my password')")
            editor.wait_for_selector("text=Your password is set")
            editor.click("main a:has-text('Log in')")
            editor.fill("#email", "maria@example.com")
            editor.fill("#password", EDITOR_PASSWORD)
            editor.click("button:has-text('Log in')")
            editor.wait_for_url(lambda url: "/console/login" not in url)
            editor.goto(f"{base}/console/tokens")
            assert "maria@example.com" in editor.locator(".console-who").inner_text()
            assert editor.locator("nav[aria-label=Console] a:has-text('People')").count() == 0
            _fits(editor)

            admin.goto(f"{base}/console/people")
            admin.click("button:has-text('Disable maria@example.com')")
            admin.wait_for_selector("text=Disabled: their sessions ended")
            editor.reload()
            assert editor.url.startswith(f"{base}/console/login")

            admin.click("button:has-text('Log out')")
            admin.wait_for_url(f"{base}/console/login")
            assert problems == []
        finally:
            browser.close()
    actions = [entry.action for entry in app.audit.recent()]
    assert actions == ["user.disable", "session.login", "user.set-password", "user.add", "session.login"]
