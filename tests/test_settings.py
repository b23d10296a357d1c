"""Settings: defaults, environment over publisher.toml, coercion and clear errors."""

from __future__ import annotations

import secrets
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from publisher.errors import ConfigError
from publisher.settings import Settings


def test_defaults_are_the_embedded_default(tmp_path: Path) -> None:
    settings = Settings.load({}, config_file=tmp_path / "absent.toml")
    assert settings.database_url == "sqlite:///var/publisher.db"
    assert settings.redis_url == "" and not settings.uses_broker
    assert settings.site_url == "http://localhost:8000"
    assert settings.feeds_dir == "feeds"
    assert settings.feed_items == 50


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "publisher.toml"
    config.write_text('site_url = "https://a.example"\nfeed_items = 20\n', encoding="utf-8")
    settings = Settings.load({"PUBLISHER_SITE_URL": "https://b.example"}, config_file=config)
    assert (settings.site_url, settings.feed_items) == ("https://b.example", 20)
    assert Settings.load({"PUBLISHER_CONFIG": str(config)}).site_url == "https://a.example"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@127.0.0.1:5432/db", "postgresql+psycopg://u@127.0.0.1:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite:///var/x.db"),
    ],
)
def test_postgresql_urls_work_as_given(url: str, expected: str) -> None:
    assert Settings(database_url=url).sqlalchemy_url == expected


def test_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PUBLISHER_FEED_ITEMS: expected a whole number"):
        Settings.load({"PUBLISHER_FEED_ITEMS": "x"}, config_file=tmp_path / "absent.toml")
    config = tmp_path / "publisher.toml"
    config.write_text("feed_itemz = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"publisher\.toml: feed_itemz: unknown setting$"):
        Settings.load({}, config_file=config)
    config.write_text("feed_items = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"publisher\.toml"):
        Settings.load({}, config_file=config)


ROOT = Path(__file__).resolve().parents[1]
ABSENT = {"PUBLISHER_CONFIG": "/nonexistent/publisher.toml"}


def _problems(environ: dict[str, str]) -> dict[str, str]:
    """{variable: problem} of the ConfigError that loading ``environ`` raises."""
    with pytest.raises(ConfigError) as caught:
        Settings.load({**ABSENT, **environ})
    assert caught.value.exit_code == 2
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems)
    return dict(caught.value.problems)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SITE_URL", "news.example.com", "expected http:// or https://"),
        ("SITE_URL", "ftp://news.example.com", "expected http:// or https://, got ftp://"),
        ("SITE_URL", "https://news.example.com/?a=1", "no ?query"),
        ("DATABASE_URL", "mysql://u@h/db", "expected sqlite:// or postgresql://"),
        ("REDIS_URL", "http://127.0.0.1:6379", "expected redis:// or rediss://"),
        ("SMTP_URL", "http://mail.example.com", "expected smtp:// or smtps://"),
        ("SMTP_URL", "smtp://mail.example.com:port", "the port is not a number"),
        ("WEBSUB_HUB", "hub.example.com", "expected http:// or https://"),
        ("EDITION_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("EDITION_CUTOFF", "7am", "expected a time as HH:MM"),
        ("EDITION_CUTOFF", "24:00", "expected a time as HH:MM"),
        ("EDITION_NAMES", "morning", "expected name=Title"),
        ("EDITION_NAMES", "morning=Morning@25:00", "expected a time as HH:MM"),
        ("EDITION_NAMES", "morning=A,morning=B", "named twice"),
        ("EDITION_NAMES", "Morning Show=A", "lower-case letters"),
        ("EDITION_SECTIONS", "World,,Sports", "an empty section name"),
        ("EDITION_SECTIONS", "World,world", "named twice"),
        ("MAIL_FROM", "Newslooks Desk", "expected an address"),
        ("MAIL_FROM", "Newslooks <editions@localhost>", "is not a valid address"),
        ("MAIL_FROM", "", "must not be empty"),
        ("UNSUBSCRIBE_MAILTO", "Unsub <u@news.example.com>", "expected an address such as"),
        ("LIST_ID", "morning lists", "expected a domain"),
        ("FEEDBACK_ID", "two words", "printable ASCII"),
        ("DELIVERY_STUCK_POLICY", "maybe", "expected 'resend' or 'skip', got 'maybe'"),
        ("FEED_ITEMS", "0", "must be at least 1"),
        ("FEED_ITEMS", "2.5", "expected a whole number"),
        ("FEED_MAX_AGE", "-1", "must be at least 0"),
        ("DELIVERY_LEASE", "0", "must be more than 0"),
        ("DELIVERY_BATCH_SIZE", "0", "must be at least 1"),
        ("SMTP_RETRIES", "-1", "must be at least 0"),
        ("SMTP_TIMEOUT", "0", "must be at least 1"),
        ("SMTP_RETRY_DELAY", "nan", "finite number"),
        ("RATE_LIMIT", "-2", "must be at least 0"),
        ("SCHEDULE_LATENESS_HOURS", "0", "must be more than 0"),
        ("SCHEDULE_FREEZE_MINUTES", "-5", "must be at least 0"),
        ("EDITION_WINDOW_HOURS", "0", "must be at least 1"),
        ("EDITION_WINDOW_HOURS", "721", "must be at most 720"),
        ("EDITION_MAX_ARTICLES", "0", "must be at least 1"),
        ("SWEEP_INTERVAL", "0", "must be at least 1"),
        ("BEAT_LOCK_TIMEOUT", "1", "must be at least 5"),
        ("LANGUAGE", "English", "a language tag"),
        ("SITE_TITLE", "", "must not be empty"),
        ("SECRET_KEY", "short", "too short (5 characters, at least 32)"),
        ("SECRET_KEY", "change-me-to-a-long-random-string", "a placeholder"),
        ("SECRET_KEY", "insecure-development-key", "a placeholder"),
        ("SECRET_KEY", "CHANGEME" * 5, "a placeholder"),
        ("SECRET_KEY", "a" * 40, "not random"),
        ("API_TOKEN", "change-me-too", "a placeholder"),
        ("DKIM_KEY_FILE", "/nonexistent/dkim.pem", "cannot read /nonexistent/dkim.pem"),
        ("DKIM_DOMAIN", "news example", "expected a domain"),
    ],
)
def test_each_bad_value_is_refused_naming_its_variable(name: str, value: str, problem: str) -> None:
    problems = _problems({f"PUBLISHER_{name}": value})
    assert problem in problems[f"PUBLISHER_{name}"], problems


