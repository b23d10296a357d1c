"""Times as people write them on the console's pages: ``Friday, December 4, 2026 at 07:00 UTC``
(``date_in_words`` for the day, a 24-hour clock and the zone for the time), from an aware
datetime or the ISO text the services' JSON carries."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from publisher.edition.compile import date_in_words


def moment(value: datetime | str | None, zone: str = "UTC", *, empty: str = "—") -> str:
    """``value`` in words, in ``zone`` (UTC by default); ``empty`` when there is none."""
    if value is None or value == "":
        return empty
    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(ZoneInfo(zone))
    return f"{date_in_words(local.date())} at {local:%H:%M} {local.tzname() or zone}"


def clock(value: datetime | str | None, *, empty: str = "—") -> str:
    """The time alone, ``07:00 UTC``, for a table of one day's rows."""
    if value is None or value == "":
        return empty
    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"{when.astimezone(UTC):%H:%M} UTC"
