"""Readers signing themselves up: double opt-in, without telling anyone who is on the list.

    check(form)      the form's fields, validated (pure): a SignupRequest or InvalidSubscriberError
    allow(client)    the per-client rate limit; a refusal is counted for /metrics
    process(request) the lifecycle's signup, then the one email its outcome calls for:
                     new or unsubscribed → confirm, active → already subscribed, pending → confirm
                     again, suppressed or mailed too recently → nothing
    confirm(token)   pending → active, then the welcome email

The web side answers every valid signup with the same page before ``process`` runs, so neither the
page nor (grossly) its timing says which of these happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from publisher.edition.compile import date_in_words
from publisher.settings import Settings
from publisher.stats import StatsStore
from publisher.subscribers.lifecycle import SignupOutcome, SubscriberLifecycle
from publisher.subscribers.model import (
    InvalidSubscriberError,
    NewSubscriber,
    Status,
    Subscriber,
    validate,
    validate_hour,
)
from publisher.subscribers.notices import Notifier
from publisher.subscribers.ratelimit import WindowLimiter
from publisher.subscribers.states import Source
from publisher.subscribers.store import SubscriberStore
from publisher.subscribers.tokens import confirm_token_for, read_confirm_token
from publisher.unsubscribe import preferences_url, unsubscribe_url

log = logging.getLogger(__name__)
LIMITED_STAT = "subscribe_limited"
# Field limits: longer values are refused before anything else is looked at.
MAX_LENGTHS = {"email": 254, "name": 200, "timezone": 64, "hour": 5, "website": 200}
MAX_SECTIONS = 50
HONEYPOT = "website"  # hidden from people; a bot that fills it gets the usual page and nothing else


@dataclass(frozen=True, slots=True)
class SignupRequest:
    reader: NewSubscriber
    hour: str | None
    bot: bool = False  # the honeypot was filled: answer as usual, do nothing


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"  # active already (a second click)
    GONE = "gone"  # no longer pending: unsubscribed, suppressed or erased meanwhile
    INVALID = "invalid"


class Signup:
    def __init__(
        self,
        settings: Settings,
        *,
        subscribers: SubscriberStore,
        lifecycle: SubscriberLifecycle,
        notifier: Notifier,
        limiter: WindowLimiter,
        stats: StatsStore,
        signing_key: Callable[[], str],
        default_hour: Callable[[], str],
        latest_archive_url: Callable[[], str | None],
    ) -> None:
        self.settings = settings
        self.subscribers = subscribers
        self.lifecycle = lifecycle
        self.notifier = notifier
        self.limiter = limiter
        self.stats = stats
        self.signing_key = signing_key
        self.default_hour = default_hour
        self.latest_archive_url = latest_archive_url

    # -- the request ----------------------------------------------------------------------------

    @staticmethod
    def check(form: Mapping[str, list[str]]) -> SignupRequest:
        """The form's fields (each a list, as parsed): one email, optional name, zone, hour and
        sections. Raises InvalidSubscriberError naming the field."""
        for key, limit in MAX_LENGTHS.items():
            values = form.get(key, [])
            if len(values) > 1:
                raise InvalidSubscriberError(key, "given more than once")
            if values and len(values[0]) > limit:
                raise InvalidSubscriberError(key, f"longer than {limit} characters")
        sections = form.get("section", [])
        if len(sections) > MAX_SECTIONS or any(len(s) > 200 for s in sections):
            raise InvalidSubscriberError("section", "too many or too long")

        def one(key: str) -> str:
            return (form.get(key) or [""])[0]

        reader = validate(one("email"), one("name"), one("timezone"), sections)
        return SignupRequest(reader, validate_hour(one("hour")), bot=bool(one(HONEYPOT).strip()))

    def allow(self, client: str) -> bool:
        if self.limiter.allow(client):
            return True
        self.stats.record(LIMITED_STAT, 1)
        return False

    def process(self, request: SignupRequest, *, source: Source = Source.FORM) -> SignupOutcome:
        """The signup and its email; run after the answer has gone out."""
        if request.bot:
            return SignupOutcome.SILENT
        resend = timedelta(hours=self.settings.confirm_resend_hours)
        outcome, subscriber_id = self.lifecycle.signup(request.reader, request.hour, resend_after=resend,
                                                       source=source)  # fmt: skip
        if outcome == SignupOutcome.LIMITED:
            self.stats.record(LIMITED_STAT, 1)
        if subscriber_id is None or outcome not in (SignupOutcome.CONFIRM, SignupOutcome.ALREADY):
            return outcome
        subscriber = self.subscribers.get(subscriber_id)
        if subscriber is None:
            return outcome
        if outcome == SignupOutcome.CONFIRM:
            self.send_confirmation(subscriber)
        else:
            self._send("already_subscribed", subscriber)
        return outcome

    def send_confirmation(self, subscriber: Subscriber, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        ttl = timedelta(hours=self.settings.confirm_ttl_hours)
        token = confirm_token_for(self.signing_key(), subscriber.id, ttl, now)
        expires = (now + ttl).astimezone(ZoneInfo(subscriber.timezone))
        self._send("confirm", subscriber, {
            "confirm_url": f"{self._site}/confirm/{token}",
            "expires_words": f"{date_in_words(expires.date())}, {expires:%H:%M} ({subscriber.timezone})",
        })  # fmt: skip

    # -- the confirm link -----------------------------------------------------------------------

    def pending_reader(self, token: str) -> Subscriber | None:
        """The reader a genuine, unexpired token names (any state), for the confirm page."""
        subscriber_id = read_confirm_token(self.signing_key(), token)
        return None if subscriber_id is None else self.subscribers.get(subscriber_id)

    def confirm(self, token: str) -> ConfirmOutcome:
        subscriber = self.pending_reader(token)
        if subscriber is None:
            return ConfirmOutcome.INVALID
        if not self.lifecycle.confirm(subscriber.id):
            current = self.subscribers.get(subscriber.id)
            active = current is not None and current.status == Status.ACTIVE
            return ConfirmOutcome.ALREADY if active else ConfirmOutcome.GONE
        confirmed = self.subscribers.get(subscriber.id)
        if confirmed is not None:
            self._send("welcome", confirmed, {"archive_url": self.latest_archive_url()})
        return ConfirmOutcome.CONFIRMED

    # -- helpers --------------------------------------------------------------------------------

    @property
    def _site(self) -> str:
        return self.settings.site_url.rstrip("/")

    def _send(self, kind: str, subscriber: Subscriber, extra: Mapping[str, object] | None = None) -> None:
        key = self.signing_key()
        title = next(iter(self.settings.editions.values()))[0]
        context = {
            "edition_title": title,
            "hour": subscriber.send_time or self.default_hour(),
            "timezone": subscriber.timezone,
            "follows": ", ".join(subscriber.sections) or "every section",
            "preferences_url": preferences_url(self.settings.site_url, key, subscriber.id),
            "unsubscribe_url": unsubscribe_url(self.settings.site_url, key, subscriber.id),
            "archive_url": None,
            **(extra or {}),
        }
        try:
            self.notifier.send(kind, to=subscriber.email, name=subscriber.name, context=context)
        except Exception:
            # After the answer went out nobody can be told; ops can see it in the log.
            log.exception("%s email to subscriber %s failed", kind, subscriber.id)


__all__ = ["ConfirmOutcome", "InvalidSubscriberError", "Signup", "SignupOutcome", "SignupRequest"]
