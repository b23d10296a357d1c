"""Ops control of editions: list, status with ETA, pause, resume, cancel, reschedule, test-send.

Which verb applies in which state is the table in ``states.py``; every state change is made by
``lifecycle.py``, in UPDATEs whose WHERE names the states they leave, so each verb is safe against
running sends and against itself. A verb that does not apply raises ``EditionStateError`` naming
the edition, its state and what to do instead.
- pause: the edition stops being claimed and its queued rows go back to pending, so batch tasks
  already in the queue find nothing to claim; a message in the middle of its send finishes.
  Within seconds nothing more goes out; nothing is lost.
- resume (a paused or halted edition): due rows are queued again (the rest wait for their due
  time); claims are atomic, so nothing is sent twice.
- cancel: every row not yet sent is skipped, with the reason.
- reschedule: pending rows get a new due time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.db import Database
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscribers as s
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.reputation import COMPLAINT_LIMIT, ReputationGuard
from publisher.delivery.service import DeliveryService
from publisher.delivery.states import EditionState, Verb
from publisher.edition.personalize import Recipient
from publisher.edition.preview import sample_recipient
from publisher.errors import InvalidInputError
from publisher.mail.mailer import Mailer
from publisher.mail.message import render_message
from publisher.schedule.clock import due_time
from publisher.schedule.model import EDITION, SUBSCRIBER
from publisher.schedule.plan import send_window
from publisher.schedule.store import ScheduleStore
from publisher.settings import Settings


@dataclass(frozen=True, slots=True)
class Changed:
    edition_id: int
    status: str
    rows: int  # ledger rows the verb moved

    def to_json(self) -> dict[str, Any]:
        return {"edition_id": self.edition_id, "status": self.status, "rows": self.rows}


class EditionControl:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        lifecycle: Lifecycle,
        delivery: DeliveryService,
        schedules: ScheduleStore,
        open_mailer: Callable[[], Mailer],
        reputation: ReputationGuard | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.lifecycle = lifecycle
        self.delivery = delivery
        self.schedules = schedules
        self.open_mailer = open_mailer
        self.reputation = reputation or ReputationGuard(db, lifecycle, settings.bounce_pause_rate)

    # -- reading ------------------------------------------------------------------------------------

    def listing(self, *, now: datetime | None = None, days_ahead: int = 2, past: int = 30) -> dict[str, Any]:
        """Upcoming editions (from the schedules) and past ones (stored), with their send windows."""
        now = now or datetime.now(UTC)
        stored = self._stored(past)
        known = {(r["name"], r["date"]) for r in stored}
        upcoming = []
        for schedule in self.schedules.list():
            if schedule.kind != EDITION or schedule.paused:
                continue
            for offset in range(days_ahead + 1):
                day = now.date() + timedelta(days=offset)
                if not schedule.runs_on(day) or (schedule.edition, day.isoformat()) in known:
                    continue
                first, last = send_window(schedule, day)
                if last >= now:
                    upcoming.append({
                        "schedule": schedule.name, "name": schedule.edition, "date": day.isoformat(),
                        "window": {"first": iso_utc(first), "last": iso_utc(last)},
                    })  # fmt: skip
        upcoming.sort(key=lambda u: u["window"]["first"])
        # Days whose complaint rate is over 0.3 % (Gmail's and Yahoo's limit), newest first.
        warnings = [
            {**day, "warning": f"complaint rate {day['complaint_rate']:.2%} on {day['date']} is over "
                               f"{COMPLAINT_LIMIT:.1%} ({day['complaints']} of {day['sent']} sent)"}
            for day in self.reputation.daily(days=7) if day["warning"]
        ]  # fmt: skip
        return {"upcoming": upcoming, "past": stored, "warnings": warnings}

    def status(self, edition_id: int, *, now: datetime | None = None) -> dict[str, Any]:
        """Counts per state, send rate, ETA, the commonest errors, and the hard bounces, soft bounces
        and complaints reported about the edition with their rates over its sent rows."""
        now = now or datetime.now(UTC)
        status = self.delivery.status(edition_id, now)
        data = status.to_json()
        data["reports"] = self.reputation.of(edition_id).to_json()
        first_due, last_due = self.delivery.ledger.due_window(edition_id)
        data["window"] = {"first": iso_utc(first_due), "last": iso_utc(last_due)}
        data["eta"] = iso_utc(self._eta(status.counts, status.rate, last_due, now, data["status"]))
        return data

    def _eta(
        self, counts: dict[str, int], rate: float | None, last_due: datetime | None, now: datetime, state: str
    ) -> datetime | None:
        left = counts["pending"] + counts["queued"] + counts["sending"]
        if left == 0 or state not in (EditionState.DRAFT, EditionState.SENDING):
            return None
        start = max(now, last_due) if last_due else now
        return start + timedelta(seconds=left / rate) if rate else start

    def _stored(self, limit: int) -> list[dict[str, Any]]:
        window = (
            sa.select(d.c.edition_id, sa.func.min(d.c.due_at).label("first_due"),
                      sa.func.max(d.c.due_at).label("last_due"), sa.func.count().label("rows"),
                      sa.func.sum(sa.case((d.c.status == "sent", 1), else_=0)).label("sent"))
            .group_by(d.c.edition_id)
            .subquery()
        )  # fmt: skip
        query = (
            sa.select(e.c.id, e.c.name, e.c.date, e.c.status, window.c.first_due, window.c.last_due,
                      window.c.rows, window.c.sent)
            .outerjoin(window, window.c.edition_id == e.c.id)
            .order_by(e.c.date.desc(), e.c.id.desc())
            .limit(limit)
        )  # fmt: skip
        with self.db.connect() as conn:
            return [_listed(r) for r in conn.execute(query)]

    # -- steering -----------------------------------------------------------------------------------

    def pause(self, edition_id: int) -> Changed:
        moved = self.lifecycle.pause(edition_id)
        return Changed(edition_id, str(EditionState.PAUSED), moved)

    def resume(self, edition_id: int, *, now: datetime | None = None) -> Changed:
        now = now or datetime.now(UTC)
        state = self.lifecycle.resume(edition_id)
        # Rows that went past the lateness limit while paused are skipped, as the sweep would.
        self.lifecycle.skip_late(now, self.settings.schedule_lateness_hours * 3600)
        ids = self.lifecycle.queue_pending(edition_id, now)
        if ids:
            self.lifecycle.started(edition_id, now)
            self.delivery.enqueue_rows(edition_id, ids)
            state = str(EditionState.SENDING)
        if self.lifecycle.finish_if_done(edition_id, now):
            state = str(EditionState.SENT)
        return Changed(edition_id, state, len(ids))

    def cancel(self, edition_id: int) -> Changed:
        skipped = self.lifecycle.cancel(edition_id)
        return Changed(edition_id, str(EditionState.CANCELLED), skipped)

    def reschedule(
        self,
        edition_id: int,
        *,
        to: datetime | None = None,
        delay: timedelta | None = None,
        at: time | None = None,
        timezone: str = SUBSCRIBER,
    ) -> Changed:
        """New due times for the pending rows: one instant (``to``), a shift (``delay``), or a local
        time of the edition's day (``at``) in each subscriber's zone or one fixed zone."""
        if sum(x is not None for x in (to, delay, at)) != 1:
            raise InvalidInputError(
                "reschedule needs exactly one of: a time (to), a delay, a local time (at)", field="to"
            )
        with self.db.begin() as conn:
            state = self.lifecycle.require(Verb.RESCHEDULE, edition_id, conn)
            pending = d.update().where(d.c.edition_id == edition_id, d.c.status == "pending")
            if to is not None:
                moved = conn.execute(pending.values(due_at=to.astimezone(UTC))).rowcount
            elif delay is not None:
                now = datetime.now(UTC)
                moved = 0
                # Rows without a due time (an edition sent now) count from now.
                for due in conn.execute(
                    sa.select(d.c.due_at)
                    .where(d.c.edition_id == edition_id, d.c.status == "pending")
                    .distinct()
                ).scalars():
                    where = d.c.due_at.is_(None) if due is None else d.c.due_at == due
                    moved += conn.execute(pending.where(where).values(due_at=(due or now) + delay)).rowcount
            else:
                assert at is not None
                day: date = conn.execute(sa.select(e.c.date).where(e.c.id == edition_id)).scalar_one()
                moved = self._reschedule_local(conn, edition_id, pending, day, at, timezone)
        return Changed(edition_id, state, moved)

    def _reschedule_local(
        self, conn: sa.Connection, edition_id: int, pending: Any, day: date, at: time, timezone: str
    ) -> int:
        if timezone != SUBSCRIBER:
            return conn.execute(pending.values(due_at=due_time(day, at, timezone).utc)).rowcount
        zones = conn.execute(
            sa.select(s.c.timezone)
            .join(d, d.c.subscriber_id == s.c.id)
            .where(d.c.edition_id == edition_id, d.c.status == "pending")
            .distinct()
        ).scalars()
        moved = 0
        for zone in sorted(zones):
            in_zone = d.c.subscriber_id.in_(sa.select(s.c.id).where(s.c.timezone == zone))
            moved += conn.execute(pending.where(in_zone).values(due_at=due_time(day, at, zone).utc)).rowcount
        return moved

    def test_send(self, edition_id: int, addresses: list[str]) -> list[str]:
        """Send the edition as it stands to ``addresses`` now, outside the ledger (nobody's copy)."""
        from publisher.subscribers.model import InvalidSubscriberError, validate

        checked = []
        for address in addresses:
            try:
                checked.append(validate(address).email)
            except InvalidSubscriberError as exc:
                raise InvalidInputError(f"test-send: {address!r}: {exc}", field="addresses") from None
        self.lifecycle.require(Verb.TEST_SEND, edition_id)
        compiled = self.delivery.compiled(edition_id).get()
        sample = sample_recipient(self.settings)
        mailer = self.open_mailer()
        envelope_from = self.settings.envelope_from
        try:
            for n, address in enumerate(checked):
                reader = Recipient(address, "", sample.unsubscribe_url, sample.preferences_url)
                message = render_message(
                    compiled, reader, self.settings,
                    message_id=f"test-{edition_id}-{n}-{int(datetime.now(UTC).timestamp())}",
                )  # fmt: skip
                mailer.send(envelope_from, [address], message)
        finally:
            mailer.close()
        return checked


def _listed(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "date": row.date.isoformat(),
        "status": row.status,
        "window": {"first": iso_utc(row.first_due), "last": iso_utc(row.last_due)},
        "deliveries": int(row.rows or 0),
        "sent": int(row.sent or 0),
    }
