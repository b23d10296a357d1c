"""The compiled edition: HTML and text parts, Quick Looks first, limits, placeholders, escaping."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from publisher.article import Image
from publisher.edition import CompiledEditions, EditionSpec, compile_edition, select_articles
from publisher.edition.compile import compile_archive_html, date_in_words
from publisher.edition.personalize import Recipient, html_values, text_values
from publisher.edition.templates import email_templates
from publisher.errors import RenderError
from publisher.settings import Settings
from tests.edition_data import DAY, example_articles, full_edition_articles

SETTINGS = Settings(site_url="https://news.example.com")
MARIA = Recipient(
    "maria@example.com", "Maria", "https://news.example.com/u/t1", "https://news.example.com/p/t1"
)


def compiled_full(count: int = 12, **changes: object):  # type: ignore[no-untyped-def]
    settings = SETTINGS.replace(**changes)
    edition = select_articles(full_edition_articles(count), EditionSpec.from_settings(settings), DAY)
    return compile_edition(edition, settings)


@pytest.fixture(scope="module")
def full():  # type: ignore[no-untyped-def]
    return compiled_full()


@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    edition = select_articles(example_articles(), EditionSpec.from_settings(SETTINGS), DAY)
    return compile_edition(edition, SETTINGS)


def fill(compiled, recipient: Recipient = MARIA) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return compiled.html.fill(html_values(recipient)), compiled.text.fill(text_values(recipient))


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.metas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "meta":
            self.metas.append(dict(attrs))


def test_full_edition_html_is_under_gmail_clipping(full) -> None:  # type: ignore[no-untyped-def]
    html, _ = fill(full)
    assert len(full.edition.articles) == 12
    assert len(html.encode("utf-8")) < 102 * 1024


def test_html_document_basics(full) -> None:  # type: ignore[no-untyped-def]
    html, _ = fill(full)
    assert html.startswith('<!doctype html>\n<html lang="en"')
    assert "<title>Morning Edition, Wednesday, November 25, 2026 · Newslooks</title>" in html
    parser = _Images()
    parser.feed(html)
    assert {"name": "color-scheme", "content": "light dark"} in parser.metas
    assert len(parser.images) == 12
    assert all(img.get("alt") for img in parser.images)
    assert "fonts.googleapis.com" not in html  # no remote fonts, nothing fetched on open
    assert "@media (prefers-color-scheme: dark)" in html


def test_premailer_keeps_important_in_media_queries(full) -> None:  # type: ignore[no-untyped-def]
    html, _ = fill(full)
    media = re.search(r"@media only screen and \(min-width: ?480px\) \{(.*?)\}\s*\}", html, re.S)
    assert media is not None
    assert "width: 100% !important" in media.group(1)
    # Inlined: the CSS of h2 is on the element now.
    assert re.search(r"<h2 style='[^']*font-size:22px", html)


def test_image_alt_falls_back_to_the_headline() -> None:
    article = replace(example_articles()[0], image=Image("https://news.example.com/i.jpg", ""))
    edition = select_articles([article], EditionSpec.from_settings(SETTINGS), DAY)
    html, _ = fill(compile_edition(edition, SETTINGS))
    assert f'alt="{article.title}"' in html


def test_layout_order_in_html(example) -> None:  # type: ignore[no-untyped-def]
    html, _ = fill(example)
    body = html.split("<body", 1)[1]
    lead_bullets = example.edition.lead.quick_looks
    marks = [
        body.index('class="preheader"'),
        body.index("Morning Edition</h1>"),
        body.index(">Wednesday, November 25, 2026 · <a"),
        body.index(">View in browser</a>"),
        body.index("Good morning, Maria."),
        body.index("Maritime Safety Quick Looks"),
        body.index(lead_bullets[-1]),
        body.index("Council approves levy in a 31–17 vote after a four-hour debate"),  # 2nd story, bullet 1
        body.index(">World</p>"),  # first card's section label
        body.index('<span class="dateline"'),
        body.index(">Read the Deep Look</a>"),
        body.index(">Manage preferences</a>"),
        body.index(">Unsubscribe</a>"),
        body.index(SETTINGS.postal_address),
    ]
    assert marks == sorted(marks)
    assert 'href="https://news.example.com/editions/morning/2026-11-25"' in body
    assert (
        'href="https://news.example.com/articles/port-cities-sign-ferry-safety-pact-after-winter-collisions"'
        in body
    )


def test_preheader_is_the_lead_bullet_hidden_without_colour(example) -> None:  # type: ignore[no-untyped-def]
    html, _ = fill(example)
    match = re.search(r'<div class="preheader" style="([^"]*)">([^<&͏]*)', html)
    assert match is not None
    style, text = match.groups()
    assert text == "Eleven port authorities sign the Meridian Ferry Safety Pact"
    assert "display:none" in style.replace(" ", "")
    assert "color" not in style  # white-on-white text costs spam score


def test_quick_looks_first_in_both_parts(full) -> None:  # type: ignore[no-untyped-def]
    html, text = fill(full)
    lead = full.edition.lead
    for part in (html, text):
        last_bullet = max(part.index(b) for b in lead.quick_looks)
        first_summary = min(part.index(a.summary[:60]) for a in full.edition.articles)
        assert last_bullet < first_summary


def test_other_stories_show_three_bullets(example) -> None:  # type: ignore[no-untyped-def]
    _, text = fill(example)
    second = example.edition.articles[1]
    quick_looks = text[: text.index("-" * 78)]
    assert all(b in quick_looks for b in second.quick_looks[:3])
    assert second.quick_looks[3] not in quick_looks


def test_text_part(example) -> None:  # type: ignore[no-untyped-def]
    _, text = fill(example)
    lines = text.splitlines()
    assert lines[:7] == [
        "MORNING EDITION · Newslooks",
        "Wednesday, November 25, 2026",
        "",
        "Good morning, Maria.",
        "View in browser: https://news.example.com/editions/morning/2026-11-25",
        "",
        "MARITIME SAFETY QUICK LOOKS",
    ]
    assert lines[8:10] == [
        "Port Cities Sign Ferry Safety Pact After Winter Collisions",
        "  * Eleven port authorities sign the Meridian Ferry Safety Pact",
    ]
    assert (
        "Read the Deep Look:\nhttps://news.example.com/articles/underdog-harriers-win-lakeshore-relay-in-photo-finish\n"
        in text
    )
    assert "Unsubscribe:\nhttps://news.example.com/u/t1\n" in text
    assert "Manage preferences:\nhttps://news.example.com/p/t1\n" in text
    assert text.endswith("Newslooks, 100 Harbor Street, Springfield, USA\n")
    assert "\n\n\n" not in text
    assert "<" not in text.replace("<blink>", "").replace("<marquee>", "")  # no HTML in the text part


def test_text_wrapped_at_78(full) -> None:  # type: ignore[no-untyped-def]
    _, text = fill(full)
    for line in text.splitlines():
        assert len(line) <= 78 or re.fullmatch(r"(View in browser: )?https://\S+", line), line
    assert any(len(line) > 70 for line in text.splitlines() if " " in line)  # it does fill lines


def test_placeholders_filled_and_name_escaped(example) -> None:  # type: ignore[no-untyped-def]
    reader = Recipient("o'brien@example.com", 'Seán "Q" <O\'Brien> & Co', "https://x.example/u?a=1&b=2",
                       "https://x.example/p")  # fmt: skip
    html, text = fill(example, reader)
    assert "Good morning, Seán &quot;Q&quot; &lt;O&#x27;Brien&gt; &amp; Co." in html
    assert 'href="https://x.example/u?a=1&amp;b=2"' in html
    assert "o&#x27;brien@example.com" in html
    assert 'Good morning, Seán "Q" <O\'Brien> & Co.' in text
    assert not re.search(r"PUB[0-9a-f]{12}_", html + text)
    anonymous = Recipient("a@example.com", "", "https://x.example/u", "https://x.example/p")
    assert "Good morning, reader." in fill(example, anonymous)[1]


def test_placeholder_tokens_are_unique_per_compile(example) -> None:  # type: ignore[no-untyped-def]
    # An article cannot spell a placeholder: the token has a random nonce.
    other = compile_edition(example.edition, SETTINGS)
    assert example.html.literals[0] == other.html.literals[0]
    assert example.html.fields == other.html.fields == ("name", "email", "preferences_url", "unsubscribe_url")


def test_markup_in_articles_shows_as_text() -> None:
    article = replace(
        example_articles()[0],
        title="<script>alert(1)</script> & </mj-text><mj-raw><b>x</b></mj-raw>",
        quick_looks=("<img src=x onerror=alert(2)>", "{{ ph.name }} and {% raw %}"),
        summary="<a href='https://evil.example'>click</a>",
        dateline="<i>ROME</i>",
    )
    edition = select_articles([article], EditionSpec.from_settings(SETTINGS), DAY)
    compiled = compile_edition(edition, SETTINGS)
    html, text = fill(compiled)
    assert "<script" not in html and "<img src=x" not in html and "<b>x</b>" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;/mj-text&gt;&lt;mj-raw&gt;&lt;b&gt;x&lt;/b&gt;"
        in html
    )
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;a href='https://evil.example'&gt;click&lt;/a&gt;" in html or (
        "&lt;a href=&#x27;https://evil.example&#x27;&gt;click&lt;/a&gt;" in html
    )
    assert "{{ ph.name }} and {% raw %}" in html and "{{ ph.name }} and {% raw %}" in text
    assert "<script>alert(1)</script> & </mj-text>" in text  # plain text stays literal
    assert (
        compiled.subject == "Morning Edition: <script>alert(1)</script> & </mj-text><mj-raw><b>x</b></mj-raw>"
    )


def test_compiled_once_per_distinct_selection() -> None:
    edition = select_articles(example_articles(), EditionSpec.from_settings(SETTINGS), DAY)
    cache = CompiledEditions(edition, SETTINGS)
    selections = [
        None,
        {"World"},
        {"world"},
        {"Health", "Sports"},
        None,
        {"sports", "health"},
        {"World"},
    ] * 200
    results = [cache.get(s) for s in selections]
    assert cache.compiles == 3
    assert results[1] is results[2]
    assert [a.section for a in results[3].edition.articles] == ["Health", "Health", "Sports"]
    everything = {a.section for a in edition.articles}
    assert cache.get(everything) is results[0]  # all sections = the full edition, no new compile
    assert cache.compiles == 3


def test_empty_selection_still_renders() -> None:
    edition = select_articles(example_articles(), EditionSpec.from_settings(SETTINGS), DAY)
    compiled = compile_edition(edition, SETTINGS, frozenset({"Opinion"}))
    html, text = fill(compiled)
    assert "No new stories in your sections this morning." in html
    assert "No new stories in your sections this morning." in text
    assert compiled.subject == "Morning Edition: No new stories today"


def test_archive_has_no_personal_parts(example) -> None:  # type: ignore[no-untyped-def]
    html = compile_archive_html(example.edition, SETTINGS)
    assert "Good morning" not in html and "Unsubscribe" not in html and "View in browser" not in html
    assert "Maritime Safety Quick Looks" in html
    assert not re.search(r"PUB[0-9a-f]{12}_", html)


def test_templates_dir_overrides_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "morning_edition"
    folder.mkdir()
    (folder / "subject.txt").write_text("☕ {{ edition.title }} for {{ date_words }}\n")
    (folder / "_footer.mjml").write_text(
        "<mj-section><mj-column><mj-text>Custom footer {{ postal_address }} "
        '<a href="{{ ph.unsubscribe_url }}">Leave</a></mj-text></mj-column></mj-section>'
    )
    settings = SETTINGS.replace(templates_dir=str(tmp_path))
    edition = select_articles(example_articles(), EditionSpec.from_settings(settings), DAY)
    compiled = compile_edition(edition, settings)
    html, _ = fill(compiled)
    assert compiled.subject == "☕ Morning Edition for Wednesday, November 25, 2026"
    assert (
        'Custom footer Newslooks, 100 Harbor Street, Springfield, USA <a href="https://news.example.com/u/t1"'
        in html
    )
    assert "Maritime Safety Quick Looks" in html  # the rest is still the shipped template


def test_template_errors_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "morning_edition"
    folder.mkdir()
    (folder / "subject.txt").write_text("line one\n{{ edition.nope }}\n")
    settings = SETTINGS.replace(templates_dir=str(tmp_path))
    edition = select_articles(example_articles(), EditionSpec.from_settings(settings), DAY)
    with pytest.raises(RenderError, match=r"subject.txt: line 2"):
        compile_edition(edition, settings, templates=email_templates(str(tmp_path)))


def test_date_in_words() -> None:
    assert date_in_words(DAY) == "Wednesday, November 25, 2026"


def test_oversized_html_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    # The logger's own level: a Celery worker started by an earlier test raises the root's level.
    caplog.set_level(logging.WARNING, logger="publisher.edition.compile")
    compiled = compiled_full(20, edition_max_articles=20)
    html, _ = fill(compiled)
    assert len(html.encode()) > 102 * 1024
    assert "Gmail clips it after 104448" in caplog.text
