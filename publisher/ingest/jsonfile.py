"""Parse a JSON file holding one article object or a list of them (a pure function)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from publisher.article import Article, article_from_mapping
from publisher.errors import IngestError


def parse_json(text: str) -> Iterator[tuple[int | None, Article | IngestError]]:
    """Yield (list index or None, article or its error): one bad item spares the others."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if isinstance(data, dict):
        yield None, article_from_mapping(data)
        return
    if not isinstance(data, list):
        raise IngestError("expected an article object or a list of them", line=1)
    for index, item in enumerate(data):
        try:
            yield index, article_from_mapping(item)
        except IngestError as exc:
            yield index, exc
