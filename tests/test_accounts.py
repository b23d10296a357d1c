"""The console's people as stores and commands, on SQLite and PostgreSQL: users and their one status
writer, argon2 hashes (rehashed when the parameters change), sessions, personal API tokens,
set-password links, the login throttle, the audit log; ``publisher users`` and ``publisher audit``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from publisher.accounts.login import Outcome
from publisher.accounts.passwords import Passwords
from publisher.accounts.roles import GRANTS, Permission, Role, allows
from publisher.accounts.throttle import ACCOUNT_LIMIT, IP_LIMIT, LOCK, WINDOW
from publisher.app import App
from publisher.db.schema import api_tokens, console_sessions, password_links, users
from publisher.errors import ConflictError, InvalidInputError, NotFoundError

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 6, 55, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(any_db_app: App, clock: Clock) -> App:
    any_db_app.clock = clock
    return any_db_app


def _user_with_password(app: App, email: str, role: Role = Role.OPS) -> int:
    user_id = app.user_lifecycle.add(email, role)
    app.users.set_password_hash(user_id, app.passwords.hash(PASSWORD))
    return user_id


def test_the_roles_table() -> None:
    assert [r for r in Role if allows(r, Permission.OPERATE)] == [Role.ADMIN, Role.OPS]
    assert [r for r in Role if allows(r, Permission.EDIT)] == [Role.ADMIN, Role.EDITOR]
    assert [r for r in Role if allows(r, Permission.ADMIN)] == [Role.ADMIN]
    assert all(allows(r, Permission.VIEW) for r in Role)
    assert GRANTS[Role.VIEWER] == {Permission.VIEW}


def test_users_are_keyed_by_their_lower_cased_address(app: App) -> None:
    user_id = app.user_lifecycle.add("  Ann@Example.ORG ", Role.EDITOR)
    user = app.users.find("ANN@example.org")
    assert user is not None and (user.id, user.email, user.role, user.status) == (
        user_id, "ann@example.org", Role.EDITOR, "active")  # fmt: skip
    assert not user.has_password
    with pytest.raises(ConflictError) as exists:
        app.user_lifecycle.add("ann@example.org", Role.OPS)
    assert exists.value.field == "email"
    for bad in ("", "ann", "ann@", "a" * 300 + "@example.org"):
        with pytest.raises(InvalidInputError) as invalid:
            app.user_lifecycle.add(bad, Role.OPS)
        assert invalid.value.field == "email"
    with pytest.raises(NotFoundError):
        app.users.require("nobody@example.org")


def test_disabling_ends_sessions_and_revokes_tokens_in_one_move(app: App) -> None:
    user_id = _user_with_password(app, "ops@example.org")
    session = app.console_sessions.start(user_id, "192.0.2.1")
    token_id, token = app.api_tokens.create(user_id, "script")
    assert app.console_sessions.resolve(session) is not None and app.api_tokens.resolve(token) is not None
    assert app.user_lifecycle.disable(user_id) is True
    assert app.user_lifecycle.disable(user_id) is False  # already: the guarded UPDATE moves nothing
    with app.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(console_sessions)).scalar_one() == 0
        assert conn.execute(
            sa.select(api_tokens.c.revoked_at).where(api_tokens.c.id == token_id)
        ).scalar_one()
    assert app.console_sessions.resolve(session) is None and app.api_tokens.resolve(token) is None
    assert app.user_lifecycle.enable(user_id) is True
    assert app.api_tokens.resolve(token) is None  # revoked for good
    with pytest.raises(NotFoundError):
        app.user_lifecycle.disable(99999)


def test_the_last_active_admin_stays(app: App) -> None:
    app.people.add("root@example.org", Role.ADMIN)
    for verb in (lambda: app.people.disable("root@example.org"),
                 lambda: app.people.set_role("root@example.org", Role.OPS)):  # fmt: skip
        with pytest.raises(ConflictError, match="last active admin"):
            verb()
    app.people.add("second@example.org", Role.ADMIN)
    user, changed = app.people.set_role("root@example.org", Role.OPS)
    assert changed and user.role == Role.OPS
    with pytest.raises(ConflictError):
        app.people.disable("second@example.org")


def test_a_hash_made_under_old_parameters_is_replaced_at_the_next_good_login(app: App) -> None:
    user_id = app.user_lifecycle.add("ops@example.org", Role.OPS)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    app.users.set_password_hash(user_id, old)
    assert app.login.attempt("ops@example.org", PASSWORD, "192.0.2.1").outcome == Outcome.OK
    new = app.users.password_hash(user_id)
    assert new != old and new is not None and new.startswith("$argon2id$") and "m=65536" in new
    assert app.passwords.verify(new, PASSWORD) == (True, None)
    assert app.passwords.verify(new, "wrong") == (False, None)
    assert app.passwords.verify(None, PASSWORD) == (False, None)
    assert app.passwords.verify("not a hash", PASSWORD) == (False, None)


def test_sessions_end_when_idle_and_everywhere(app: App, clock: Clock) -> None:
    user_id = _user_with_password(app, "ops@example.org")
    first = app.console_sessions.start(user_id, "192.0.2.1")
    second = app.console_sessions.start(user_id, "192.0.2.2")
    assert first != second and app.console_sessions.count(user_id) == 2
    with app.db.connect() as conn:
        kept = set(conn.execute(sa.select(console_sessions.c.id)).scalars())
    assert first not in kept and second not in kept  # only their SHA-256
    clock.now += app.console_sessions.idle + timedelta(seconds=1)
    assert app.console_sessions.resolve(first) is None
    assert app.console_sessions.sweep() == 1  # the second, idle too; the first was deleted on sight
    third = app.console_sessions.start(user_id, "192.0.2.3")
    assert app.console_sessions.end_all(user_id) == 1
    assert app.console_sessions.resolve(third) is None


def test_api_tokens_are_kept_hashed_listed_and_revocable(app: App, clock: Clock) -> None:
    user_id = _user_with_password(app, "ops@example.org")
    token_id, token = app.api_tokens.create(user_id, "  nightly   export ")
    assert token.startswith("pub_") and len(token) > 40
    with app.db.connect() as conn:
        stored = conn.execute(sa.select(api_tokens.c.token_hash, api_tokens.c.name)).one()
    assert token not in stored.token_hash and stored.name == "nightly export"
    principal = app.api_tokens.principal(token)
    assert principal is not None and (principal.email, principal.role, principal.via) == (
        "ops@example.org", Role.OPS, "token")  # fmt: skip
    [listed] = app.api_tokens.list(user_id)
    assert listed.last_used_at == clock.now and not listed.revoked
    assert app.api_tokens.principal(token[:-1]) is None and app.api_tokens.principal("ops-token") is None
    assert app.api_tokens.revoke(token_id) and not app.api_tokens.revoke(token_id)
    assert app.api_tokens.principal(token) is None
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidInputError) as invalid:
            app.api_tokens.create(user_id, bad)
        assert invalid.value.field == "name"


def test_a_set_password_link_is_single_use_and_expires(app: App, clock: Clock) -> None:
    added = app.people.add("new@example.org", Role.EDITOR)
    with app.db.connect() as conn:
        assert added.link_token not in conn.execute(sa.select(password_links.c.token_hash)).scalar_one()
    assert app.password_links.user_of(added.link_token) is not None
    assert app.password_links.use(added.link_token, app.passwords.hash(PASSWORD)) is not None
    assert app.password_links.use(added.link_token, app.passwords.hash("another password!")) is None
    assert app.login.attempt("new@example.org", PASSWORD, "192.0.2.1").outcome == Outcome.OK
    # A new link replaces an unused one; links expire after 72 hours.
    first = app.people.link("new@example.org").link_token
    second = app.people.link("new@example.org").link_token
    assert app.password_links.user_of(first) is None and app.password_links.user_of(second) is not None
    clock.now += timedelta(hours=72, seconds=1)
    assert app.password_links.use(second, app.passwords.hash(PASSWORD)) is None
    # No link for a disabled user, and a disabled user's link does not work.
    third = app.people.link("new@example.org").link_token
    app.people.disable("new@example.org")
    assert app.password_links.user_of(third) is None
    with pytest.raises(ConflictError):
        app.people.link("new@example.org")


def test_the_throttle_locks_an_account_and_an_address(app: App, clock: Clock) -> None:
    _user_with_password(app, "ops@example.org")
    outcomes = [
        app.login.attempt("ops@example.org", "wrong", "192.0.2.1").outcome for _ in range(ACCOUNT_LIMIT)
    ]
    assert outcomes == [Outcome.WRONG] * (ACCOUNT_LIMIT - 1) + [Outcome.LOCKED]
    locked = app.login.attempt("ops@example.org", PASSWORD, "192.0.2.9")
    assert locked.outcome == Outcome.LOCKED and locked.locked_until == clock.now + LOCK
    clock.now += LOCK
    assert app.login.attempt("ops@example.org", PASSWORD, "192.0.2.9").outcome == Outcome.OK
    # Failures older than the window are forgotten.
    for _ in range(ACCOUNT_LIMIT - 1):
        app.login.attempt("ops@example.org", "wrong", "192.0.2.2")
    clock.now += WINDOW + timedelta(seconds=1)
    assert app.login.attempt("ops@example.org", "wrong", "192.0.2.2").outcome == Outcome.WRONG
    # One address trying many accounts is locked too, for every account.
    for n in range(IP_LIMIT):
        app.login.attempt(f"guess{n}@example.org", "wrong", "198.51.100.7")
    assert app.login.attempt("ops@example.org", PASSWORD, "198.51.100.7").outcome == Outcome.LOCKED
    assert app.login.attempt("ops@example.org", PASSWORD, "192.0.2.3").outcome == Outcome.OK


def test_the_audit_log_filters_pages_and_bounds_detail(app: App, clock: Clock) -> None:
    for n in range(5):
        clock.now += timedelta(minutes=1)
        actor, verb = "ann@example.org" if n % 2 else "cli:root", "pause" if n < 3 else "resume"
        app.audit.record(actor, f"edition.{verb}", f"edition {n}", source="192.0.2.1", detail={"n": n})
    app.audit.record("ann@example.org", "user_add", "x", source="s", detail={"big": "x" * 10_000})
    assert [e.target for e in app.audit.recent(limit=3)] == ["x", "edition 4", "edition 3"]
    assert [e.target for e in app.audit.recent(limit=2, offset=2)] == ["edition 3", "edition 2"]
    assert [e.detail["n"] for e in app.audit.recent(actor="cli:root")] == [4, 2, 0]
    assert app.audit.count(action="edition.") == 5 and app.audit.count(action="edition.pause") == 3
    assert app.audit.count(action="user_*") == 1 and app.audit.count(action="user%") == 0  # no SQL wildcards
    assert set(app.audit.recent(action="user_add")[0].detail) == {"truncated"}


def test_passwords_are_argon2id() -> None:
    made = Passwords().hash(PASSWORD)
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


# The commands ---------------------------------------------------------------------------------------


def test_users_add_prints_a_one_time_link_and_the_commands_name_what_is_wrong(cli, app: App) -> None:  # type: ignore[no-untyped-def]
    out = cli("users", "add", "Root@Example.org", "--role", "admin")
    link = re.search(r"https://news\.example\.com/console/set-password/(\S+)", out)
    assert link and "works once, until" in out
    assert app.password_links.user_of(link.group(1)) is not None
    bad_email = cli("users", "add", "not-an-address", "--role", "ops", code=2)
    assert "'EMAIL'" in bad_email and "not an email address" in bad_email
    bad_role = cli("users", "add", "ops@example.org", "--role", "boss", code=2)
    assert "'--role'" in bad_role and "'boss' is not one of" in bad_role
    assert "exists already" in cli("users", "add", "root@example.org", "--role", "ops", code=4)
    assert "no user 'nobody@example.org'" in cli("users", "role", "nobody@example.org", "ops", code=3)
    assert "no user" in cli("users", "disable", "nobody@example.org", code=3)
    assert "no user" in cli("users", "link", "nobody@example.org", code=3)
    assert "last active admin" in cli("users", "disable", "root@example.org", code=4)


def test_users_list_role_disable_and_the_audit_command(cli, app: App) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "root@example.org", "--role", "admin")
    cli("users", "add", "ed@example.org", "--role", "editor")
    assert "ed@example.org: ops" in cli("users", "role", "ed@example.org", "OPS")
    assert "(unchanged)" in cli("users", "role", "ed@example.org", "ops")
    assert "ed@example.org: disabled" in cli("users", "disable", "ed@example.org")
    table = cli("users", "list")
    assert re.search(r"ed@example\.org\s+ops\s+disabled\s+not yet\s+\w+day, \w+ \d+, \d{4}", table)
    listed = json.loads(cli("users", "list", "--json"))
    assert [(u["email"], u["role"], u["status"]) for u in listed] == [
        ("ed@example.org", "ops", "disabled"), ("root@example.org", "admin", "active")]  # fmt: skip
    entries = json.loads(cli("audit", "--json"))
    assert [(e["action"], e["target"]) for e in entries] == [
        ("user.disable", "ed@example.org"), ("user.role", "ed@example.org"), ("user.add", "ed@example.org"),
        ("user.add", "root@example.org")]  # fmt: skip
    assert entries[1]["detail"] == {"from": "editor", "to": "ops"}
    assert all(e["actor"].startswith("cli:") and e["source"].startswith("cli@") for e in entries)
    assert datetime.fromisoformat(entries[0]["at"]).tzinfo is not None
    assert len(json.loads(cli("audit", "--json", "--limit", "1"))) == 1
    words = cli("audit", "--action", "user.role")
    assert re.match(r"\w+day, \w+ \d{1,2}, \d{4} \d\d:\d\d UTC  cli:\S+  user\.role  ed@example\.org", words)
    assert "--limit" in cli("audit", "--limit", "0", code=2)


def test_changing_commands_are_audited(cli, app: App, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("schedule", "add", "morning", "--at", "07:00")
    cli("schedule", "pause", "morning")
    readers = tmp_path / "readers.csv"
    readers.write_text("email,name\nann@example.org,Ann\n", encoding="utf-8")
    cli("subscribers", "import", str(readers))
    cli("subscribers", "suppress", "bob@example.org", "--reason", "asked by phone")
    actions = [e.action for e in app.audit.recent()]
    assert actions == ["subscriber.suppress", "subscriber.import", "schedule.pause", "schedule.add"]
    assert app.audit.recent(action="subscriber.import")[0].detail["added"] == 1


def test_the_user_tables_match_their_migration(app: App) -> None:
    with app.db.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
    assert columns == {c.name for c in users.columns}
