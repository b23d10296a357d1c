"""The database handle: one engine per process, migrated to the newest schema on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from publisher.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
# Serialises concurrent first-use migrations of several processes on PostgreSQL.
_PG_MIGRATION_LOCK = 0x5075626C  # "Publ"


class Database:
    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._auto_migrate = auto_migrate
        self._migrated = False
        self._lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success."""
        self._ensure_migrated()
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        self._ensure_migrated()
        with self.engine.connect() as conn:
            yield conn

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate to the newest schema; returns (revision before, revision after)."""
        before = self.current_revision()
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config = _alembic_config(self.url)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        self._migrated = True
        return before, self.head_revision()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        head = ScriptDirectory.from_config(_alembic_config(self.url)).get_current_head()
        assert head is not None
        return head

    def dispose(self) -> None:
        self.engine.dispose()

    def _ensure_migrated(self) -> None:
        if self._migrated or not self._auto_migrate:
            return
        with self._lock:
            if not self._migrated:
                if self.current_revision() != self.head_revision():
                    self.upgrade()
                self._migrated = True


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _make_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"PUBLISHER_DATABASE_URL: not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"PUBLISHER_DATABASE_URL: driver not installed: {exc.name}") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    # WAL lets the web server read while a worker writes; NORMAL sync is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
