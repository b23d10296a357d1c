# ruff: noqa: N999 - the issue names this file bench/import.py
"""Subscriber import speed: a generated CSV of N rows (1% invalid, 1% duplicates) into a fresh database.

Target (issue 5): >= 10,000 rows/s, validation included. SQLite by default; ``--database-url
postgresql://...`` for PostgreSQL (a throw-away database is created and dropped).
Usage: python bench/import.py [--rows N] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from publisher.app import App
from publisher.settings import Settings
from publisher.subscribers.importer import read_csv_file

ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Kathmandu", "Australia/Sydney")
SECTIONS = ("", "World", "US News;Business", "Sports", "Technology;Science;Health")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,timezone,sections\n")
        for i in range(rows):
            if i % 100 == 17:
                out.write(f"broken-address-{i},Broken,UTC,\n")
            elif i % 100 == 53:
                out.write(f"Reader{i - 1}@Example.org,Again,UTC,\n")  # a duplicate of the row before
            else:
                out.write(f'reader{i}@example.org,"Reader {i}, Jr.",{ZONES[i % 5]},"{SECTIONS[i % 5]}"\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "subscribers.csv"
        write_csv(csv_path, args.rows)
        url, drop = _database(args.database_url, tmp)
        app = App(Settings(database_url=url, var_dir=tmp))
        app.db.upgrade()  # schema creation is not import work
        try:
            started = time.perf_counter()
            result = read_csv_file(csv_path)
            validate_s = time.perf_counter() - started
            added, _ = app.subscribers.upsert_many(result.valid)
            total_s = time.perf_counter() - started
        finally:
            app.close()
            drop()
    out = {
        "rows": args.rows,
        "added": added,
        "rejected": len(result.rejected),
        "seconds": round(total_s, 3),
        "rows_per_s": round(args.rows / total_s),
        "validate_rows_per_s": round(args.rows / validate_s),
        "database": "postgresql" if args.database_url else "sqlite",
    }
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>20}: {value}")


def _database(admin_url: str, tmp: str):  # type: ignore[no-untyped-def]
    if not admin_url:
        return f"sqlite:///{tmp}/bench.db", lambda: None
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(Settings(database_url=admin_url).sqlalchemy_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


if __name__ == "__main__":
    main()
