"""Bad settings stop every command at start (exit 2, one line per setting, no traceback);
``publisher config --check``; each PublisherError exits with its own code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.errors import ConfigError, ConflictError, NotFoundError, PublisherError, TransientDeliveryError

PUBLISHER = Path(sys.executable).with_name("publisher")


def test_config_check_says_ok_and_touches_nothing(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    assert cli("config", "--check") == "ok\n"
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("command", [["config", "--check"], ["config"], ["serve"], ["worker"], ["beat"],
                                     ["run", "--once"], ["articles", "list"]])  # fmt: skip
def test_a_bad_setting_stops_every_command_at_start(cli, monkeypatch, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_MAIL_FROM", "Newslooks Desk")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "PUBLISHER_MAIL_FROM: expected an address such as 'Newslooks <editions@news.example.com>', "
        "got 'Newslooks Desk'\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    "command", [["--help"], ["edition", "--help"], ["users", "add", "--help"], ["serve", "--help"]]
)
def test_help_needs_no_settings(cli, monkeypatch, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Someone fixing a bad setting can still read the help: only a command that runs reads them."""
    monkeypatch.setenv("PUBLISHER_MAIL_FROM", "Newslooks Desk")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and result.stderr == ""


def test_every_bad_setting_is_one_line(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_DELIVERY_STUCK_POLICY", "maybe")
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "change-me")
    monkeypatch.setenv("PUBLISHER_FEED_ITEMS", "0")
    result = CliRunner().invoke(main, ["config", "--check"])
    assert result.exit_code == 2
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == [
        "PUBLISHER_SECRET_KEY", "PUBLISHER_FEED_ITEMS", "PUBLISHER_DELIVERY_STUCK_POLICY",
    ]  # fmt: skip
    assert "a placeholder" in result.stderr and "'resend' or 'skip', got 'maybe'" in result.stderr


def test_a_short_key_is_refused_naming_the_variable(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "x7Rq2-short-but-random")
    result = CliRunner().invoke(main, ["config", "--check"])
    assert result.exit_code == 2
    assert result.stderr.startswith("PUBLISHER_SECRET_KEY: too short (22 characters, at least 32)")


def test_a_bad_toml_key_is_named_with_its_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "publisher.toml").write_text('delivery_stuck_policy = "maybe"\nfeed_itemz = 3\n')
    result = CliRunner().invoke(main, ["config", "--check"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "publisher.toml: delivery_stuck_policy: expected 'resend' or 'skip', got 'maybe'",
        "publisher.toml: feed_itemz: unknown setting",
    ]


def test_the_real_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PUBLISHER_MAIL_FROM": "Newslooks Desk",
               "PUBLISHER_DELIVERY_STUCK_POLICY": "maybe"}  # fmt: skip
    done = subprocess.run([str(PUBLISHER), "serve"], cwd=tmp_path, env=environ, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "PUBLISHER_MAIL_FROM",
        "PUBLISHER_DELIVERY_STUCK_POLICY",
    ]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "var").exists()  # nothing was opened or created


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PublisherError("it broke"), 1),
        (ConfigError("PUBLISHER_X: bad"), 2),
        (NotFoundError("no edition with id 9"), 3),
        (ConflictError("edition 9 is paused"), 4),
        (TransientDeliveryError("451 try later"), 5),
    ],
)
def test_each_error_exits_with_its_code(cli, error: PublisherError, code: int) -> None:  # type: ignore[no-untyped-def]
    @main.command("raise-for-test", hidden=True)
    def raise_for_test() -> None:
        raise error

    try:
        result = CliRunner().invoke(main, ["raise-for-test"])
    finally:
        main.commands.pop("raise-for-test")
    assert result.exit_code == code
    assert result.stderr == f"error: {error}\n"
    assert isinstance(result.exception, SystemExit)
