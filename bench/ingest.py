"""Ingest speed: parse 10,000 generated Newslooks articles, then ingest them into a fresh SQLite.

Targets (issue 2): parsing alone >= 5,000 articles/s; ingest into SQLite >= 1,000 articles/s.
Usage: python bench/ingest.py [--articles N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._articles import newslooks_text
from publisher.app import App
from publisher.ingest.newslooks import parse_newslooks
from publisher.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    texts = [newslooks_text(i) for i in range(args.articles)]
    started = time.perf_counter()
    for text in texts:
        parse_newslooks(text)
    parse_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / f"{i:05d}.txt").write_text(text, encoding="utf-8")
        app = App(Settings(database_url=f"sqlite:///{tmp}/bench.db", var_dir=tmp, feeds_dir=f"{tmp}/feeds"))
        app.db.upgrade()  # schema creation is not ingest work
        started = time.perf_counter()
        lines = list(app.ingest([folder]))
        ingest_s = time.perf_counter() - started
        created = sum(1 for line in lines if line.status == "created")
        started = time.perf_counter()
        unchanged = sum(1 for line in app.ingest([folder]) if line.status == "unchanged")
        reingest_s = time.perf_counter() - started
        app.close()
    if created != args.articles or unchanged != args.articles:
        sys.exit(f"expected {args.articles} created and unchanged, got {created} and {unchanged}")

    result = {
        "articles": args.articles,
        "parse_per_s": round(args.articles / parse_s),
        "ingest_per_s": round(args.articles / ingest_s),
        "reingest_unchanged_per_s": round(args.articles / reingest_s),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"articles:             {result['articles']}")
        print(f"parse only:           {result['parse_per_s']:>8,} articles/s  (target >= 5,000)")
        print(f"ingest into SQLite:   {result['ingest_per_s']:>8,} articles/s  (target >= 1,000)")
        print(f"re-ingest, unchanged: {result['reingest_unchanged_per_s']:>8,} articles/s")


if __name__ == "__main__":
    main()
