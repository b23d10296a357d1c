"""``publisher edition preview`` through the real command line, and the demo's preview step."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from tests.conftest import EXAMPLES


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "CONFIG", "FEEDS_DIR", "VAR_DIR", "TEMPLATES_DIR"):
        monkeypatch.delenv(f"PUBLISHER_{name}", raising=False)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PUBLISHER_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PUBLISHER_SITE_URL", "https://news.example.com")
    runner = CliRunner()

    def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    run("ingest", "--published-at", "2026-11-25T05:00:00Z", str(EXAMPLES / "articles"))
    return run


def test_preview_writes_html_text_and_eml(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    comet = "amateur-astronomers-help-spot-faint-comet-near-jupiters-orbit"
    flu = "county-health-clinics-extend-evening-hours-for-flu-shots"
    result = cli("edition", "preview", "--date", "2026-11-25", "--html", "out/e.html", "--text", "out/e.txt",
                 "--eml", "out/e.eml", "--pin", comet, "--exclude", flu)  # fmt: skip
    assert "Morning Edition of 2026-11-25 (cut-off 2026-11-25T07:00:00Z), 8 articles" in result.stderr
    assert "   1. Science      amateur-astronomers-help-spot-faint-comet-near-jupiters-orbit" in result.stderr
    assert "county-health-clinics" not in result.stderr
    html = (tmp_path / "out/e.html").read_text()
    text = (tmp_path / "out/e.txt").read_text()
    message = message_from_bytes((tmp_path / "out/e.eml").read_bytes(), policy=policy.default)
    assert html.startswith("<!doctype html>")
    assert "Good morning, Sample Reader." in html and "Good morning, Sample Reader." in text
    assert message["To"] == "Sample Reader <reader@example.com>"
    assert message["Message-ID"] == "<preview-morning-2026-11-25@news.example.com>"
    assert message["List-Unsubscribe"].startswith("<https://news.example.com/unsubscribe/preview>")
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert result.stdout == ""


def test_preview_prints_text_and_filters_sections(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("edition", "preview", "--date", "2026-11-25", "--section", "Health")
    assert "2 articles" in result.stderr
    assert result.stdout.startswith("MORNING EDITION · Newslooks\nWednesday, November 25, 2026\n")
    assert "HEALTH\n" in result.stdout and "WORLD\n" not in result.stdout


def test_preview_errors_are_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    assert "unknown edition 'noon'" in cli("edition", "preview", "--name", "noon", code=3).stderr
    assert "no article with slug 'nope'" in cli("edition", "preview", "--pin", "nope", code=3).stderr
    assert "expected YYYY-MM-DD" in cli("edition", "preview", "--date", "25/11/2026", code=2).stderr


def test_preview_of_an_empty_day(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("edition", "preview", "--date", "2026-01-01")
    assert "0 articles" in result.stderr
    assert "No new stories in your sections this morning." in result.stdout


def test_demo_step_writes_the_preview(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from publisher.app import App
    from publisher.cli.demo import STEPS, step_edition_preview

    assert step_edition_preview in STEPS
    demo = App(make_settings(var_dir=str(tmp_path / "demo")))
    (tmp_path / "demo").mkdir()
    try:
        list(demo.ingest([EXAMPLES / "articles"]))  # published now: the next edition takes them
        assert step_edition_preview(demo, EXAMPLES)
    finally:
        demo.close()
    assert (tmp_path / "demo/preview.html").read_text().startswith("<!doctype html>")
    assert "QUICK LOOKS" in (tmp_path / "demo/preview.txt").read_text()
    assert (
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        in (tmp_path / "demo/preview.eml").read_bytes()
    )


def test_the_demo_runs_every_step(cli) -> None:  # type: ignore[no-untyped-def]
    """``publisher demo`` (the README's main command) on the embedded default, every step through."""
    from publisher.cli.demo import STEPS

    output = cli("demo").stdout
    assert f"{len(STEPS)}. The newsroom console" in output
    assert "GET /console/ -> 200: Today shows the editions" in output
