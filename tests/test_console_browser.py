"""The console in a real browser: headless Chromium (the Debian package, driven by Playwright with
``executable_path``; nothing downloaded), the app on uvicorn on 127.0.0.1, a real SMTP server on
loopback.

- An editor takes a story out of a draft edition: the preview frame loses it, and so does the email
  every reader then gets.
- axe-core (from the ``axe-playwright-python`` wheel) finds no violation of labels, landmarks,
  contrast or any other WCAG 2 A/AA rule on every console page, at 375 and 1280 px, light and dark.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from publisher.app import App
from publisher.article import Article
from publisher.edition.selection import EditionSpec, load_edition
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import validate
from publisher.web import create_app
from publisher.web.console import build_router
from tests.chromium import CHROMIUM
from tests.conftest import REQUIRE_SERVICES
from tests.console_helpers import login, make_user
from tests.live_server import serving
from tests.smtp_recorder import Recorder, SmtpServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRE_SERVICES,
                       reason="needs headless Chromium: apt-get install -y chromium"),
]  # fmt: skip
PASSWORD = "correct horse battery staple"
READERS = [f"reader{n}@example.org" for n in range(4)]


def _wait(what: str, check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def stack(make_settings) -> Iterator[tuple[App, str, Recorder, int]]:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    with SmtpServer(recorder) as smtp:
        app = App(make_settings(smtp_url=smtp.url, site_url="http://127.0.0.1"))
        now = datetime.now(UTC)
        for n in range(3):
            story = Article(slug=f"world-{n}", title=f"World story {n}", section="World",
                            summary=f"What happened, part {n}.", quick_looks=(f"Point {n}",))  # fmt: skip
            app.articles.save_many([story], published_at=now - timedelta(hours=3 - n))
        app.subscribers.upsert_many([validate(a, "", "Europe/London") for a in READERS])
        edition = load_edition(app.articles, EditionSpec.from_settings(app.settings), now.date(), cutoff=now)
        edition_id = app.edition_store.create(edition)
        app.schedules.add(edition_schedule("morning", at="07:00"))
        for role in ("admin", "editor"):
            make_user(app, f"{role}@example.com", role, PASSWORD)
        with serving(create_app(app)) as (host, port):
            yield app, f"http://{host}:{port}", recorder, edition_id
        app.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _watch(page: Any) -> list[str]:
    """Script errors, CSP refusals and failed loads on the page (favicon aside)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused script or style is a console error; failed loads are counted by their response.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)  # fmt: skip
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
    return errors


def test_an_editor_excludes_a_story_and_the_preview_and_the_sent_email_lack_it(stack, browser) -> None:  # type: ignore[no-untyped-def]
    app, base, recorder, edition_id = stack
    page = browser.new_context(viewport={"width": 375, "height": 900}).new_page()
    errors = _watch(page)
    login(page, base, "editor@example.com", PASSWORD)
    page.goto(f"{base}/console/editions/{edition_id}")
    phone = page.frame_locator("iframe[width='375']")
    assert phone.locator("text=World story 1").count() >= 1
    page.click("button:has-text('Take out: World story 1')")
    page.wait_for_selector("text=Story taken out of the edition.")
    for width in ("375", "600"):
        frame = page.frame_locator(f"iframe[width='{width}']")
        frame.locator("text=World story 2").first.wait_for()
        assert frame.locator("text=World story 1").count() == 0
    page.click("summary:has-text('The text part')")
    text_part = page.inner_text("pre.text-part")
    assert "World story 2" in text_part and "World story 1" not in text_part
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll of the page
    assert errors == []

    app.delivery.start(edition_id)  # the edition goes out (in-process) to the SMTP server on loopback
    _wait("every reader's email", lambda: len(recorder.messages) == len(READERS))
    assert sorted(r for r, _ in recorder.messages) == READERS  # each once
    for _rcpt, raw in recorder.messages:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for kind in ("html", "plain"):
            body = message.get_body(preferencelist=(kind,)).get_content()  # type: ignore[union-attr]
            assert "World story 2" in body and "World story 0" in body
            assert "World story 1" not in body
    # Frozen now: the page says so and offers no edit.
    page.goto(f"{base}/console/editions/{edition_id}")
    assert page.locator("text=Frozen: this edition has started sending").count() == 1
    assert page.locator("button:has-text('Take out')").count() == 0


# -- accessibility ---------------------------------------------------------------------------------

# The console's GET routes that are not pages a person reads: the email in the preview frame (its
# own document, the newsletter's), data and files, and the logged-out pages (checked on their own).
NOT_PAGES = re.compile(r"/preview$|\.json$|\.csv$|\.js$|/login$|/set-password|/logout$")


def _get_paths(routes: list[Any], prefix: str) -> Iterator[str]:
    """The GET paths of ``routes``, into included routers (FastAPI keeps those as they were given)."""
    for route in routes:
        if isinstance(route, APIRoute):
            if "GET" in route.methods:
                yield prefix + route.path
        elif hasattr(route, "original_router"):
            yield from _get_paths(route.original_router.routes, prefix + route.include_context.prefix)


def _pages(app: App, base: str, edition_id: int) -> list[str]:
    """Every GET route under /console, its path parameters filled with this test's data."""
    reader = app.subscribers.find(READERS[0])
    assert reader is not None
    values = {"edition_id": str(edition_id), "subscriber_id": str(reader.id), "slug": "world-1",
              "verb": "pause", "user_id": "1", "token_id": "1", "name": "morning"}  # fmt: skip
    paths = set()
    for template in _get_paths(build_router().routes, ""):
        if template.startswith("/console") and not NOT_PAGES.search(template):
            paths.add(re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], template))
    assert {f"/console/editions/{edition_id}", "/console/subscribers", "/console/articles/world-1"} <= paths
    return sorted(paths)


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "rules": {"region": {"enabled": True}, "landmark-one-main": {"enabled": True},
                         "label": {"enabled": True}, "color-contrast": {"enabled": True}},
               "resultTypes": ["violations"]}  # fmt: skip
    # The frames hold the newsletter (checked by its own tests), not the console.
    results = Axe().run(page, context={"exclude": [["iframe"]]}, options=options)
    return [f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
            for v in results.response["violations"]]  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_console_page_passes_axe_at_phone_and_desktop_widths(stack, browser, scheme: str) -> None:  # type: ignore[no-untyped-def]
    app, base, _recorder, edition_id = stack
    app.lifecycle.fill(edition_id, ["world"])  # ledger rows to list
    pages = _pages(app, base, edition_id)
    found: dict[str, list[str]] = {}
    for width in (375, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{base}/console/login")
        found.update({f"{width} /console/login": v for v in [_axe(page)] if v})
        login(page, base, "admin@example.com", PASSWORD)
        for path in pages:
            answer = page.goto(f"{base}{path}")
            # The schedule form's preview without values is the form with its errors (422).
            assert answer is not None and answer.status == (422 if path.endswith("/new") else 200), path
            violations = _axe(page)
            if violations:
                found[f"{width} {path}"] = violations
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, path)
        context.close()
    assert found == {}
