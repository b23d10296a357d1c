"""What the W3C validator checks that we can check here: well-formed XML, RFC 822 / RFC 3339 dates,
absolute URLs, one alternate link per entry, typed content, self and hub links; and that no article
text can break a feed."""

from __future__ import annotations

import html
import json
from email.utils import parsedate_to_datetime

from lxml import etree

from publisher.app import App
from publisher.article import Image
from publisher.feeds.build import FeedService
from publisher.feeds.store import MemoryFeedStore
from tests.feeds_data import RFC822, RFC3339, archive_month, article, feed_bytes, parse, seed, write_json

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
HUB = "https://hub.example.net/"


def _build(app: App) -> None:
    result = app.feeds.build_all()
    assert result.errors == []


def test_rss_dates_are_rfc822_and_atom_dates_rfc3339(app) -> None:
    seed(app, [article(1), article(2, "Sports")])
    _build(app)
    rss = etree.fromstring(feed_bytes(app, "index.rss"))
    dates = [e.text for e in rss.iter("pubDate", "lastBuildDate")]
    assert len(dates) == 3
    for text in dates:
        assert RFC822.match(text), text
        parsedate_to_datetime(text)
    atom = etree.fromstring(feed_bytes(app, "index.atom"))
    dates = [e.text for e in atom.iter(f"{ATOM}updated", f"{ATOM}published")]
    assert len(dates) == 5
    assert all(RFC3339.match(text) for text in dates), dates


def test_urls_are_absolute_and_each_entry_has_one_alternate_link(app) -> None:
    body = '<p>See <a href="/articles/other">this</a> and <a href="notes#x">that</a>.</p>'
    image = Image("https://cdn.example.com/pic.jpg", "A harbour at dawn")
    seed(app, [article(1, body_html=body, image=image)])
    _build(app)

    atom = etree.fromstring(feed_bytes(app, "index.atom"))
    entry = atom.find(f"{ATOM}entry")
    links = entry.findall(f"{ATOM}link")
    assert [(link.get("rel"), link.get("type"), link.get("href")) for link in links] == [
        ("alternate", "text/html", "https://news.example.com/articles/story-1")
    ]
    assert entry.find(f"{ATOM}content").get("type") == "html"
    feed_links = {(link.get("rel"), link.get("href")) for link in atom.findall(f"{ATOM}link")}
    assert feed_links == {
        ("self", "https://news.example.com/feeds/index.atom"),
        ("alternate", "https://news.example.com/"),
        ("prev-archive", f"https://news.example.com/feeds/archive/{archive_month()}.atom"),
    }
    rss = etree.fromstring(feed_bytes(app, "index.rss"))
    assert rss.find("channel/link").text == "https://news.example.com/"
    assert [e.get("href") for e in rss.iter(f"{ATOM}link")] == [
        "https://news.example.com/feeds/index.rss",
        f"https://news.example.com/feeds/archive/{archive_month()}.rss",
    ]
    for path in ("index.rss", "index.atom"):
        parsed = parse(feed_bytes(app, path))
        assert parsed.bozo == 0
        html = parsed.entries[0].content[0].value
        assert '<a href="https://news.example.com/articles/other"' in html
        assert '<a href="https://news.example.com/articles/notes#x"' in html
        assert html.startswith('<p><img alt="A harbour at dawn" src="https://cdn.example.com/pic.jpg" />')
        media = [{"url": "https://cdn.example.com/pic.jpg", "medium": "image"}]
        assert parsed.entries[0].media_content == media
        assert not parsed.entries[0].get("enclosures")
    content = rss.find("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded").text
    assert content.startswith('<p><img src="https://cdn.example.com/pic.jpg" alt="A harbour at dawn"></p>')
    for tree in (rss, atom):
        (media,) = tree.iter(f"{MEDIA}content")
        assert media.getparent().tag in ("item", f"{ATOM}entry")  # no media:group of one
        assert media.find(f"{MEDIA}description").text == "A harbour at dawn"
    item = json.loads(feed_bytes(app, "index.json"))["items"][0]
    assert item["image"] == "https://cdn.example.com/pic.jpg"


def test_polling_hints_generator_language_and_hub_when_set(make_settings) -> None:
    app = App(make_settings(websub_hub=HUB, feed_max_age=600))
    try:
        seed(app, [article(1)])
        _build(app)
        rss = etree.fromstring(feed_bytes(app, "index.rss"))
        channel = rss.find("channel")
        assert channel.find("ttl").text == "10"
        sy = "{http://purl.org/rss/1.0/modules/syndication/}"
        assert channel.find(f"{sy}updatePeriod").text == "hourly"
        assert channel.find(f"{sy}updateFrequency").text == "6"
        assert channel.find("language").text == "en"
        assert channel.find("generator").text == "publisher"
        hubs = [e.get("href") for e in channel.iter(f"{ATOM}link") if e.get("rel") == "hub"]
        assert hubs == [HUB]
        atom = parse(feed_bytes(app, "index.atom"))
        assert [link.href for link in atom.feed.links if link.rel == "hub"] == [HUB]
        assert atom.feed.generator == "publisher"
        feed = json.loads(feed_bytes(app, "index.json"))
        assert feed["hubs"] == [{"type": "WebSub", "url": HUB}]
    finally:
        app.close()


