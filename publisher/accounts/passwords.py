"""Passwords, hashed with argon2id (argon2-cffi's ``PasswordHasher`` and its RFC 9106 low-memory
defaults: 64 MiB, 3 passes, 4 lanes). A hash made under older parameters is replaced at the next
good login. Unknown users cost a verification too (of a dummy hash), so a login's timing does not
tell whether the address has an account.
"""

from __future__ import annotations

import contextlib
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from publisher.errors import InvalidInputError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> tuple[bool, str | None]:
        """(whether it matches, a new hash to store when the parameters changed). A user without a
        password (NULL) still costs one verification."""
        if password_hash is None or len(password) > MAX_LENGTH:
            self.burn(password[:MAX_LENGTH])
            return False, None
        try:
            self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        if self.hasher.check_needs_rehash(password_hash):
            return True, self.hasher.hash(password)
        return True, None

    def burn(self, password: str) -> None:
        """Spend what a real verification spends, for an address with no account."""
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            self.hasher.verify(self._dummy, password)

    @cached_property
    def _dummy(self) -> str:
        return self.hasher.hash("publisher dummy password, matches nothing anyone types")


def check_new_password(password: str, confirmation: str) -> str:
    """A password a person chose, or InvalidInputError naming the field."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"at least {MIN_LENGTH} characters, please", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"at most {MAX_LENGTH} characters", field="password")
    if not password.strip():
        raise InvalidInputError("not only spaces", field="password")
    if password != confirmation:
        raise InvalidInputError("the two passwords differ", field="confirm")
    return password
