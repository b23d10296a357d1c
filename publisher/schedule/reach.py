"""When an edition schedule reaches each zone (pure): the preview ops see before saving one.

For the schedule's next edition day, each zone where readers are, at the schedule's hour or at the
hour its readers there chose (what the sweep's fill does, ``sweep.py``), and a few reference zones
spanning the globe, each with the local and the UTC instant. A fixed-zone schedule reaches every
zone at its one instant, at whatever local time that is there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from publisher.schedule.clock import ClockError, due_time, parse_hhmm, zone
from publisher.schedule.model import EDITION, SUBSCRIBER, Schedule
from publisher.schedule.plan import send_window

# From the first to the last zone to see a morning: UTC+14 to UTC-11, through the big cities.
REFERENCE_ZONES = (
    "Pacific/Kiritimati", "Pacific/Auckland", "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin",
    "Europe/London", "America/Sao_Paulo", "America/New_York", "America/Los_Angeles", "Pacific/Pago_Pago",
)  # fmt: skip
DAYS_AHEAD = 8  # a schedule runs at least once a week


@dataclass(frozen=True, slots=True)
class Reach:
    timezone: str
    local: datetime  # aware, in ``timezone``
    utc: datetime
    own_hour: bool  # readers of this zone who chose this hour themselves
    readers: bool  # readers are in this zone (False: a reference zone)

    def to_json(self) -> dict[str, object]:
        return {"timezone": self.timezone, "local": self.local.isoformat(),
                "utc": self.utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "own_hour": self.own_hour,
                "readers": self.readers}  # fmt: skip


def next_day(schedule: Schedule, now: datetime) -> date | None:
    """The first day, from yesterday on, whose edition of ``schedule`` still has zones to reach."""
    if schedule.kind != EDITION or schedule.send_time is None or not schedule.days:
        return None
    for offset in range(-1, DAYS_AHEAD):
        day = now.date() + timedelta(days=offset)
        if schedule.runs_on(day) and send_window(schedule, day)[1] >= now:
            return day
    return None


def reach(
    schedule: Schedule,
    day: date,
    slots: Iterable[tuple[str, str | None]],
    reference: Iterable[str] = REFERENCE_ZONES,
) -> list[Reach]:
    """Each (zone, hour) that ``day``'s edition reaches, in the order it reaches them: ``slots``
    are the readers' (zone, own hour or None) as ``SubscriberStore.active_slots`` gives them."""
    assert schedule.send_time is not None
    found: dict[tuple[str, time], Reach] = {}
    for name, hour in slots:
        own = None
        if hour and schedule.timezone == SUBSCRIBER:
            try:
                own = parse_hhmm(hour)
            except ClockError:
                own = None
        at = _reach(schedule, day, name, own or schedule.send_time, own is not None, readers=True)
        if at is not None:
            found[(name, own or schedule.send_time)] = at
    zones_with_readers = {name for name, _t in found}
    for name in reference:
        if name not in zones_with_readers:
            at = _reach(schedule, day, name, schedule.send_time, False, readers=False)
            if at is not None:
                found[(name, schedule.send_time)] = at
    return sorted(found.values(), key=lambda r: (r.utc, r.timezone))


def _reach(schedule: Schedule, day: date, name: str, at: time, own: bool, *, readers: bool) -> Reach | None:
    try:
        zone(name)
    except ClockError:
        return None  # a zone the system's tz database does not know: nothing to show for it
    if schedule.timezone == SUBSCRIBER:
        due = due_time(day, at, name)
        return Reach(name, due.local, due.utc, own, readers)
    due = schedule.due_for_zone(day, name)
    return Reach(name, due.local, due.utc, False, readers)
