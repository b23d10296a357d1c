"""The ranges a person may give for ids and dates, checked where input comes in (CLI, web).

Beyond them a value is certainly a mistake, and the layers below would fail on it in their own way
(a database integer overflows, date arithmetic leaves year 1..9999); checked here, it is a plain
"out of range" naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from publisher.errors import InvalidInputError

MAX_ID = 2**31 - 1  # the largest id a 32-bit signed column holds
MIN_YEAR = 1970
MAX_YEAR = 2100
D = TypeVar("D", date, datetime)


def check_id(value: int, field: str = "id") -> int:
    if not 1 <= value <= MAX_ID:
        raise InvalidInputError(f"{field}: must be 1 to {MAX_ID}, got {value}", field=field)
    return value


def check_date(value: D, field: str = "date") -> D:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInputError(
            f"{field}: the year must be {MIN_YEAR} to {MAX_YEAR}, got {value.isoformat()}", field=field
        )
    return value
