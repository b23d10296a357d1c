"""Feeds: RSS 2.0, Atom 1.0 (feedgen) and JSON Feed 1.1, for the site and each section.

catalog.py   which feeds exist, their paths and URLs
model.py     Channel and Item, the data every format is rendered from
content.py   an item's HTML: image, Quick Looks, Deep Look
render.py    RSS and Atom with feedgen (and fixes for its bugs)
jsonfeed.py  JSON Feed
store.py     FeedStore: atomic, skip-identical writes; ETags
build.py     FeedService: build all, refresh some
websub.py    ping the WebSub hub after a change
tasks.py     the feeds.refresh and feeds.websub_ping tasks
"""

from publisher.feeds.build import BuildResult, FeedRecord, FeedService
from publisher.feeds.catalog import FORMATS, MEDIA_TYPES, FeedSpec, catalog
from publisher.feeds.store import DirectoryFeedStore, FeedStore, MemoryFeedStore, etag

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "BuildResult",
    "DirectoryFeedStore",
    "FeedRecord",
    "FeedService",
    "FeedSpec",
    "FeedStore",
    "MemoryFeedStore",
    "catalog",
    "etag",
]
