"""Hostile article files: every one is a clear IngestError naming file and field, never a crash,
and the good files and items beside it are still read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from publisher.article import Article, article_from_mapping, parse_iso
from publisher.errors import IngestError
from publisher.ingest import parse_paths, parse_text
from publisher.ingest.files import MAX_FILE_BYTES
from publisher.ingest.jsonfile import MAX_DEPTH, MAX_ITEMS

GOOD = {"title": "Harbor Opens", "section": "World", "summary": "It opened."}


def short(value: object) -> str:
    """Test ids that stay readable when the input is 5,000 brackets long."""
    return repr(value)[:40]


def error_of(text: str, suffix: str) -> IngestError:
    """The one error parsing ``text`` gives (for the whole file or its only item)."""
    try:
        items = list(parse_text(text, suffix))
    except IngestError as exc:
        return exc
    [(_, item)] = items
    assert isinstance(item, IngestError), item
    return item


def front(lines: str, body: str = "Body.") -> str:
    return f"---\ntitle: T\nsection: S\n{lines}\n---\n{body}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),  # RecursionError before
        ('{"title": "T", "section": "S", "x": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}",
         f"nested deeper than {MAX_DEPTH} levels"),
        ('{"title": "T", "summary": ' + "9" * 5000 + "}", "more than 40 digits"),  # ValueError
        ('{"title": 1e999, "section": "S"}', "too large"),  # was stored as the title "inf"
        ('{"title": -1e999, "section": "S"}', "too large"),
        ('{"title": NaN, "section": "S"}', "NaN is not JSON"),  # was stored as the title "nan"
        ('{"title": Infinity, "section": "S"}', "Infinity is not JSON"),
    ],
    ids=short,
)  # fmt: skip
def test_hostile_json_is_a_clear_error(text: str, reason: str) -> None:
    assert reason in error_of(text, ".json").reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0001-01-01T00:00:00+01:00", "between the years 1970 and 2100"),  # OverflowError before
        ("9999-12-31T23:59:59-23:59", "between the years 1970 and 2100"),  # OverflowError before
        ("0001-01-01", "between the years 1970 and 2100"),
        ("1969-12-31T23:59:59Z", "between the years 1970 and 2100"),
        ("2101-01-01T00:00:00Z", "between the years 1970 and 2100"),
        ("10000-01-01T00:00:00Z", "not an ISO 8601 date-time"),
        ("2026-02-30T00:00:00Z", "not an ISO 8601 date-time"),
        ("x" * 100_000, "not an ISO 8601 date-time"),
    ],
    ids=short,
)
@pytest.mark.parametrize("field", ["published_at", "updated_at"])
def test_dates_outside_1970_to_2100_are_refused_naming_the_field(field: str, value: str, reason: str) -> None:
    error = error_of(json.dumps({**GOOD, field: value}), ".json")
    assert (error.field, reason in error.reason) == (field, True)
    assert len(str(error)) < 200  # a huge bad value is quoted short


def test_dates_at_the_edges_of_the_range_are_taken() -> None:
    assert parse_iso("1970-01-01T00:00:00Z").year == 1970
    assert parse_iso("2100-12-31T23:59:59Z").year == 2100
    # Shifted into the range by its offset: the UTC time is what counts.
    assert parse_iso("2101-01-01T00:30:00+01:00").year == 2100


def test_updated_at_was_taken_unchecked_before() -> None:
    with pytest.raises(IngestError) as caught:
        article_from_mapping({**GOOD, "updated_at": "yesterday"})
    assert caught.value.field == "updated_at"


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        # "billion laughs": nine lines that stand for a billion strings once str() walks them.
        ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
         "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
         "image: {url: *g}", 4, "anchors and aliases"),
        ("summary: " + "[" * 5000 + "]" * 5000, 4, "nested deeper than"),  # RecursionError before
        ("summary: " + "9" * 5000, 4, "more than 40 digits"),  # ValueError before
        ("summary: .inf", 4, "expected text, got the number inf"),  # was stored as "inf"
        ("published_at: 9999-12-31T23:59:59-23:59", 4, "between the years 1970 and 2100"),
        ("published_at: 0001-01-01 00:00:00+01:00", 4, "between the years 1970 and 2100"),
        ("published_at: 2026-02-30", 1, "invalid YAML value"),  # ValueError before
        ("summary: !!binary aGVsbG8=", 4, "expected text, got bytes"),
        ("summary: !!python/object:os.system x", 4, "invalid YAML"),
        ("image: {url: [x]}", 4, "expected text, got list"),  # was str()'d into the URL
        ("id: [1, 2]", 4, "expected text or a whole number"),
        ("id: ''", 4, "must not be empty"),
        (f"id: {'x' * 301}", 4, "longer than 300"),
    ],
    ids=short,
)  # fmt: skip
def test_hostile_front_matter_is_a_clear_error(lines: str, line: int, reason: str) -> None:
    started = time.monotonic()
    error = error_of(front(lines), ".md")
    assert reason in error.reason
    assert error.line == line
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({**GOOD, "title": ["a"]}, "title", "expected text, got list"),
        ({**GOOD, "title": {"a": 1}}, "title", "expected text, got dict"),
        ({**GOOD, "title": True}, "title", "expected text, got bool"),
        ({**GOOD, "authors": 3}, "authors", "expected a list of strings"),
        ({**GOOD, "authors": [1]}, "authors", "expected a list of strings"),
        ({**GOOD, "quick_looks": {"a": "b"}}, "quick_looks", "expected a list of strings"),
        ({**GOOD, "body_html": 5}, "body_html", "expected a string of HTML"),
        ({**GOOD, "image": 5}, "image", "expected {url, alt, width, height}"),
        ({**GOOD, "image": {"url": 5}}, "image.url", "expected text, got int"),
        ({**GOOD, "image": {"url": "http://[::1"}}, "image.url", "not an absolute"),  # ValueError before
        ({**GOOD, "image": {"url": "https://x.example/a.jpg", "alt": 1}}, "image.alt", "expected text"),
        ({**GOOD, "published_at": 1700000000}, "published_at", "expected an ISO 8601"),
        ({**GOOD, "published_at": ["2026-01-01"]}, "published_at", "expected an ISO 8601"),
        ({**GOOD, "id": 1.5}, "id", "expected text or a whole number"),
        ({**GOOD, "id": True}, "id", "expected text or a whole number"),
        ({**GOOD, "id": "a", "source_id": "b"}, "source_id", "differs from 'id'"),
        ({**GOOD, "x" * 10_000: 1}, "x" * 59 + "…", "unknown field"),
        ({**GOOD, "bad\x00\nkey": 1}, "bad key", "unknown field"),
    ],
    ids=short,
)
def test_wrong_types_everywhere_name_the_field(data: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(IngestError) as caught:
        article_from_mapping(data)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_nul_bytes_are_dropped_not_fatal() -> None:
    text = json.dumps({**GOOD, "title": "Har\x00bor", "summary": "a\x00b"})
    [(_, article)] = list(parse_text(text, ".json"))
    assert isinstance(article, Article) and (article.title, article.summary) == ("Harbor", "ab")
    error = error_of("\x00" * 1000, ".txt")
    assert "empty file" in error.reason


def test_ids_are_text_or_whole_numbers() -> None:
    [(_, article)] = list(parse_text(json.dumps({**GOOD, "id": 42}), ".json"))
    assert isinstance(article, Article) and article.source_id == "42"
    [(_, same)] = list(parse_text(json.dumps({**GOOD, "source_id": " a\nb "}), ".json"))
    assert isinstance(same, Article) and same.source_id == "a b"


def test_a_json_list_keeps_its_good_items_and_names_the_bad_ones(tmp_path: Path) -> None:
    items = [GOOD, {**GOOD, "title": ["x"]}, {**GOOD, "title": "Second",
             "published_at": "0001-01-01"}, "not an object", {**GOOD, "title": "Third"}]  # fmt: skip
    (tmp_path / "list.json").write_text(json.dumps(items), encoding="utf-8")
    parsed = list(parse_paths([tmp_path]))
    assert [p.article.title for p in parsed if p.article] == ["Harbor Opens", "Third"]
    errors = {p.where: str(p.error) for p in parsed if p.error}
    name = tmp_path / "list.json"
    assert errors == {
        f"{name}[1]": f"{name}[1]: field 'title': expected text, got list",
        f"{name}[2]": f"{name}[2]: field 'published_at': must be between the years 1970 and 2100",
        f"{name}[3]": f"{name}[3]: expected an article object, got str",
    }


def test_limits_on_files_items_and_nesting(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as file:  # sparse: no 16 MiB written
        file.truncate(MAX_FILE_BYTES + 1)
    (tmp_path / "many.json").write_text(json.dumps([GOOD] * (MAX_ITEMS + 1)), encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    parsed = {Path(p.path).name: p for p in parse_paths([tmp_path])}
    assert parsed["good.json"].article is not None
    assert str(parsed["big.json"].error) == f"{big}: larger than 16 MiB: not read"
    assert "more than 5000 articles in one file" in str(parsed["many.json"].error)
    assert "nested deeper than 16 levels" in str(parsed["deep.json"].error)


def test_the_file_name_is_the_source_id_of_one_article_files(tmp_path: Path) -> None:
    (tmp_path / "01-harbor.md").write_text(front("summary: s"), encoding="utf-8")
    (tmp_path / "02-own-id.md").write_text(front("id: story-7"), encoding="utf-8")
    (tmp_path / "03-list.json").write_text(json.dumps([GOOD, {**GOOD, "id": 9}]), encoding="utf-8")
    ids = [p.article.source_id if p.article else p.error for p in parse_paths([tmp_path])]
    assert ids == ["01-harbor.md", "story-7", None, "9"]  # None: known by its slug
