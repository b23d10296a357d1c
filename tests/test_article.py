"""Articles from JSON and Markdown: validation, sanitising, errors naming the field and line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from publisher.article import Article, Image, article_from_mapping, split_authors
from publisher.errors import IngestError
from publisher.ingest import parse_text
from publisher.text import slugify


def one(text: str, suffix: str) -> Article:
    [(_, item)] = list(parse_text(text, suffix))
    assert isinstance(item, Article), item
    return item


MARKDOWN = """---
title: "Rates <Hold> Steady"
section: Business
top_story: true
source: Newslooks
dateline: NEW YORK
authors: [A. Writer, B. Editor]
edition: Morning Edition
summary: The central bank held rates.
quick_looks_title: Rates
quick_looks:
  - Rates unchanged
  - Next meeting in March
image: {url: "https://img.example.com/a.jpg", alt: "The bank"}
---
NEW YORK — The bank *held* rates.

## What It Means

<script>alert(1)</script><p onclick="x()">Borrowers <a href="javascript:evil()">wait</a>.</p>

# Top Level Heading
"""


def test_markdown_with_front_matter() -> None:
    article = one(MARKDOWN, ".md")
    assert article.title == "Rates <Hold> Steady"  # text stays text; templates escape it
    assert article.slug == "rates-hold-steady"
    assert (article.section, article.top_story, article.dateline) == ("Business", True, "NEW YORK")
    assert article.authors == ("A. Writer", "B. Editor")
    assert article.quick_looks == ("Rates unchanged", "Next meeting in March")
    assert article.image == Image("https://img.example.com/a.jpg", "The bank")
    assert article.body_html == (
        "<p>NEW YORK — The bank <em>held</em> rates.</p>\n<h2>What It Means</h2>\n"
        '<p>Borrowers <a rel="noopener noreferrer">wait</a>.</p>\n<h2>Top Level Heading</h2>'
    )


def test_json_object_and_list() -> None:
    data = {"title": "A Title", "section": "World", "body_html": "<p>Hi<img src=x onerror=y></p>"}
    assert one(json.dumps(data), ".json").body_html == "<p>Hi</p>"
    items = list(parse_text(json.dumps([data, {"section": "World"}, dict(data, title="B")]), ".json"))
    assert [i for i, _ in items] == [0, 1, 2]
    assert isinstance(items[1][1], IngestError)
    assert items[1][1].field == "title" and items[1][1].reason == "required"
    assert isinstance(items[2][1], Article) and items[2][1].slug == "b"


def test_json_published_at_is_read_as_utc() -> None:
    data = {"title": "T", "section": "S", "published_at": "2026-03-08T02:30:00-05:00"}
    assert one(json.dumps(data), ".json").published_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"section": "World"}, "title", "required"),
        ({"title": "  ", "section": "World"}, "title", "must not be empty"),
        ({"title": "T"}, "section", "required"),
        ({"title": "T", "section": "S", "quick_looks": "one"}, "quick_looks", "expected a list of strings"),
        ({"title": "T", "section": "S", "top_story": "yes"}, "top_story", "expected true or false"),
        ({"title": "T", "section": "S", "image": {"url": "/rel.jpg"}}, "image.url", "not an absolute"),
        ({"title": "T", "section": "S", "image": {"url": "javascript:x"}}, "image.url", "not an absolute"),
        ({"title": "T", "section": "S", "slug": "Not A Slug"}, "slug", "lowercase"),
        ({"title": "T", "section": "S", "quick_look": []}, "quick_look", "unknown field"),
        ({"title": "T", "section": "S", "published_at": "yesterday"}, "published_at", "ISO 8601"),
        ({"title": "x" * 301, "section": "S"}, "title", "longer than 300"),
    ],
)
def test_bad_fields_are_named(data: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(IngestError) as caught:
        article_from_mapping(data)
    assert caught.value.field == field
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("no front matter", 1, "expected YAML front matter"),
        ("---\ntitle: x\n", 1, "not closed"),
        ("---\ntitle: [unclosed\nsection: x\n---\n", 3, "invalid YAML"),
        ("---\n- a list\n---\n", 2, "mapping"),
        ("---\ntitle: T\nsection: S\ntop_story: maybe\n---\nbody", 4, "true or false"),
    ],
)
def test_markdown_errors_name_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(IngestError) as caught:
        list(parse_text(text, ".md"))
    assert caught.value.line == line
    assert reason in caught.value.reason


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(IngestError) as caught:
        list(parse_text('[\n  {"title": "T",\n  "section": }\n]', ".json"))
    assert caught.value.line == 3
    assert "invalid JSON" in caught.value.reason


def test_header_injection_is_impossible_through_one_line_fields() -> None:
    article = one(json.dumps({"title": "Hi\r\nBcc: victim@example.com", "section": "World\n"}), ".json")
    assert article.title == "Hi Bcc: victim@example.com"
    assert "\n" not in article.section and "\r" not in article.title


def test_to_json_has_exactly_the_documented_keys() -> None:
    article = one(MARKDOWN, ".md")
    assert list(article.to_json()) == [
        "slug", "source_id", "title", "section", "top_story", "source", "dateline", "authors", "edition",
        "summary", "quick_looks_title", "quick_looks", "body_html", "image", "published_at", "updated_at",
    ]  # fmt: skip


def test_content_hash_ignores_dates_but_not_content() -> None:
    article = one(MARKDOWN, ".md")
    moved = article.with_dates(datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))
    assert moved.content_hash() == article.content_hash()
    from dataclasses import replace

    assert replace(article, summary="changed").content_hash() != article.content_hash()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("J. Mansour", ("J. Mansour",)),
        ("A. Name and B. Name", ("A. Name", "B. Name")),
        ("A, B & C", ("A", "B", "C")),
        ("J. Smith, Jr. and Sandy Anderson", ("J. Smith, Jr.", "Sandy Anderson")),
    ],
)
def test_split_authors(value: str, names: tuple[str, ...]) -> None:
    assert split_authors(value) == names


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("NATO’s Rutte Opposes EU Breakaway From U.S.", "natos-rutte-opposes-eu-breakaway-from-us"),
        ("Café Owners Say “Non”", "cafe-owners-say-non"),
        ("GDP grew 3.5% in Q3", "gdp-grew-3-5-in-q3"),
        ("日本", ""),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug
