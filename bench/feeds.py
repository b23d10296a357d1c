"""Feed speed: 10,000 articles over 10 sections, then build, refresh and serve the feeds.

- full build: every feed (site + 10 sections) in every format (RSS, Atom, JSON): 33 feeds, with
  their monthly archive pages (Atom and RSS), the sitemaps, robots.txt and the editions feeds,
  into an empty folder. Target < 1 s.
- refresh after one article changes: the site feed and that article's section, 3 formats each.
  Target < 0.2 s.
- conditional GETs (If-None-Match → 304) answered by `publisher serve` on loopback, from a bounded
  asyncio load loop (keep-alive, several connections, a fixed number of requests).
  Target >= 3,000 responses/s.
Usage: python bench/feeds.py [--articles N] [--requests N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._articles import newslooks_text  # noqa: E402
from publisher.app import App  # noqa: E402
from publisher.ingest.newslooks import parse_newslooks  # noqa: E402
from publisher.settings import Settings  # noqa: E402

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def seed(app: App, count: int) -> None:
    articles = []
    for i in range(count):
        article = parse_newslooks(newslooks_text(i))
        when = BASE + timedelta(minutes=i)
        articles.append(replace(article, slug=f"{article.slug}-{i}", published_at=when))
    for start in range(0, count, 1000):
        app.articles.save_many(articles[start : start + 1000])


def timed(func):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from publisher.cli import main; main()",
               "serve", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("publisher serve did not start")


async def conditional_gets(port: int, requests: int, connections: int) -> float:
    """Raw HTTP/1.1 keep-alive clients (an HTTP library would be the bottleneck, not the server)."""
    path = "/feeds/index.rss"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    status, headers, _ = await _response(reader)
    writer.close()
    if status != 200:
        sys.exit(f"GET {path}: {status}")
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nIf-None-Match: {headers['etag']}\r\n\r\n".encode()

    async def client(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(request)
            status, _, _ = await _response(reader)
            if status != 304:
                raise SystemExit(f"expected 304, got {status}")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(requests // connections) for _ in range(connections)))
    return (requests // connections * connections) / (time.perf_counter() - started)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            feeds_dir=f"{tmp}/feeds",
            var_dir=tmp,
            site_url="https://news.example.com",
        )
        app = App(settings)
        seed(app, args.articles)
        build, full_build_s = timed(app.feeds.build_all)
        if build.errors or (len(build.records) != 33 and args.articles >= 10 * settings.feed_items):
            sys.exit(f"full build: {len(build.records)} feeds, errors: {build.errors}")

        newest = app.articles.list(limit=1)[0]
        changed = replace(newest, title=newest.title + " (updated)")
        app.articles.save_many([changed])
        refresh, refresh_s = timed(lambda: app.feeds.refresh([changed.section_slug]))
        changed_paths = sorted(r.path for r in refresh.changed + refresh.files if r.changed)
        files = len(build.files)
        app.close()

        env = {**os.environ, **{f"PUBLISHER_{k.upper()}": v for k, v in {
            "database_url": settings.database_url, "feeds_dir": settings.feeds_dir,
            "var_dir": tmp, "site_url": settings.site_url}.items()}}  # fmt: skip
        port = free_port()
        server = serve(env, port)
        try:
            rps = asyncio.run(conditional_gets(port, args.requests, args.connections))
        finally:
            server.terminate()
            server.wait(timeout=10)

    result = {
        "articles": args.articles,
        "full_build_s": round(full_build_s, 3),
        "other_files": files,
        "refresh_s": round(refresh_s, 3),
        "conditional_get_rps": round(rps),
        # Others' work on the machine moves these figures: report them with it.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"articles:                    {args.articles} in 10 sections")
    print(f"full build (33 feeds + {files} other files): {full_build_s:.3f} s   (target < 1 s)")
    print(f"refresh after one change:    {refresh_s:.3f} s   (target < 0.2 s)")
    print(f"  rewrote: {', '.join(changed_paths)}")
    print(f"conditional GETs (304):      {rps:,.0f} /s  (target >= 3,000; {args.connections} connections)")
    print(f"load average (1, 5, 15 min): {', '.join(str(x) for x in result['load_average'])}")


if __name__ == "__main__":
    main()
