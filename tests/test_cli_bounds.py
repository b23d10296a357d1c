"""The command line refuses ids and dates outside sane ranges with one line, never a traceback."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ("edition", "status", "99999999999999999999"),
        ("edition", "status", "0"),
        ("edition", "pause", "99999999999999999999"),
        ("edition", "resume", "--", "-5"),
        ("edition", "cancel", "2147483648"),
        ("edition", "test-send", "99999999999999999999", "a@example.org"),
        ("edition", "reschedule", "99999999999999999999", "--delay", "5"),
        ("edition", "reschedule", "1", "--delay", "999999999999"),
        ("edition", "reschedule", "1", "--to", "0001-01-01T00:00:00Z"),
        ("edition", "send", "--date", "0001-01-01"),
        ("edition", "send", "--date", "9999-12-31"),
        ("edition", "preview", "--date", "0001-01-01"),
        ("schedule", "due-times", "morning", "--date", "0001-01-01", "--timezone", "UTC"),
    ],
)
def test_out_of_range_ids_and_dates_are_usage_errors(cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    output = cli(*args, code=2)
    assert "Traceback" not in output
    assert "range" in output or "year" in output, output


def test_schedule_add_names_every_bad_field_and_refuses_unknown_editions(cli) -> None:  # type: ignore[no-untyped-def]
    output = cli("schedule", "add", "morning", "--at", "25:99", "--timezone", "Mars/Olympus", code=1)
    assert "at: " in output and "timezone: " in output
    assert "edition: unknown edition 'nonexistent'" in cli(
        "schedule", "add", "morning", "--at", "07:00", "--edition", "nonexistent", code=1
    )
    assert "window" in cli("schedule", "add", "morning", "--at", "07:00", "--window", "1000000000", code=1)
    assert "added" in cli("schedule", "add", "morning", "--at", "07:00", "--window", "720")
