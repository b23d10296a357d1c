"""Who may do what: four roles, four permissions, and the one table between them.

    permission ↓ / role →   admin  editor  ops  viewer
    view                      ✓      ✓      ✓     ✓     every page, every GET of the API
    edit                      ✓      ✓                  articles, edition contents, previews' test-sends
    operate                   ✓             ✓           schedules, edition verbs, subscribers
    admin                     ✓                         people, roles, anyone's tokens

Every check in the console, the ops API and the CLI asks ``allows(role, permission)``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    OPS = "ops"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    OPERATE = "operate"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset({Permission.VIEW, Permission.EDIT}),
    Role.OPS: frozenset({Permission.VIEW, Permission.OPERATE}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}

# What each role is for, in the words the People page and `users list` show.
DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "people, settings, everything",
    Role.EDITOR: "articles, edition contents, previews, test-sends",
    Role.OPS: "schedules, send, pause, resume, cancel, reschedule, subscribers",
    Role.VIEWER: "read only",
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def parse_role(value: str) -> Role:
    """A role by name, or ValueError naming the four."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {value!r}: one of {', '.join(r.value for r in Role)}") from None