def test_secrets_are_never_echoed_in_errors() -> None:
    problems = _problems({"PUBLISHER_SECRET_KEY": "hunter2", "PUBLISHER_SMTP_URL": "http://u:hunter2@h"})
    assert "hunter2" not in "".join(problems.values())


def test_every_bad_setting_is_reported_at_once_one_line_each() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load({**ABSENT, "PUBLISHER_MAIL_FROM": "Newslooks Desk", "PUBLISHER_FEED_ITEMS": "x",
                       "PUBLISHER_DELIVERY_STUCK_POLICY": "maybe", "PUBLISHER_EDITION_TIMEZONE": "Nowhere",
                       "PUBLISHER_DKIM_SELECTOR": "news"})  # fmt: skip
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "PUBLISHER_FEED_ITEMS", "PUBLISHER_EDITION_TIMEZONE", "PUBLISHER_MAIL_FROM",
        "PUBLISHER_DELIVERY_STUCK_POLICY", "PUBLISHER_DKIM_KEY_FILE", "PUBLISHER_DKIM_DOMAIN",
    ]  # fmt: skip
    assert caught.value.field == "PUBLISHER_FEED_ITEMS"


def test_the_toml_file_is_checked_the_same_way_and_named(tmp_path: Path) -> None:
    config = tmp_path / "publisher.toml"
    config.write_text('mail_from = "Newslooks Desk"\nfeed_items = 0\ndelivery_stuck_policy = "maybe"\n'
                      'site_title = 5\nsmtp_retries = 2\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        Settings.load({"PUBLISHER_SMTP_RETRIES": "-1"}, config_file=config)
    assert str(caught.value).splitlines() == [
        f"{config}: feed_items: must be at least 1, got 0",
        f"{config}: site_title: expected text, got 5",
        f"{config}: mail_from: expected an address such as 'Newslooks <editions@news.example.com>', "
        "got 'Newslooks Desk'",
        "PUBLISHER_SMTP_RETRIES: must be at least 0, got '-1'",  # the environment wins, and is named
        f"{config}: delivery_stuck_policy: expected 'resend' or 'skip', got 'maybe'",
    ]


def test_good_values_are_taken_and_normalised() -> None:
    settings = Settings.load({
        **ABSENT, "PUBLISHER_DELIVERY_STUCK_POLICY": " Skip ", "PUBLISHER_EDITION_CUTOFF": "6:30",
        "PUBLISHER_EDITION_SECTIONS": " Sports , World ",
        "PUBLISHER_EDITION_NAMES": "morning=Morning Edition, evening=Evening Edition@19:00",
        "PUBLISHER_SECRET_KEY": "", "PUBLISHER_SMTP_URL": "maildir:/tmp/out",
        "PUBLISHER_MAIL_FROM": "editions@news.example.com",
    })  # fmt: skip
    assert settings.delivery_stuck_policy == "skip"
    assert (settings.edition_cutoff, settings.edition_cutoff_time) == ("06:30", time(6, 30))
    assert (settings.edition_sections, settings.section_order) == ("Sports,World", ("Sports", "World"))
    assert settings.editions == {
        "morning": ("Morning Edition", None),
        "evening": ("Evening Edition", time(19)),
    }
    assert settings.secret_key is None
    assert settings.envelope_from == "editions@news.example.com"


def test_settings_made_directly_are_checked_and_replace_checks_again() -> None:
    settings = Settings(feed_items=3)
    assert settings.replace(feed_items=4).feed_items == 4
    with pytest.raises(ConfigError, match="PUBLISHER_FEED_ITEMS: must be at least 1"):
        settings.replace(feed_items=0)
    with pytest.raises(ConfigError, match="PUBLISHER_NO_SUCH: unknown setting"):
        Settings(no_such=1)  # type: ignore[call-arg]
    assert {settings: 1}[Settings(feed_items=3)] == 1  # hashable, equal by value (a cache key)
    with pytest.raises(ValidationError):
        settings.feed_items = 5  # type: ignore[misc]


def test_settings_made_directly_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_FEED_ITEMS", "7")
    monkeypatch.setenv("PUBLISHER_CONFIG", ABSENT["PUBLISHER_CONFIG"])
    assert Settings().feed_items == 50
    assert Settings.load().feed_items == 7


def test_the_dkim_trio_is_all_or_nothing_and_the_key_is_read_at_start(tmp_path: Path) -> None:
    pem = tmp_path / "dkim.pem"
    problems = _problems({"PUBLISHER_DKIM_KEY_FILE": str(pem), "PUBLISHER_DKIM_SELECTOR": "news2026",
                          "PUBLISHER_DKIM_DOMAIN": "news.example.com"})  # fmt: skip
    assert list(problems) == ["PUBLISHER_DKIM_KEY_FILE"]
    assert "cannot read" in problems["PUBLISHER_DKIM_KEY_FILE"]
    pem.write_text("not a key", encoding="utf-8")
    problems = _problems({"PUBLISHER_DKIM_KEY_FILE": str(pem), "PUBLISHER_DKIM_SELECTOR": "news2026",
                          "PUBLISHER_DKIM_DOMAIN": "news.example.com"})  # fmt: skip
    assert "not an unencrypted PEM private key" in problems["PUBLISHER_DKIM_KEY_FILE"]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))  # fmt: skip
    settings = Settings(dkim_key_file=str(pem), dkim_selector="news2026", dkim_domain="news.example.com")
    assert settings.dkim_selector == "news2026"
    problems = _problems({"PUBLISHER_DKIM_KEY_FILE": str(pem)})
    assert set(problems) == {"PUBLISHER_DKIM_SELECTOR", "PUBLISHER_DKIM_DOMAIN"}


def test_config_shows_a_generated_key_and_masks_a_set_one() -> None:
    rows = {name: shown for name, shown, _doc in Settings().describe()}
    assert rows["PUBLISHER_SECRET_KEY"] == "(generated, kept in the database)"
    key = "k" + secrets.token_urlsafe(32)
    rows = {name: shown for name, shown, _doc in Settings(secret_key=key).describe()}
    assert rows["PUBLISHER_SECRET_KEY"] == "***"


def test_env_example_works_as_copied_and_its_commented_placeholders_are_refused() -> None:
    environ = dict(ABSENT)
    commented = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        if sep and name.startswith("PUBLISHER_"):
            (commented if line.startswith("#") else environ)[name] = value
    Settings.load(environ)  # cp .env.example .env starts
    for name in ("PUBLISHER_SECRET_KEY", "PUBLISHER_API_TOKEN"):
        assert "placeholder" in _problems({name: commented[name]})[name]
