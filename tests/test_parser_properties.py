"""Property-based: any text thrown at the parsers gives an article or a clear IngestError."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.article import Article, article_from_mapping
from publisher.errors import IngestError
from publisher.ingest import parse_text
from tests.conftest import SAMPLE

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
SAMPLE_LINES = SAMPLE.read_text(encoding="utf-8").split("\n")
# Lines that matter to the parser's structure, so mutations hit its decisions.
NASTY_LINES = [
    "", "Top Story", "Top StoryWorld", "Deep Look", "Quick Looks", "  • ", "  • bullet", "/ / / / /",
    "More on US News", "Previous Article", "Menu", "\x00\x1b\ufffe", "<script>x</script>", "\ud800",
    "a/ b/ c/ d/ e/ f", "—", "\r", "\t",
]  # fmt: skip

line_strategy = st.one_of(st.sampled_from(SAMPLE_LINES), st.sampled_from(NASTY_LINES), st.text(max_size=40))


def check(text: str, suffix: str) -> None:
    try:
        items = list(parse_text(text, suffix))
    except IngestError as exc:
        assert str(exc)  # a message a person can read
        return
    for _index, item in items:
        if isinstance(item, IngestError):
            assert str(item)
            continue
        assert isinstance(item, Article)
        assert item.title and item.section and item.slug
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", item.slug)
        if item.published_at is not None:
            assert 1970 <= item.published_at.year <= 2100
        for value in item.to_json().values():
            blob = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            assert not FORBIDDEN.search(blob)
            blob.encode("utf-8")  # no lone surrogates survive


common = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(st.text())
def test_random_text_as_newslooks(text: str) -> None:
    check(text, ".txt")


@common
@given(st.lists(line_strategy, max_size=60))
def test_random_lines_as_newslooks(lines: list[str]) -> None:
    check("\n".join(lines), ".txt")


@common
@given(
    st.data(),
    st.lists(st.tuples(st.sampled_from(["delete", "insert", "replace", "swap"]), st.integers(0, 10_000)),
             max_size=8),
)  # fmt: skip
def test_mutations_of_the_sample(data: st.DataObject, edits: list[tuple[str, int]]) -> None:
    lines = list(SAMPLE_LINES)
    for op, position in edits:
        at = position % (len(lines) or 1)
        if op == "delete" and lines:
            del lines[at]
        elif op == "insert":
            lines.insert(at, data.draw(line_strategy))
        elif op == "replace" and lines:
            lines[at] = data.draw(line_strategy)
        elif op == "swap" and len(lines) > 1:
            other = (at + 1) % len(lines)
            lines[at], lines[other] = lines[other], lines[at]
    check("\n".join(lines), ".txt")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
article_keys = st.sampled_from(
    ["title", "section", "slug", "summary", "authors", "quick_looks", "body_html", "image", "top_story",
     "published_at", "bogus"]
)  # fmt: skip


@common
@given(st.dictionaries(article_keys, json_values, max_size=8) | json_values)
def test_random_json(value: object) -> None:
    check(json.dumps(value), ".json")


@common
@given(st.dictionaries(article_keys, json_values, max_size=8), st.text(max_size=200))
def test_random_markdown(front: dict[str, object], body: str) -> None:
    check("---\n" + json.dumps(front) + "\n---\n" + body, ".md")
    check("---\n" + body, ".md")


def test_json_lone_surrogate_escape_is_removed() -> None:
    text = json.dumps({"title": "Bad \ud800 char", "section": "World", "summary": "x\ufffey"})
    [(_, article)] = list(parse_text(text, ".json"))
    assert isinstance(article, Article)
    assert (article.title, article.summary) == ("Bad char", "xy")


# -- hostile input: anything gives an article or an IngestError, never another exception ----------

json_number = st.one_of(
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.text("0123456789", min_size=1, max_size=6000),  # past Python's int-to-str limit
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-2000, 2000)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1.5", "-0"]),
)
json_date = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.builds(lambda y, h, m: f"{y:04d}-12-31T23:59:59{'-' if h % 2 else '+'}{h:02d}:{m:02d}",
              st.sampled_from([1, 1969, 1970, 2100, 2101, 9999]), st.integers(0, 23), st.integers(0, 59)),
    st.sampled_from(["0001-01-01", "9999-12-31T23:59:59-23:59", "10000-01-01T00:00:00Z", ""]),
)  # fmt: skip


@st.composite
def hostile_json(draw: st.DrawFn) -> str:
    """Raw JSON text, so that literals json.dumps never writes (huge numbers, NaN) appear."""
    fields = {"title": '"T"', "section": '"S"'}
    keys = ["title", "summary", "authors", "image", "id", "top_story", "published_at", "updated_at",
            "quick_looks"]  # fmt: skip
    for key in draw(st.lists(st.sampled_from(keys), max_size=4)):
        depth = draw(st.integers(0, 40))
        leaf = draw(st.one_of(json_number, json_date.map(json.dumps), st.just('"x"'), st.just("null")))
        fields[key] = "[" * depth + leaf + "]" * depth
    body = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    return draw(st.sampled_from([body, f"[{body}, {body}]", "[" * draw(st.integers(0, 3000)) + body]))


@common
@given(hostile_json())
def test_hostile_json(text: str) -> None:
    check(text, ".json")


yaml_value = st.one_of(
    json_number,
    json_date,
    st.sampled_from(["&a [x, y]", "*a", "&b {url: *a}", "!!binary aGk=", "!!python/name:os.system",
                     ".inf", "-.nan", "2026-02-30", "!!timestamp 2026-01-01", "|\n  block", "'quoted'", "~",
                     "{", "]"]),
    st.integers(0, 3000).map(lambda n: "[" * n + "x" + "]" * n),
    st.text(max_size=20),
)  # fmt: skip


@common
@given(st.lists(st.tuples(article_keys, yaml_value), max_size=6), st.text(max_size=200))
def test_hostile_front_matter(fields: list[tuple[str, str]], body: str) -> None:
    lines = [f"{key}: {value}" for key, value in [("title", "T"), ("section", "S"), *fields]]
    check("---\n" + "\n".join(lines) + "\n---\n" + body, ".md")


@common
@given(
    st.dictionaries(st.sampled_from(["published_at", "updated_at"]), json_date | st.datetimes(), min_size=1)
)
def test_dates_are_in_range_or_refused_naming_the_field(dates: dict[str, object]) -> None:
    try:
        article = article_from_mapping({"title": "T", "section": "S", **dates})
    except IngestError as exc:
        assert exc.field in dates
        return
    if article.published_at is not None:
        assert 1970 <= article.published_at.year <= 2100
        assert article.published_at.utcoffset() is not None
