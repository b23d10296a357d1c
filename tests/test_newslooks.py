"""The Newslooks text parser, against the sample page (tests/data/newslooks/) and hand-made variants."""

from __future__ import annotations

import re

import pytest

from publisher.errors import IngestError
from publisher.ingest.newslooks import parse_newslooks


def test_the_sample_parses_exactly(sample_text: str) -> None:
    article = parse_newslooks(sample_text)
    assert article.title == "Port Ellis’s Tidal Array Keeps 40,000 Homes Lit Through First Winter"
    assert article.slug == "port-elliss-tidal-array-keeps-40-000-homes-lit-through-first-winter"
    assert article.section == "Science"
    assert article.top_story is True
    assert article.source == "Newslooks"
    assert article.dateline == "PORT ELLIS"
    assert article.authors == ("R. Okafor", "T. Lindqvist")
    assert article.edition == "Morning Edition"
    assert article.summary.startswith("The fictional harbor town of Port Ellis says its tidal turbine")
    assert article.summary.endswith("too high for other coastal towns to follow.")
    assert article.quick_looks_title == "Tidal Energy Milestone"
    assert len(article.quick_looks) == 8
    assert article.quick_looks[0] == "Port Ellis’s tidal array ran all winter without an unplanned outage"
    assert article.quick_looks[3] == "Three ports now share one maintenance crew—and one spare-parts barge"
    assert article.quick_looks[-1] == "Regulators plan a review of the harbor’s shipping lanes next year"
    assert article.body_html.startswith(
        "<p>PORT ELLIS — The tidal turbines anchored off this small harbor town have come through"
    )
    # A heading may end in "?" or hold a ":"; a short quote after one blank line stays a paragraph.
    assert re.findall(r"<h2>(.*?)</h2>", article.body_html) == [
        "A Coating That Kept the Rotors Turning",
        "Three Harbors, One Crew",
        "The Cost Question: Who Can Afford the Tide?",
    ]
    quote = "<p>“It is not glamorous work, but a clean blade turns faster,” Voss said.</p>"
    assert quote in article.body_html
    assert article.body_html.endswith(
        "<p>“If the next two winters look like this one, the numbers will speak for themselves,” "
        "Brack said.</p>"
    )
    assert article.body_html.count("<p>") == 12
    assert (
        re.findall(r"^<(p|h2)>", article.body_html, re.M)
        == ["p"] * 4 + ["h2"] + ["p"] * 3 + ["h2"] + ["p"] * 2 + ["h2"] + ["p"] * 3
    )


def test_page_furniture_is_dropped(sample_text: str) -> None:
    body = parse_newslooks(sample_text).body_html
    for furniture in (
        "More on Science",
        "Previous Article",
        "Harbor Ferry Schedule Changes",
        "Next Article",
        "Coastal Schools Add Marine Science",
        "rate it",
        "Average rating",
        "No votes so far",
        "Latest News",
        "Menu",
        "Homes Lit Through First Winter",  # the repeated headline lines
        "Quick Looks",
        "Deep Look",
    ):
        assert furniture not in body


def _article(
    *,
    label: str = "Business",
    title: str = "Markets Rally",
    byline: str | None = None,
    quick_looks: str = "Market Moves Quick Looks\n\n  • Stocks rose\n  • Bonds fell\n",
    body: str = "Deep Look\n\nNEW YORK — Stocks rose on Monday.\n\n\nWhat Comes Next\n\nAnalysts wait.\n",
) -> str:
    byline = byline or f"{title}/ Newslooks/ NEW YORK/ A. Writer and B. Editor/ Morning Edition/ Stocks up."
    return f"{label}\n\n{title}\n\n{byline}\n\n{title}\n\n{quick_looks}\n{title}\n\n{body}"


def test_a_plain_section_label_is_not_a_top_story() -> None:
    article = parse_newslooks(_article(label="US News"))
    assert (article.section, article.top_story) == ("US News", False)


def test_several_authors_become_a_list() -> None:
    assert parse_newslooks(_article()).authors == ("A. Writer", "B. Editor")


def test_an_article_without_quick_looks_is_valid() -> None:
    article = parse_newslooks(_article(quick_looks=""))
    assert article.quick_looks == ()
    assert article.quick_looks_title == ""
    assert article.body_html == (
        "<p>NEW YORK — Stocks rose on Monday.</p>\n<h2>What Comes Next</h2>\n<p>Analysts wait.</p>"
    )


def test_a_headline_containing_a_slash_space_keeps_the_byline_fields() -> None:
    title = "Either/ Or: A Choice"
    article = parse_newslooks(_article(title=title))
    assert (article.title, article.source, article.dateline) == (title, "Newslooks", "NEW YORK")
    assert article.summary == "Stocks up."


def test_a_summary_containing_slashes_is_kept_whole() -> None:
    byline = "Markets Rally/ Newslooks/ NEW YORK/ A. Writer/ Morning Edition/ Up 5/ 6 of days."
    assert parse_newslooks(_article(byline=byline)).summary == "Up 5/ 6 of days."


def test_markup_in_the_text_is_escaped_not_interpreted() -> None:
    body = "Deep Look\n\nThe <script>alert(1)</script> tag & <b>bold</b> claims.\n"
    article = parse_newslooks(_article(body=body))
    assert article.body_html == (
        "<p>The &lt;script&gt;alert(1)&lt;/script&gt; tag &amp; &lt;b&gt;bold&lt;/b&gt; claims.</p>"
    )


def test_forbidden_characters_are_removed() -> None:
    text = _article(title="Markets\x00 Rally\x1b\ufffe", body="Deep Look\n\nA\x07 quiet\ufffe day.\r\n")
    article = parse_newslooks(text.replace("\n", "\r\n"))
    assert article.title == "Markets Rally"
    assert article.body_html == "<p>A quiet day.</p>"


def test_crlf_line_endings_parse_the_same(sample_text: str) -> None:
    assert parse_newslooks(sample_text.replace("\n", "\r\n")) == parse_newslooks(sample_text)


def test_a_first_paragraph_after_two_blank_lines_is_not_a_heading() -> None:
    article = parse_newslooks(_article(body="Deep Look\n\n\nShort first line\n\nMore text.\n"))
    assert article.body_html == "<p>Short first line</p>\n<p>More text.</p>"


def test_a_body_sentence_starting_more_on_is_not_furniture() -> None:
    body = "Deep Look\n\nFirst.\n\nMore on that later.\n\nLast.\n"
    assert parse_newslooks(_article(body=body)).body_html.count("<p>") == 3


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "empty file"),
        ("\n\n   \n", 1, "empty file"),
        ("World\n", 2, "no headline"),
        ("World\n\nHeadline\n\nJust a paragraph.\n", 5, "no byline line found"),
        ("World\n\nHeadline\n", 4, "no byline line found"),
        ("Top Story\n\nHeadline\n", 1, "no section label"),
        (
            "World\n\nH\n\nH/ S/ D/ A/ E/ sum\n\nTopic Quick Looks\n\nNot a bullet\n",
            7,
            "Quick Looks block without bullets",
        ),
        ("World\n\n!!!\n\n!!!/ S/ D/ A/ E/ sum\n", 3, "no letters or digits"),
    ],
)
def test_bad_input_names_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(IngestError) as caught:
        parse_newslooks(text)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"line {line}: ")
