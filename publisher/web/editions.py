"""``/editions/{name}/{date}``: the web archive of an edition, the email's "View in browser" target;
``/editions/``: the list of every edition that went out, paged (``?page=2``).

The page is the edition's email without the personal parts (no greeting, no address, no
unsubscribe links). An edition that was sent (frozen in the ``editions`` table by delivery) is
shown as sent, pins and exclusions included, whatever the clock says; otherwise the articles are
selected on the fly with ``load_edition``, the one definition of an edition's articles, once the
edition's cut-off has passed (before it, the edition is not final and has not gone out).

The email's styles are inline (mail clients drop stylesheets), so this page alone allows inline
styles in its Content-Security-Policy; scripts stay forbidden.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.edition.compile import compile_archive_html, edition_subject
from publisher.edition.selection import Edition, EditionSpec, load_edition, parse_edition_names
from publisher.errors import InvalidInputError
from publisher.feeds.catalog import MEDIA_TYPES, edition_feed_specs
from publisher.feeds.editions import SentEditions, archive_page
from publisher.limits import check_date
from publisher.text import one_line
from publisher.web.guard import ARCHIVE_CSP
from publisher.web.pages import not_found, pager, render

if TYPE_CHECKING:
    from publisher.app import App

router = APIRouter()
MAX_AGE = 300
LIST_SIZE = 20  # editions on a page of /editions/


@router.get("/editions/", response_class=HTMLResponse, include_in_schema=False)
def editions_list(request: Request) -> HTMLResponse:
    """Every edition that went out (``feeds/editions.py``: its send started), newest first, with
    the subject it went out with, linking its archive page; autodiscovery of the editions feeds."""
    from publisher.web.articles import FORMAT_NAMES

    app = request.app.state.publisher
    settings = app.settings
    names = parse_edition_names(settings.edition_names)  # only those whose archive pages answer
    source = SentEditions(app.articles)
    pages = pager(request, source.count(names), LIST_SIZE)
    if pages is None:
        return not_found(settings, "The list of editions has no such page.")
    listed = []
    sent = source.list(names, limit=LIST_SIZE, offset=(pages.page - 1) * LIST_SIZE)
    for record, edition, _updated in source.load(sent):
        listed.append({"url": archive_page(settings, record.name, record.date), "date": record.date,
                       "subject": one_line(edition_subject(edition, settings)) or one_line(record.title),
                       "title": one_line(names[record.name][0])})  # fmt: skip
    # Each feed with the edition title it follows, for the links in the page.
    follow = [(spec, one_line(title)) for name, (title, _) in names.items()
              for spec in edition_feed_specs(settings, name, title)]  # fmt: skip
    heading = "Editions" if pages.page == 1 else f"Editions, page {pages.page}"
    return render(settings, "editions.html", headers={"Cache-Control": f"public, max-age={MAX_AGE}"},
                  title=f"{heading} · {settings.site_title}", heading=heading, editions=listed, pager=pages,
                  feeds=[spec for spec, _ in follow], follow=follow, media_types=MEDIA_TYPES,
                  format_names=FORMAT_NAMES)  # fmt: skip


@router.get("/editions/{name}/{day}", response_class=HTMLResponse, include_in_schema=False)
def edition_page(request: Request, name: str, day: str) -> HTMLResponse:
    app = request.app.state.publisher
    settings = app.settings
    if name not in parse_edition_names(settings.edition_names):
        return not_found(settings, "There is no edition of that name.")
    try:
        edition_date = check_date(date.fromisoformat(day))
    except (ValueError, InvalidInputError):
        return not_found(settings, "There is no edition of that date.")
    # An edition that has gone out is shown as frozen, also before its nominal cut-off: a scheduled
    # edition reaches the first time zones (UTC+14) many hours before 07:00 UTC.
    edition = _sent_edition(app, name, edition_date)
    if edition is None:
        spec = EditionSpec.from_settings(settings, name)
        if spec.cutoff(edition_date) > datetime.now(UTC):
            return not_found(settings, "This edition has not been published yet.")
        edition = load_edition(app.articles, spec, edition_date)
    if not edition.articles:
        return not_found(settings, "This edition had no articles.")
    html = compile_archive_html(edition, settings)
    return HTMLResponse(html, headers={"Cache-Control": f"public, max-age={MAX_AGE}",
                                       "Content-Security-Policy": ARCHIVE_CSP})  # fmt: skip


def _sent_edition(app: App, name: str, day: date) -> Edition | None:
    """The newest edition of that name and date that went out, as frozen by delivery."""
    from publisher.db.schema import editions as t

    query = (
        sa.select(t.c.id)
        .where(t.c.name == name, t.c.date == day, t.c.status != "draft")
        .order_by(t.c.id.desc())
        .limit(1)
    )
    with app.db.connect() as conn:
        edition_id = conn.execute(query).scalar()
    if edition_id is None:
        return None
    store = app.edition_store
    record = store.get(edition_id)
    return store.load(record) if record is not None else None
