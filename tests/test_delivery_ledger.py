"""The ledger on SQLite and PostgreSQL: one-statement fill, atomic claims, lease expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from publisher.app import App
from publisher.db.schema import deliveries
from publisher.delivery.lifecycle import LEASE_RESEND, LEASE_SKIP, Claim
from publisher.delivery.states import DeliveryState
from tests.conftest import _empty_tables
from tests.delivery_helpers import create_edition, reader, seed


def _status(app, ids):  # type: ignore[no-untyped-def]
    with app.db.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.status, deliveries.c.last_error)
                            .where(deliveries.c.id.in_(ids)).order_by(deliveries.c.id)).all()  # fmt: skip
    return [(r.status, r.last_error) for r in rows]


def test_fill_matches_sections_skips_inactive_and_is_idempotent(any_db_app) -> None:
    app = any_db_app
    # reader 1 follows Sports (in the edition), reader 2 only a section the edition lacks.
    edition_id = seed(app, 5, sections={1: ("Sports",), 2: ("Gardening",), 3: ("gardening", "World")})
    app.subscribers.unsubscribe(app.subscribers.find(reader(4)).id)
    keys = app.delivery.editions.get(edition_id).section_keys
    assert "sports" in keys and "gardening" not in keys
    ledger = app.lifecycle
    assert ledger.fill(edition_id, keys) == 3  # readers 0, 1, 3
    assert ledger.fill(edition_id, keys) == 0
    from publisher.subscribers.model import validate

    app.subscribers.upsert_many([validate("late@example.org")])
    assert ledger.fill(edition_id, keys) == 1
    assert app.ledger.counts(edition_id) == {"pending": 4, "queued": 0, "sending": 0, "sent": 0, "failed": 0,
                                         "skipped": 0}  # fmt: skip
    ids = ledger.queue_pending(edition_id)
    assert len(ids) == 4 and ledger.queue_pending(edition_id) == []
    rows = app.ledger.batch_rows(ids)
    assert [r.email for r in rows] == [reader(0), reader(1), reader(3), "late@example.org"]
    assert rows[1].sections == frozenset({"sports"}) and rows[0].sections is None


def test_claims_are_atomic_and_skip_who_left(any_db_app) -> None:
    app = any_db_app
    edition_id = seed(app, 3)
    ledger = app.lifecycle
    ledger.fill(edition_id, app.delivery.editions.get(edition_id).section_keys)
    ids = ledger.queue_pending(edition_id)
    assert ledger.claim(ids[0]) is Claim.CLAIMED
    assert ledger.claim(ids[0]) is Claim.TAKEN  # a second worker, or the same task delivered twice
    app.subscribers.unsubscribe(app.subscribers.find(reader(1)).id)
    assert ledger.claim(ids[1]) is Claim.SKIPPED
    ledger.mark_sent(ids[0], "m1")
    assert ledger.claim(ids[0]) is Claim.TAKEN
    assert _status(app, ids[:2]) == [("sent", None), ("skipped", "subscriber unsubscribed")]


def test_group_claims_are_atomic_and_skip_who_left(any_db_app) -> None:
    app = any_db_app
    edition_id = seed(app, 5)
    ledger = app.lifecycle
    ledger.fill(edition_id, app.delivery.editions.get(edition_id).section_keys)
    ids = ledger.queue_pending(edition_id)
    assert ledger.claim(ids[0]) is Claim.CLAIMED  # another worker has it
    app.subscribers.unsubscribe(app.subscribers.find(reader(2)).id)
    got = ledger.claim_many(ids)
    assert got == {ids[0]: Claim.TAKEN, ids[1]: Claim.CLAIMED, ids[2]: Claim.SKIPPED, ids[3]: Claim.CLAIMED,
                   ids[4]: Claim.CLAIMED}  # fmt: skip
    assert set(ledger.claim_many(ids).values()) == {Claim.TAKEN}  # the same group again: all gone
    ledger.mark_sent_many([(ids[1], "m1"), (ids[3], "m3")])
    with app.db.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.status, deliveries.c.message_id)
                            .where(deliveries.c.id.in_(ids)).order_by(deliveries.c.id)).all()  # fmt: skip
    assert [(r.status, r.message_id) for r in rows] == [
        ("sending", None), ("sent", "m1"), ("skipped", None), ("sent", "m3"), ("sending", None)]  # fmt: skip
    # A paused edition's rows are not claimed.
    app.lifecycle.pause(edition_id)
    assert ledger.claim_many([ids[4]]) == {ids[4]: Claim.TAKEN}


@pytest.mark.postgres
def test_group_claims_find_rows_by_key_whatever_the_statistics(make_settings, postgres_url) -> None:
    """After a fill the status statistics say nothing is queued (and a fresh import: no reader is
    active): the group statements must still find each row, reader and edition by primary key,
    not scan every queued row or active reader per group."""
    from publisher.delivery.lifecycle import _CLAIM_MANY, _SENT_GROUP

    app = App(make_settings(database_url=postgres_url))
    _empty_tables(app)
    with app.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE subscribers")  # before the import: no reader is active
    edition_id = seed(app, 3000)
    app.lifecycle.fill(edition_id, app.delivery.editions.get(edition_id).section_keys)
    with app.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE deliveries")  # as the fill does: every row is pending
    ids = app.lifecycle.queue_pending(edition_id)[:16]
    now = datetime.now(UTC)
    plans: list[str] = []

    def explain(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        return f"EXPLAIN {statement}", parameters

    def keep(_conn, cursor, *_args):  # type: ignore[no-untyped-def]
        plans.append("\n".join(row[0] for row in cursor.fetchall()))

    with app.db.engine.begin() as conn:
        sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
        sa.event.listen(conn, "after_cursor_execute", keep)
        conn.execute(_CLAIM_MANY, {"row_ids": ids, "now": now})
        conn.execute(_SENT_GROUP, {"row_ids": ids, "message_ids": ["m"] * len(ids), "now": now})
    assert len(plans) == 2
    for plan in plans:
        assert "pk_deliveries" in plan, plan
        assert "ix_deliveries_status" not in plan and "ix_subscribers_status" not in plan, plan
        assert "Seq Scan on deliveries" not in plan and "Seq Scan on subscribers" not in plan, plan
    app.close()


def test_expired_leases(any_db_app) -> None:
    app = any_db_app
    edition_id = seed(app, 4)
    ledger = app.lifecycle
    ledger.fill(edition_id, app.delivery.editions.get(edition_id).section_keys)
    ids = ledger.queue_pending(edition_id)
    start = datetime.now(UTC)
    ledger.claim(ids[0], now=start)  # its worker dies while sending
    # Within the lease nothing moves.
    assert ledger.requeue_expired(60, now=start + timedelta(seconds=30)) == {}
    # Past it: the sending row is taken back; the queued ones too, as the edition made no progress.
    later = start + timedelta(seconds=61)
    assert ledger.requeue_expired(60, now=later) == {edition_id: ids}
    assert _status(app, ids[:1]) == [("queued", LEASE_RESEND)]
    # Progress within the lease keeps queued rows where they are (they are waiting their turn).
    ledger.claim(ids[0], now=later + timedelta(seconds=100))
    assert ledger.requeue_expired(60, now=later + timedelta(seconds=130)) == {}
    # The 'skip' policy: a row caught sending is not sent again.
    assert ledger.requeue_expired(60, resend=False, now=later + timedelta(seconds=161)) == {
        edition_id: ids[1:]
    }
    assert _status(app, ids[:1]) == [("skipped", LEASE_SKIP)]
    assert app.ledger.counts(edition_id)[DeliveryState.QUEUED] == 3


def test_one_edition_per_name_and_day(any_db_app) -> None:
    app = any_db_app
    first = seed(app, 2)
    assert create_edition(app) == first
