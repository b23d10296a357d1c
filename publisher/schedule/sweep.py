"""The sweep: what the one beat runs every minute (``publisher run`` in the embedded default).

Each sweep, idempotently and safe to run twice at once:
1. refreshes the feeds when the feed-refresh schedule is due;
2. creates each due day's edition of each edition schedule, freezing its articles before its first
   time zone is due, and fills the ledger with one row per subscriber due at the schedule's local
   time in the subscriber's zone (or the fixed zone's instant);
3. skips rows later than the lateness limit, claims the due rows and enqueues them in batches;
4. takes back rows whose lease expired (dead workers, lost tasks);
5. deletes signups not confirmed within 30 days.
Downtime is caught up by the next sweep, except what is past the lateness limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from publisher.article import iso_utc
from publisher.article_store import ArticleStore
from publisher.delivery.editions import EditionRecord, EditionStore
from publisher.delivery.lifecycle import Lifecycle
from publisher.delivery.service import DeliveryService
from publisher.delivery.states import LIVE, EditionState
from publisher.dispatch import Dispatcher
from publisher.edition.selection import EditionSpec, load_edition
from publisher.errors import ConflictError, InvalidInputError, NotFoundError
from publisher.schedule.clock import due_time, parse_hhmm
from publisher.schedule.model import EDITION, FEEDS, SUBSCRIBER, Schedule
from publisher.schedule.plan import editions_to_create, feed_refresh_due, send_window
from publisher.schedule.store import ScheduleStore
from publisher.settings import Settings
from publisher.stats import StatsStore
from publisher.subscribers.store import SubscriberStore

log = logging.getLogger(__name__)
SWEEP_TASK = "schedule.sweep"
PREPARE_DAYS_AHEAD = 2  # how far ahead an edition may be made before its freeze time


@dataclass
class SweepReport:
    at: datetime
    created: list[dict[str, Any]] = field(default_factory=list)
    filled: int = 0
    queued: int = 0
    late: int = 0
    requeued: int = 0
    expired: int = 0
    feeds_refreshed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso_utc(self.at),
            "created": self.created,
            "filled": self.filled,
            "queued": self.queued,
            "late": self.late,
            "requeued": self.requeued,
            "expired": self.expired,
            "feeds_refreshed": self.feeds_refreshed,
        }


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        *,
        schedules: ScheduleStore,
        lifecycle: Lifecycle,
        editions: EditionStore,
        articles: ArticleStore,
        subscribers: SubscriberStore,
        delivery: DeliveryService,
        dispatcher: Dispatcher,
        stats: StatsStore,
    ) -> None:
        self.settings = settings
        self.schedules = schedules
        self.lifecycle = lifecycle
        self.editions = editions
        self.articles = articles
        self.subscribers = subscribers
        self.delivery = delivery
        self.dispatcher = dispatcher
        self.stats = stats
        self.lead = timedelta(minutes=self.settings.schedule_freeze_minutes)
        self.lateness = timedelta(hours=self.settings.schedule_lateness_hours)

    def sweep(self, now: datetime | None = None) -> SweepReport:
        now = (now or datetime.now(UTC)).astimezone(UTC)
        report = SweepReport(at=now)
        slots: list[tuple[str, str | None]] | None = None
        with self.stats.timed("sweep"):
            self.schedules.feed_refresh()  # the default refresh exists (pause it to stop it)
            for schedule in self.schedules.list():
                if schedule.kind == FEEDS:
                    report.feeds_refreshed |= self._refresh_feeds(schedule, now)
                elif schedule.kind == EDITION:
                    if slots is None:  # once per sweep: who is active, in which zone, at which hour
                        slots = self.subscribers.active_slots()
                    hours = _hours(slots) if schedule.timezone == SUBSCRIBER else ()
                    for day in editions_to_create(schedule, now, lead=self.lead, lateness=self.lateness,
                                                  hours=hours):  # fmt: skip
                        self._edition_of_day(schedule, day, report, slots)
            late = self.lifecycle.skip_late(now, self.lateness.total_seconds())
            for edition_id, count in late.items():
                log.warning(
                    "edition %s: %d deliveries skipped, later than the lateness limit", edition_id, count
                )
            report.late = sum(late.values())
            for edition_id, ids in self.lifecycle.claim_due(now).items():
                self.lifecycle.started(edition_id, now)
                self.delivery.enqueue_rows(edition_id, ids)
                report.queued += len(ids)
            report.requeued = self.delivery.sweep(now)
            # Signups never confirmed are not kept (30 days): few rows, found by the status index.
            report.expired = self.subscribers.lifecycle.expire_pending(now)
        return report

    def due_times(
        self, schedule: Schedule, day: date, slots: list[tuple[str, str | None]] | None = None
    ) -> dict[tuple[str, str | None], datetime] | datetime:
        """The due instant of each (zone, reader's own hour or None) of active readers (subscriber
        policy: the schedule's time when they chose none), or the one fixed instant."""
        assert schedule.send_time is not None
        if schedule.timezone != SUBSCRIBER:
            return due_time(day, schedule.send_time, schedule.timezone).utc
        slots = self.subscribers.active_slots() if slots is None else slots
        return {(zone, hour): due_time(day, parse_hhmm(hour) if hour else schedule.send_time, zone).utc
                for zone, hour in slots}  # fmt: skip

    def prepare(self, name: str, day: date, now: datetime | None = None) -> tuple[EditionRecord, bool]:
        """Make schedule ``name``'s edition of ``day`` now, ahead of its freeze time, so editors can
        shape it (``publisher/delivery/contents.py``) for longer than the few minutes between its
        freeze and its first zone. Its stories are those published so far: a story published
        later is in it only if an editor pins it. The sweep then sends it as it would have. The
        edition and whether it was made by this call (an existing one is returned as it is)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        schedule = self.schedules.get(name)
        if schedule is None or schedule.kind != EDITION or schedule.send_time is None:
            raise NotFoundError(f"schedule: no edition schedule named {name!r}", field="schedule")
        if schedule.paused:
            raise ConflictError(f"schedule {name!r} is paused: resume it first", field="schedule")
        if not schedule.runs_on(day):
            raise InvalidInputError(f"date: schedule {name!r} makes no edition on {day}", field="date")
        slots = self.subscribers.active_slots() if schedule.timezone == SUBSCRIBER else []
        _first, last = send_window(schedule, day, _hours(slots))
        if last < now or day > now.date() + timedelta(days=PREPARE_DAYS_AHEAD):
            raise InvalidInputError(
                f"date: {day} is not an upcoming day (today to {PREPARE_DAYS_AHEAD} days ahead)", field="date"
            )
        return self.freeze(schedule, day, slots)

    def freeze(
        self, schedule: Schedule, day: date, slots: list[tuple[str, str | None]] | None = None
    ) -> tuple[EditionRecord, bool]:
        """Get or create ``day``'s edition of ``schedule``, its articles selected up to the freeze
        time (``lead`` before the first zone is due), so consecutive editions leave no gap."""
        store = self.editions
        found = store.find(schedule.edition, day)
        if found is not None:
            return found, False
        spec = EditionSpec.from_settings(self.settings, schedule.edition)
        if schedule.window_hours:
            spec = replace(spec, window=timedelta(hours=schedule.window_hours))
        hours = () if schedule.timezone != SUBSCRIBER else _hours(
            self.subscribers.active_slots() if slots is None else slots)  # fmt: skip
        first, _last = send_window(schedule, day, hours)
        edition = load_edition(self.articles, spec, day, cutoff=first - self.lead)
        if schedule.sections:
            edition = edition.for_sections(schedule.sections)
        state = EditionState.DRAFT if edition.articles else EditionState.EMPTY
        record, created = store.create_once(edition, status=state)
        if created:
            log.info("edition %s (%s of %s) frozen with %d articles", record.id, schedule.edition, day,
                     len(record.article_slugs))  # fmt: skip
        return record, created

    def _edition_of_day(
        self, schedule: Schedule, day: date, report: SweepReport, slots: list[tuple[str, str | None]]
    ) -> None:
        record, created = self.freeze(schedule, day, slots)
        if created:
            report.created.append(
                {"schedule": schedule.name, "edition_id": record.id, "date": day.isoformat()}
            )
        if record.status in LIVE:
            due = self.due_times(schedule, day, slots)
            report.filled += self.lifecycle.fill(record.id, record.section_keys, due_at=due)

    def _refresh_feeds(self, schedule: Schedule, now: datetime) -> bool:
        if not feed_refresh_due(schedule, now):
            return False
        if not self.schedules.mark_run(schedule.name, now, previous=schedule.last_run_at):
            return False  # another sweep did it
        self.dispatcher.enqueue("feeds.refresh")
        return True


def _hours(slots: list[tuple[str, str | None]]) -> set[time]:
    """The readers' own hours in use."""
    return {parse_hhmm(hour) for _zone, hour in slots if hour}
