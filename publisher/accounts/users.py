"""The console's users: who they are (an email), their role, their status, their password hash.

``UserStore`` reads users and writes what is not their status (role, password); the status has one
writer, ``lifecycle.py``. Addresses are kept lower-cased and checked like a reader's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import Connection

from publisher.accounts.roles import Role
from publisher.accounts.states import UserStatus
from publisher.db import Database
from publisher.db.schema import users as t
from publisher.errors import InvalidInputError, NotFoundError

MAX_EMAIL = 254


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    status: UserStatus
    has_password: bool
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "email": self.email, "role": str(self.role), "status": str(self.status),
            "has_password": self.has_password, "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }  # fmt: skip


def normalise_email(value: str) -> str:
    """The address as users are keyed (lower-cased), or InvalidInputError naming ``email``."""
    value = value.strip()
    if not value or len(value) > MAX_EMAIL:
        raise InvalidInputError(f"not an email address: {value[:80]!r}", field="email")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInputError(f"not an email address: {value!r} ({exc})", field="email") from None
    return checked.normalized.lower()


def _user(row: Any) -> User:
    return User(row.id, row.email, Role(row.role), UserStatus(row.status), row.password_hash is not None,
                row.created_at, row.updated_at)  # fmt: skip


class UserStore:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def get(self, user_id: int) -> User | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == user_id)).first()
        return None if row is None else _user(row)

    def find(self, email: str) -> User | None:
        """The user of that address (any case), None if there is none or it is not an address."""
        key = email.strip().lower()
        if not key or len(key) > MAX_EMAIL:
            return None
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.email == key)).first()
        return None if row is None else _user(row)

    def require(self, email: str) -> User:
        """The user of that address, or NotFoundError naming it (exit 3, 404)."""
        user = self.find(email)
        if user is None:
            raise NotFoundError(f"no user {email.strip()!r}", field="email")
        return user

    def list(self) -> list[User]:
        with self.db.connect() as conn:
            return [_user(row) for row in conn.execute(sa.select(t).order_by(t.c.email))]

    def count_admins(self) -> int:
        with self.db.connect() as conn:
            active_admin = sa.and_(t.c.role == str(Role.ADMIN), t.c.status == str(UserStatus.ACTIVE))
            stmt = sa.select(sa.func.count()).where(active_admin)
            return int(conn.execute(stmt).scalar_one())

    def password_hash(self, user_id: int) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(sa.select(t.c.password_hash).where(t.c.id == user_id)).scalar_one_or_none()

    def set_role(self, user_id: int, role: Role) -> bool:
        """True if the role changed."""
        with self.db.begin() as conn:
            result = conn.execute(
                t.update().where(t.c.id == user_id, t.c.role != str(role))
                .values(role=str(role), updated_at=self.clock())
            )  # fmt: skip
        return result.rowcount > 0

    def set_password_hash(self, user_id: int, password_hash: str, *, conn: Connection | None = None) -> None:
        """Store a new hash (in the caller's transaction when given one)."""
        stmt = (
            t.update().where(t.c.id == user_id).values(password_hash=password_hash, updated_at=self.clock())
        )
        if conn is not None:
            conn.execute(stmt)
            return
        with self.db.begin() as own:
            own.execute(stmt)
