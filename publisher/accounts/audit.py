"""The audit log: every change made through the console, the ops API or the CLI — who, what, on
what, when, from where — appended, never edited.

``actor`` is the user's email (``api-token`` for PUBLISHER_API_TOKEN, ``cli:<os user>`` at the
command line); ``action`` is ``<noun>.<verb>`` (``edition.pause``, ``user.disable``); ``source``
is the client's address or ``cli@<host>``. ``detail`` is a small JSON object (counts, old and new
values), never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from publisher.db import Database
from publisher.db.schema import audit_log as t

MAX_DETAIL = 4000  # characters of JSON kept per entry


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "detail": self.detail, "source": self.source}  # fmt: skip


def _bounded(detail: dict[str, Any] | None) -> dict[str, Any]:
    if not detail:
        return {}
    text = json.dumps(detail, default=str, ensure_ascii=False)
    if len(text) > MAX_DETAIL:
        return {"truncated": text[:MAX_DETAIL]}
    return dict(json.loads(text))


class AuditLog:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def record(self, actor: str, action: str, target: str, *, source: str,
               detail: dict[str, Any] | None = None) -> None:  # fmt: skip
        with self.db.begin() as conn:
            conn.execute(t.insert().values(at=self.clock(), actor=actor[:320], action=action[:64],
                                           target=target[:1000], detail=_bounded(detail),
                                           source=source[:300]))  # fmt: skip

    def recent(
        self, *, actor: str = "", action: str = "", limit: int = 50, offset: int = 0
    ) -> list[AuditEntry]:
        """Newest first; ``actor`` and ``action`` match exactly, or as a prefix when they end in
        ``*``/``.`` (``edition.`` for every edition verb)."""
        stmt = self._filtered(sa.select(t), actor, action)
        stmt = stmt.order_by(t.c.id.desc()).limit(max(0, min(limit, 1000))).offset(max(0, offset))
        with self.db.connect() as conn:
            return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, dict(r.detail or {}), r.source)
                    for r in conn.execute(stmt)]  # fmt: skip

    def count(self, *, actor: str = "", action: str = "") -> int:
        stmt = self._filtered(sa.select(sa.func.count()).select_from(t), actor, action)
        with self.db.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    @staticmethod
    def _filtered(stmt: Any, actor: str, action: str) -> Any:
        for column, value in ((t.c.actor, actor.strip()), (t.c.action, action.strip())):
            if not value:
                continue
            if value.endswith(("*", ".")):
                prefix = value.rstrip("*")
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(column.like(escaped + "%", escape="\\"))
            else:
                stmt = stmt.where(column == value)
        return stmt
