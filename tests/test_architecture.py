"""The shape the code promises: one owner per state, one composition root nobody imports back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "publisher"
# Modules that build an App: the entry points (the CLI and the web app). Everything else receives
# what it uses.
ENTRY_POINTS = ("cli", "web")
STATE_OWNER = PACKAGE / "delivery" / "lifecycle.py"
READER_STATE_OWNER = PACKAGE / "subscribers" / "lifecycle.py"
USER_STATE_OWNER = PACKAGE / "accounts" / "lifecycle.py"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_but_the_entry_points_imports_the_composition_root() -> None:
    offenders = []
    for path in _modules():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ENTRY_POINTS or relative.name == "app.py":
            continue
        if "publisher.app" in _imports(path):
            offenders.append(str(relative))
    assert offenders == []


def _writes_a_status(node: ast.AST) -> bool:
    """``.values(status=...)``, ``.values({"status": ...})`` or ``insert().values(..., status=...)``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "values":
        return False
    if any(k.arg == "status" for k in node.keywords):
        return True
    keys = [k for arg in node.args if isinstance(arg, ast.Dict) for k in arg.keys]
    return any(isinstance(k, ast.Constant) and k.value == "status" for k in keys)


def _status_writers(table_names: set[str], owner: Path) -> list[str]:
    """Where a module other than ``owner`` sets the status of one of the tables ``table_names``
    (``.values(status=...)`` or ``.values({"status": ...})``, by whatever name it imported it)."""
    writers = []
    for path in _modules():
        if path == owner:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tables = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "publisher.db.schema"
            for alias in node.names
            if alias.name in table_names
        }
        for node in ast.walk(tree):
            if tables and _writes_a_status(node) and _root_name(node.func.value) in tables:  # type: ignore[attr-defined]
                writers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return writers


def test_only_the_lifecycle_writes_edition_and_delivery_states() -> None:
    assert _status_writers({"editions", "deliveries"}, STATE_OWNER) == []
    # And the owner's own writes are guarded: every UPDATE it builds names the states it leaves.
    source = STATE_OWNER.read_text(encoding="utf-8")
    assert "_leaves(" in source and "EDITION_MOVES[" in source


def _root_name(node: ast.AST) -> str | None:
    """The name a call chain starts from: ``t`` of ``t.update().where(...).values(...)``, or the
    table given to ``insert(t)``."""
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.args:  # insert(t)
                node = node.args[0]
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "insert" and node.args:
                node = node.args[0]  # sqlite.insert(t), postgresql.insert(t)
                continue
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def test_only_the_reader_lifecycle_writes_a_readers_status() -> None:
    assert _status_writers({"subscribers"}, READER_STATE_OWNER) == []
    # The owner's writes are guarded by the moves' table and each records its event.
    source = READER_STATE_OWNER.read_text(encoding="utf-8")
    assert "_leaves(" in source and "MOVES[" in source and "record(" in source


def test_only_the_user_lifecycle_writes_a_users_status() -> None:
    assert _status_writers({"users"}, USER_STATE_OWNER) == []
    # Its writes are guarded by the moves' table.
    source = USER_STATE_OWNER.read_text(encoding="utf-8")
    assert "_leaves(" in source and "MOVES[" in source


def test_the_reader_check_sees_a_write() -> None:
    tree = ast.parse("t.update().where(t.c.id == 1).values(status='active')")
    [call] = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _writes_a_status(n)]
    assert _root_name(call.func.value) == "t"  # type: ignore[attr-defined]
