"""What an admin does to people, the same from the CLI and the console's People page: add a user
(with a one-time set-password link), change a role, disable, enable, make a new link.

There is always an active admin: the last one can be neither demoted nor disabled (ConflictError),
so the console can never lock everyone out of People. Each verb returns what the caller records in
the audit log; recording it is the caller's (it knows who acted, and from where).
"""

from __future__ import annotations

from dataclasses import dataclass

from publisher.accounts.lifecycle import UserLifecycle
from publisher.accounts.links import PasswordLinks
from publisher.accounts.roles import Role
from publisher.accounts.users import User, UserStore
from publisher.errors import ConflictError


@dataclass(frozen=True)
class Added:
    user: User
    link_token: str  # the set-password link's token: shown once


class People:
    def __init__(self, users: UserStore, lifecycle: UserLifecycle, links: PasswordLinks) -> None:
        self.users = users
        self.lifecycle = lifecycle
        self.links = links

    def add(self, email: str, role: Role) -> Added:
        user_id = self.lifecycle.add(email, role)
        user = self.users.get(user_id)
        assert user is not None
        return Added(user, self.links.create(user_id))

    def link(self, email: str) -> Added:
        """A new set-password link (a forgotten password); earlier unused links stop working."""
        user = self.users.require(email)
        if not user.active:
            raise ConflictError(f"user {user.email!r} is disabled: enable them first", field="email")
        return Added(user, self.links.create(user.id))

    def set_role(self, email: str, role: Role) -> tuple[User, bool]:
        """(the user, whether the role changed)."""
        user = self.users.require(email)
        if user.role == Role.ADMIN and role != Role.ADMIN and user.active:
            self._keep_an_admin(user)
        changed = self.users.set_role(user.id, role)
        return self.users.require(email), changed

    def disable(self, email: str) -> tuple[User, bool]:
        """(the user, whether they were active): their sessions end and tokens are revoked at once."""
        user = self.users.require(email)
        if user.role == Role.ADMIN and user.active:
            self._keep_an_admin(user)
        changed = self.lifecycle.disable(user.id)
        return self.users.require(email), changed

    def enable(self, email: str) -> tuple[User, bool]:
        user = self.users.require(email)
        changed = self.lifecycle.enable(user.id)
        return self.users.require(email), changed

    def _keep_an_admin(self, user: User) -> None:
        if self.users.count_admins() <= 1:
            text = f"{user.email} is the last active admin: make another admin first"
            raise ConflictError(text, field="email")
