"""Parse a Markdown article with YAML front matter (a pure function)."""

from __future__ import annotations

import re

import yaml
from markdown_it import MarkdownIt

from publisher.article import Article, article_from_mapping
from publisher.errors import IngestError

_MARKDOWN = MarkdownIt("commonmark", {"html": True})
_H1 = re.compile(r"<(/?)h1>")


def parse_markdown(text: str) -> Article:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise IngestError("expected YAML front matter starting with '---'", line=1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise IngestError("front matter is not closed by a '---' line", line=1) from None
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 2 if exc.problem_mark else 1
        raise IngestError(f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise IngestError(f"invalid YAML: {exc}", line=1) from None
    if not isinstance(data, dict):
        raise IngestError("front matter must be a mapping of fields", line=2)
    if "body_html" in data or "body_markdown" in data:
        raise IngestError("the body goes below the front matter, not in it", line=2)
    body = "\n".join(lines[end + 1 :])
    # One heading level for the Deep Look: "# Heading" in Markdown means a sub-heading here.
    html = _H1.sub(r"<\1h2>", _MARKDOWN.render(body))
    try:
        return article_from_mapping(data, body_html=html)
    except IngestError as exc:
        raise IngestError(exc.reason, line=_line_of(lines[1:end], exc.field), field=exc.field) from None


def _line_of(front_matter: list[str], field: str | None) -> int | None:
    """The line of ``field:`` in the front matter, so errors point at it."""
    if not field:
        return None
    key = field.split(".")[0]
    for offset, line in enumerate(front_matter):
        if line.startswith(f"{key}:"):
            return offset + 2
    return None
