"""Shared fixtures: settings in a temp folder, a real database (SQLite and PostgreSQL), the App.

PostgreSQL tests use a database created for this test session on ``PUBLISHER_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped at the end. Redis tests use
``PUBLISHER_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) under a key prefix of their own
(the ``redis_url`` fixture), removed afterwards. With ``PUBLISHER_TEST_REQUIRE_SERVICES=1`` (CI) a
missing server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from publisher.app import App
from publisher.db.schema import metadata
from publisher.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# A fictional Newslooks article with every quirk of the real pages (furniture, two-blank-line
# sub-headings, "Top Story" glued to the section): the parser tests' fixed input.
SAMPLE = ROOT / "tests" / "data" / "newslooks" / "top-story.txt"
EXAMPLES = ROOT / "examples"
POSTGRES_ADMIN_URL = os.environ.get(
    "PUBLISHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PUBLISHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("PUBLISHER_TEST_REQUIRE_SERVICES") == "1"
# 32+ characters, not a placeholder: what PUBLISHER_SECRET_KEY takes.
TEST_KEY = "tests-only-signing-key-4f7c2a9e1b8d"


def _unavailable(what: str, exc: Exception) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (PUBLISHER_TEST_REQUIRE_SERVICES=1) but unavailable: {exc}")
    pytest.skip(f"{what} unavailable: {exc}")


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (per xdist worker), dropped afterwards."""
    admin_url = Settings(database_url=POSTGRES_ADMIN_URL).sqlalchemy_url
    name = f"publisher_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class RedisPlace(NamedTuple):
    """Where a test may use Redis: the server's URL and the prefix every one of its keys must carry."""

    url: str
    prefix: str


@pytest.fixture
def redis_url() -> Iterator[RedisPlace]:
    """The real Redis with a key prefix of this test's own (PUBLISHER_REDIS_PREFIX for an App);
    every key under it is deleted afterwards, so tests never see each other's queues."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    yield RedisPlace(REDIS_URL, prefix)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _empty_tables(app: App) -> None:
    with app.db.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def make_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings rooted in tmp_path: SQLite there, feeds and outbox there, no broker."""

    def make(**changes: object) -> Settings:
        base = Settings(
            database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
            feeds_dir=str(tmp_path / "feeds"),
            var_dir=str(tmp_path / "var"),
            site_url="https://news.example.com",
            secret_key=TEST_KEY,
        )
        return base.replace(**changes)

    return make


@pytest.fixture
def app(make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """An App on SQLite in a temp folder."""
    application = App(make_settings())
    yield application
    application.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_app(request, make_settings) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        application = App(make_settings())
    else:
        application = App(make_settings(database_url=request.getfixturevalue("postgres_url")))
        _empty_tables(application)
    yield application
    application.close()


@pytest.fixture
def cli(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``cli("articles", "list", code=0)``: the real ``publisher`` command (click's runner) on the
    ``app`` fixture's settings, from tmp_path; asserts the exit code and returns the output."""
    from click.testing import CliRunner

    from publisher.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("CONFIG", "REDIS_URL", "SMTP_URL"):
        monkeypatch.delenv(f"PUBLISHER_{name}", raising=False)
    for name in ("database_url", "feeds_dir", "var_dir", "site_url", "secret_key", "api_token"):
        monkeypatch.setenv(f"PUBLISHER_{name.upper()}", str(getattr(app.settings, name) or ""))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory) -> tuple[Path, bytes]:  # type: ignore[no-untyped-def]
    """A 2048-bit RSA key made with openssl for the run: (its PEM file, the DNS TXT record that
    publishes it, as dkimpy's ``dnsfunc`` returns it)."""
    import base64
    import subprocess

    key = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout  # fmt: skip
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
