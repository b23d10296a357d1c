"""Which articles make an edition, and in what order.

``select_articles`` is pure: candidate articles and an ``EditionSpec`` in, an ordered ``Edition``
out. ``load_edition`` is the thin edge that reads the candidates from the ``ArticleStore``; the
preview CLI, the web archive and (later) the frozen editions all go through it, so there is one
definition of "the articles of the Morning Edition of 25 November".

Order: top stories first, then sections in the configured order (sections not named follow,
alphabetically), newest first within each group; at most ``max_articles``. Pinned articles lead,
in the order given, whatever their date; excluded and retracted ones never appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from publisher.article import Article, section_slug
from publisher.article_store import ArticleStore
from publisher.errors import ConfigError, NotFoundError, PublisherError
from publisher.settings import Settings
from publisher.settings import parse_edition_names as settings_edition_names

DEFAULT_CUTOFF = time(7, 0)


@dataclass(frozen=True, slots=True)
class EditionSpec:
    """What an edition name means: its title, cut-off, zone, window, section order and size."""

    name: str
    title: str
    cutoff_time: time = DEFAULT_CUTOFF
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    window: timedelta = timedelta(hours=24)
    section_order: tuple[str, ...] = ()
    max_articles: int = 12

    @classmethod
    def from_settings(cls, settings: Settings, name: str = "morning") -> EditionSpec:
        """The spec of edition ``name``; ``edition_names`` entries are ``name=Title`` or
        ``name=Title@HH:MM`` (a cut-off of its own, e.g. ``evening=Evening Edition@19:00``)."""
        names = settings.editions  # checked when the settings were loaded
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise NotFoundError(f"unknown edition {name!r} (PUBLISHER_EDITION_NAMES has: {known})")
        title, own_cutoff = names[name]
        return cls(
            name=name,
            title=title,
            cutoff_time=own_cutoff or settings.edition_cutoff_time,
            zone=settings.edition_zone,
            window=timedelta(hours=settings.edition_window_hours),
            section_order=settings.section_order,
            max_articles=settings.edition_max_articles,
        )

    def cutoff(self, day: date) -> datetime:
        """The cut-off of the edition of ``day``, an aware datetime in the edition's zone."""
        return datetime.combine(day, self.cutoff_time, tzinfo=self.zone)

    def next_date(self, now: datetime) -> date:
        """The date of the next edition to go out: today's if its cut-off is still ahead."""
        local = now.astimezone(self.zone)
        return local.date() if local < self.cutoff(local.date()) else local.date() + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Edition:
    """One edition: the articles every section selection draws from, and the chosen ones.

    ``pool`` is every eligible article in edition order (pins first); ``articles`` the first
    ``max_articles`` of it. ``for_sections`` picks again from the pool, so a reader who follows only
    Sports still gets up to ``max_articles`` Sports stories.
    """

    name: str
    title: str
    date: date
    cutoff: datetime
    articles: tuple[Article, ...]
    pool: tuple[Article, ...] = field(default=(), repr=False)
    max_articles: int = 12
    subject: str | None = None  # an editor's subject line; None: the template's

    @property
    def lead(self) -> Article | None:
        return self.articles[0] if self.articles else None

    def for_sections(self, sections: Iterable[str] | None) -> Edition:
        """This edition for a reader following only ``sections`` (names or slugs; None = all)."""
        if sections is None:
            return self
        wanted = normalise_sections(sections)
        chosen = tuple(a for a in self.pool if a.section_slug in wanted)[: self.max_articles]
        return Edition(
            self.name, self.title, self.date, self.cutoff, chosen, (), self.max_articles, self.subject
        )


def normalise_sections(sections: Iterable[str]) -> frozenset[str]:
    """Section names or slugs → the set of slugs (``"US News"`` and ``"us-news"`` are one)."""
    return frozenset(section_slug(s) for s in sections)


def select_articles(
    candidates: Iterable[Article],
    spec: EditionSpec,
    day: date,
    *,
    pinned: Sequence[Article] = (),
    excluded: Iterable[str] = (),
    cutoff: datetime | None = None,
) -> Edition:
    """Pure selection: the articles published in the window before the cut-off, in edition order.

    Candidates outside the window are ignored (the store query is only an optimisation); pinned
    articles are included whatever their date. ``cutoff`` overrides the spec's cut-off of ``day``:
    a scheduled edition is frozen before its first zone is due, and that instant is its cut-off.
    """
    cutoff = cutoff or spec.cutoff(day)
    since = cutoff - spec.window
    skip = set(excluded)
    pins = [a for a in _unique(pinned) if a.slug not in skip and a.retracted_at is None]
    pinned_slugs = {a.slug for a in pins}
    rest = [
        a
        for a in candidates
        if a.slug not in skip
        and a.slug not in pinned_slugs
        and a.retracted_at is None
        and a.published_at is not None
        and since <= a.published_at < cutoff
    ]
    rest.sort(key=_order_key(spec.section_order))
    pool = tuple(pins + _unique(rest))
    return Edition(
        name=spec.name,
        title=spec.title,
        date=day,
        cutoff=cutoff,
        articles=pool[: spec.max_articles],
        pool=pool,
        max_articles=spec.max_articles,
    )


def load_edition(
    store: ArticleStore,
    spec: EditionSpec,
    day: date,
    *,
    pins: Sequence[str] = (),
    excludes: Iterable[str] = (),
    cutoff: datetime | None = None,
) -> Edition:
    """Read the candidates of ``day``'s edition from the store and select; pins are slugs."""
    cutoff = cutoff or spec.cutoff(day)
    candidates = store.list(since=(cutoff - spec.window).astimezone(UTC), until=cutoff.astimezone(UTC))
    pinned = []
    for slug in pins:
        article = store.get(slug)
        if article is None:
            raise NotFoundError(f"--pin: no article with slug {slug!r}")
        if article.retracted_at is not None:
            raise PublisherError(f"--pin: article {slug!r} is retracted")
        pinned.append(article)
    return select_articles(candidates, spec, day, pinned=pinned, excluded=excludes, cutoff=cutoff)


def parse_edition_names(value: str) -> dict[str, tuple[str, time | None]]:
    """``"morning=Morning Edition, evening=Evening Edition@19:00"`` → {name: (title, cut-off)}."""
    try:
        return settings_edition_names(value)
    except ValueError as exc:
        raise ConfigError(f"PUBLISHER_EDITION_NAMES: {exc}", field="PUBLISHER_EDITION_NAMES") from None


def _order_key(section_order: Sequence[str]):  # type: ignore[no-untyped-def]
    rank = {section_slug(name): i for i, name in enumerate(section_order)}
    unlisted = len(rank)

    def key(a: Article) -> tuple[bool, int, str, float, str]:
        assert a.published_at is not None
        return (
            not a.top_story,
            rank.get(a.section_slug, unlisted),
            a.section_slug,
            -a.published_at.timestamp(),
            a.slug,
        )

    return key


def _unique(articles: Iterable[Article]) -> list[Article]:
    seen: set[str] = set()
    out = []
    for a in articles:
        if a.slug not in seen:
            seen.add(a.slug)
            out.append(a)
    return out
