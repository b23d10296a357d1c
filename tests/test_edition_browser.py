"""The email in a real browser (headless Chromium): no horizontal scrolling at 320, 375 and 600 px."""

from __future__ import annotations

from dataclasses import replace

import pytest

from publisher.edition import EditionSpec, compile_edition, select_articles
from publisher.edition.personalize import Recipient, html_values
from publisher.settings import Settings
from tests.chromium import CHROMIUM, measure_widths
from tests.conftest import REQUIRE_SERVICES
from tests.edition_data import DAY, full_edition_articles

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRE_SERVICES,
        reason="needs headless Chromium: apt-get install -y chromium",
    ),
]
WIDTHS = (320, 375, 600)


def full_edition_html(**article_changes: object) -> str:
    settings = Settings(site_url="https://news.example.com")
    articles = full_edition_articles()
    articles[0] = replace(articles[0], **article_changes)  # type: ignore[arg-type]
    compiled = compile_edition(select_articles(articles, EditionSpec.from_settings(settings), DAY), settings)
    reader = Recipient(
        "a.rather.long.address.of.a.reader@mail.subdomain.example.com",
        "Maximiliane Wolfeschlegelsteinhausen",
        "https://news.example.com/unsubscribe/" + "t" * 120,
        "https://news.example.com/preferences/" + "t" * 120,
    )
    return compiled.html.fill(html_values(reader))


def test_no_horizontal_scrolling() -> None:
    html = full_edition_html(
        title="Supercalifragilisticexpialidocious" * 4,  # one long unbreakable word
        quick_looks=("https://example.com/" + "a" * 150, *full_edition_articles()[0].quick_looks),
    )
    measured = measure_widths(html, WIDTHS)
    for width in WIDTHS:
        m = measured[width]
        assert m["compatMode"] == "CSS1Compat", "the doctype is missing: quirks mode"
        assert m["width"] == width
        assert m["scrollWidth"] <= width, f"{width}px: scrolls sideways, too wide: {m['overflowing']}"
        assert m["overflowing"] == []


def test_the_measurement_sees_overflow() -> None:
    html = full_edition_html().replace("<body", "<body><div style='width:700px'>wide</div><x", 1)
    assert measure_widths(html, (320,))[320]["scrollWidth"] == 708
