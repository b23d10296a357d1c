"""Settings: defaults, environment over publisher.toml, coercion and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    with pytest.raises(ConfigError, match="unknown setting 'feed_itemz'"):
        Settings.load({}, config_file=config)
    config.write_text("feed_items = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"publisher\.toml"):
        Settings.load({}, config_file=config)
