"""A subscriber and the pure validation of one subscriber's fields.

``validate`` is what both ``subscribers add`` and the CSV import use: an address checked by
email-validator without DNS (a newsroom imports lists offline), an IANA time zone, and section names
kept as given plus their slugs (``"US News"`` → ``us-news``) for matching articles.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from publisher.article import iso_utc, section_slug
from publisher.errors import InvalidInputError
from publisher.text import one_line


class Status(StrEnum):
    """A reader's state; the moves between them are data in ``states.py``."""

    PENDING = "pending"  # signed up, not confirmed: gets no edition
    ACTIVE = "active"  # the only state that gets editions
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# The reader's own hour: from 05:00 to 10:00 local, on the quarter hour.
EARLIEST_HOUR = time(5, 0)
LATEST_HOUR = time(10, 0)
HOURS = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(5 * 60, 10 * 60 + 1, 15))


@dataclass(frozen=True, slots=True)
class NewSubscriber:
    """Validated fields of a subscriber to add or update."""

    email: str
    name: str = ""
    timezone: str = "UTC"
    sections: tuple[str, ...] = ()

    @property
    def email_key(self) -> str:
        return self.email.lower()

    @property
    def section_keys(self) -> str:
        return encode_section_keys(self.sections)


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str
    timezone: str
    sections: tuple[str, ...]
    status: Status
    created_at: datetime
    unsubscribed_at: datetime | None = None
    confirmed_at: datetime | None = None
    send_time: str | None = None  # "HH:MM": the reader's own hour; None = the schedule's
    preferences_at: datetime | None = None  # when the reader last saved their preferences

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "timezone": self.timezone,
            "sections": list(self.sections),
            "status": str(self.status),
            "hour": self.send_time,
            "created_at": iso_utc(self.created_at),
            "confirmed_at": iso_utc(self.confirmed_at),
            "unsubscribed_at": iso_utc(self.unsubscribed_at),
            "preferences_at": iso_utc(self.preferences_at),
        }


class InvalidSubscriberError(InvalidInputError, ValueError):
    """The reason a row cannot be a subscriber, meant for a person: ``field: reason``, with the
    field also in ``field`` for callers that answer per field (the API's 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)


def validate(
    email: str, name: str = "", timezone: str = "", sections: str | Iterable[str] = ""
) -> NewSubscriber:
    """Check and normalise one subscriber's fields; raises InvalidSubscriberError."""
    email = (email or "").strip()
    if not email:
        raise InvalidSubscriberError("email", "missing")
    try:
        normalized = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidSubscriberError("email", f"{email!r}: {exc}") from None
    zone = (timezone or "").strip() or "UTC"
    if not _known_zone(zone):
        raise InvalidSubscriberError("timezone", f"unknown time zone {zone!r}")
    return NewSubscriber(normalized, one_line(name or ""), zone, parse_sections(sections))


def validate_hour(value: str | None) -> str | None:
    """The reader's hour as "HH:MM" (05:00-10:00, on the quarter hour); empty = the schedule's."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) == 4 and value[1] == ":":
        value = "0" + value
    if value not in HOURS:
        raise InvalidSubscriberError("hour", f"{value!r}: choose a quarter hour from 05:00 to 10:00")
    return value


def parse_sections(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"US News; Business"`` (``;`` or ``,`` between names) → ("US News", "Business"), no repeats."""
    items = value.replace(",", ";").split(";") if isinstance(value, str) else list(value)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        name = one_line(item)
        key = section_slug(name) if name else ""
        if key and key not in seen:
            seen.add(key)
            out.append(name)
    return tuple(out)


def encode_section_keys(sections: Iterable[str]) -> str:
    """Slugs as ``|a|b|``, so ``LIKE '%|a|%'`` finds a section in SQL on SQLite and PostgreSQL."""
    keys = sorted({section_slug(s) for s in sections})
    return f"|{'|'.join(keys)}|" if keys else ""


def decode_section_keys(value: str) -> frozenset[str] | None:
    """The stored slugs; None for a subscriber who follows every section."""
    keys = frozenset(k for k in value.split("|") if k)
    return keys or None


@functools.lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
