"""Ops control of editions: list, status with ETA, pause, resume, cancel, reschedule, test-send.

Every verb is one or two UPDATEs on the ledger whose WHERE names the states it leaves, so each is
safe against running sends and against itself:
- pause: the edition stops being claimed and its queued rows go back to pending, so batch tasks
  already in the queue find nothing to claim; a message in the middle of its send finishes.
  Within seconds nothing more goes out; nothing is lost.
- resume: due rows are queued again (the rest wait for their due time); claims are atomic, so
  nothing is sent twice.
- cancel: every row not yet sent is skipped, with the reason.
- reschedule: pending rows get a new due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from publisher.article import iso_utc
from publisher.db.schema import deliveries as d
from publisher.db.schema import editions as e
from publisher.db.schema import subscribers as s
from publisher.edition.personalize import Recipient
from publisher.edition.preview import sample_recipient
from publisher.errors import NotFoundError, PublisherError
from publisher.mail.message import render_message
from publisher.schedule.clock import due_time
from publisher.schedule.model import EDITION, SUBSCRIBER
from publisher.schedule.plan import send_window

if TYPE_CHECKING:
    from publisher.app import App

PAUSABLE = ("draft", "sending")


class EditionStateError(PublisherError):
    """The verb does not apply to the edition as it is (e.g. resuming one that is not paused)."""


@dataclass(frozen=True, slots=True)
class Changed:
    edition_id: int
    status: str
    rows: int  # ledger rows the verb moved

    def to_json(self) -> dict[str, Any]:
        return {"edition_id": self.edition_id, "status": self.status, "rows": self.rows}


class EditionControl:
    def __init__(self, app: App) -> None:
        self.app = app
        self.db = app.db

    # -- reading ------------------------------------------------------------------------------------

    def listing(self, *, now: datetime | None = None, days_ahead: int = 2, past: int = 30) -> dict[str, Any]:
        """Upcoming editions (from the schedules) and past ones (stored), with their send windows."""
        now = now or datetime.now(UTC)
        stored = self._stored(past)
        known = {(r["name"], r["date"]) for r in stored}
        upcoming = []
        for schedule in self.app.schedules.list():
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
        return {"upcoming": upcoming, "past": stored}

    def status(self, edition_id: int, *, now: datetime | None = None) -> dict[str, Any]:
        """Counts per state, send rate, ETA and the commonest errors."""
        now = now or datetime.now(UTC)
        status = self.app.delivery.status(edition_id)
        data = status.to_json()
        with self.db.connect() as conn:
            first_due, last_due = conn.execute(
                sa.select(sa.func.min(d.c.due_at), sa.func.max(d.c.due_at)).where(
                    d.c.edition_id == edition_id
                )
            ).one()
        data["window"] = {"first": iso_utc(first_due), "last": iso_utc(last_due)}
        data["eta"] = iso_utc(self._eta(status.counts, status.rate, last_due, now, data["status"]))
        return data

    def _eta(
        self, counts: dict[str, int], rate: float | None, last_due: datetime | None, now: datetime, state: str
    ) -> datetime | None:
        left = counts["pending"] + counts["queued"] + counts["sending"]
        if left == 0 or state in ("paused", "cancelled"):
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
        with self.db.begin() as conn:
            state = self._state(conn, edition_id)
            if state == "paused":
                return Changed(edition_id, state, 0)
            if state not in PAUSABLE:
                raise EditionStateError(
                    f"edition {edition_id} is {state}: only a draft or sending edition pauses"
                )
            conn.execute(e.update().where(e.c.id == edition_id).values(status="paused"))
            moved = conn.execute(
                d.update()
                .where(d.c.edition_id == edition_id, d.c.status == "queued")
                .values(status="pending", claimed_at=None)
            ).rowcount
        return Changed(edition_id, "paused", moved)

    def resume(self, edition_id: int, *, now: datetime | None = None) -> Changed:
        now = now or datetime.now(UTC)
        with self.db.begin() as conn:
            state = self._state(conn, edition_id)
            if state != "paused":
                raise EditionStateError(f"edition {edition_id} is {state}, not paused")
            started = conn.execute(sa.select(e.c.started_at).where(e.c.id == edition_id)).scalar()
            conn.execute(
                e.update().where(e.c.id == edition_id).values(status="sending" if started else "draft")
            )
        # Rows that went past the lateness limit while paused are skipped, as the sweep would.
        self.app.scheduler.due.skip_late(now, self.app.settings.schedule_lateness_hours * 3600)
        ids = self.app.delivery.ledger.queue_pending(edition_id, now)
        if ids:
            self.app.delivery.editions.mark_started(edition_id)
            self.app.delivery.enqueue_rows(edition_id, ids)
        return Changed(edition_id, "sending" if started or ids else "draft", len(ids))

    def cancel(self, edition_id: int) -> Changed:
        with self.db.begin() as conn:
            state = self._state(conn, edition_id)
            if state in ("sent", "cancelled", "empty"):
                raise EditionStateError(f"edition {edition_id} is {state}: nothing left to cancel")
            conn.execute(
                e.update()
                .where(e.c.id == edition_id)
                .values(status="cancelled", finished_at=datetime.now(UTC))
            )
            skipped = conn.execute(
                d.update()
                .where(d.c.edition_id == edition_id, d.c.status.in_(["pending", "queued"]))
                .values(status="skipped", last_error="edition cancelled")
            ).rowcount
        return Changed(edition_id, "cancelled", skipped)

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
            raise PublisherError("reschedule needs exactly one of: a time (to), a delay, a local time (at)")
        with self.db.begin() as conn:
            state = self._state(conn, edition_id)
            if state not in (*PAUSABLE, "paused"):
                raise EditionStateError(f"edition {edition_id} is {state}: nothing left to reschedule")
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
                raise PublisherError(f"test-send: {address!r}: {exc}") from None
        compiled = self.app.delivery.compiled(edition_id).get()
        sample = sample_recipient(self.app.settings)
        mailer = self.app.open_mailer()
        envelope_from = self.app.settings.envelope_from
        try:
            for n, address in enumerate(checked):
                reader = Recipient(address, "", sample.unsubscribe_url, sample.preferences_url)
                message = render_message(
                    compiled, reader, self.app.settings,
                    message_id=f"test-{edition_id}-{n}-{int(datetime.now(UTC).timestamp())}",
                )  # fmt: skip
                mailer.send(envelope_from, [address], message)
        finally:
            mailer.close()
        return checked

    def _state(self, conn: sa.Connection, edition_id: int) -> str:
        state = conn.execute(sa.select(e.c.status).where(e.c.id == edition_id)).scalar()
        if state is None:
            raise NotFoundError(f"no edition with id {edition_id}")
        return str(state)


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
