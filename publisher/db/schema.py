"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Alembic migrations in ``migrations/versions`` create exactly these tables; a test checks that the
migrated database matches this metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite has no time zones, so store naive UTC everywhere."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; publisher stores UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The columns of ArticleStore.live_rows, after its WHERE and ORDER BY: the index covers that read.
LIVE_ROWS_INDEX = ("retracted_at", "published_at", "id", "guid", "slug", "title", "section", "section_slug",
                   "updated_at", "content_hash")  # fmt: skip

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Fixed at first publication; never changed (feed readers key items on it).
    sa.Column("guid", sa.String(100), nullable=False, unique=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    # Where the article came from: the ``id`` of JSON and front matter, the file name of Newslooks
    # text. An article is identified by it, not by its title (a corrected headline is an update).
    sa.Column("source_id", sa.String(300), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("section", sa.String(200), nullable=False),
    sa.Column("section_slug", sa.String(200), nullable=False, index=True),
    sa.Column("top_story", sa.Boolean, nullable=False, default=False),
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("dateline", sa.Text, nullable=False, default=""),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("edition", sa.Text, nullable=False, default=""),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("quick_looks_title", sa.Text, nullable=False, default=""),
    sa.Column("quick_looks", sa.JSON, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False, default=""),
    sa.Column("image_url", sa.Text, nullable=True),
    sa.Column("image_alt", sa.Text, nullable=True),
    sa.Column("image_width", sa.Integer, nullable=True),  # pixels, where known
    sa.Column("image_height", sa.Integer, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("retracted_at", UTCDateTime, nullable=True),
    sa.Index("ix_articles_live_published", "retracted_at", "published_at"),
    # Covers ArticleStore.live_rows, read by every feeds build: on SQLite the columns after a long
    # body_html sit in its overflow pages, and reading them from the table costs twice the query.
    sa.Index("ix_articles_live_rows", *LIVE_ROWS_INDEX),
    sa.Index("ix_articles_source_id", "source_id", unique=True),
)

# Subscribers of the email editions (publisher/subscribers). ``email_key`` is the address lower-cased:
# the unique key, so "Ann@Example.com" and "ann@example.com" are one subscriber. AUTOINCREMENT on
# SQLite too: ids are never reused, so an old unsubscribe token can never reach a new subscriber.
subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("timezone", sa.String(64), nullable=False, default="UTC"),
    # Section names as given, ";"-joined, and their slugs as "|a|b|" so one LIKE matches a section.
    sa.Column("sections", sa.Text, nullable=False, default=""),
    sa.Column("section_keys", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("unsubscribed_at", UTCDateTime, nullable=True),
    sa.Column("bounced_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # When the reader confirmed their address (double opt-in), and when we last mailed them a
    # confirmation link (at most one per PUBLISHER_CONFIRM_RESEND_HOURS).
    sa.Column("confirmed_at", UTCDateTime, nullable=True),
    sa.Column("confirm_sent_at", UTCDateTime, nullable=True),
    # The reader's own hour ("HH:MM" local, 05:00-10:00 on the quarter hour); NULL = the schedule's.
    sa.Column("send_time", sa.String(5), nullable=True),
    # When the reader last saved their preferences page: an import never overwrites them.
    sa.Column("preferences_at", UTCDateTime, nullable=True),
    sa.Index("ix_subscribers_status", "status"),
    sqlite_autoincrement=True,
)

# Every change of a reader's status, and what ops did to them: time, kind, source (the signup form,
# the confirm link, an import, ops, one-click, preferences, a bounce...). Erased with the reader.
subscriber_events = sa.Table(
    "subscriber_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    # The edition and ledger row a returned-mail report was about, when the report named the row (a
    # VERP tag or our Message-ID); NULL for everything else, and for reports matched by address.
    sa.Column("edition_id", sa.Integer, nullable=True),
    sa.Column("delivery_id", sa.Integer, nullable=True),
    sa.Index("ix_subscriber_events_subscriber_id", "subscriber_id"),
    # An edition's bounces and complaints by kind: the reputation guard counts these after each report.
    sa.Index("ix_subscriber_events_edition_kind", "edition_id", "kind"),
    sqlite_autoincrement=True,
)

# Addresses never to be mailed again by an import or the form: erased readers, bounces, complaints,
# ops' own entries. Only a keyed hash of the address is kept (HMAC under the "suppression" key of
# the keys table), so an erased reader's address is not stored in the clear.
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("email_hash", sa.String(64), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One row per edition sent (or to be sent); its articles are frozen here when it is created.
editions = sa.Table(
    "editions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("cutoff", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="draft"),
    # Slugs of the edition's pool in edition order; a section selection picks from it.
    sa.Column("article_slugs", sa.JSON, nullable=False),
    sa.Column("section_keys", sa.JSON, nullable=False),
    sa.Column("max_articles", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # Why the edition is halted (our own fault: a setting, a template, the DKIM key), for ops.
    sa.Column("error", sa.Text, nullable=True),
    # What editors changed before it started sending (publisher/delivery/contents.py): their
    # subject line (NULL: the template's), the stories they took out, and a count of their edits.
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("excluded_slugs", sa.JSON, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Index("ix_editions_name_date", "name", "date", unique=True),  # one edition per name per day
)

# The delivery ledger: one row per (edition, subscriber), the single source of truth of who got what.
# ``claimed_at`` is the start of the current lease (queued or sending); ``due_at`` lets a scheduler
# hold a row until a given time (NULL = as soon as possible).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # No foreign key to editions: checking it cost a lock on the edition's row per inserted row
    # (half of a million-row fill). Editions are never deleted, and the fill inserts only for an
    # edition it finds live in the same statement.
    sa.Column("edition_id", sa.Integer, nullable=False),
    sa.Column(
        "subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("message_id", sa.String(255), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("edition_id", "subscriber_id"),
    # Counts per state, the due window and the sweep's claims in due order, per edition.
    sa.Index("ix_deliveries_edition_status", "edition_id", "status", "due_at"),
    sa.Index("ix_deliveries_status_claimed", "status", "claimed_at"),
    sa.Index("ix_deliveries_subscriber_id", "subscriber_id"),
)

# Schedules are data, changed at run time: an edition at a local time on some days (in each
# subscriber's zone or one fixed zone), or a feed refresh every N minutes. The beat's sweep reads them.
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # edition | feeds
    sa.Column("edition_name", sa.String(64), nullable=False, default=""),
    sa.Column("send_time", sa.String(5), nullable=True),  # HH:MM local
    sa.Column("days", sa.String(40), nullable=False, default="daily"),
    sa.Column("timezone", sa.String(64), nullable=False, default="subscriber"),
    sa.Column("sections", sa.JSON, nullable=False),
    sa.Column("window_hours", sa.Integer, nullable=True),
    sa.Column("interval_minutes", sa.Integer, nullable=True),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("last_run_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Timings that processes report for /metrics (the web process serves them, others measure them):
# the last value and a running count and sum per name.
runtime_stats = sa.Table(
    "runtime_stats",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Keys publisher makes for itself and every process shares: the signing key of tokens and
# Message-IDs when PUBLISHER_SECRET_KEY is unset (made once, on first use; kept across restarts).
keys = sa.Table(
    "keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The console's people (publisher/accounts). ``email`` is stored lower-cased: the unique key.
# ``status`` is written by publisher/accounts/lifecycle.py only; ``password_hash`` (argon2) is NULL
# until the user follows their set-password link.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# Console sessions, server-side: ``id`` is the SHA-256 of the random token the cookie carries, so a
# copy of this table logs nobody in. Deleted at logout, at "log out everywhere" and when the user is
# disabled; one idle past PUBLISHER_CONSOLE_IDLE_MINUTES is refused (and deleted).
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("ip", sa.String(64), nullable=False, default=""),
    sa.Index("ix_console_sessions_user_id", "user_id"),
)

# Personal API tokens: shown once, kept as their SHA-256; a revoked token stays listed.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Index("ix_api_tokens_user_id", "user_id"),
    sqlite_autoincrement=True,
)

# One-time set-password links (``publisher users add`` prints one): the SHA-256 of the token,
# single use (``used_at``), expiring.
password_links = sa.Table(
    "password_links",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Index("ix_password_links_user_id", "user_id"),
)

# Failed logins, per account ("account:<email>") and per client ("ip:<address>"), in the database
# so the limit holds across every web process: ``failures`` since ``first_at``, and the time a key
# is locked until.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
)

# Every change made through the console, the API or the CLI: who (an email, "api-token",
# "cli:<user>"), what ("edition.pause"), on what, when, from where (client IP, "cli@<host>").
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text, nullable=False, default=""),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("source", sa.String(300), nullable=False, default=""),
    sa.Index("ix_audit_log_actor", "actor"),
    sa.Index("ix_audit_log_action", "action"),
    sqlite_autoincrement=True,
)
