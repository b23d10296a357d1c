"""Subscribers: validation, the CSV import (line-numbered rejections, de-duplication), the store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.subscribers.importer import read_csv
from publisher.subscribers.model import InvalidSubscriberError, Status, validate

CSV = """email,name,timezone,sections
ann@example.com,Ann,Europe/London,World;Sports
bad-address,Bob,UTC,
"Carla, Jr. <c@example.com>",Carla,UTC,
dan@example.com,Dan,Mars/Olympus,
ANN@Example.com,Ann again,UTC,
eve@example.com,"Eve, MD",,US News

fay@example.org,Fay,Asia/Kathmandu,"Health, Science"
"""


def test_validate_normalises_and_names_the_field() -> None:
    s = validate(" Ann@Example.COM ", "Ann\r\nInjected: x", "", "us news; US-News ;World")
    assert (s.email, s.name, s.timezone) == ("Ann@example.com", "Ann Injected: x", "UTC")
    assert s.sections == ("us news", "World")
    assert s.email_key == "ann@example.com"
    assert s.section_keys == "|us-news|world|"
    with pytest.raises(InvalidSubscriberError, match=r"^timezone: unknown time zone 'Nowhere/City'$"):
        validate("a@example.com", timezone="Nowhere/City")
    with pytest.raises(InvalidSubscriberError, match=r"^email: missing$"):
        validate("  ")


def test_csv_import_keeps_valid_rows_and_reports_each_rejected_line() -> None:
    result = read_csv(io.StringIO(CSV, newline=""))
    assert [s.email for s in result.valid] == ["ann@example.com", "eve@example.com", "fay@example.org"]
    assert [(r.line, r.reason.split(":")[0]) for r in result.rejected] == [
        (3, "email"),
        (4, "email"),
        (5, "timezone"),
        (6, "email"),
    ]
    assert result.rejected[2].reason == "timezone: unknown time zone 'Mars/Olympus'"
    assert result.rejected[3].reason == "email: 'ANN@example.com': duplicate of line 2"
    assert result.valid[2].sections == ("Health", "Science")
    assert result.valid[1].timezone == "UTC"


def test_store_upserts_case_insensitively_and_never_resubscribes(any_db_app) -> None:
    store = any_db_app.subscribers
    assert store.upsert_many(read_csv(io.StringIO(CSV, newline="")).valid) == (3, 0)
    ann = store.find("ANN@example.com")
    assert ann is not None and ann.sections == ("World", "Sports")
    assert store.unsubscribe(ann.id) is True
    first = store.get(ann.id)
    assert first is not None and first.status is Status.UNSUBSCRIBED and first.unsubscribed_at is not None
    assert store.unsubscribe(ann.id) is True  # idempotent: the time stays
    assert store.get(ann.id).unsubscribed_at == first.unsubscribed_at  # type: ignore[union-attr]
    again = validate("Ann@EXAMPLE.com", "Ann B", "Asia/Tokyo", "")
    # An unsubscribed reader is suppressed: a re-import neither resubscribes nor rewrites them.
    outcome = store.lifecycle.import_many([again])
    assert (outcome.added, outcome.updated, outcome.suppressed) == (0, 0, [0])
    kept = store.get(ann.id)
    assert kept is not None
    assert (kept.name, kept.timezone, kept.status) == ("Ann", "Europe/London", Status.UNSUBSCRIBED)
    assert store.upsert_many([validate("eve@example.com", "Eve B")]) == (0, 1)
    assert store.count() == 3 and store.count(Status.ACTIVE) == 2
    # remove unsubscribes on the reader's behalf: the record and its history stay.
    assert store.remove("eve@EXAMPLE.com") is True and store.remove("nobody@example.com") is False
    eve = store.find("eve@example.com")
    assert eve is not None and eve.status is Status.UNSUBSCRIBED and eve.name == "Eve B"
    assert [(e["kind"], e["source"]) for e in store.events(eve.id)] == [
        ("add", "import"),
        ("unsubscribe", "ops"),
    ]
    assert store.unsubscribe(999999) is False


def test_cli_import_list_export_remove(tmp_path: Path, make_settings, monkeypatch) -> None:
    settings = make_settings()
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PUBLISHER_VAR_DIR", settings.var_dir)
    path = tmp_path / "list.csv"
    path.write_text(CSV, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["subscribers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("3 added, 0 updated, 0 kept, 0 suppressed, 4 rejected (")
    assert f"{path}: line 5: timezone: unknown time zone 'Mars/Olympus'" in result.stderr.splitlines()
    result = runner.invoke(
        main, ["subscribers", "add", "gus@example.net", "--name", "Gus", "--sections", "Sports"]
    )
    assert result.output == "added  gus@example.net\n"
    result = runner.invoke(main, ["subscribers", "add", "nope", "--timezone", "UTC"])
    assert result.exit_code == 2 and "email: 'nope'" in result.output
    listed = json.loads(runner.invoke(main, ["subscribers", "list", "--json"]).stdout)
    assert [s["email"] for s in listed] == [
        "ann@example.com",
        "eve@example.com",
        "fay@example.org",
        "gus@example.net",
    ]
    assert listed[3]["sections"] == ["Sports"] and listed[3]["status"] == "active"
    assert (
        runner.invoke(main, ["subscribers", "remove", "EVE@example.com"]).output
        == "removed  EVE@example.com\n"
    )
    exported = runner.invoke(main, ["subscribers", "export"]).stdout
    assert exported.splitlines() == [
        "email,name,timezone,sections,status",
        "ann@example.com,Ann,Europe/London,World;Sports,active",
        'eve@example.com,"Eve, MD",UTC,US News,unsubscribed',
        "fay@example.org,Fay,Asia/Kathmandu,Health;Science,active",
        "gus@example.net,Gus,UTC,Sports,active",
    ]
