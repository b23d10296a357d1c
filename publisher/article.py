"""The article: what the newsroom publishes, as every other part of publisher sees it.

An ``Article`` is plain, immutable data. Parsers build one from a file (without dates); the store
adds ``published_at``/``updated_at`` and the ``guid`` fixed at first publication.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from publisher.errors import IngestError
from publisher.limits import MAX_YEAR, MIN_YEAR
from publisher.sanitize import sanitize_html
from publisher.text import clean_text, one_line, slugify

# The exact keys of an article's JSON, in order (an interface: scripts read them).
JSON_KEYS = (
    "slug",
    "source_id",
    "title",
    "section",
    "top_story",
    "source",
    "dateline",
    "authors",
    "edition",
    "summary",
    "quick_looks_title",
    "quick_looks",
    "body_html",
    "image",
    "published_at",
    "updated_at",
)

_AUTHOR_SEPARATORS = re.compile(r"\s*(?:,|&|\band\b)\s*")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "phd"}
MAX_TITLE = 300
MAX_SLUG = 80
MAX_SOURCE_ID = 300  # the column's width
# How much of a bad value an error message quotes: enough to find it, never the whole of a huge one.
QUOTE_CHARS = 60


# An image's width and height in pixels, when given: whole numbers from 1 to this (larger than any
# photo a page or feed reader shows; beyond it the number is a typo).
MAX_IMAGE_SIDE = 20_000


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str
    width: int | None = None
    height: int | None = None

    def to_json(self) -> dict[str, Any]:
        # Width and height only when known: an article without them keeps its content hash.
        data: dict[str, Any] = {"url": self.url, "alt": self.alt}
        if self.width is not None:
            data["width"] = self.width
        if self.height is not None:
            data["height"] = self.height
        return data


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    section: str
    top_story: bool = False
    source: str = ""
    dateline: str = ""
    authors: tuple[str, ...] = ()
    edition: str = ""
    summary: str = ""
    quick_looks_title: str = ""
    quick_looks: tuple[str, ...] = ()
    body_html: str = ""
    image: Image | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    # Fixed at first publication; feeds use it as the item id, whatever happens to slug or site URL.
    guid: str | None = field(default=None, compare=False)
    retracted_at: datetime | None = field(default=None, compare=False)
    # What identifies the article across ingests (the ``id`` of JSON and front matter, the file name
    # of a text or Markdown file); None means "the slug", see ``key``.
    source_id: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The source id, or the slug for articles given without one (the API, older callers)."""
        return self.source_id or self.slug

    @property
    def section_slug(self) -> str:
        return section_slug(self.section)

    @property
    def lead_bullet(self) -> str:
        return self.quick_looks[0] if self.quick_looks else self.summary

    def content_hash(self) -> str:
        """A digest of what a reader sees; equal hashes mean a re-ingest changes nothing."""
        # The source id is identity, not content: leaving it out keeps the hashes of articles stored
        # before source ids existed valid, so upgrading does not turn every re-ingest into an update.
        skipped = ("published_at", "updated_at", "source_id")
        content = {k: v for k, v in self.to_json().items() if k not in skipped}
        encoded = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "source_id": self.key,
            "title": self.title,
            "section": self.section,
            "top_story": self.top_story,
            "source": self.source,
            "dateline": self.dateline,
            "authors": list(self.authors),
            "edition": self.edition,
            "summary": self.summary,
            "quick_looks_title": self.quick_looks_title,
            "quick_looks": list(self.quick_looks),
            "body_html": self.body_html,
            "image": self.image.to_json() if self.image else None,
            "published_at": iso_utc(self.published_at),
            "updated_at": iso_utc(self.updated_at),
        }

    def with_dates(self, published_at: datetime, updated_at: datetime) -> Article:
        return replace(self, published_at=published_at, updated_at=updated_at)


@lru_cache(maxsize=1024)  # a newsroom has few sections; feeds ask for each article's slug
def section_slug(section: str) -> str:
    return slugify(section) or "general"


def iso_utc(value: datetime | None) -> str | None:
    """``2026-11-25T07:00:00Z``: ISO 8601 in UTC, whole seconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str, *, field_name: str = "published_at") -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise IngestError(f"not an ISO 8601 date-time: {quote(value)}", field=field_name) from None
    return in_range(parsed, field_name)


def in_range(value: datetime, field_name: str) -> datetime:
    """``value`` in UTC (naive is taken as UTC) if its year is within MIN_YEAR..MAX_YEAR."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-23:59 has no UTC time
        utc = None
    if utc is None or not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise IngestError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}", field=field_name)
    return utc


def quote(value: object) -> str:
    """``repr`` of a bad value for an error message, cut short and on one line."""
    shown = repr(value)
    return shown if len(shown) <= QUOTE_CHARS else shown[: QUOTE_CHARS - 1] + "…"


def split_authors(value: str) -> tuple[str, ...]:
    """``"A. Name and B. Name"`` or ``"A, B & C"`` → a tuple of names."""
    names: list[str] = []
    for part in (p.strip() for p in _AUTHOR_SEPARATORS.split(one_line(value))):
        if part and names and part.rstrip(".").lower() in _NAME_SUFFIXES:
            names[-1] = f"{names[-1]}, {part}"  # "J. Smith, Jr." is one author
        elif part:
            names.append(part)
    return tuple(names)


# -- building an article from a mapping (JSON objects, YAML front matter) ---------------------------


