"""A reader signs up in a real browser and gets the edition at their own hour in their own zone.

Headless Chromium (the Debian package, driven by Playwright with ``executable_path``: nothing is
downloaded) at 375 px, its time zone Asia/Kathmandu; ``publisher``'s web app on uvicorn on
127.0.0.1; a real SMTP server on loopback (``tests/smtp_recorder.py``) receives every email.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from publisher.app import App
from publisher.schedule.model import edition_schedule
from publisher.subscribers.model import Status
from publisher.web import create_app
from tests.chromium import CHROMIUM
from tests.conftest import EXAMPLES, REQUIRE_SERVICES
from tests.smtp_recorder import Recorder, SmtpServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRE_SERVICES,
                       reason="needs headless Chromium: apt-get install -y chromium"),
]  # fmt: skip
READER = "maya@example.org"


def _wait(what: str, check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _messages(recorder: Recorder) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for rcpt, raw in list(recorder.messages) if rcpt == READER]  # fmt: skip


def _text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def stack(make_settings) -> Iterator[tuple[App, str, Recorder]]:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with SmtpServer(recorder) as smtp:
        app = App(make_settings(smtp_url=smtp.url, site_url=base))
        # Tomorrow's edition freezes before its first zone (UTC+14) is due, i.e. in today's UTC
        # afternoon: published at noon UTC today, the stories are in it whatever the hour now.
        noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        list(app.ingest([EXAMPLES / "articles"], published_at=noon))
        server = uvicorn.Server(uvicorn.Config(create_app(app), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        _wait("the server", lambda: server.started, 10)
        try:
            yield app, base, recorder
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            app.close()


def test_a_reader_in_kathmandu_signs_up_confirms_and_gets_the_edition_at_their_hour(stack) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    app, base, recorder = stack
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 375, "height": 800},
                                       timezone_id="Asia/Kathmandu").new_page()  # fmt: skip
            errors: list[str] = []  # script errors, CSP refusals, failed loads (but the favicon)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
            page.goto(f"{base}/subscribe")
            # The script filled the zone from the browser (Chromium names it Asia/Katmandu).
            zone = page.input_value("#timezone")
            assert zone in ("Asia/Kathmandu", "Asia/Katmandu")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
            page.fill("#email", READER)
            page.fill("#name", "Maya")
            page.select_option("#hour", "06:30")
            page.check("input[name=section][value=World]")
            page.click("button[type=submit]")
            page.wait_for_selector("text=Check your inbox")

            _wait("the confirmation", lambda: len(_messages(recorder)) == 1)
            [confirmation] = _messages(recorder)
            assert confirmation["Subject"] == "Confirm your subscription to the Morning Edition"
            link = re.search(r"http://\S+/confirm/\S+", _text(confirmation))
            assert link is not None
            page.goto(link.group(0))
            assert app.subscribers.find(READER).status == Status.PENDING  # type: ignore[union-attr]
            page.click("text=Confirm my subscription")
            page.wait_for_selector("text=You are subscribed.")
            assert errors == []
        finally:
            browser.close()

    reader = app.subscribers.find(READER)
    assert reader is not None and reader.status == Status.ACTIVE
    assert (reader.timezone, reader.send_time, reader.sections) == (zone, "06:30", ("World",))
    _wait("the welcome", lambda: len(_messages(recorder)) == 2)
    assert _messages(recorder)[1]["Subject"] == "Welcome to the Morning Edition"

    # Tomorrow's edition: at 06:30 in Kathmandu (UTC+5:45) is 00:45 UTC, not the schedule's 07:00.
    app.schedules.add(edition_schedule("morning", at="07:00"))
    day = datetime.now(UTC).date() + timedelta(days=1)
    due = datetime(day.year, day.month, day.day, 6, 30, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert (due.hour, due.minute) == (0, 45)
    app.scheduler.sweep(due - timedelta(minutes=1))
    assert len(_messages(recorder)) == 2  # not yet
    app.scheduler.sweep(due + timedelta(seconds=30))
    _wait("the edition", lambda: len(_messages(recorder)) == 3)
    edition = _messages(recorder)[2]
    assert edition["Subject"].startswith("Morning Edition")
    assert "Good morning, Maya." in _text(edition)
