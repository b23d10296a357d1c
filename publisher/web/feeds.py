"""``/feeds/...``: the files of PUBLISHER_FEEDS_DIR, cheap to poll.

Feed readers poll often and mostly get "nothing changed", so that answer must cost next to nothing:
each file is read once per version (inode, mtime, size) and kept in memory with its gzip form,
strong ETags and headers; a request is one ``stat`` and a dict lookup. A plain Starlette route (no
FastAPI validation) keeps the per-request overhead low.

ETag: strong, from the bytes (the gzip form has its own, as RFC 9110 asks of strong tags).
Last-Modified: the file's mtime, which the FeedStore sets from the content (store.py).
If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
"""

from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path, PurePosixPath

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from publisher.errors import FeedError
from publisher.feeds.catalog import EXTENSIONS, MEDIA_TYPES
from publisher.feeds.store import etag, safe_relative

CONTENT_TYPES = {ext: f"{MEDIA_TYPES[fmt]}; charset=utf-8" for fmt, ext in EXTENSIONS.items()}


@dataclass(frozen=True, slots=True)
class CachedFeed:
    key: tuple[int, int, int]  # (inode, mtime_ns, size): a new version is a new key
    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str
    last_modified: str  # HTTP date
    last_modified_ts: int
    content_type: str


class FeedFiles:
    def __init__(self, root: str | Path, max_age: int) -> None:
        self.root = Path(root)
        self.cache_control = f"public, max-age={max_age}"
        self._cache: dict[str, CachedFeed] = {}

    def get(self, path: str) -> CachedFeed | None:
        try:
            rel = safe_relative(path)
        except FeedError:
            return None
        content_type = CONTENT_TYPES.get(PurePosixPath(rel.name).suffix.lstrip("."))
        if content_type is None:
            return None
        file = self.root.joinpath(*rel.parts)
        try:
            st = os.stat(file)
        except (OSError, ValueError):  # ValueError: a NUL byte in the path, which no file has
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached.key == key:
            return cached
        try:
            body = file.read_bytes()
        except OSError:  # a directory, or gone since the stat
            return None
        # Last-Modified may not be in the future (RFC 9110 8.8.2.1): a future-dated article's is now.
        modified = min(int(st.st_mtime), int(time.time()))
        tag = etag(body)
        cached = CachedFeed(
            key=key,
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=tag,
            gzip_etag=tag[:-1] + '-gzip"',
            last_modified=formatdate(modified, usegmt=True),
            last_modified_ts=modified,
            content_type=content_type,
        )
        self._cache[path] = cached
        return cached


def _wants_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding in ("gzip", "*"):
            q = 1.0
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            return q > 0
    return False


def _files(request: Request) -> FeedFiles:
    state = request.app.state
    files = getattr(state, "feed_files", None)
    if files is None:
        settings = state.publisher.settings
        files = state.feed_files = FeedFiles(settings.feeds_dir, settings.feed_max_age)
    return files


def _not_modified(request: Request, feed: CachedFeed) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return feed.etag in tags or feed.gzip_etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and feed.last_modified_ts <= since.timestamp()
    return False


async def serve_feed(request: Request) -> Response:
    files = _files(request)
    feed = files.get(request.path_params["path"])
    if feed is None:
        return PlainTextResponse("no such feed\n", status_code=404)
    gzipped = _wants_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "etag": feed.gzip_etag if gzipped else feed.etag,
        "last-modified": feed.last_modified,
        "cache-control": files.cache_control,
        "vary": "Accept-Encoding",
    }
    if _not_modified(request, feed):
        return Response(status_code=304, headers=headers)
    body = feed.gzipped if gzipped else feed.body
    if gzipped:
        headers["content-encoding"] = "gzip"
    headers["content-type"] = feed.content_type
    if request.method == "HEAD":
        headers["content-length"] = str(len(body))
        return Response(status_code=200, headers=headers)
    return Response(body, status_code=200, headers=headers)


router = APIRouter()
router.add_route("/feeds/{path:path}", serve_feed, methods=["GET", "HEAD"], include_in_schema=False)
