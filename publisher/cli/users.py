"""``publisher users add|list|role|disable|enable|link``: the console's people.

``users add EMAIL --role ROLE`` prints a one-time link where the new user sets their password
(PUBLISHER_SITE_URL/console/set-password/<token>, valid 72 hours); ``users link EMAIL`` prints a
new one (a forgotten password). A bad address or role is a usage error (exit 2), an unknown user
exit 3, an address that has an account already exit 4. Every change is in the audit log.
"""

from __future__ import annotations

import click

from publisher.accounts.links import PATH, TTL
from publisher.accounts.people import Added
from publisher.accounts.roles import DESCRIPTIONS, Role
from publisher.accounts.users import normalise_email
from publisher.app import App
from publisher.cli import pass_app, print_json
from publisher.cli.audit import in_words, record
from publisher.errors import InvalidInputError

ROLE = click.Choice([r.value for r in Role], case_sensitive=False)
ROLES_HELP = "; ".join(f"{role}: {does}" for role, does in DESCRIPTIONS.items())


def _email(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidInputError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group("users")
def users_group() -> None:
    """People who use the console (roles: admin, editor, ops, viewer)."""


def _print_link(app: App, added: Added) -> None:
    url = f"{app.settings.site_url.rstrip('/')}{PATH}{added.link_token}"
    expires = in_words(app.now() + TTL)
    click.echo(f"set-password link for {added.user.email} (works once, until {expires}):")
    click.echo(url)


@users_group.command("add")
@click.argument("email", callback=_email)
@click.option("--role", type=ROLE, required=True, help=ROLES_HELP)
@pass_app
def users_add(app: App, email: str, role: str) -> None:
    """Add a user and print their one-time set-password link."""
    added = app.people.add(email, Role(role.lower()))
    record(app, "user.add", added.user.email, {"role": str(added.user.role)})
    _print_link(app, added)


@users_group.command("link")
@click.argument("email", callback=_email)
@pass_app
def users_link(app: App, email: str) -> None:
    """Print a new set-password link for a user (earlier unused links stop working)."""
    added = app.people.link(email)
    record(app, "user.link", added.user.email)
    _print_link(app, added)


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def users_list(app: App, as_json: bool) -> None:
    """Every user: email, role, status, whether they have set a password, since when."""
    users = app.users.list()
    if as_json:
        print_json([user.to_json() for user in users])
        return
    if not users:
        click.echo("no users: publisher users add EMAIL --role admin")
        return
    width = max(len(u.email) for u in users)
    click.echo(f"{'email':<{width}}  {'role':<7} {'status':<9} {'password':<9} since")
    for u in users:
        password = "set" if u.has_password else "not yet"
        click.echo(f"{u.email:<{width}}  {u.role:<7} {u.status:<9} {password:<9} {in_words(u.created_at)}")


@users_group.command("role")
@click.argument("email", callback=_email)
@click.argument("role", type=ROLE)
@pass_app
def users_role(app: App, email: str, role: str) -> None:
    """Give a user another role (it applies to their sessions and tokens at once)."""
    before = app.users.require(email).role
    user, changed = app.people.set_role(email, Role(role.lower()))
    if changed:
        record(app, "user.role", user.email, {"from": str(before), "to": str(user.role)})
    click.echo(f"{user.email}: {user.role}" + ("" if changed else " (unchanged)"))


@users_group.command("disable")
@click.argument("email", callback=_email)
@pass_app
def users_disable(app: App, email: str) -> None:
    """Disable a user: their sessions end and their API tokens are revoked at once."""
    user, changed = app.people.disable(email)
    if changed:
        record(app, "user.disable", user.email)
    click.echo(f"{user.email}: disabled" + ("" if changed else " (already)"))


@users_group.command("enable")
@click.argument("email", callback=_email)
@pass_app
def users_enable(app: App, email: str) -> None:
    """Let a disabled user log in again (their old API tokens stay revoked)."""
    user, changed = app.people.enable(email)
    if changed:
        record(app, "user.enable", user.email)
    click.echo(f"{user.email}: active" + ("" if changed else " (already)"))


COMMANDS = [users_group]
