"""Which articles make an edition and in what order: window, cut-off, sections, pins, limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from publisher.app import App
from publisher.article import Article
from publisher.edition import EditionSpec, load_edition, select_articles
from publisher.edition.selection import parse_edition_names
from publisher.errors import ConfigError, PublisherError
from publisher.settings import Settings
from tests.edition_data import CUTOFF, DAY, example_articles

SLUGS = {
    "ferry": "port-cities-sign-ferry-safety-pact-after-winter-collisions",
    "levy": "city-council-approves-transit-levy-to-fund-late-night-buses",
    "battery": "battery-startup-brightfield-raises-120-million-to-expand-factory",
    "blink": "open-source-browser-drops-support-for-blink-and-marquee-tags",
    "relay": "underdog-harriers-win-lakeshore-relay-in-photo-finish",
    "flu": "county-health-clinics-extend-evening-hours-for-flu-shots",
    "comet": "amateur-astronomers-help-spot-faint-comet-near-jupiters-orbit",
    "water": "mountain-districts-agree-to-share-water-reserves-after-dry-summer",
    "texts": "hospitals-test-text-reminders-to-cut-missed-appointments",
}
NAMES = {slug: name for name, slug in SLUGS.items()}


def names(articles: tuple[Article, ...]) -> list[str]:
    return [NAMES.get(a.slug, a.slug) for a in articles]


@pytest.fixture
def spec() -> EditionSpec:
    return EditionSpec.from_settings(Settings())


def test_default_spec() -> None:
    spec = EditionSpec.from_settings(Settings())
    assert (spec.name, spec.title, spec.cutoff_time, spec.zone.key) == (
        "morning",
        "Morning Edition",
        time(7),
        "UTC",
    )
    assert spec.window == timedelta(hours=24)
    assert spec.max_articles == 12
    assert spec.section_order == ("World", "US News", "Business", "Technology", "Science", "Health", "Sports")
    assert spec.cutoff(DAY) == CUTOFF


def test_order_top_stories_then_sections_then_newest(spec: EditionSpec) -> None:
    edition = select_articles(example_articles(), spec, DAY)
    # ferry and levy are top stories (World before US News); then the configured section order;
    # the two Health stories newest first (flu was published 20 minutes after texts).
    assert names(edition.articles) == [
        "ferry", "levy", "water", "battery", "blink", "comet", "flu", "texts", "relay",
    ]  # fmt: skip
    assert edition.lead is not None and edition.lead.slug == SLUGS["ferry"]
    assert (edition.name, edition.title, edition.date, edition.cutoff) == (
        "morning",
        "Morning Edition",
        DAY,
        CUTOFF,
    )


def test_newest_first_within_a_section(spec: EditionSpec) -> None:
    articles = example_articles()
    texts = next(a for a in articles if a.slug == SLUGS["texts"])
    newer = replace(texts, published_at=CUTOFF - timedelta(minutes=1))
    edition = select_articles([*(a for a in articles if a.slug != texts.slug), newer], spec, DAY)
    assert names(edition.articles)[6:8] == ["texts", "flu"]


def test_window_is_the_24_hours_before_the_cutoff(spec: EditionSpec) -> None:
    base = example_articles()[2]  # a Business story
    at = {
        "too-early": CUTOFF - timedelta(hours=24, seconds=1),
        "first-second": CUTOFF - timedelta(hours=24),
        "last-second": CUTOFF - timedelta(seconds=1),
        "at-cutoff": CUTOFF,
    }
    articles = [replace(base, slug=slug, published_at=when) for slug, when in at.items()]
    edition = select_articles(articles, spec, DAY)
    assert names(edition.articles) == ["last-second", "first-second"]


def test_window_cutoff_and_zone_configurable() -> None:
    settings = Settings(edition_cutoff="06:30", edition_timezone="America/New_York", edition_window_hours=12)
    spec = EditionSpec.from_settings(settings)
    cutoff = datetime(2026, 11, 25, 6, 30, tzinfo=ZoneInfo("America/New_York"))
    assert spec.cutoff(DAY) == cutoff
    assert spec.cutoff(DAY).astimezone(UTC) == datetime(2026, 11, 25, 11, 30, tzinfo=UTC)
    base = example_articles()[2]
    inside = replace(base, slug="inside", published_at=cutoff - timedelta(hours=11))
    outside = replace(base, slug="outside", published_at=cutoff - timedelta(hours=13))
    assert names(select_articles([inside, outside], spec, DAY).articles) == ["inside"]


def test_at_most_max_articles_lowest_sections_dropped() -> None:
    spec = EditionSpec.from_settings(Settings(edition_max_articles=3, edition_sections="Sports,World"))
    edition = select_articles(example_articles(), spec, DAY)
    # Top stories first whatever the order; then Sports (configured first).
    assert names(edition.articles) == ["ferry", "levy", "relay"]
    assert len(edition.pool) == 9


def test_unlisted_sections_follow_alphabetically() -> None:
    spec = EditionSpec.from_settings(Settings(edition_sections="Sports"))
    edition = select_articles(example_articles(), spec, DAY)
    assert names(edition.articles) == [
        "levy", "ferry", "relay", "battery", "flu", "texts", "comet", "blink", "water",
    ]  # fmt: skip


def test_pins_lead_and_excludes_drop(spec: EditionSpec) -> None:
    articles = example_articles()
    old = replace(articles[4], slug="old-pinned", published_at=CUTOFF - timedelta(days=3))
    edition = select_articles(
        articles, spec, DAY, pinned=[old, articles[6]], excluded=[SLUGS["ferry"], SLUGS["water"]]
    )
    assert names(edition.articles) == [
        "old-pinned", "comet", "levy", "battery", "blink", "flu", "texts", "relay",
    ]  # fmt: skip
    excluded_pin = select_articles(articles, spec, DAY, pinned=[articles[0]], excluded=[articles[0].slug])
    assert SLUGS["ferry"] not in [a.slug for a in excluded_pin.articles]


def test_retracted_never_appear(spec: EditionSpec) -> None:
    articles = example_articles()
    articles[0] = replace(articles[0], retracted_at=CUTOFF - timedelta(minutes=5))
    edition = select_articles(articles, spec, DAY, pinned=[articles[0]])
    assert names(edition.articles)[0] == "levy"


def test_for_sections_refills_from_the_pool() -> None:
    spec = EditionSpec.from_settings(Settings(edition_max_articles=4))
    edition = select_articles(example_articles(), spec, DAY)
    assert names(edition.articles) == ["ferry", "levy", "water", "battery"]
    health = edition.for_sections(frozenset({"Health"}))
    assert names(health.articles) == ["flu", "texts"]  # not in the top 4, still there for Health readers
    mixed = edition.for_sections(frozenset({"us-news", "WORLD", "sports"}))
    assert names(mixed.articles) == ["ferry", "levy", "water", "relay"]
    assert edition.for_sections(None) is edition
    assert edition.for_sections(frozenset({"Nothing"})).articles == ()


def test_edition_names_parsing() -> None:
    assert parse_edition_names("morning=Morning Edition, evening=Evening Edition@19:00") == {
        "morning": ("Morning Edition", None),
        "evening": ("Evening Edition", time(19)),
    }
    evening = EditionSpec.from_settings(Settings(edition_names="evening=Evening Edition@19:00"), "evening")
    assert evening.cutoff(DAY) == datetime(2026, 11, 25, 19, tzinfo=UTC)
    with pytest.raises(PublisherError, match="unknown edition 'noon'"):
        EditionSpec.from_settings(Settings(), "noon")
    for bad in ({"edition_names": "morning"}, {"edition_cutoff": "7am"}, {"edition_timezone": "Mars/Base"},
                {"edition_max_articles": 0}):  # fmt: skip
        with pytest.raises(ConfigError):
            EditionSpec.from_settings(Settings(**bad))  # type: ignore[arg-type]


def test_next_date() -> None:
    spec = EditionSpec.from_settings(Settings())
    assert spec.next_date(datetime(2026, 11, 25, 6, 59, tzinfo=UTC)) == date(2026, 11, 25)
    assert spec.next_date(datetime(2026, 11, 25, 7, 0, tzinfo=UTC)) == date(2026, 11, 26)


def test_load_edition_from_the_store(any_db_app: App) -> None:
    articles = example_articles()
    # Another story (its own source id) with the first one's text.
    stale = replace(articles[0], slug="last-week", source_id="last-week.txt",
                    published_at=CUTOFF - timedelta(days=7))  # fmt: skip
    any_db_app.articles.save_many([*articles, stale])
    any_db_app.articles.retract(SLUGS["relay"])
    spec = EditionSpec.from_settings(any_db_app.settings)
    edition = load_edition(any_db_app.articles, spec, DAY, pins=["last-week"], excludes=[SLUGS["comet"]])
    assert names(edition.articles) == [
        "last-week",
        "ferry",
        "levy",
        "water",
        "battery",
        "blink",
        "flu",
        "texts",
    ]
    with pytest.raises(PublisherError, match="no article with slug 'nope'"):
        load_edition(any_db_app.articles, spec, DAY, pins=["nope"])
    with pytest.raises(PublisherError, match="retracted"):
        load_edition(any_db_app.articles, spec, DAY, pins=[SLUGS["relay"]])
