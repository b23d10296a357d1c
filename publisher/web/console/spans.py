"""Spans of time, rates and counts as people say them on the console: ``in 3 minutes``,
``2 hours ago``, ``about 4 minutes``, ``12 a second``, ``1,234``. (A moment itself, ``Friday,
December 4, 2026 at 07:00 UTC``, is ``words.py``'s.)"""

from __future__ import annotations

from datetime import datetime, timedelta


def count(n: int) -> str:
    """``1,234``."""
    return f"{n:,}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 reader``, ``1,234 readers``."""
    return f"{count(n)} {one if n == 1 else (many or one + 's')}"


def duration(span: timedelta) -> str:
    """``under a minute``, ``about 4 minutes``, ``about 1 hour 10 minutes``, ``about 3 hours``, ``about 3
    days``: minutes only while they matter."""
    seconds = span.total_seconds()
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {plural(minutes, 'minute')}"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"about {plural(hours, 'hour')}" + (f" {plural(rest, 'minute')}" if rest and hours < 2 else "")
    return f"about {plural(round(hours / 24), 'day')}"


def relative(when: datetime, now: datetime) -> str:
    """``in 3 minutes``, ``2 hours ago``, ``just now`` (within half a minute)."""
    delta = when - now
    if abs(delta.total_seconds()) < 30:
        return "just now"
    if delta.total_seconds() > 0:
        return f"in {duration(delta).removeprefix('about ')}"
    return f"{duration(-delta).removeprefix('about ')} ago"


def rate(per_second: float | None) -> str:
    """``12 a second`` (``4 a minute`` below one a second); ``none in the last minute``."""
    if not per_second:
        return "none in the last minute"
    if per_second >= 1:
        return f"{count(round(per_second))} a second"
    return f"{count(max(1, round(per_second * 60)))} a minute"


def percent(part: int, whole: int) -> str:
    """``42 %``; ``0.25 %`` below one per cent (bounce and complaint rates are small)."""
    if not whole:
        return "0 %"
    value = 100 * part / whole
    if 0 < value < 1:
        return f"{value:.2f} %"
    return f"{value:.0f} %"
