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


articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Fixed at first publication; never changed (feed readers key items on it).
    sa.Column("guid", sa.String(100), nullable=False, unique=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
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
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("retracted_at", UTCDateTime, nullable=True),
    sa.Index("ix_articles_live_published", "retracted_at", "published_at"),
)
