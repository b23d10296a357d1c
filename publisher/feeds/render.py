"""RSS 2.0 and Atom 1.0 with feedgen. Pure: a Channel and its Items in, feed bytes out.

feedgen 1.0.0 needs help to produce valid, reproducible feeds (docs/dependencies.md); all it gets wrong
is fixed here, in two small extensions and one subclass:

- It defaults feed and entry dates to now(): every date is set from the content, and the RSS
  ``lastBuildDate`` it would add is removed, so two builds of the same articles are byte-identical.
- Its RFC 822 formatter calls ``locale.setlocale`` per date (process-wide, not thread-safe): RSS
  dates are written here with ``email.utils.format_datetime`` instead.
- Atom entry links lose their ``rel``/``type`` (upstream #135): set again on the element.
- RSS only gets the ``rel=self`` atom:link: the WebSub ``rel=hub`` link is added here.
- Its syndication extension writes ``sy:UpdatePeriod`` (wrong case): written here.
- Authors without e-mail vanish from RSS (``<author>`` must be an address): ``dc:creator`` instead.
- lxml escapes ``&`` and ``<`` as entities; RSS gets them as hexadecimal references instead.
- Images go in ``media:content`` (no ``media:group`` of one) and in the HTML, never as an Atom
  enclosure, which feedgen would turn into a second alternate link.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher.feeds.model import Channel, Item

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
GENERATOR = "publisher"


def render_rss(channel: Channel, items: list[Item]) -> bytes:
    fg = _generator(channel, rss=True)
    fg.link(href=channel.self_url, rel="self", type="application/rss+xml")
    fg.link(href=channel.home_url, rel="alternate")  # RSS <link> is the last one given (docs/dependencies.md)
    fg.ttl(channel.ttl_minutes)
    for item in items:
        fe = fg.add_entry(order="append")
        fe.publisher.item = item
        fe.guid(item.id, permalink=False)
        fe.title(item.title)
        fe.link(href=item.url)
        if item.summary:
            # RSS descriptions are HTML by convention: a summary saying "<blink>" must not become a tag.
            fe.description(escape(item.summary, quote=False))
        fe.content(item.content_html)  # content:encoded, escaped text (not CDATA: "]]>" safe)
        if item.section:
            fe.category(term=item.section)
        fe.dc.dc_creator(list(item.authors))
    return rss_references(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def rss_references(data: bytes) -> bytes:
    """``&`` and ``<`` as hexadecimal character references, as the RSS Advisory Board's profile
    asks (feed readers that do not decode ``&amp;`` in plain text show it as is). lxml writes those
    two characters only as ``&amp;`` and ``&lt;``, in text and attributes alike, so replacing the
    entity spellings changes no character of the document."""
    return data.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def render_atom(channel: Channel, items: list[Item]) -> bytes:
    fg = _generator(channel, rss=False)
    fg.id(channel.self_url)
    fg.updated(channel.updated)
    fg.link(href=channel.self_url, rel="self", type="application/atom+xml")
    fg.link(href=channel.home_url, rel="alternate", type="text/html")
    if channel.hub:
        fg.link(href=channel.hub, rel="hub")
    if channel.archive_url:
        fg.link(href=channel.archive_url, rel="prev-archive", type="application/atom+xml")
    # Atom requires an author per entry or on the feed: the publication stands in for bylines.
    fg.author(name=channel.author)
    for item in items:
        fe = fg.add_entry(order="append")
        fe.publisher.item = item
        fe.id(item.id)
        fe.title(item.title)
        fe.link(href=item.url, rel="alternate", type="text/html")
        fe.published(item.published)
        fe.updated(item.updated)
        for name in item.authors:
            fe.author(name=name)
        if item.summary:
            fe.summary(*atom_summary(item.summary))
        fe.content(item.content_html, type="html")
        if item.section:
            fe.category(term=item.section)
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def atom_summary(summary: str) -> tuple[str, str]:
    """A summary and its Atom type: text, unless it holds a "<" — validators take "<b>" in a text
    summary for undeclared HTML, so such a summary goes as HTML that escapes it (it reads the same)."""
    return (escape(summary, quote=False), "html") if "<" in summary else (summary, "text")


def rfc822(value: datetime) -> str:
    """``Wed, 25 Nov 2026 07:00:00 +0000``, locale-independent."""
    return format_datetime(value)


class _FeedGenerator(FeedGenerator):
    def __init__(self) -> None:
        super().__init__()
        # feedgen's default is now(); _Channel writes lastBuildDate from the content instead.
        self._FeedGenerator__rss_lastBuildDate = None


def _generator(channel: Channel, *, rss: bool) -> FeedGenerator:
    fg = _FeedGenerator()
    fg.register_extension("publisher", _Channel, _Entry, atom=True, rss=True)
    fg.publisher.channel = channel
    fg.publisher.rss = rss
    if rss:
        fg.load_extension("dc", atom=False, rss=True)
    fg.title(channel.title)
    fg.description(channel.description)
    fg.language(channel.language)
    fg.generator(GENERATOR, version=channel.generator_version or None)
    return fg


class _Channel(BaseExtension):
    channel: Channel
    rss: bool

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "sy": SY_NS} if self.rss else {"media": MEDIA_NS}

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        _sub(channel, "lastBuildDate", rfc822(self.channel.updated))
        if self.channel.hub:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=self.channel.hub, rel="hub")
        if self.channel.archive_url:  # RFC 5005 in RSS, as an atom:link like self and hub
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=self.channel.archive_url, rel="prev-archive",
                             type="application/rss+xml")  # fmt: skip
        period, frequency = _update_hint(self.channel.ttl_minutes)
        _sub(channel, f"{{{SY_NS}}}updatePeriod", period)
        _sub(channel, f"{{{SY_NS}}}updateFrequency", str(frequency))
        return feed


class _Entry(BaseEntryExtension):
    item: Item

    def extend_rss(self, entry: Any) -> Any:
        _sub(entry, "pubDate", rfc822(self.item.published))
        self._media(entry)
        return entry

    def extend_atom(self, entry: Any) -> Any:
        for link in entry.findall("link"):  # upstream #135 drops these attributes
            link.set("rel", "alternate")
            link.set("type", "text/html")
        self._media(entry)
        return entry

    def _media(self, entry: Any) -> None:
        image = self.item.image
        if image is None:
            return
        content = etree.SubElement(entry, f"{{{MEDIA_NS}}}content", url=image.url, medium="image")
        if image.width is not None:  # where known (Media RSS: the width and height in pixels)
            content.set("width", str(image.width))
        if image.height is not None:
            content.set("height", str(image.height))
        if image.alt:
            _sub(content, f"{{{MEDIA_NS}}}description", image.alt).set("type", "plain")


def _sub(parent: Any, tag: str, text: str) -> Any:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _update_hint(ttl_minutes: int) -> tuple[str, int]:
    """sy:updatePeriod/updateFrequency saying the same as ttl: "hourly, 12 times" for 5 minutes."""
    if ttl_minutes <= 60:
        return "hourly", max(1, 60 // max(1, ttl_minutes))
    return "daily", max(1, 1440 // ttl_minutes)
