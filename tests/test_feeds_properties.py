"""No article text, whatever its characters, can break a feed (property tests, pure rendering)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.article import Article
from publisher.feeds.jsonfeed import render_json
from publisher.feeds.model import Channel, make_item
from publisher.feeds.render import render_atom, render_rss
from publisher.text import one_line

# Every code point, surrogates and controls included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
WHEN = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
CHANNEL = Channel(
    title="Newslooks", description="d", home_url="https://n.example/", self_url="https://n.example/feeds/x",
    language="en", author="Newslooks", updated=WHEN, ttl_minutes=5, hub="https://hub.example/",
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=ANY_TEXT, summary=ANY_TEXT, section=ANY_TEXT, author=ANY_TEXT, bullet=ANY_TEXT, body=ANY_TEXT)
def test_any_text_renders_to_feeds_that_parse_with_bozo_0(
    title: str, summary: str, section: str, author: str, bullet: str, body: str
) -> None:
    article = Article(
        slug="s", title=title, section=section, authors=(author,), summary=summary,
        quick_looks=(bullet,), body_html=f"<p>{body}</p>", published_at=WHEN, updated_at=WHEN,
        guid="urn:uuid:6f1f3c1e-8a5b-4c59-9d0e-3c1b9b0d7a10",
    )  # fmt: skip
    item = make_item(article, "https://n.example/articles/s")
    for render in (render_rss, render_atom):
        parsed = feedparser.parse(render(CHANNEL, [item]))
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == 1
        assert parsed.entries[0].id == item.id
    feed = json.loads(render_json(CHANNEL, [item]))
    assert feed["items"][0]["title"] == (one_line(title) or "s")
