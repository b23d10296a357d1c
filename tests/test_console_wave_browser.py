"""An ops user watches the wave in a real browser, pauses it, resumes it, and everyone gets the
edition exactly once.

Headless Chromium (the Debian package, driven by Playwright with ``executable_path``: nothing is
downloaded) at 375 px, as on a phone; publisher's web app on uvicorn on 127.0.0.1; a real Celery
worker on a real Redis (a key prefix of this test's own) sending to a real SMTP server on loopback
(``tests/smtp_recorder.py``) under PUBLISHER_RATE_LIMIT, so the wave takes several seconds. The
Today page's counts rise while it stays loaded (its script polls the JSON); Pause, confirmed, stops
the SMTP server receiving within seconds; Resume, confirmed, sends the rest; every reader has one
message, every Message-ID is unique.
"""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from publisher.app import App
from publisher.subscribers.model import NewSubscriber
from publisher.web import create_app
from tests.chromium import CHROMIUM
from tests.conftest import EXAMPLES, REQUIRE_SERVICES, RedisPlace
from tests.console_helpers import login, make_user
from tests.delivery_helpers import create_edition, reader
from tests.live_server import serving
from tests.smtp_recorder import Recorder, SmtpServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRE_SERVICES,
                       reason="needs headless Chromium: apt-get install -y chromium"),
]  # fmt: skip
READERS = 240
RATE = 30  # messages a second, across the worker's threads: the wave takes about eight seconds
PASSWORD = "correct horse battery staple"
ZONES = ("Asia/Tokyo", "Europe/London", "America/New_York")


def _wait(what: str, check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def stack(make_settings, redis_url: RedisPlace) -> Iterator[tuple[App, int, str, Recorder]]:  # type: ignore[no-untyped-def]
    from celery.contrib.testing.worker import start_worker

    recorder = Recorder()
    with SmtpServer(recorder) as smtp:
        settings = make_settings(smtp_url=smtp.url, redis_url=redis_url.url, redis_prefix=redis_url.prefix,
                                 rate_limit=RATE, delivery_batch_size=20)  # fmt: skip
        app = App(settings)
        list(app.ingest([EXAMPLES / "articles"]))
        app.subscribers.upsert_many([NewSubscriber(reader(i), f"Reader {i}", ZONES[i % len(ZONES)], ())
                                     for i in range(READERS)])  # fmt: skip
        edition_id = create_edition(app)
        make_user(app, "ops@example.org", "ops", PASSWORD)
        celery = app.dispatcher.celery  # type: ignore[attr-defined]
        worker = start_worker(celery, pool="threads", concurrency=2, perform_ping_check=False,
                              queues=["editions", "deliveries"], shutdown_timeout=30)  # fmt: skip
        with worker, serving(create_app(app)) as (host, port):
            yield app, edition_id, f"http://{host}:{port}", recorder
        app.close()


def _count(page: Any, selector: str) -> int:
    return int(page.text_content(selector).replace(",", "").strip())


def _settled(recorder: Recorder, quiet: float = 1.0, timeout: float = 10.0) -> int:
    """The number of messages received once none has arrived for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = len(recorder.messages), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the SMTP server never stopped receiving"
        time.sleep(0.05)
        if len(recorder.messages) != last:
            last, since = len(recorder.messages), time.monotonic()
    return last


def test_ops_watch_the_wave_pause_it_resume_it_and_nobody_gets_it_twice(stack) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    app, edition_id, base, recorder = stack
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            errors: list[str] = []  # script errors, CSP refusals, failed loads (but the favicon)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # (A failed load is also a console error; the response handler below judges those.)
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load") else None)  # fmt: skip
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
            login(page, base, "ops@example.org", PASSWORD)

            app.delivery.start(edition_id)  # the wave starts: batches on Redis, the worker sends
            page.goto(f"{base}/console/")
            sent = f'[data-edition="{edition_id}"] [data-total="sent"]'
            page.evaluate("window.stillThisPage = true")  # gone if the page were loaded again
            first = _count(page, sent)
            assert first < READERS
            _wait("the page's sent count to rise", lambda: _count(page, sent) > first, 10)
            risen = _count(page, sent)
            _wait("it to rise again", lambda: _count(page, sent) > risen, 10)
            assert page.evaluate("window.stillThisPage === true")  # counts rose without a reload
            assert page.text_content("#live").startswith("Live")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll

            # Pause, with its confirmation step saying how many readers wait.
            page.click(f'[data-edition="{edition_id}"] [data-verb="pause"] a')
            page.wait_for_selector("text=still to receive it will wait")
            impact = page.text_content("#impact")
            assert impact is not None and int(impact.split()[0].replace(",", "")) > 0
            page.click("button[type=submit]:has-text('Pause')")
            page.wait_for_url(f"{base}/console/?done=pause&edition={edition_id}")
            assert page.is_visible(f"text=Edition {edition_id}: Paused")
            assert app.edition_store.get(edition_id).status == "paused"  # type: ignore[union-attr]
            paused_at = _settled(recorder)  # the few messages already handed to the server finish
            time.sleep(3)
            assert len(recorder.messages) == paused_at < READERS  # nothing more goes out while paused
            assert page.text_content(f'[data-edition="{edition_id}"] [data-f="status"]') == "paused"
            assert page.is_hidden(f'[data-edition="{edition_id}"] [data-verb="pause"]')

            # Resume, confirmed: the rest goes out and the page follows it to the end.
            page.click(f'[data-edition="{edition_id}"] [data-verb="resume"] a')
            page.wait_for_selector("text=will get it")
            page.click("button[type=submit]:has-text('Resume')")
            page.wait_for_url(f"{base}/console/?done=resume&edition={edition_id}")
            page.evaluate("window.stillThisPage = true")
            _wait("every reader's message", lambda: len(recorder.messages) >= READERS, 60)
            _wait("the page to say it is sent", lambda: page.text_content(
                f'[data-edition="{edition_id}"] [data-f="status"]') == "sent", 20)  # fmt: skip
            assert _count(page, sent) == READERS
            assert page.evaluate("window.stillThisPage === true")
            assert errors == []
        finally:
            browser.close()

    _settled(recorder)
    received = recorder.counts()
    assert received == {reader(i): 1 for i in range(READERS)}  # everyone once, nobody twice
    ids = [
        email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]
        for _, raw in recorder.messages
    ]
    assert len(set(ids)) == READERS
    assert app.ledger.counts(edition_id)["sent"] == READERS
    actions = [(e.action, e.actor) for e in app.audit.recent(action="edition.")]
    assert actions == [("edition.resume", "ops@example.org"), ("edition.pause", "ops@example.org")]
