"""The HTML a reader sees on the site, rendered from ``templates/web/`` with autoescape on.

Every page extends ``web/base.html`` and links the one stylesheet, ``/static/site.css``, whose URL
carries a hash of its bytes so browsers may keep it for a year. ``PUBLISHER_TEMPLATES_DIR``
overrides the pages as it does the email: a file at ``<dir>/web/<name>`` replaces the shipped one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from publisher.edition.compile import date_in_words
from publisher.errors import ConfigError
from publisher.settings import Settings
from publisher.text import one_line

STYLESHEET = "site.css"
SCRIPT = "subscribe.js"  # the site's only script: fills the subscribe form's time zone


def _shipped_dir() -> Path:
    """``templates/`` of the source tree (an editable install), else of the working directory (the
    Docker image keeps the project in /app)."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = root / "templates" / "web"
        if candidate.is_dir():
            return candidate.parent
    raise ConfigError("templates/web/ not found beside the package or in the working directory")


def long_date(value: date | datetime) -> str:
    """``Friday, December 4, 2026``: how people write dates, the same in every server locale."""
    return date_in_words(value.date() if isinstance(value, datetime) else value)


@lru_cache(maxsize=8)
def web_templates(override_dir: str = "") -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override_dir:
        loaders.append(jinja2.FileSystemLoader(override_dir))
    loaders.append(jinja2.FileSystemLoader(str(_shipped_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,  # every page is HTML; nothing is trusted by default
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["long_date"] = long_date
    env.filters["one_line"] = one_line
    return env


@lru_cache(maxsize=8)
def stylesheet(override_dir: str = "") -> tuple[bytes, str]:
    """The site's CSS and its short content hash (the cache-busting version and the ETag)."""
    return asset(override_dir, STYLESHEET)


@lru_cache(maxsize=16)
def asset(override_dir: str, name: str) -> tuple[bytes, str]:
    """A file of ``templates/web/`` (overridable) and its short content hash."""
    source, _name, _uptodate = web_templates(override_dir).loader.get_source(  # type: ignore[union-attr]
        web_templates(override_dir), f"web/{name}"
    )
    body = source.encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:16]


def asset_url(settings: Settings, name: str) -> str:
    return f"/static/{name}?v={asset(settings.templates_dir, name)[1]}"


def render(
    settings: Settings,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page; reader pages hold tokens, so nothing is cached unless ``headers`` says so."""
    env = web_templates(settings.templates_dir)
    _css, version = stylesheet(settings.templates_dir)
    html = env.get_template(f"web/{template}").render(
        site_title=settings.site_title,
        language=settings.language,
        stylesheet_url=f"/static/{STYLESHEET}?v={version}",
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers or {"Cache-Control": "no-store"})


# ?page=N of a paged list: a whole number from 1, at most six digits (no list has a million pages).
_PAGE = re.compile(r"[1-9][0-9]{0,5}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a paged list is: page ``page`` of ``pages`` at ``path`` (newest first)."""

    page: int
    pages: int
    path: str

    def url(self, page: int) -> str:
        return self.path if page == 1 else f"{self.path}?page={page}"

    @property
    def newer_url(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def older_url(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None


def pager(request: Request, total: int, size: int) -> Pager | None:
    """The page ``?page=`` asks for among ``total`` items ``size`` to a page, or None when there is
    no such page (not a number, 0, past the last); an empty list has one, empty, page."""
    raw = request.query_params.get("page", "1")
    if not _PAGE.fullmatch(raw):
        return None
    pages = max(1, -(-total // size))
    page = int(raw)
    return Pager(page, pages, request.url.path) if page <= pages else None


def message_page(settings: Settings, heading: str, text: str, *, status_code: int = 200) -> HTMLResponse:
    """A page that only says something: an error, a confirmation."""
    return render(settings, "message.html", status_code=status_code, heading=heading, text=text)


def invalid_link(settings: Settings) -> HTMLResponse:
    return message_page(
        settings,
        "Invalid link",
        "This link is not valid. Use the link from the newest email you received.",
        status_code=400,
    )


def not_found(settings: Settings, text: str = "There is no page at this address.") -> HTMLResponse:
    return message_page(settings, "Not found", text, status_code=404)
