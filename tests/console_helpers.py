"""Helpers of the console's tests: make a user, log in (a TestClient/httpx client or a Playwright
page), read a page's CSRF token.

The test settings' site URL is https, so the session cookie is ``Secure``: a TestClient must use
``base_url="https://testserver"`` to send it back (as a browser on https would).
"""

from __future__ import annotations

import re
from typing import Any

from publisher.accounts.roles import Role
from publisher.app import App

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def make_user(app: App, email: str, role: str | Role, password: str) -> None:
    """An active user with that role and password."""
    user_id = app.user_lifecycle.add(email, Role(role))
    app.users.set_password_hash(user_id, app.passwords.hash(password))


def csrf_of(html: str) -> str:
    """The CSRF token of the page's first form."""
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login(client_or_page: Any, base_url: str, email: str, password: str) -> None:
    """Log in through the login form; asserts it worked (the console's session cookie is set)."""
    base = base_url.rstrip("/")
    if hasattr(client_or_page, "goto"):  # a Playwright page
        page = client_or_page
        page.goto(f"{base}/console/login")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button[type=submit]:has-text('Log in')")
        page.wait_for_url(lambda url: "/console/login" not in url)
        return
    client = client_or_page
    form = client.get(f"{base}/console/login")
    assert form.status_code == 200, form.text[:300]
    answer = client.post(f"{base}/console/login", data={"csrf_token": csrf_of(form.text), "email": email,
                                                        "password": password, "next": "/console/"},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text[:500]
    assert "publisher_console" in client.cookies
