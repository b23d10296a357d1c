"""Who is acting: a user (by a console session or a personal API token), the bootstrap API token,
or a person at the command line. Every permission check and every audit entry starts from one."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from publisher.accounts.roles import Permission, Role, allows


@dataclass(frozen=True)
class Principal:
    user_id: int | None  # None: the bootstrap token, the command line
    email: str  # the audit log's "who"
    role: Role
    via: str  # "session", "token", "bootstrap", "cli"

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)


# PUBLISHER_API_TOKEN: the token ops have before any user exists; it acts as an admin.
BOOTSTRAP = Principal(None, "api-token", Role.ADMIN, "bootstrap")


def cli_principal() -> Principal:
    """The person at the terminal: whoever can run ``publisher`` on the server can do everything."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal(None, f"cli:{user}", Role.ADMIN, "cli")


def cli_source() -> str:
    return f"cli@{socket.gethostname()}"
