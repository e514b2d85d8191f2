"""The admin commands: `threadline user ...`, `token ...` and `audit ...`.

Each change (user add, disable, totp; token add, revoke) is appended to the audit with the
operating-system user as its actor and ``cli`` as its origin. The libraries they call load only
when a command runs, so that these groups cost other commands nothing at start-up.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from threadline.store import Store

__all__ = ["COMMANDS", "audit", "token", "user"]

_DB = click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Store file."
)


def _fail(message: str) -> None:
    click.echo(f"threadline: {message}", err=True)
    raise SystemExit(1)


@contextmanager
def _store(db: Path, *, read_only: bool = False, create: bool = False) -> Iterator[Store]:
    """The store, with account and audit refusals turned into one line and exit 1 like every
    other command's errors."""
    from threadline.cli import _open, _readable
    from threadline.handoff import SERVED, running_server
    from threadline.service import audit as audit_log
    from threadline.service.accounts import AccountError

    if not (create and not db.exists()):
        _readable(db)
    if SERVED.get() is None and (server := running_server(db)) is not None:
        # The server started after this command looked for it (each admin command is handed to a
        # running server): DuckDB's lock would refuse it less plainly.
        _fail(f"{db}: a server runs on this store (pid {server.pid}, {server.url}): run the command again")
    key_was_there = audit_log.key_file(db.absolute()).exists()
    try:
        # _open: the running server's store when the server runs this command for the command line
        with _open(db, read_only=read_only) as store:
            yield store
    except (AccountError, audit_log.AuditError) as exc:
        _fail(str(exc))
    key = audit_log.key_file(db.absolute())
    if not key_was_there and key.exists():
        click.echo(
            f"audit: made the installation's audit key {key} (mode 0600); keep it where the store's "
            f"other users cannot read it, and back it up apart from the store (see {audit_log.KEY_DIR_ENV})",
            err=True,
        )


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def new_password(params: dict[str, Any]) -> str:
    """The new password of `user add` or `user password` with ``params`` (read where the command
    was typed, before a running server is handed the command)."""
    return _read_password(bool(params.get("password_stdin")))


def _read_password(from_stdin: bool) -> str:
    """A new password: the one read before a hand-over to the server (`handoff.SECRET`), else
    asked twice on a terminal, else one line of stdin; checked."""
    from threadline.handoff import SECRET
    from threadline.service.accounts import AccountError, check_password

    handed = SECRET.get()
    if handed is not None:
        password = handed
    elif from_stdin or not sys.stdin.isatty():  # a script: no terminal to ask twice on
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    try:
        return check_password(password)
    except AccountError as exc:
        _fail(str(exc))
        raise  # (not reached: _fail exits)


# -- user ---------------------------------------------------------------------------------------


@click.group()
def user() -> None:
    """Accounts of the workspace: who may sign in to the server, and with which role."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "analyst"]),
    required=True,
    help="What the user may do.",
)
@_DB
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of stdin (for scripts)."
)
def user_add(name: str, role: str, db: Path, password_stdin: bool) -> None:
    """Add user NAME with ROLE; the password is asked twice on a terminal, else read from one
    line of stdin (as with --password-stdin).

    An analyst reads, searches, labels, merges, separates and splits, reveals images and exports
    evidence; a supervisor also reads the audit and revokes others' acts; an admin also manages
    users, tokens and settings. Passwords are kept as argon2id hashes.
    """
    from threadline.service._common import os_actor
    from threadline.service.accounts import AccountError, add_user, check_name

    try:
        check_name(name)
    except AccountError as exc:
        _fail(str(exc))
    password = _read_password(password_stdin)
    with _store(db, create=True) as store:
        added = add_user(store, name, role, password, by=os_actor())
    click.echo(f"user: added {added.name} ({added.role})")


@user.command("list")
@_DB
def user_list(db: Path) -> None:
    """List the users: role, state (enabled, disabled, locked), created, last login, TOTP."""
    from threadline.service.accounts import list_users

    with _store(db, read_only=True) as store:
        users = list_users(store)
    if not users:
        click.echo("user: no users")
    for u in users:
        state = (
            "disabled" if u.disabled else f"locked until {_when(u.locked_until)}" if u.locked() else "enabled"
        )
        click.echo(
            f"{u.name}\t{u.role}\t{state}\tcreated {_when(u.created_at)}\tlast login {_when(u.last_login)}"
            f"\ttotp {'yes' if u.totp else 'no'}"
        )


@user.command("disable")
@click.argument("name")
@_DB
def user_disable(name: str, db: Path) -> None:
    """Disable user NAME: their sessions end and their API tokens stop working."""
    from threadline.service._common import os_actor
    from threadline.service.accounts import disable_user

    with _store(db) as store:
        disable_user(store, name, by=os_actor())
    click.echo(f"user: disabled {name}")


@user.command("enable")
@click.argument("name")
@_DB
def user_enable(name: str, db: Path) -> None:
    """Enable user NAME again after `user disable` (their unexpired tokens work again)."""
    from threadline.service._common import os_actor
    from threadline.service.accounts import enable_user

    with _store(db) as store:
        enable_user(store, name, by=os_actor())
    click.echo(f"user: enabled {name}")


@user.command("password")
@click.argument("name")
@_DB
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of stdin (for scripts)."
)
def user_password(name: str, db: Path, password_stdin: bool) -> None:
    """Set a new password for NAME (asked twice, or one line of stdin), lift a lockout and end
    NAME's sessions."""
    from threadline.service._common import os_actor
    from threadline.service.accounts import set_password

    password = _read_password(password_stdin)
    with _store(db) as store:
        set_password(store, name, password, by=os_actor())
    click.echo(f"user: new password for {name}")


