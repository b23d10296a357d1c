"""Parse the newsroom's "Newslooks" text article into an Article (a pure function).

The shape, top to bottom (blank lines between blocks)::

    Top StoryWorld                     section label; "Top Story" may be glued in front
    <headline>
    <headline>/ Source/ DATELINE/ Author(s)/ Edition/ summary
    <headline>                         repeated headline lines are page furniture
    <topic> Quick Looks                optional
      • bullet ...
    Deep Look
    <paragraphs>; a short line after two blank lines is a sub-heading
    More on US News / Previous Article / Next Article / rating widget / Latest News / Menu

Everything from the first footer line on is page furniture and dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from publisher.article import MAX_SLUG, MAX_TITLE, Article, split_authors
from publisher.errors import IngestError
from publisher.text import clean_text, one_line, slugify

TOP_STORY = "Top Story"
QUICK_LOOKS_SUFFIX = "Quick Looks"
DEEP_LOOK = "Deep Look"
BULLET = re.compile(r"^\s*[•\u2022\u25cf\u25aa*\-–]\s+(?P<text>.*\S)\s*$")
FOOTER_EXACT = {
    "previous article",
    "next article",
    "how useful was this article?",
    "latest news",
    "menu",
    "click on a star to rate it!",
}
MORE_ON = re.compile(r"^More on [\w’'&,.\- ]{1,40}$")
# A sub-heading is one short line without a sentence's closing punctuation.
MAX_HEADING = 120
SENTENCE_END = (".", ",", ";", ":", "”", '"')


@dataclass(slots=True)
class _Line:
    number: int  # 1-based, as an editor shows it
    text: str  # stripped


def parse_newslooks(text: str) -> Article:
    """Parse one Newslooks article. Raises IngestError naming the line on bad input."""
    lines = [_Line(i, line.strip()) for i, line in enumerate(clean_text(text).split("\n"), start=1)]
    cursor = _Cursor(lines)

    label = cursor.next_nonblank()
    if label is None:
        raise IngestError("empty file: expected a section label", line=1)
    top_story = label.text.startswith(TOP_STORY)
    section = one_line(label.text[len(TOP_STORY) :] if top_story else label.text)
    if not section:
        raise IngestError("no section label before 'Top Story' text", line=label.number)

    headline_line = cursor.next_nonblank()
    if headline_line is None:
        raise IngestError("no headline after the section label", line=label.number + 1)
    title = one_line(headline_line.text)
    if len(title) > MAX_TITLE:
        raise IngestError(f"headline longer than {MAX_TITLE} characters", line=headline_line.number)

    byline = cursor.next_nonblank()
    if byline is None or byline.text.count("/ ") < 4:
        where = byline.number if byline else headline_line.number + 1
        raise IngestError(
            "no byline line found (expected 'Headline/ Source/ DATELINE/ Author/ Edition/ summary')",
            line=where,
        )
    source, dateline, authors, edition, summary = _split_byline(byline, title)

    quick_looks_title = ""
    bullets: list[str] = []
    body_start = None
    # Between the byline and the body: repeated headlines, the Quick Looks block, "Deep Look".
    while (line := cursor.peek_nonblank()) is not None:
        if line.text == title or one_line(line.text) == title:
            cursor.take(line)
        elif line.text.endswith(QUICK_LOOKS_SUFFIX) and not bullets:
            cursor.take(line)
            quick_looks_title = one_line(line.text[: -len(QUICK_LOOKS_SUFFIX)])
            bullets = _read_bullets(cursor)
            if not bullets:
                raise IngestError("a Quick Looks block without bullets", line=line.number)
        elif line.text == DEEP_LOOK:
            cursor.take(line)
            body_start = line.number
            break
        else:
            break  # no "Deep Look" marker: the body starts here
    body_html = _render_body(cursor, title)
    if not body_html and not summary:
        raise IngestError("no Deep Look body and no summary", line=body_start or (byline.number + 1))

    return Article(
        slug=slugify(title, MAX_SLUG) or _fail_slug(headline_line),
        title=title,
        section=section,
        top_story=top_story,
        source=source,
        dateline=dateline,
        authors=authors,
        edition=edition,
        summary=summary,
        quick_looks_title=quick_looks_title,
        quick_looks=tuple(bullets),
        body_html=body_html,
    )


def _fail_slug(line: _Line) -> str:
    raise IngestError("headline has no letters or digits to make a slug from", line=line.number)


def _split_byline(byline: _Line, title: str) -> tuple[str, str, tuple[str, ...], str, str]:
    text = one_line(byline.text)
    # The headline may itself contain "/ ": cut it off by value when the line starts with it.
    rest = text[len(title) + 2 :] if text.startswith(title + "/ ") else text.split("/ ", 1)[1]
    parts = [p.strip() for p in rest.split("/ ", 4)]
    if len(parts) < 5:
        raise IngestError(
            "byline line needs 'Source/ DATELINE/ Author/ Edition/ summary' after the headline",
            line=byline.number,
        )
    source, dateline, author_text, edition, summary = parts
    return source, dateline, split_authors(author_text), edition, summary


def _read_bullets(cursor: _Cursor) -> list[str]:
    bullets: list[str] = []
    while (line := cursor.peek_nonblank()) is not None:
        match = BULLET.match(line.text)
        if not match:
            break
        cursor.take(line)
        bullets.append(one_line(match.group("text")))
    return bullets


def _render_body(cursor: _Cursor, title: str) -> str:
    """Paragraphs become <p>, a short line after two blank lines becomes <h2>; text is escaped."""
    parts: list[str] = []
    blank_run = 2  # the first block after "Deep Look" is never a heading: see below
    first = True
    for line in cursor.rest():
        if not line.text:
            blank_run += 1
            continue
        if _is_footer(line.text):
            break
        if line.text == title:
            blank_run = 0
            continue
        escaped = html.escape(one_line(line.text), quote=False)
        if not first and blank_run >= 2 and _looks_like_heading(line.text):
            parts.append(f"<h2>{escaped}</h2>")
        else:
            parts.append(f"<p>{escaped}</p>")
        first = False
        blank_run = 0
    return "\n".join(parts)


def _looks_like_heading(text: str) -> bool:
    return len(text) <= MAX_HEADING and not text.endswith(SENTENCE_END)


def _is_footer(text: str) -> bool:
    if text.lower() in FOOTER_EXACT:
        return True
    return bool(MORE_ON.match(text)) and not text.endswith((".", "!", "?"))


class _Cursor:
    def __init__(self, lines: list[_Line]) -> None:
        self._lines = lines
        self._pos = 0

    def peek_nonblank(self) -> _Line | None:
        pos = self._pos
        while pos < len(self._lines):
            if self._lines[pos].text:
                return self._lines[pos]
            pos += 1
        return None

    def next_nonblank(self) -> _Line | None:
        line = self.peek_nonblank()
        if line is not None:
            self.take(line)
        return line

    def take(self, line: _Line) -> None:
        self._pos = line.number  # line numbers are 1-based: the next index

    def rest(self) -> list[_Line]:
        return self._lines[self._pos :]
