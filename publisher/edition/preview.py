"""A preview of an edition for a sample reader: what the CLI, the demo and the screenshots show.

The sample reader's unsubscribe and preferences URLs are placeholders of the right shape; real
deliveries get signed URLs from the delivery side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from publisher.article_store import ArticleStore
from publisher.edition.compile import CompiledEdition, compile_edition
from publisher.edition.personalize import Recipient, html_values, text_values
from publisher.edition.selection import EditionSpec, load_edition
from publisher.mail.message import render_message
from publisher.settings import Settings


@dataclass(frozen=True, slots=True)
class Preview:
    compiled: CompiledEdition
    recipient: Recipient
    html: str
    text: str
    eml: bytes


def sample_recipient(settings: Settings) -> Recipient:
    site = settings.site_url.rstrip("/")
    return Recipient(
        email="reader@example.com",
        name="Sample Reader",
        unsubscribe_url=f"{site}/unsubscribe/preview",
        preferences_url=f"{site}/preferences/preview",
    )


def build_preview(
    store: ArticleStore,
    settings: Settings,
    *,
    name: str = "morning",
    day: date | None = None,
    pins: Sequence[str] = (),
    excludes: Iterable[str] = (),
    sections: frozenset[str] | None = None,
    now: datetime | None = None,
) -> Preview:
    """The edition ``name`` of ``day`` (default: the next one to go out) for the sample reader."""
    now = now or datetime.now(UTC)
    spec = EditionSpec.from_settings(settings, name)
    edition = load_edition(store, spec, day or spec.next_date(now), pins=pins, excludes=excludes)
    compiled = compile_edition(edition, settings, sections)
    reader = sample_recipient(settings)
    eml = render_message(
        compiled, reader, settings, message_id=f"preview-{name}-{edition.date.isoformat()}", date=now
    )
    return Preview(
        compiled=compiled,
        recipient=reader,
        html=compiled.html.fill(html_values(reader)),
        text=compiled.text.fill(text_values(reader)),
        eml=eml,
    )
