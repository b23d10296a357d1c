"""Morning Edition rendering speed.

- compile: a 12-article edition (every article with an image and 7 Quick Looks bullets) through
  Jinja → MJML (mjml-python) → premailer, as done once per edition and section selection.
  The median of --compiles runs after one warm-up (template loading). Target < 100 ms.
- personalize: fill one reader's placeholders and build the complete MIME message (bytes, CRLF,
  quoted-printable, all headers) with ``render_message``, for --messages distinct readers, in
  this one process (one core). Target >= 10,000 messages/s.

Usage: python bench/render.py [--compiles N] [--messages N] [--json]
``--json`` prints one line: {"compile_ms": ..., "personalize_per_s": ...}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.article import Article, Image  # noqa: E402
from publisher.edition import EditionSpec, Recipient, compile_edition, select_articles  # noqa: E402
from publisher.ingest import parse_paths  # noqa: E402
from publisher.mail.message import render_message  # noqa: E402
from publisher.settings import Settings  # noqa: E402

DAY = date(2026, 11, 25)
SENT = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def twelve_articles() -> list[Article]:
    examples = [p.article for p in parse_paths([ROOT / "examples" / "articles"]) if p.article]
    out = []
    for i in range(12):
        a = examples[i % len(examples)]
        bullets = (a.quick_looks + tuple(f"One more point about {a.section} number {n}" for n in range(7)))[
            :7
        ]
        when = SENT - timedelta(minutes=5 + 10 * i)
        out.append(
            replace(
                a.with_dates(when, when),
                slug=f"{a.slug}-{i}",
                title=a.title if i < len(examples) else f"Follow-up: {a.title}",
                quick_looks=bullets,
                image=Image(f"https://news.example.com/images/{i}.jpg", f"Photo: {a.title}"),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compiles", type=int, default=20)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    settings = Settings(
        site_url="https://news.example.com", mail_from="Newslooks <editions@news.example.com>"
    )
    edition = select_articles(twelve_articles(), EditionSpec.from_settings(settings), DAY)
    assert len(edition.articles) == 12

    compile_edition(edition, settings)  # warm-up: template loading and compiling
    times = []
    for _ in range(args.compiles):
        start = time.perf_counter()
        compiled = compile_edition(edition, settings)
        times.append(time.perf_counter() - start)
    compile_ms = statistics.median(times) * 1000

    readers = [
        Recipient(
            email=f"reader{i}@example.com",
            name=f"Reader Number{i}" if i % 3 else f"Zoë Ågren {i}",
            unsubscribe_url=f"https://news.example.com/unsubscribe/{i:08d}.c2lnbmF0dXJlLXRva2Vu",
            preferences_url=f"https://news.example.com/preferences/{i:08d}.c2lnbmF0dXJlLXRva2Vu",
        )
        for i in range(args.messages)
    ]
    render_message(compiled, readers[0], settings, message_id="warm-up", date=SENT)
    total_bytes = 0
    start = time.perf_counter()
    for i, reader in enumerate(readers):
        total_bytes += len(render_message(compiled, reader, settings, message_id=f"e20261125.{i}", date=SENT))
    elapsed = time.perf_counter() - start
    per_s = args.messages / elapsed

    if args.json:
        print(json.dumps({"compile_ms": round(compile_ms, 2), "personalize_per_s": round(per_s)}))
        return
    html_kb = len(compiled.html.fill({k: "" for k in compiled.html.fields}).encode()) / 1024
    print(f"compile 12 articles:  {compile_ms:7.2f} ms median of {args.compiles} "
          f"(min {min(times) * 1000:.2f}, max {max(times) * 1000:.2f}); HTML {html_kb:.1f} KB  "
          f"target < 100 ms")  # fmt: skip
    print(f"personalize + MIME:   {per_s:9,.0f} messages/s ({args.messages:,} messages, "
          f"{total_bytes / args.messages / 1024:.1f} KB each, one core)  target >= 10,000/s")  # fmt: skip


if __name__ == "__main__":
    main()
