"""Screenshots for a person: the Morning Edition email, or the newsroom console.

Email (the default): renders the full 12-article edition used by bench/render.py for a sample
reader and saves ``morning-375.png`` and ``morning-600.png`` (and the HTML) with headless Chromium
(Debian ``chromium``). Headless Chromium has a 500 px minimum window, so the 375 px shot is the
email in a 375 px iframe on a grey page. Images are grey placeholders (data: URIs), so the shots
need no network.

Console (``--console``): starts publisher on 127.0.0.1 with a demo dataset in a temporary folder
(the example articles, 48 readers across eight time zones, this morning's edition half-way through
its wave: the zones already due sent into the Maildir outbox, the rest pending), logs in as an ops
user in Chromium (Playwright, ``executable_path``) and saves the Today and Edition pages at 375 and
1280 px: ``today-375.png``, ``today-1280.png``, ``edition-375.png``, ``edition-1280.png``.

Usage: python bench/screenshots.py [--out var/screenshots] [--height PX] [--dark]
       python bench/screenshots.py --console [--out docs/screenshots] [--dark]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.render import DAY, twelve_articles  # noqa: E402
from publisher.article import Image  # noqa: E402
from publisher.edition import EditionSpec, compile_edition, select_articles  # noqa: E402
from publisher.edition.personalize import html_values  # noqa: E402
from publisher.edition.preview import sample_recipient  # noqa: E402
from publisher.settings import Settings  # noqa: E402
from tests.chromium import screenshot  # noqa: E402

PLACEHOLDER_IMAGE = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675">'
    '<rect width="100%" height="100%" fill="#b9b4a8"/></svg>'
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--height", type=int, default=6000, help="window height, px")
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    parser.add_argument("--console", action="store_true", help="the console's Today and Edition pages")
    args = parser.parse_args()
    if args.console:
        default = args.out == Path("var/screenshots")
        console_screenshots(ROOT / "docs" / "screenshots" if default else args.out, dark=args.dark)
        return

    settings = Settings(site_url="https://news.example.com")
    articles = [
        replace(a, image=Image(PLACEHOLDER_IMAGE, a.image.alt if a.image else "")) for a in twelve_articles()
    ]
    edition = select_articles(articles, EditionSpec.from_settings(settings), DAY)
    compiled = compile_edition(edition, settings)
    html = compiled.html.fill(html_values(sample_recipient(settings)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "morning.html").write_text(html, encoding="utf-8")
    suffix = "-dark" if args.dark else ""
    for width in (375, 600):
        path = screenshot(
            html, width, args.out / f"morning-{width}{suffix}.png", height=args.height, dark=args.dark
        )
        print(f"wrote {path}")


# Eight zones, east to west: at the shot's moment the first four are due (sent), the rest to come.
ZONES = ("Pacific/Auckland", "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin", "Europe/London",
         "America/New_York", "America/Chicago", "America/Los_Angeles")  # fmt: skip
PASSWORD = "demo password for the screenshots"
# Taller pages are cut here: the top of a page is what the shot is for.
MAX_HEIGHT = {375: 2600, 1280: 1800}


def console_screenshots(out: Path, *, dark: bool = False) -> None:
    import tempfile
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import sync_playwright

    from publisher.app import App
    from publisher.edition.selection import load_edition
    from publisher.schedule.model import edition_schedule
    from publisher.subscribers.model import validate
    from publisher.web import create_app
    from tests.chromium import CHROMIUM
    from tests.console_helpers import login, make_user
    from tests.live_server import serving

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(database_url=f"sqlite:///{folder / 'demo.db'}", feeds_dir=str(folder / "feeds"),
                            var_dir=str(folder / "var"), site_url="http://127.0.0.1")  # fmt: skip
        app = App(settings)
        now = datetime.now(UTC)
        list(app.ingest([ROOT / "examples" / "articles"], published_at=now - timedelta(hours=2)))
        app.schedules.add(edition_schedule("morning", at="07:00"))
        app.subscribers.upsert_many([validate(f"reader{n:02d}@example.org", f"Reader {n}", ZONES[n % 8])
                                     for n in range(48)])  # fmt: skip
        edition = load_edition(app.articles, EditionSpec.from_settings(settings), now.date(), cutoff=now)
        edition_id = app.edition_store.create(edition)
        due = {zone: now + timedelta(hours=i - 3.5) for i, zone in enumerate(ZONES)}
        app.lifecycle.fill(edition_id, {a.section_slug for a in edition.pool}, due_at=due)
        ids = app.lifecycle.queue_pending(edition_id, now)
        app.lifecycle.started(edition_id, now)
        app.delivery.enqueue_rows(edition_id, ids)  # in-process: into the Maildir outbox
        make_user(app, "ops@example.com", "ops", PASSWORD)
        with serving(create_app(app)) as (host, port), sync_playwright() as playwright:
            base = f"http://{host}:{port}"
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            suffix = "-dark" if dark else ""
            for width in (375, 1280):
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              color_scheme="dark" if dark else "light")  # fmt: skip
                page = context.new_page()
                login(page, base, "ops@example.com", PASSWORD)
                for name, path in (("today", "/console/"), ("edition", f"/console/editions/{edition_id}")):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    # The whole page in the window: Chromium paints the preview frames only there.
                    height = min(
                        int(page.evaluate("document.documentElement.scrollHeight")), MAX_HEIGHT[width]
                    )
                    page.set_viewport_size({"width": width, "height": height})
                    page.wait_for_timeout(800)
                    target = out / f"{name}-{width}{suffix}.png"
                    page.screenshot(path=str(target))
                    print(f"wrote {target}")
                context.close()
            browser.close()
        app.close()


if __name__ == "__main__":
    main()
