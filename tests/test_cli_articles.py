"""``publisher ingest``, ``articles`` and ``config`` through the real command line (click's runner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from tests.conftest import EXAMPLES, SAMPLE

SLUG = "port-elliss-tidal-array-keeps-40-000-homes-lit-through-first-winter"  # the sample's


def test_ingest_sample_then_reingest(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(SAMPLE, tmp_path / "tidal.txt")
    out = cli("ingest", "--published-at", "2026-11-25T06:00:00Z", str(tmp_path / "tidal.txt"))
    assert f"created    {tmp_path / 'tidal.txt'}  {SLUG}" in out
    assert "unchanged" in cli("ingest", str(tmp_path / "tidal.txt"))

    shown = json.loads(cli("articles", "show", SLUG, "--json"))
    assert shown["published_at"] == "2026-11-25T06:00:00Z"
    assert shown["top_story"] is True and len(shown["quick_looks"]) == 8

    edited = SAMPLE.read_text(encoding="utf-8").replace("brushed onto", "painted onto")
    (tmp_path / "tidal.txt").write_text(edited, encoding="utf-8")
    assert "updated    " in cli("ingest", str(tmp_path / "tidal.txt"))
    again = json.loads(cli("articles", "show", SLUG, "--json"))
    assert again["published_at"] == "2026-11-25T06:00:00Z"
    assert again["updated_at"] > again["published_at"]
    assert "painted onto the blades" in again["body_html"]


def test_a_bad_file_fails_alone_and_the_good_ones_are_stored(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "good.txt")
    (folder / "bad.txt").write_text("World\n\nHeadline\n\nA paragraph, no byline.\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("World\n\nCaf\xe9\n".encode("latin-1"))
    (folder / "notes.csv").write_text("ignored", encoding="utf-8")  # not an article suffix
    out = cli("ingest", str(folder), code=1)
    assert f"error      {folder / 'bad.txt'}: line 5: no byline line found" in out
    assert f"error      {folder / 'latin1.txt'}: line 3: not UTF-8 text (byte 0xe9)" in out
    assert "created    " in out and "notes.csv" not in out
    assert "Traceback" not in out
    listed = json.loads(cli("articles", "list", "--json"))
    assert [a["slug"] for a in listed] == [SLUG]


def test_dry_run_and_missing_path(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli("ingest", "--dry-run", str(SAMPLE))
    assert "created" in out and "dry run: nothing stored" in out
    assert json.loads(cli("articles", "list", "--json")) == []
    assert "no such file or folder" in cli("ingest", str(tmp_path / "nope.txt"), code=1)


def test_bad_published_at_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("ingest", "--published-at", "tomorrow", str(SAMPLE), code=2)
    assert "Invalid value for '--published-at'" in out


def test_examples_list_by_section_and_retract(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", str(EXAMPLES / "articles"))
    everything = json.loads(cli("articles", "list", "--json"))
    assert len(everything) >= 8
    assert len({a["section"] for a in everything}) >= 4
    assert any(not a["quick_looks"] for a in everything)
    world = json.loads(cli("articles", "list", "--section", "World", "--json"))
    assert world and all(a["section"] == "World" for a in world)
    slug = world[0]["slug"]
    assert f"retracted  {slug}" in cli("articles", "retract", slug)
    assert slug not in cli("articles", "list")
    assert "no article with slug" in cli("articles", "retract", "no-such-slug", code=1)


def test_config_masks_secrets(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_SMTP_URL", "smtp://mailer:hunter2@127.0.0.1:2525")
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "tok-123")
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "s3cret-but-long-enough-0123456789abc")
    settings = json.loads(cli("config", "--json"))
    assert settings["PUBLISHER_SMTP_URL"] == "smtp://mailer:***@127.0.0.1:2525"
    assert settings["PUBLISHER_API_TOKEN"] == "***"
    assert settings["PUBLISHER_SECRET_KEY"] == "***"
    assert settings["PUBLISHER_SITE_URL"] == "https://news.example.com"  # not a secret: shown
    assert "hunter2" not in cli("config") and "s3cret" not in cli("config")


def test_a_bad_setting_is_a_clear_error(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_FEED_ITEMS", "lots")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 2
    assert "PUBLISHER_FEED_ITEMS: expected a whole number, got 'lots'" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade(cli) -> None:  # type: ignore[no-untyped-def]
    assert "migrated from empty to" in cli("db", "upgrade")
    assert "already at revision" in cli("db", "upgrade")


SLUG = "port-elliss-tidal-array-keeps-40-000-homes-lit-through-first-winter"


def test_hostile_files_are_errors_and_the_good_ones_are_stored(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "good.txt")
    good = {"title": "Harbor Opens", "section": "World"}
    (folder / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    (folder / "digits.json").write_text('{"title": "T", "section": "S", "summary": ' + "9" * 5000 + "}")
    (folder / "list.json").write_text(
        json.dumps([good, {**good, "published_at": "9999-12-31T23:59:59-23:59"}])
    )
    (folder / "laughs.md").write_text("---\ntitle: T\nsection: S\na: &a [x, x]\nb: [*a, *a]\n---\nbody")
    (folder / "nested.md").write_text("---\ntitle: " + "[" * 5000 + "]" * 5000 + "\nsection: S\n---\n")
    (folder / "nul.txt").write_bytes(b"\x00" * 4096)
    result = CliRunner().invoke(main, ["ingest", str(folder)])
    out = result.output
    assert result.exit_code == 1, out
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in out
    assert f"error      {folder / 'deep.json'}: nested deeper than 16 levels" in out
    assert f"error      {folder / 'digits.json'}: line 1: a number with more than 40 digits" in out
    assert (f"error      {folder / 'list.json'}[1]: field 'published_at': "
            "must be between the years 1970 and 2100") in out  # fmt: skip
    assert f"error      {folder / 'laughs.md'}: line 4: invalid YAML: anchors and aliases" in out
    assert f"error      {folder / 'nested.md'}: line 2: invalid YAML: nested deeper than 16 levels" in out
    assert f"error      {folder / 'nul.txt'}: line 1: empty file" in out
    stored = json.loads(cli("articles", "list", "--json"))
    assert sorted(a["slug"] for a in stored) == ["harbor-opens", SLUG]


@pytest.mark.parametrize(
    "value", ["0001-01-01", "9999-12-31T23:59:59-23:59", "1969-12-31T23:59:59Z", "2101-01-01"]
)
def test_published_at_outside_1970_to_2100_is_a_usage_error(cli, value: str) -> None:  # type: ignore[no-untyped-def]
    out = cli("ingest", "--published-at", value, str(SAMPLE), code=2)
    assert "Invalid value for '--published-at': must be between the years 1970 and 2100" in out
    assert "Traceback" not in out


def test_a_corrected_headline_keeps_the_slug_and_json_shows_the_source_id(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "01-tidal.txt"
    shutil.copy(SAMPLE, path)
    cli("ingest", str(path))
    original = json.loads(cli("articles", "show", SLUG, "--json"))
    assert original["source_id"] == "01-tidal.txt"
    text = SAMPLE.read_text(encoding="utf-8").replace("Tidal Array", "Tide Array")
    path.write_text(text, encoding="utf-8")
    assert f"updated    {path}  {SLUG}" in cli("ingest", str(path))
    fixed = json.loads(cli("articles", "show", SLUG, "--json"))
    assert fixed["title"] == "Port Ellis’s Tide Array Keeps 40,000 Homes Lit Through First Winter"
    assert fixed["published_at"] == original["published_at"]
    assert [a["source_id"] for a in json.loads(cli("articles", "list", "--json"))] == ["01-tidal.txt"]

    other = tmp_path / "02-other-paper.txt"  # another story whose headline makes the same slug
    other.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert f"created    {other}  {SLUG}-2" in cli("ingest", str(other))


def test_a_retraction_sticks_until_restored(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tidal.txt"
    shutil.copy(SAMPLE, path)
    cli("ingest", str(path))
    assert f"retracted  {SLUG}" in cli("articles", "retract", SLUG)
    again = cli("ingest", str(path))  # before: "updated", and published again
    assert f"retracted  {path}  {SLUG}" in again
    assert "publisher articles restore SLUG" in again
    assert json.loads(cli("articles", "list", "--json")) == []
    assert f"restored   {SLUG}" in cli("articles", "restore", SLUG)
    assert [a["slug"] for a in json.loads(cli("articles", "list", "--json"))] == [SLUG]
    assert "unchanged" in cli("ingest", str(path))
    assert "no article with slug" in cli("articles", "restore", "no-such-slug", code=1)
