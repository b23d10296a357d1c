"""Compile an edition into its email: Jinja → MJML → mjml-python → premailer, once.

    compile_edition(edition, settings, sections=None, templates=None) -> CompiledEdition

is what delivery calls, once per distinct section selection (``CompiledEditions`` memoises that);
``render_message`` in ``publisher.mail.message`` then fills one reader's placeholders. ``sections``
is the reader's followed sections (names or slugs); None means all of them.

premailer runs with ``strip_important=False`` (its default strips ``!important`` inside the kept
``@media`` rules and breaks the mobile layout), ``allow_network=False``, and the ``<!doctype html>``
it drops is put back (without it browsers render in quirks mode).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

import jinja2
import mjml
from premailer import Premailer

from publisher.article import Article
from publisher.edition.personalize import ANONYMOUS_NAME, Filler, Placeholders
from publisher.edition.selection import Edition
from publisher.edition.templates import email_templates, template_names
from publisher.errors import RenderError
from publisher.settings import Settings
from publisher.text import one_line

DOCTYPE = "<!doctype html>"
GMAIL_CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" beyond this
log = logging.getLogger(__name__)
# Headlines of the stories after the lead show this many of their bullets in Quick Looks.
OTHER_BULLETS = 3
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
_TAG_GAP = re.compile(r">[ \t]+<")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class CompiledEdition:
    """An edition rendered for one section selection, its personal parts still placeholders."""

    edition: Edition  # the articles this selection got
    sections: frozenset[str] | None
    subject: str
    html: Filler
    text: Filler
    # Per-settings MIME pieces, prepared by publisher.mail.message on first use.
    mime_cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def compile_edition(
    edition: Edition,
    settings: Settings,
    sections: frozenset[str] | None = None,
    templates: jinja2.Environment | None = None,
) -> CompiledEdition:
    """Render ``edition`` (restricted to ``sections``) once, with placeholders for the reader."""
    view = edition.for_sections(sections)
    placeholders = Placeholders.fresh()
    env = templates or email_templates(settings.templates_dir)
    context = _context(view, settings, placeholders, personal=True)
    html = render_html(env, context)
    if len(html.encode("utf-8")) > GMAIL_CLIP_BYTES:
        log.warning("edition %s of %s: HTML is %d bytes, Gmail clips it after %d",
                    view.name, view.date, len(html.encode("utf-8")), GMAIL_CLIP_BYTES)  # fmt: skip
    return CompiledEdition(
        edition=view,
        sections=sections,
        subject=view.subject or render_subject(env, context),
        html=Filler.split(html, placeholders),
        text=Filler.split(render_text(env, context), placeholders),
    )


def compile_archive_html(
    edition: Edition, settings: Settings, templates: jinja2.Environment | None = None
) -> str:
    """The web archive page of an edition: no greeting, no address, no unsubscribe links."""
    env = templates or email_templates(settings.templates_dir)
    placeholders = Placeholders.fresh()
    html = render_html(env, _context(edition, settings, placeholders, personal=False))
    # An overriding template may use placeholders in archive mode too: fill them impersonally.
    site = escape(settings.site_url, quote=True)
    impersonal = {"name": ANONYMOUS_NAME, "email": "", "unsubscribe_url": site, "preferences_url": site}
    return Filler.split(html, placeholders).fill(impersonal)


class CompiledEditions:
    """Compile an edition once per distinct article selection, however many readers share it.

    Two section selections that pick the same articles share one compile; ``compiles`` counts
    the real ones.
    """

    def __init__(
        self, edition: Edition, settings: Settings, templates: jinja2.Environment | None = None
    ) -> None:
        self.edition = edition
        self.settings = settings
        self.templates = templates
        self.compiles = 0
        self._by_articles: dict[tuple[str, ...], CompiledEdition] = {}
        self._by_selection: dict[frozenset[str] | None, CompiledEdition] = {}

    def get(self, sections: Iterable[str] | None = None) -> CompiledEdition:
        chosen = frozenset(sections) if sections is not None else None
        found = self._by_selection.get(chosen)  # the per-recipient fast path
        if found is not None:
            return found
        key = tuple(a.slug for a in self.edition.for_sections(chosen).articles)
        found = self._by_articles.get(key)
        if found is None:
            self.compiles += 1
            found = self._by_articles[key] = compile_edition(
                self.edition, self.settings, chosen, self.templates
            )
        self._by_selection[chosen] = found
        return found


def edition_subject(edition: Edition, settings: Settings, templates: jinja2.Environment | None = None) -> str:
    """The subject line the edition went out with, for the editions feed and list."""
    if edition.subject:
        return edition.subject
    env = templates or email_templates(settings.templates_dir)
    return render_subject(env, _context(edition, settings, Placeholders.fresh(), personal=False))


def render_subject(env: jinja2.Environment, context: dict[str, Any]) -> str:
    return one_line(_render(env, context, "subject.txt"))


def render_text(env: jinja2.Environment, context: dict[str, Any]) -> str:
    text = _render(env, context, "body.txt")
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(_squeeze_blank(lines)).strip("\n") + "\n"


def render_html(env: jinja2.Environment, context: dict[str, Any]) -> str:
    return mjml_to_html(_render(env, context, "body.mjml"), f"edition {context['edition'].name!r}")


def mjml_to_html(source: str, what: str) -> str:
    """MJML → HTML with the CSS inlined: the one pipeline of every email publisher sends."""
    # MRML refuses spaces between two tags unless they include a newline ("unexpected token");
    # in HTML both are the same whitespace.
    source = _TAG_GAP.sub(">\n<", source)
    try:
        # fonts={}: no web-font <link> (a remote fetch per open, and nothing we need).
        compiled = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise RenderError(f"MJML of {what}: {exc}") from None
    inlined = Premailer(
        compiled,
        strip_important=False,
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    body = inlined.removeprefix(DOCTYPE).lstrip()
    if body[:9].lower() == "<!doctype":
        return inlined
    return f"{DOCTYPE}\n{body}"


def date_in_words(day: date) -> str:
    """``Wednesday, November 25, 2026``, the same in every locale of the server."""
    return f"{_DAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}, {day.year}"


def article_url(settings: Settings, article: Article) -> str:
    return f"{settings.site_url.rstrip('/')}/articles/{article.slug}"


def archive_url(settings: Settings, edition: Edition) -> str:
    return f"{settings.site_url.rstrip('/')}/editions/{edition.name}/{edition.date.isoformat()}"


def _context(
    edition: Edition, settings: Settings, placeholders: Placeholders, *, personal: bool
) -> dict[str, Any]:
    lead = edition.lead
    return {
        "edition": edition,
        "ph": placeholders,
        "personal": personal,
        "preheader": lead.lead_bullet if lead else "",
        "date_words": date_in_words(edition.date),
        "site_title": settings.site_title,
        "site_url": settings.site_url,
        "language": settings.language,
        "postal_address": settings.postal_address,
        "archive_url": archive_url(settings, edition),
        "article_url": lambda article: article_url(settings, article),
        "other_bullets": OTHER_BULLETS,
    }


def _render(env: jinja2.Environment, context: dict[str, Any], file: str) -> str:
    try:
        template = env.select_template(template_names(context["edition"].name, file))
        return template.render(context)
    except jinja2.TemplateError as exc:
        where, line = _template_position(exc)
        raise RenderError(f"{where or file}{f': line {line}' if line else ''}: {exc}") from None


def _template_position(exc: jinja2.TemplateError) -> tuple[str | None, int | None]:
    """The template file and line of an error; Jinja puts template frames into the traceback."""
    where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if where and line:
        return where, line
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".mjml", ".txt", ".html")):
            where, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return where, line


def _squeeze_blank(lines: list[str]) -> list[str]:
    """At most one blank line in a row: template whitespace must not show in the email."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return out
