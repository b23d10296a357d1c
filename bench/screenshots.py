"""Screenshots of the Morning Edition at phone (375 px) and desktop (600 px) widths, for a person.

Renders the full 12-article edition used by bench/render.py for a sample reader and saves
``morning-375.png`` and ``morning-600.png`` (and the HTML) with headless Chromium (Debian
``chromium``). Headless Chromium has a 500 px minimum window, so the 375 px shot is the email in a
375 px iframe on a grey page.

Images are grey placeholders (data: URIs), so the shots need no network.

Usage: python bench/screenshots.py [--out var/screenshots] [--height PX] [--dark]
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
