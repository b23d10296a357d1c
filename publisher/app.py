"""The composition root: settings → database → stores and services.

Nothing else in publisher builds these, and nothing in publisher imports this module except the
entry points (the CLI, the web app): each service receives the stores and services it uses, not
the ``App``. The CLI, the web app and each worker process make one ``App`` (tests make theirs with
the settings they need), so there are no module-level globals to patch. Tasks run with the ``App``
as their ``Services`` (``publisher/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.article import Article
from publisher.article_store import ArticleStore, Saved
from publisher.db import Database
from publisher.dispatch import Dispatcher
from publisher.feeds import DirectoryFeedStore, FeedService
from publisher.ingest import IngestLine, ingest_paths
from publisher.schedule.store import ScheduleStore
from publisher.settings import Settings
from publisher.stats import StatsStore

if TYPE_CHECKING:
    from publisher.accounts.api_tokens import ApiTokens
    from publisher.accounts.audit import AuditLog
    from publisher.accounts.lifecycle import UserLifecycle
    from publisher.accounts.links import PasswordLinks
    from publisher.accounts.login import Login
    from publisher.accounts.passwords import Passwords
    from publisher.accounts.people import People
    from publisher.accounts.sessions import SessionStore
    from publisher.accounts.users import UserStore
    from publisher.delivery.contents import EditionContents
    from publisher.delivery.control import EditionControl
    from publisher.delivery.editions import EditionStore
    from publisher.delivery.impact import ImpactReader
    from publisher.delivery.ledger import Ledger
    from publisher.delivery.lifecycle import Lifecycle
    from publisher.delivery.ratelimit import RateLimiter
    from publisher.delivery.reputation import ReputationGuard
    from publisher.delivery.service import DeliveryService
    from publisher.mail.dkim import DkimSigner
    from publisher.mail.mailer import Mailer
    from publisher.schedule.sweep import Scheduler
    from publisher.subscribers import SubscriberStore
    from publisher.subscribers.lifecycle import SubscriberLifecycle
    from publisher.subscribers.signup import Signup
    from publisher.today import TodayReader


class App:
    def __init__(self, settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings or Settings.load()
        # The time as the console's accounts see it (sessions, locks, links); tests move it.
        self.clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.clock()

    @cached_property
    def signing_key(self) -> str:
        """The key that signs reader tokens and Message-IDs (the only reader of secret_key).

        With PUBLISHER_SECRET_KEY unset, a random key made on first use and kept in the database,
        so every process on that database signs alike and links stay valid across restarts."""
        if self.settings.secret_key:
            return self.settings.secret_key
        from publisher.keys import SIGNING_KEY, KeyStore

        return KeyStore(self.db).get_or_create(SIGNING_KEY)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.sqlalchemy_url)

    # -- the console's people (publisher/accounts) ---------------------------------------------------

    @cached_property
    def audit(self) -> AuditLog:
        """Every change through the console, the API or the CLI: who, what, when, from where."""
        from publisher.accounts.audit import AuditLog

        return AuditLog(self.db, self.now)

    @cached_property
    def users(self) -> UserStore:
        from publisher.accounts.users import UserStore

        return UserStore(self.db, self.now)

    @cached_property
    def user_lifecycle(self) -> UserLifecycle:
        """The one writer of users' states."""
        from publisher.accounts.lifecycle import UserLifecycle

        return UserLifecycle(self.db, self.now)

    @cached_property
    def passwords(self) -> Passwords:
        from publisher.accounts.passwords import Passwords

        return Passwords()

    @cached_property
    def console_sessions(self) -> SessionStore:
        from datetime import timedelta

        from publisher.accounts.sessions import SessionStore

        idle = timedelta(minutes=self.settings.console_idle_minutes)
        return SessionStore(self.db, self.users, idle, self.now)

    @cached_property
    def api_tokens(self) -> ApiTokens:
        """Personal API tokens; PUBLISHER_API_TOKEN stays the bootstrap admin token."""
        from publisher.accounts.api_tokens import ApiTokens

        return ApiTokens(self.db, self.users, self.now)

    @cached_property
    def password_links(self) -> PasswordLinks:
        from publisher.accounts.links import PasswordLinks

        return PasswordLinks(self.db, self.users, self.now)

    @cached_property
    def people(self) -> People:
        """What admins do to users (add, role, disable, enable, link), from the CLI and the console."""
        from publisher.accounts.people import People

        return People(self.users, self.user_lifecycle, self.password_links)

    @cached_property
    def login(self) -> Login:
        from publisher.accounts.login import Login
        from publisher.accounts.throttle import LoginThrottle

        return Login(self.users, self.console_sessions, LoginThrottle(self.db, self.now), self.passwords)

    @cached_property
    def articles(self) -> ArticleStore:
        return ArticleStore(self.db)

    @cached_property
    def subscribers(self) -> SubscriberStore:
        from publisher.subscribers import SubscriberStore

        return SubscriberStore(self.db, self.subscriber_lifecycle)

    @cached_property
    def subscriber_lifecycle(self) -> SubscriberLifecycle:
        """The one writer of readers' states and of the suppression list."""
        from publisher.keys import SUPPRESSION_KEY, KeyStore
        from publisher.subscribers.lifecycle import SubscriberLifecycle, keyed_hash

        suppression_key = lambda: KeyStore(self.db).get_or_create(SUPPRESSION_KEY)  # noqa: E731
        return SubscriberLifecycle(self.db, keyed_hash(suppression_key))

    @cached_property
    def signup(self) -> Signup:
        """Readers signing themselves up: the form, the confirm link, their emails."""
        from publisher.subscribers.notices import Notifier
        from publisher.subscribers.ratelimit import LocalWindow, RedisWindow, WindowLimiter
        from publisher.subscribers.signup import Signup

        limit, window = self.settings.subscribe_rate_limit, self.settings.subscribe_rate_window
        limiter: WindowLimiter = (
            RedisWindow(self.settings.redis_url, limit, window, prefix=self.settings.redis_prefix)
            if self.settings.uses_broker else LocalWindow(limit, window)
        )  # fmt: skip
        return Signup(
            self.settings, subscribers=self.subscribers, lifecycle=self.subscriber_lifecycle,
            notifier=Notifier(self.settings, self.open_mailer, lambda: self.dkim_signer), limiter=limiter,
            stats=self.stats, signing_key=lambda: self.signing_key, default_hour=self.default_hour,
            latest_archive_url=self.latest_archive_url,
        )  # fmt: skip

    def default_hour(self) -> str:
        """When editions reach readers who chose no hour: the first edition schedule's time."""
        for schedule in self.schedules.list():
            if schedule.send_time is not None and schedule.edition in self.settings.editions:
                return schedule.send_time.strftime("%H:%M")
        return "07:00"

    def latest_archive_url(self) -> str | None:
        latest = self.edition_store.latest_published()
        if latest is None:
            return None
        return f"{self.settings.site_url.rstrip('/')}/editions/{latest[0]}/{latest[1].isoformat()}"

    @cached_property
    def lifecycle(self) -> Lifecycle:
        """The one writer of edition and delivery states."""
        from publisher.delivery.lifecycle import Lifecycle

        return Lifecycle(self.db)

    @cached_property
    def reputation(self) -> ReputationGuard:
        """Per-edition bounce and complaint counts; halts an edition past PUBLISHER_BOUNCE_PAUSE_RATE."""
        from publisher.delivery.reputation import ReputationGuard

        return ReputationGuard(self.db, self.lifecycle, self.settings.bounce_pause_rate)

    @cached_property
    def ledger(self) -> Ledger:
        from publisher.delivery.ledger import Ledger

        return Ledger(self.db)

    @cached_property
    def edition_store(self) -> EditionStore:
        from publisher.delivery.editions import EditionStore

        return EditionStore(self.db, self.articles, self.lifecycle)

    @cached_property
    def edition_contents(self) -> EditionContents:
        """Editors' changes to a draft edition (pin, exclude, reorder, subject): their one writer."""
        from publisher.delivery.contents import EditionContents

        return EditionContents(self.db, self.articles, self.edition_store)

    @cached_property
    def delivery(self) -> DeliveryService:
        from publisher.delivery.service import DeliveryService

        return DeliveryService(
            self.settings, lifecycle=self.lifecycle, ledger=self.ledger, editions=self.edition_store,
            articles=self.articles, subscribers=self.subscribers, dispatcher=self.dispatcher,
            open_mailer=self.open_mailer, signing_key=self.signing_key,
            signer=lambda: self.dkim_signer, rate_limiter=self.rate_limiter,
        )  # fmt: skip

    @cached_property
    def dkim_signer(self) -> DkimSigner | None:
        from publisher.mail.dkim import DkimSigner

        return DkimSigner.from_settings(self.settings)

    @cached_property
    def rate_limiter(self) -> RateLimiter | None:
        """None unless PUBLISHER_RATE_LIMIT is set; shared through Redis when there is a broker."""
        from publisher.delivery.ratelimit import LocalTokenBucket, RedisTokenBucket

        if self.settings.rate_limit <= 0:
            return None
        if self.settings.uses_broker:
            key = f"{self.settings.redis_prefix}publisher:ratelimit"
            return RedisTokenBucket(self.settings.redis_url, self.settings.rate_limit, key=key)
        return LocalTokenBucket(self.settings.rate_limit)

    def open_mailer(self) -> Mailer:
        """A new mailer (SMTP, or the Maildir outbox by default); the caller closes it."""
        from publisher.mail.mailer import open_mailer

        return open_mailer(self.settings)

    @cached_property
    def stats(self) -> StatsStore:
        return StatsStore(self.db)

    @cached_property
    def schedules(self) -> ScheduleStore:
        return ScheduleStore(self.db)

    @cached_property
    def editions(self) -> EditionControl:
        """Ops verbs on editions: list, status, pause, resume, cancel, reschedule, test-send."""
        from publisher.delivery.control import EditionControl

        return EditionControl(
            self.settings, self.db, lifecycle=self.lifecycle, delivery=self.delivery,
            schedules=self.schedules, open_mailer=self.open_mailer, reputation=self.reputation,
        )  # fmt: skip

    @cached_property
    def impact(self) -> ImpactReader:
        """How many readers an ops verb would affect: the console's confirmation step."""
        from publisher.delivery.impact import ImpactReader

        return ImpactReader(self.db)

    @cached_property
    def today(self) -> TodayReader:
        """The console's Today page, read: editions on the move and their waves through the time
        zones, the next editions, feed freshness, the queue, recent errors."""
        from datetime import timedelta

        from publisher.delivery.wave import WaveReader
        from publisher.feeds.freshness import FeedFreshnessReader
        from publisher.queues import queue_lengths
        from publisher.today import TodayReader

        return TodayReader(
            self.db, editions=self.edition_store, ledger=self.ledger, waves=WaveReader(self.db, self.ledger),
            reputation=self.reputation, schedules=self.schedules, reader_slots=self.subscribers.active_slots,
            feeds=FeedFreshnessReader(DirectoryFeedStore(self.settings.feeds_dir)), stats=self.stats,
            queue_lengths=lambda: queue_lengths(self.settings),
            freeze_lead=timedelta(minutes=self.settings.schedule_freeze_minutes),
        )  # fmt: skip

    @cached_property
    def scheduler(self) -> Scheduler:
        from publisher.schedule.sweep import Scheduler

        return Scheduler(
            self.settings, schedules=self.schedules, lifecycle=self.lifecycle, editions=self.edition_store,
            articles=self.articles, subscribers=self.subscribers, delivery=self.delivery,
            dispatcher=self.dispatcher, stats=self.stats,
        )  # fmt: skip

    @cached_property
    def feeds(self) -> FeedService:
        return FeedService(self.settings, self.articles, DirectoryFeedStore(self.settings.feeds_dir))

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Celery when a broker is configured, in-process otherwise."""
        if self.settings.uses_broker:
            from publisher.celery_app import make_celery
            from publisher.dispatch import CeleryDispatcher

            return CeleryDispatcher(make_celery(self.settings, services=lambda: App(self.settings)))
        from publisher.dispatch import InProcessDispatcher

        return InProcessDispatcher(self)

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        published_at: datetime | None = None,
        dry_run: bool = False,
    ) -> Iterable[IngestLine]:
        from publisher.feeds.changes import SectionTrackingStore

        store = SectionTrackingStore(self.articles)
        try:
            yield from ingest_paths(store, paths, published_at=published_at, dry_run=dry_run)
        finally:
            self.articles_changed(store.sections)

    def publish(self, articles: Sequence[Article], *, published_at: datetime | None = None) -> list[Saved]:
        """Save articles given as data (the ops API) and refresh the feeds they touch."""
        from publisher.feeds.changes import SectionTrackingStore

        store = SectionTrackingStore(self.articles)
        try:
            return store.save_many(articles, published_at=published_at)
        finally:
            self.articles_changed(store.sections)

    def retract(self, slug: str) -> Article | None:
        """Withdraw an article (None if unknown) and take it out of the feeds."""
        article = self.articles.retract(slug)
        if article is not None:
            self.articles_changed({article.section_slug})
        return article

    def restore(self, slug: str) -> Article | None:
        """Publish a retracted article again (None if unknown) and put it back in the feeds."""
        article = self.articles.restore(slug)
        if article is not None:
            self.articles_changed({article.section_slug})
        return article

    def articles_changed(self, sections: Iterable[str]) -> None:
        """Articles of ``sections`` (slugs) were published, updated or retracted, and committed:
        refresh the site feed and those sections' feeds (on the ``feeds`` queue, or in-process)."""
        wanted = sorted(set(sections))
        if wanted:
            self.dispatcher.enqueue("feeds.refresh", sections=wanted)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
