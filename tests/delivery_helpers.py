"""Shared set-up of the delivery tests: example articles, many subscribers, an edition."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import UTC, datetime

from publisher.app import App
from publisher.edition.selection import EditionSpec
from publisher.subscribers.model import NewSubscriber
from tests.conftest import EXAMPLES


def reader(i: int) -> str:
    return f"reader{i:05d}@example.org"


def seed(app: App, n: int, *, sections: dict[int, tuple[str, ...]] | None = None) -> int:
    """Ingest the example articles, add ``n`` subscribers, create today's edition; its id."""
    list(app.ingest([EXAMPLES / "articles"]))
    sections = sections or {}
    app.subscribers.upsert_many(
        [NewSubscriber(reader(i), f"Reader {i}", "UTC", sections.get(i, ())) for i in range(n)]
    )
    return create_edition(app)


def create_edition(app: App, day_offset: int = 0) -> int:
    from datetime import timedelta

    day = EditionSpec.from_settings(app.settings).next_date(datetime.now(UTC)) + timedelta(days=day_offset)
    return app.delivery.create_edition("morning", day)


def wait_until_done(app: App, edition_id: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while app.delivery.ledger.open_count(edition_id):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"edition {edition_id} not done: {app.delivery.ledger.counts(edition_id)}; "
                f"open rows: {_open_rows(app, edition_id)}"
            )
        time.sleep(0.2)


def _open_rows(app: App, edition_id: int) -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    from publisher.db.schema import deliveries as d

    query = sa.select(d.c.id, d.c.status, d.c.attempts, d.c.last_error, d.c.claimed_at).where(
        d.c.edition_id == edition_id, d.c.status.in_(["pending", "queued", "sending"])
    )
    with app.db.connect() as conn:
        return [tuple(row) for row in conn.execute(query.limit(5))]


def parse(message: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(message, policy=email.policy.default)  # type: ignore[return-value]


def text_part(message: bytes) -> str:
    part = parse(message).get_body(("plain",))
    assert part is not None
    return part.get_content()
