"""When a schedule reaches each zone (the Schedules page's preview): readers' zones at the
schedule's hour or their own, reference zones, fixed-zone schedules, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime

from publisher.schedule.model import edition_schedule
from publisher.schedule.reach import REFERENCE_ZONES, next_day, reach


def _rows(found):  # type: ignore[no-untyped-def]
    return [(r.timezone, r.local.strftime("%H:%M"), r.utc.strftime("%d %H:%M"), r.own_hour, r.readers)
            for r in found]  # fmt: skip


def test_each_readers_zone_at_the_schedules_hour_or_their_own_in_the_order_reached() -> None:
    schedule = edition_schedule("morning", at="07:00")
    slots = [("Europe/London", None), ("Europe/London", "06:30"), ("Asia/Kathmandu", None),
             ("Mars/Olympus", None)]  # fmt: skip
    found = reach(schedule, date(2026, 6, 10), slots, reference=("Asia/Tokyo", "Europe/London"))
    # Tokyo (a reference zone) first; London has readers, so it is not repeated as a reference;
    # a zone the tz database does not know is left out.
    assert _rows(found) == [
        ("Asia/Tokyo", "07:00", "09 22:00", False, False),
        ("Asia/Kathmandu", "07:00", "10 01:15", False, True),
        ("Europe/London", "06:30", "10 05:30", True, True),
        ("Europe/London", "07:00", "10 06:00", False, True),
    ]


def test_a_fixed_zone_schedule_reaches_everyone_at_one_instant_and_own_hours_do_not_apply() -> None:
    schedule = edition_schedule("noon", at="12:00", timezone="America/New_York")
    found = reach(schedule, date(2026, 1, 15), [("Europe/London", "06:30")], reference=("Asia/Tokyo",))
    assert _rows(found) == [("Asia/Tokyo", "02:00", "15 17:00", False, False),
                            ("Europe/London", "17:00", "15 17:00", False, True)]  # fmt: skip


def test_daylight_saving_moves_the_utc_instant_not_the_local_hour() -> None:
    schedule = edition_schedule("morning", at="07:00")
    winter = reach(schedule, date(2026, 1, 15), [], reference=("Europe/London",))
    summer = reach(schedule, date(2026, 7, 15), [], reference=("Europe/London",))
    assert [r.utc.hour for r in winter + summer] == [7, 6]
    assert len(reach(schedule, date(2026, 7, 15), [])) == len(REFERENCE_ZONES)


def test_the_next_edition_day_is_the_first_with_zones_still_to_reach() -> None:
    daily = edition_schedule("morning", at="07:00")
    # 10:00 UTC on June 10: 07:00 still to come in the Americas, so the 10th is still going.
    assert next_day(daily, datetime(2026, 6, 10, 10, 0, tzinfo=UTC)) == date(2026, 6, 10)
    # 20:00 UTC: the 10th's last zone (UTC-12) was at 19:00; the next is the 11th.
    assert next_day(daily, datetime(2026, 6, 10, 20, 0, tzinfo=UTC)) == date(2026, 6, 11)
    fridays = edition_schedule("weekly", at="07:00", days="fri")
    assert next_day(fridays, datetime(2026, 6, 10, 20, 0, tzinfo=UTC)) == date(2026, 6, 12)
