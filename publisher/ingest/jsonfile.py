"""Parse a JSON file holding one article object or a list of them (a pure function).

The input is untrusted, so it is read within limits: Python's json module would otherwise raise
RecursionError on deep nesting, ValueError on integers past the int-to-str limit, and turn
``1e999`` or ``NaN`` into floats no article field can hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from publisher.article import Article, article_from_mapping, quote
from publisher.errors import IngestError

# An article is at most three levels deep (list → article → image); anything much deeper is not one.
MAX_DEPTH = 16
MAX_ITEMS = 5000  # articles in one JSON file
MAX_NUMBER_DIGITS = 40


class _BadNumberError(Exception):
    def __init__(self, literal: str, reason: str) -> None:
        super().__init__(reason)
        self.literal = literal
        self.reason = reason


def _int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _BadNumberError(literal, f"a number with more than {MAX_NUMBER_DIGITS} digits")
    return int(literal)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _BadNumberError(literal, f"a number too large to hold: {quote(literal)}")
    return value


def _constant(literal: str) -> float:
    raise _BadNumberError(literal, f"{literal} is not JSON")


def load_json(text: str) -> Any:
    """``json.loads`` within the limits above; every failure is an IngestError."""
    try:
        data = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except _BadNumberError as exc:
        at = text.find(exc.literal)
        raise IngestError(exc.reason, line=text.count("\n", 0, at) + 1 if at >= 0 else None) from None
    except RecursionError:  # deeper than the interpreter goes: far past MAX_DEPTH
        raise IngestError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _too_deep(data):
        raise IngestError(f"nested deeper than {MAX_DEPTH} levels")
    return data


def parse_json(text: str) -> Iterator[tuple[int | None, Article | IngestError]]:
    """Yield (list index or None, article or its error): one bad item spares the others."""
    data = load_json(text)
    if isinstance(data, dict):
        yield None, article_from_mapping(data)
        return
    if not isinstance(data, list):
        raise IngestError("expected an article object or a list of them", line=1)
    if len(data) > MAX_ITEMS:
        raise IngestError(f"more than {MAX_ITEMS} articles in one file: split it", line=1)
    for index, item in enumerate(data):
        try:
            yield index, article_from_mapping(item)
        except IngestError as exc:
            yield index, exc


def _too_deep(data: Any) -> bool:
    """Walked without recursion, so the check itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