@user.command("totp")
@click.argument("name")
@_DB
def user_totp(name: str, db: Path) -> None:
    """Enrol a TOTP second factor for NAME (replacing any); prints the otpauth:// URI once.

    Give it to an authenticator app (as text or a QR code); from then on NAME's logins need a code.
    """
    from threadline.service._common import os_actor
    from threadline.service.accounts import enrol_totp

    with _store(db) as store:
        uri = enrol_totp(store, name, by=os_actor())
    click.echo(uri)
    click.echo(f"user: second factor enrolled for {name}; the URI above is shown once", err=True)


# -- token --------------------------------------------------------------------------------------


@click.group()
def token() -> None:
    """API tokens for machine clients (a crawler pushing ads, a dashboard reading)."""


@token.command("add")
@click.option("--user", "user_name", required=True, help="Whose token: it acts as this user.")
@click.option(
    "--scope",
    type=click.Choice(["read", "push"]),
    required=True,
    help="read: read and search; push: send ads.",
)
@click.option("--days", type=click.IntRange(1), default=90, show_default=True, help="Days until it expires.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="A push token may send ads of this source only (repeat for several; default: any).",
)
@_DB
def token_add(user_name: str, scope: str, days: int, sources: tuple[str, ...], db: Path) -> None:
    """Make an API token and print it once on stdout (only its SHA-256 is kept)."""
    from threadline.service._common import os_actor
    from threadline.service.tokens import add_token

    with _store(db) as store:
        secret, info = add_token(
            store, user_name, scope, days=days, by=os_actor(), sources=list(sources) or None
        )
    click.echo(secret)
    click.echo(
        f"token: {info.ref} for {info.user_name} ({info.scope}), expires {_when(info.expires_at)} UTC; "
        "shown once: keep it now",
        err=True,
    )


@token.command("list")
@_DB
def token_list(db: Path) -> None:
    """List the API tokens (never the tokens themselves): id, user, scope, state, dates."""
    from threadline.service.tokens import list_tokens

    with _store(db, read_only=True) as store:
        tokens = list_tokens(store)
    if not tokens:
        click.echo("token: no tokens")
    for t in tokens:
        state = t.state()
        if state == "revoked":
            state = f"revoked {_when(t.revoked_at)} by {t.revoked_by}"
        sources = f"\tsources {','.join(t.sources)}" if t.sources is not None else ""
        click.echo(
            f"{t.ref}\t{t.user_name}\t{t.scope}\t{state}\tcreated {_when(t.created_at)}"
            f"\texpires {_when(t.expires_at)}\tlast used {_when(t.last_used)}{sources}"
        )


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@_DB
def token_revoke(token_id: str, db: Path) -> None:
    """Revoke API token ID (T1, T2 ... as `token list` shows): it stops working at once."""
    from threadline.service._common import os_actor
    from threadline.service.accounts import AccountError
    from threadline.service.tokens import parse_token_ref, revoke_token

    try:
        number = parse_token_ref(token_id)
    except AccountError as exc:
        _fail(str(exc))
    with _store(db) as store:
        info = revoke_token(store, number, by=os_actor())
    click.echo(f"token: revoked {info.ref} ({info.user_name}, {info.scope})")


# -- audit --------------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The tamper-evident audit log: every login, read, search, decision, label, export and admin act."""


@audit.command("verify")
@_DB
def audit_verify(db: Path) -> None:
    """Check the audit's hash chain and signed head; exit 1 naming the first edited, deleted or
    reordered entry, or a head whose signature fails. Reads only.

    The installation key is looked for in $THREADLINE_KEY_DIR, else beside the store.
    """
    from threadline.service.audit import verify

    with _store(db, read_only=True) as store:
        result = verify(store)
    if result.problem is not None:
        _fail(f"audit: {result.problem.message} ({result.entries:,} entries checked before it)")
    signed = f", head signed (key {result.key_id})" if result.head_seq is not None else ""
    click.echo(f"audit: {result.entries:,} entries, chain intact{signed}")


@audit.command("export")
@_DB
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def audit_export(db: Path, output: Path | None) -> None:
    """Write the audit as JSON Lines, in chain order: {"seq", "at", "actor", "actor_kind",
    "origin", "action", "object", "detail", "prev_hash", "hash"}.

    The export is itself audited first (so it holds its own entry); a store whose chain is broken
    is still exported, with a warning.
    """
    from threadline.cli import _writer
    from threadline.service._common import os_actor
    from threadline.service.audit import AuditError, append, iter_entries

    with _store(db) as store, ExitStack() as stack:
        out = _writer(stack, output, reads=[db])
        try:
            append(store, os_actor(), "audit export", str(output) if output else "stdout")
        except AuditError as exc:
            click.echo(f"threadline: warning: export not audited: {exc}", err=True)
        n = 0
        for entry in iter_entries(store):
            out.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")
            n += 1
    if output is not None:
        click.echo(f"audit: {n:,} entries written to {output}", err=True)


COMMANDS = (user, token, audit)
