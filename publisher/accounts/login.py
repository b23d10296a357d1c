"""Logging in to the console: throttle, password, session — in that order.

A locked account or client is refused before the password is looked at (the right password too),
after spending a verification's time. An unknown address, a user without a password yet, a
disabled user and a wrong password all get the same answer after the same work. A good login
starts a new session (never one the browser brought along) and clears the account's failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publisher.accounts.passwords import Passwords
from publisher.accounts.sessions import SessionStore
from publisher.accounts.throttle import ACCOUNT_LIMIT, IP_LIMIT, LoginThrottle, account_key, ip_key
from publisher.accounts.users import User, UserStore


class Outcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # no such account, no password yet, disabled, or the wrong password
    LOCKED = "locked"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: User | None = None  # with OK
    token: str | None = None  # with OK: the new session's token
    locked_until: datetime | None = None  # with LOCKED


class Login:
    def __init__(self, users: UserStore, sessions: SessionStore, throttle: LoginThrottle,
                 passwords: Passwords) -> None:  # fmt: skip
        self.users = users
        self.sessions = sessions
        self.throttle = throttle
        self.passwords = passwords

    def attempt(self, email: str, password: str, ip: str) -> Attempt:
        account, client = account_key(email), ip_key(ip)
        until = self.throttle.locked_until(account, client)
        if until is not None:
            self.passwords.burn(password[:1024])
            return Attempt(Outcome.LOCKED, locked_until=until)
        user = self.users.find(email)
        stored = self.users.password_hash(user.id) if user is not None else None
        good, rehashed = self.passwords.verify(stored, password)
        if good and user is not None and user.active:
            if rehashed:
                self.users.set_password_hash(user.id, rehashed)
            self.throttle.clear(account)
            self.sessions.sweep()
            return Attempt(Outcome.OK, user=user, token=self.sessions.start(user.id, ip))
        counted = (self.throttle.failed(account, ACCOUNT_LIMIT), self.throttle.failed(client, IP_LIMIT))
        locked = [until for until in counted if until is not None]
        if locked:
            return Attempt(Outcome.LOCKED, locked_until=max(locked))
        return Attempt(Outcome.WRONG)
