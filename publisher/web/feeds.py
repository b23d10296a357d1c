"""``/feeds/...``: the files of PUBLISHER_FEEDS_DIR, cheap to poll; ``/sitemap.xml``,
``/sitemaps/<name>.xml`` and ``/robots.txt``, written there by the same build, served the same way.

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
from publisher.feeds.sitemaps import FOLDER as SITEMAP_FOLDER
from publisher.feeds.sitemaps import INDEX_PATH, ROBOTS_PATH
from publisher.feeds.store import etag, safe_relative

CONTENT_TYPES = {ext: f"{MEDIA_TYPES[fmt]}; charset=utf-8" for fmt, ext in EXTENSIONS.items()}
# The sitemaps and robots.txt, written with the feeds into the same folder (feeds/sitemaps.py).
SITEMAP_TYPES = {"xml": "application/xml; charset=utf-8", "txt": "text/plain; charset=utf-8"}


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
    def __init__(self, root: str | Path, max_age: int, content_types: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.cache_control = f"public, max-age={max_age}"
        self.content_types = content_types or CONTENT_TYPES
        self._cache: dict[str, CachedFeed] = {}

    def get(self, path: str) -> CachedFeed | None:
        try:
            rel = safe_relative(path)
        except FeedError:
            return None
        content_type = self.content_types.get(PurePosixPath(rel.name).suffix.lstrip("."))
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


def _files(request: Request, *, sitemaps: bool = False) -> FeedFiles:
    state = request.app.state
    attribute = "sitemap_files" if sitemaps else "feed_files"
    files = getattr(state, attribute, None)
    if files is None:
        settings = state.publisher.settings
        types = SITEMAP_TYPES if sitemaps else CONTENT_TYPES
        files = FeedFiles(settings.feeds_dir, settings.feed_max_age, types)
        setattr(state, attribute, files)
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
    return _serve(request, _files(request), request.path_params["path"], "no such feed\n")


async def serve_sitemap(request: Request) -> Response:
    name = request.path_params.get("name")
    if name is None:
        path = INDEX_PATH if request.url.path == "/sitemap.xml" else ROBOTS_PATH
    elif "/" in name or not name.endswith(".xml") or name == "index.xml":
        return PlainTextResponse("no such sitemap\n", status_code=404)
    else:
        path = f"{SITEMAP_FOLDER}/{name}"
    return _serve(request, _files(request, sitemaps=True), path, "no such sitemap\n")


def _serve(request: Request, files: FeedFiles, path: str, missing: str) -> Response:
    feed = files.get(path)
    if feed is None:
        return PlainTextResponse(missing, status_code=404)
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
router.add_route("/sitemap.xml", serve_sitemap, methods=["GET", "HEAD"], include_in_schema=False)
router.add_route("/sitemaps/{name}", serve_sitemap, methods=["GET", "HEAD"], include_in_schema=False)
router.add_route("/robots.txt", serve_sitemap, methods=["GET", "HEAD"], include_in_schema=False)
