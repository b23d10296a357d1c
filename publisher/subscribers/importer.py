"""CSV import: every valid row is kept, every rejected row is reported with its line and reason.

Columns: ``email`` (required), ``name``, ``timezone``, ``sections`` (names separated by ``;``).
Pure: ``read_csv`` returns the rows to store and the rejections; the CLI stores and prints them.
An address that appears twice (case-insensitively) is kept at its first line; later ones are
rejected as duplicates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from publisher.errors import PublisherError
from publisher.subscribers.model import InvalidSubscriberError, NewSubscriber, validate

COLUMNS = ("email", "name", "timezone", "sections")


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


@dataclass(slots=True)
class ImportResult:
    valid: list[NewSubscriber] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line of each valid row


def read_csv_file(path: Path) -> ImportResult:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PublisherError(f"{path}: cannot read: {exc}") from None
    return read_csv(io.StringIO(text, newline=""), where=str(path))


def read_csv(lines: Iterable[str], *, where: str = "<csv>") -> ImportResult:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise PublisherError(f"{where}: empty file (expected a header: {','.join(COLUMNS)})") from None
    except csv.Error as exc:
        raise PublisherError(f"{where}: line 1: {exc}") from None
    names = [h.strip().lower() for h in header]
    if "email" not in names:
        raise PublisherError(f"{where}: line 1: no 'email' column (expected {','.join(COLUMNS)})")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise PublisherError(f"{where}: line 1: unknown column {unknown[0]!r} (expected {','.join(COLUMNS)})")
    index = {name: i for i, name in enumerate(names)}
    result = ImportResult()
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.rejected.append(Rejected(line, f"unreadable CSV: {exc}"))
            line = reader.line_num + 1
            continue
        row_line, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue  # blank lines are not rows
        if len(cells) > len(names):
            result.rejected.append(Rejected(row_line, f"{len(cells)} cells, the header has {len(names)}"))
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            i = index.get(name)
            return cells[i] if i is not None and i < len(cells) else ""

        try:
            item = validate(cell("email"), cell("name"), cell("timezone"), cell("sections"))
        except InvalidSubscriberError as exc:
            result.rejected.append(Rejected(row_line, str(exc)))
            continue
        seen = first_line.get(item.email_key)
        if seen is not None:
            result.rejected.append(Rejected(row_line, f"email: {item.email!r}: duplicate of line {seen}"))
            continue
        first_line[item.email_key] = row_line
        result.valid.append(item)
        result.lines.append(row_line)
    return result


# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """The cell as text a spreadsheet shows and never runs: a leading ' before a formula character."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def write_csv(rows: Iterable[tuple[str, str, str, str, str]], out: io.TextIOBase) -> None:
    """email, name, timezone, sections, status: the import columns plus the status. Every cell
    that a spreadsheet would take as a formula is written as text."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "status"])
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