def article_from_mapping(data: Mapping[str, Any], *, body_html: str | None = None) -> Article:
    """Validate untrusted fields into an Article; errors name the field.

    ``body_html`` overrides ``data["body_html"]`` (Markdown bodies are rendered by the caller).
    Unknown keys are refused so that a typo (``quick_look``) is not silently dropped. ``id`` (or
    ``source_id``, so that ``--json`` output can be fed back) identifies the article; without it the
    slug does. ``updated_at`` is checked but not taken: the store keeps its own.
    """
    if not isinstance(data, Mapping):
        raise IngestError(f"expected an article object, got {type(data).__name__}")
    allowed = set(JSON_KEYS) | {"body_markdown", "id"}
    for key in data:
        if key not in allowed:
            raise IngestError("unknown field", field=_field_name(key))

    title = _text(data, "title", required=True)
    if len(title) > MAX_TITLE:
        raise IngestError(f"longer than {MAX_TITLE} characters", field="title")
    section = _text(data, "section", required=True)
    slug = _text(data, "slug") or slugify(title, MAX_SLUG)
    if not slug or slug != slugify(slug, MAX_SLUG):
        raise IngestError(
            "must be lowercase letters, digits and hyphens (and the title must contain some)",
            field="slug",
        )

    authors_raw = data.get("authors", [])
    if isinstance(authors_raw, str):
        authors = split_authors(authors_raw)
    else:
        authors = tuple(one_line(a) for a in _string_list(authors_raw, "authors") if one_line(a))

    top_story = data.get("top_story", False)
    if not isinstance(top_story, bool):
        raise IngestError("expected true or false", field="top_story")

    raw_body = body_html if body_html is not None else data.get("body_html", "")
    if not isinstance(raw_body, str):
        raise IngestError("expected a string of HTML", field="body_html")
    _datetime(data.get("updated_at"), "updated_at")

    return Article(
        slug=slug,
        title=title,
        section=section,
        top_story=top_story,
        source=_text(data, "source"),
        dateline=_text(data, "dateline"),
        authors=authors,
        edition=_text(data, "edition"),
        summary=_text(data, "summary"),
        quick_looks_title=_text(data, "quick_looks_title"),
        quick_looks=tuple(
            b for b in (one_line(x) for x in _string_list(data.get("quick_looks", []), "quick_looks")) if b
        ),
        body_html=sanitize_html(raw_body),
        image=_image(data.get("image")),
        published_at=_datetime(data.get("published_at"), "published_at"),
        source_id=_source_id(data),
    )


def check_source_id(value: str, field_name: str = "id") -> str:
    """A source id as stored: one line, not empty, at most MAX_SOURCE_ID characters."""
    text = one_line(value)
    if not text:
        raise IngestError("must not be empty", field=field_name)
    if len(text) > MAX_SOURCE_ID:
        raise IngestError(f"longer than {MAX_SOURCE_ID} characters", field=field_name)
    return text


def _source_id(data: Mapping[str, Any]) -> str | None:
    given = {key: data[key] for key in ("id", "source_id") if data.get(key) is not None}
    found: set[str] = set()
    for key, value in given.items():
        # Integers are common ids in exported JSON; floats and booleans are not ids.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise IngestError(f"expected text or a whole number, got {type(value).__name__}", field=key)
        found.add(check_source_id(str(value), key))
    if len(found) > 1:
        raise IngestError("differs from 'id'; give one of them", field="source_id")
    return found.pop() if found else None


def _field_name(key: object) -> str:
    """A field name fit for an error message, whatever the key was (huge, binary, not text)."""
    name = one_line(str(key)) if isinstance(key, str) else quote(key)
    return name if len(name) <= QUOTE_CHARS else name[: QUOTE_CHARS - 1] + "…"


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise IngestError("required", field=key)
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise IngestError(f"expected text, got {type(value).__name__}", field=key)
    if isinstance(value, float) and not math.isfinite(value):
        raise IngestError(f"expected text, got the number {value}", field=key)
    text = one_line(str(value))
    if required and not text:
        raise IngestError("must not be empty", field=key)
    return text


def _string_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise IngestError("expected a list of strings", field=key)
    return [clean_text(v) for v in value]


def _datetime(value: Any, field_name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # YAML front matter gives datetimes already
        return in_range(value, field_name)
    if not isinstance(value, str):
        raise IngestError("expected an ISO 8601 date-time", field=field_name)
    return parse_iso(value, field_name=field_name)


def _image(value: Any) -> Image | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = {"url": value, "alt": ""}
    if not isinstance(value, Mapping):
        raise IngestError("expected {url, alt, width, height}", field="image")
    url = value.get("url") or ""
    if not isinstance(url, str):
        raise IngestError(f"expected text, got {type(url).__name__}", field="image.url")
    url = one_line(url)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:  # e.g. an unbalanced "[" in the host
        valid = False
    if not valid:
        raise IngestError(f"not an absolute http(s) URL: {quote(url)}", field="image.url")
    alt = value.get("alt", "")
    if not isinstance(alt, str):
        raise IngestError("expected text", field="image.alt")
    return Image(url=url, alt=one_line(alt), width=_image_side(value, "width"),
                 height=_image_side(value, "height"))  # fmt: skip


def _image_side(image: Mapping[str, Any], key: str) -> int | None:
    value = image.get(key)
    if value is None:
        return None
    # JSON and YAML give whole numbers as int; a bool is an int to Python but no size.
    if isinstance(value, bool) or not isinstance(value, int):
        raise IngestError(f"expected a whole number of pixels, got {quote(value)}", field=f"image.{key}")
    if not 1 <= value <= MAX_IMAGE_SIDE:
        raise IngestError(f"expected 1 to {MAX_IMAGE_SIDE} pixels, got {value}", field=f"image.{key}")
    return value