def test_no_hub_link_without_the_setting(app) -> None:
    seed(app, [article(1)])
    _build(app)
    assert b'rel="hub"' not in feed_bytes(app, "index.rss")
    assert b'rel="hub"' not in feed_bytes(app, "index.atom")
    assert "hubs" not in json.loads(feed_bytes(app, "index.json"))


def test_hostile_text_stored_without_ingest_cannot_break_a_feed(app) -> None:
    """Rows written around the ingest (old versions, by hand) are cleaned again when rendering."""
    nasty = "Bad\x00 \x07title\x1b \ufffe with <script>alert(1)</script> & ]]> </b>"
    seed(app, [
        article(1, title=nasty, summary="sum\x0b\x0cmary <i>x</i>", authors=("Eve\x01",),
                quick_looks=("pt\x02 <b>one</b>",), body_html="<p>ok\x03 ]]></p><script>x()</script>",
                section="Wor\x04ld"),
        article(2),
    ])  # fmt: skip
    _build(app)
    for path in ("index.rss", "index.atom"):
        parsed = parse(feed_bytes(app, path))
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == 2
        bad = parsed.entries[1]
        assert bad.title == "Bad title with <script>alert(1)</script> & ]]> </b>"
        assert [a.name for a in bad.authors] == ["Eve"]
        assert "<script" not in bad.content[0].value
        assert "<li>pt &lt;b&gt;one&lt;/b&gt;</li>" in bad.content[0].value
    item = json.loads(feed_bytes(app, "index.json"))["items"][1]
    assert item["title"] == "Bad title with <script>alert(1)</script> & ]]> </b>"


def test_hostile_json_ingest_with_lone_surrogates_and_controls(app, tmp_path) -> None:
    path = tmp_path / "evil.json"
    path.write_text(
        '[{"title": "Lone \\ud800 surrogate \\u0001 and \\ufffe", "section": "World",'
        ' "summary": "x\\udfff y", "body_html": "<p>a\\u0000b</p>", "quick_looks": ["q\\ud83d"]}]',
        encoding="utf-8",
    )
    lines = list(app.ingest([path]))  # the ingest refreshes the feeds in-process
    assert [line.status for line in lines] == ["created"]
    for rel in ("index.rss", "index.atom", "sections/world.rss"):
        parsed = parse(feed_bytes(app, rel))
        assert parsed.bozo == 0
        assert parsed.entries[0].title == "Lone surrogate and"
    feed = json.loads(feed_bytes(app, "index.json"))
    assert feed["items"][0]["summary"] == "x y"


def test_an_item_that_fails_to_render_is_dropped_and_the_rest_kept(app, caplog) -> None:
    """Belt and braces: even an Item that bypassed cleaning only costs itself."""
    from dataclasses import replace

    from publisher.feeds.build import _render
    from publisher.feeds.catalog import feed_specs

    seed(app, [article(1), article(2)])
    service = FeedService(app.settings, app.articles, MemoryFeedStore())
    items = [service._item(a, set()) for a in app.articles.list()]
    items[0] = replace(items[0], title="raw \x00 control")
    for spec in feed_specs(app.settings, None):
        if spec.format == "json":
            continue
        channel = service._channel(spec, items[1].updated)
        data, count = _render(spec, channel, items)
        assert count == 1
        assert parse(data).bozo == 0
    assert "left out of index.rss" in caplog.text


def test_markup_in_titles_is_text_in_every_format(app, tmp_path) -> None:
    write_json(tmp_path / "a.json", [{"title": "Drops <blink> & <marquee> tags", "section": "Tech",
                                      "summary": "Says <b>bold</b> things"}])  # fmt: skip
    list(app.ingest([tmp_path / "a.json"]))
    rss = parse(feed_bytes(app, "index.rss")).entries[0]
    atom = parse(feed_bytes(app, "index.atom")).entries[0]
    assert rss.title == atom.title == "Drops <blink> & <marquee> tags"
    # A summary with "<" goes as HTML escaping it (validators flag "<b>" in a text summary).
    assert html.unescape(atom.summary) == "Says <b>bold</b> things" and "<b>" not in atom.summary
    # RSS descriptions are HTML: the summary's "<b>" is escaped text there, not a tag.
    # As hexadecimal references (the RSS profile): the same characters, spelled as validators ask.
    assert b"<description>Says &#x26;lt;b&#x26;gt;bold" in feed_bytes(app, "index.rss")


def test_item_html_keeps_to_the_tags_the_validator_knows() -> None:
    from publisher.feeds.content import item_html

    body = '<figure><p>x</p><figcaption>Cap</figcaption></figure><h3>h</h3><a href="/a" onclick="x()">a</a>'
    html = item_html(article(1, body_html=body, quick_looks=()), "https://news.example.com/articles/story-1")
    assert html == (
        "<h2>Deep Look</h2><p>x</p>Cap<h3>h</h3>"
        '<a href="https://news.example.com/a" rel="noopener noreferrer">a</a>'
    )
