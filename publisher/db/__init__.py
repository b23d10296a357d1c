"""Storage: the engine, migrations and schema. See ``database.py``."""

from publisher.db.database import Database

__all__ = ["Database"]
