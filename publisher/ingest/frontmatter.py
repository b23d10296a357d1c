"""Parse a Markdown article with YAML front matter (a pure function)."""

from __future__ import annotations

import re

import yaml
from markdown_it import MarkdownIt

from publisher.article import Article, article_from_mapping
from publisher.errors import IngestError

_MARKDOWN = MarkdownIt("commonmark", {"html": True})
_H1 = re.compile(r"<(/?)h1>")
# Article fields are at most two levels deep (image: {url, alt}); YAML's composer recurses per level.
MAX_DEPTH = 16
MAX_NUMBER_DIGITS = 40


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (a few lines of aliases can stand for billions of
    values: "billion laughs") and with a nesting limit (deep nesting overflows the stack)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.MarkedYAMLError(problem="anchors and aliases (&, *) are not allowed",
                                       problem_mark=event.start_mark)  # fmt: skip
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                           problem_mark=event.start_mark)  # fmt: skip
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > MAX_NUMBER_DIGITS:  # past Python's int-to-str limit int() raises ValueError
            raise yaml.MarkedYAMLError(problem=f"a number with more than {MAX_NUMBER_DIGITS} digits",
                                       problem_mark=node.start_mark)  # fmt: skip
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _FrontMatterLoader.construct_yaml_int)


def load_front_matter(text: str) -> object:
    """The YAML, or an IngestError whose line counts from the front matter's first line (1)."""
    loader: _FrontMatterLoader | None = None
    try:
        loader = _FrontMatterLoader(text)  # its reader refuses control characters at once
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise IngestError(f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise IngestError(f"invalid YAML: {exc}") from None
    except (ValueError, OverflowError) as exc:
        # A value YAML reads but Python cannot hold: an int past the int-to-str limit, a date
        # like 2026-02-30. The parser does not say where.
        raise IngestError(f"invalid YAML value: {exc}") from None
    except RecursionError:
        raise IngestError(f"invalid YAML: nested deeper than {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_markdown(text: str) -> Article:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise IngestError("expected YAML front matter starting with '---'", line=1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise IngestError("front matter is not closed by a '---' line", line=1) from None
    try:
        data = load_front_matter("\n".join(lines[1:end])) or {}
    except IngestError as exc:
        # The front matter starts on the file's line 2.
        raise IngestError(exc.reason, line=exc.line + 1 if exc.line is not None else 1) from None
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
