"""Accounts, sessions, API tokens and roles (threadline.service), on a real store with real
argon2id. The clock is injected (``now=``): nothing here sleeps or depends on the time it runs."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyotp
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from threadline.cli import cli
from threadline.service import accounts, audit, sessions, tokens
from threadline.service._common import Actor
from threadline.service.accounts import AccountError
from threadline.service.roles import ROLES, Action, allowed, scope_allows
from threadline.store import LATEST_VERSION, Store
from threadline.store.schema import MIGRATIONS, migrate

T0 = datetime(2026, 3, 2, 9, 0, 0)
ADMIN = Actor("root", "os-user", "cli")
PASSWORD = "correct horse battery staple"
# Cheap but real argon2id parameters, so that tests of many logins stay fast.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    with Store.open(tmp_path / "store.duckdb") as s:
        yield s


def add(store: Store, name: str = "kim", role: str = "analyst", hasher: PasswordHasher = CHEAP) -> None:
    accounts.add_user(store, name, role, PASSWORD, by=ADMIN, now=T0, hasher=hasher)


def login(store: Store, password: str = PASSWORD, at: datetime = T0, **kw: str) -> accounts.Login:
    return accounts.verify_login(store, "kim", password, "192.0.2.7", now=at, hasher=CHEAP, **kw)


# -- the schema ---------------------------------------------------------------------------------


def test_a_store_from_before_accounts_gets_their_tables_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    [ours] = [m for m in MIGRATIONS if any("CREATE TABLE audit_log" in s for s in m.statements)]
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        migrate(con, tuple(m for m in MIGRATIONS if m.version < ours.version))
    with Store.open(path) as old:
        assert old.schema_version == LATEST_VERSION
        add(old)
        assert login(old).ok and audit.verify(old).ok


# -- passwords and logins -----------------------------------------------------------------------


def test_passwords_are_kept_as_argon2id_hashes(store: Store) -> None:
    accounts.add_user(store, "kim", "analyst", PASSWORD, by=ADMIN)  # the default parameters
    [(stored,)] = store.query("SELECT password_hash FROM users WHERE name = 'kim'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    login = accounts.verify_login(store, "kim", PASSWORD, "192.0.2.7")
    assert login.ok and login.user is not None and login.user.role == "analyst"


def test_a_wrong_password_or_unknown_name_fails_and_both_are_audited(store: Store) -> None:
    add(store)
    assert login(store, "wrong horse battery staple").reason == accounts.WRONG_PASSWORD
    unknown = accounts.verify_login(store, "nobody", PASSWORD, "192.0.2.8", now=T0, hasher=CHEAP)
    assert not unknown.ok and unknown.reason == accounts.UNKNOWN_USER
    assert login(store).ok
    entries = [(e.actor, e.origin, e.action, e.detail.get("reason")) for e in audit.iter_entries(store)]
    assert entries == [
        ("root", "cli", "user add", None),
        ("kim", "192.0.2.7", "login failed", accounts.WRONG_PASSWORD),
        ("nobody", "192.0.2.8", "login failed", accounts.UNKNOWN_USER),
        ("kim", "192.0.2.7", "login", None),
    ]


def test_failures_lock_the_account_until_the_lockout_ends(store: Store) -> None:
    add(store)
    for i in range(accounts.MAX_FAILED_LOGINS):
        assert login(store, "guess", T0 + timedelta(seconds=i)).reason == accounts.WRONG_PASSWORD
    # Locked: even the right password is refused, without being checked.
    during = T0 + accounts.LOCKOUT - timedelta(seconds=1)
    assert login(store, PASSWORD, during).reason == accounts.LOCKED
    user = accounts.get_user(store, "kim")
    assert user is not None and user.locked(during)
    after = T0 + timedelta(seconds=accounts.MAX_FAILED_LOGINS) + accounts.LOCKOUT
    assert login(store, PASSWORD, after).ok


def test_a_success_clears_the_count_and_a_lock_run_out_starts_it_again(store: Store) -> None:
    add(store)
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login(store, "guess")
    assert login(store).ok
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login(store, "guess")
    assert login(store).ok  # four more failures did not lock: the count started again
    for _ in range(accounts.MAX_FAILED_LOGINS):
        login(store, "guess")
    later = T0 + accounts.LOCKOUT + timedelta(minutes=1)
    assert login(store, "guess", later).reason == accounts.WRONG_PASSWORD  # one failure, not locked
    assert login(store, PASSWORD, later).ok


def test_a_disabled_user_cannot_log_in_and_loses_sessions_and_tokens(store: Store) -> None:
    add(store)
    session_id = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    token, _ = tokens.add_token(store, "kim", "read", by=ADMIN, now=T0)
    accounts.disable_user(store, "kim", by=ADMIN, now=T0)
    assert login(store).reason == accounts.DISABLED
    assert sessions.lookup_session(store, session_id, now=T0) is None
    assert tokens.lookup_token(store, token, now=T0) is None
    with pytest.raises(AccountError):
        sessions.create_session(store, "kim", "192.0.2.7", now=T0)


def test_an_enabled_user_logs_in_again(store: Store) -> None:
    add(store)
    accounts.disable_user(store, "kim", by=ADMIN, now=T0)
    assert accounts.enable_user(store, "kim", by=ADMIN, now=T0).disabled is False
    assert login(store).ok


def test_a_new_password_lifts_a_lockout_and_ends_sessions(store: Store) -> None:
    add(store)
    session_id = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        login(store, "guess")
    accounts.set_password(store, "kim", "a brand new passphrase", by=ADMIN, now=T0, hasher=CHEAP)
    assert sessions.lookup_session(store, session_id, now=T0) is None
    assert login(store, PASSWORD).reason == accounts.WRONG_PASSWORD
    assert login(store, "a brand new passphrase").ok


def test_a_hash_made_with_old_parameters_is_replaced_at_login(store: Store) -> None:
    add(store, hasher=CHEAP)
    stronger = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    assert accounts.verify_login(store, "kim", PASSWORD, "cli", now=T0, hasher=stronger).ok
    [(stored,)] = store.query("SELECT password_hash FROM users")
    assert "m=16384,t=2,p=1" in stored and not stronger.check_needs_rehash(stored)
    assert [e.detail for e in audit.iter_entries(store) if e.action == "login"] == [{"rehashed": True}]


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("Kim", "analyst", PASSWORD, "lower-case"),
        ("", "analyst", PASSWORD, "lower-case"),
        ("kim", "boss", PASSWORD, "a role is one of"),
        ("kim", "analyst", "short", "at least 12"),
    ],
)
def test_bad_names_roles_and_passwords_are_refused(
    store: Store, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.add_user(store, name, role, password, by=ADMIN, hasher=CHEAP)
    assert accounts.list_users(store) == []


def test_a_name_is_taken_once(store: Store) -> None:
    add(store)
    with pytest.raises(AccountError, match="exists"):
        add(store, role="admin")


def test_totp_second_factor_works_once_per_code(store: Store) -> None:
    add(store, role="supervisor")
    uri = accounts.enrol_totp(store, "kim", by=ADMIN, now=T0)
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP) and "issuer=Threadline" in uri
    assert login(store).reason == accounts.TOTP_NEEDED
    assert (
        login(store, totp_code="000000" if totp.at(T0) != "000000" else "111111").reason
        == accounts.TOTP_WRONG
    )
    assert login(store, totp_code=totp.at(T0)).ok
    assert login(store, totp_code=totp.at(T0)).reason == accounts.TOTP_WRONG  # replayed
    assert login(store, at=T0 + timedelta(seconds=30), totp_code=totp.at(T0 + timedelta(seconds=30))).ok


# -- sessions -----------------------------------------------------------------------------------


def test_sessions_are_kept_hashed_and_carry_a_csrf_token(store: Store) -> None:
    add(store)
    session_id = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    assert len(session_id) >= 43  # 32 random bytes
    assert store.query("SELECT count(*) FROM sessions WHERE id_hash = ?", [session_id]) == [(0,)]
    session = sessions.lookup_session(store, session_id, now=T0)
    assert session is not None and session.user.name == "kim"
    assert sessions.csrf_ok(session, session.csrf_token)
    assert not sessions.csrf_ok(session, None) and not sessions.csrf_ok(session, "forged")
    assert sessions.lookup_session(store, "not a session", now=T0) is None
    other = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    other_session = sessions.lookup_session(store, other, now=T0)
    assert other != session_id and other_session is not None
    assert other_session.csrf_token != session.csrf_token


def test_sessions_expire_when_idle_and_at_their_maximum_age(store: Store) -> None:
    add(store)
    idle = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    assert sessions.lookup_session(store, idle, now=T0 + sessions.SESSION_IDLE - timedelta(seconds=1))
    assert sessions.lookup_session(store, idle, now=T0 + 2 * sessions.SESSION_IDLE) is None

    busy = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    at = T0
    while at + sessions.SESSION_IDLE / 2 < T0 + sessions.SESSION_MAX_AGE:
        at += sessions.SESSION_IDLE / 2
        assert sessions.lookup_session(store, busy, now=at) is not None, at  # each request keeps it alive
    assert sessions.lookup_session(store, busy, now=T0 + sessions.SESSION_MAX_AGE) is None

    assert sessions.purge_expired_sessions(store, now=T0 + sessions.SESSION_MAX_AGE) == 2
    assert store.query("SELECT count(*) FROM sessions") == [(0,)]


def test_logging_out_ends_the_session_and_is_audited(store: Store) -> None:
    add(store)
    session_id = sessions.create_session(store, "kim", "192.0.2.7", now=T0)
    assert sessions.end_session(store, session_id, "192.0.2.7", now=T0)
    assert sessions.lookup_session(store, session_id, now=T0) is None
    assert not sessions.end_session(store, session_id, "192.0.2.7", now=T0)
    assert [e.action for e in audit.iter_entries(store)][-1] == "logout"


# -- API tokens ---------------------------------------------------------------------------------


def test_tokens_are_kept_hashed_and_name_their_user_and_scope(store: Store) -> None:
    add(store)
    token, info = tokens.add_token(store, "kim", "push", days=30, by=ADMIN, now=T0)
    assert token.startswith(tokens.PREFIX) and len(token) >= 40
    assert info.ref == "T1" and info.expires_at == T0 + timedelta(days=30)
    rows = store.query("SELECT * FROM api_tokens")
    assert token not in repr(rows) and token[len(tokens.PREFIX) :] not in repr(rows)
    use = tokens.lookup_token(store, token, now=T0 + timedelta(days=1))
    assert use is not None and (use.user.name, use.scope, use.token_id) == ("kim", "push", 1)
    assert tokens.list_tokens(store)[0].last_used == T0 + timedelta(days=1)
    assert tokens.lookup_token(store, token + "x", now=T0) is None
    assert tokens.lookup_token(store, "Bearer " + token, now=T0) is None


def test_tokens_expire_and_can_be_revoked(store: Store) -> None:
    add(store)
    token, info = tokens.add_token(store, "kim", "read", days=1, by=ADMIN, now=T0)
    assert tokens.lookup_token(store, token, now=T0 + timedelta(hours=23)) is not None
    assert tokens.lookup_token(store, token, now=T0 + timedelta(days=1)) is None
    assert info.state(T0 + timedelta(days=2)) == "expired"

    other, _ = tokens.add_token(store, "kim", "read", by=ADMIN, now=T0)
    revoked = tokens.revoke_token(store, 2, by=ADMIN, now=T0)
    assert revoked.state(T0) == "revoked" and revoked.revoked_by == "root"
    assert tokens.lookup_token(store, other, now=T0) is None
    with pytest.raises(AccountError, match="was revoked"):
        tokens.revoke_token(store, 2, by=ADMIN, now=T0)
    with pytest.raises(AccountError, match="no token T9"):
        tokens.revoke_token(store, 9, by=ADMIN, now=T0)
    actions = [(e.action, e.object) for e in audit.iter_entries(store)]
    assert actions[-3:] == [("token add", "T1"), ("token add", "T2"), ("token revoke", "T2")]


def test_tokens_are_refused_for_unknown_users_scopes_and_lifetimes(store: Store) -> None:
    add(store)
    for user, scope, days in [("nobody", "read", 30), ("kim", "admin", 30), ("kim", "read", 0)]:
        with pytest.raises(AccountError):
            tokens.add_token(store, user, scope, days=days, by=ADMIN, now=T0)
    assert tokens.parse_token_ref("T12") == tokens.parse_token_ref("12") == 12
    with pytest.raises(AccountError):
        tokens.parse_token_ref("D12")


# -- roles --------------------------------------------------------------------------------------


def test_roles_follow_the_issue_and_deny_what_is_not_listed() -> None:
    analyst = {Action.READ, Action.SEARCH, Action.LABEL, Action.MERGE, Action.SEPARATE, Action.SPLIT}
    analyst |= {Action.REVEAL_IMAGE, Action.EXPORT_EVIDENCE}
    assert all(allowed(role, action) for role in ROLES for action in analyst)
    for action in (Action.READ_AUDIT, Action.REVOKE_OTHERS):
        assert not allowed("analyst", action) and allowed("supervisor", action) and allowed("admin", action)
    for action in (Action.MANAGE_USERS, Action.MANAGE_TOKENS, Action.MANAGE_SETTINGS):
        assert allowed("admin", action) and not allowed("supervisor", action)
    assert not allowed("admin", "drop_everything") and not allowed("admin", "")
    assert not allowed("root", "read") and not allowed("", "read")
    assert scope_allows("read", "analyst", "search") and not scope_allows("read", "admin", "label")
    assert scope_allows("push", "analyst", "push_ads") and not scope_allows("push", "analyst", "read")
    assert not scope_allows("all", "admin", "read")


# -- the commands -------------------------------------------------------------------------------


def test_user_and_token_commands_round_trip_and_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    db = str(tmp_path / "store.duckdb")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), input=input)
        return result.exit_code, result.stdout, result.stderr

    code, out, err = run(
        "user", "add", "ann", "--role", "admin", "--db", db, "--password-stdin", input=PASSWORD + "\n"
    )
    assert code == 0 and out == "user: added ann (admin)\n", err
    assert "audit key" in err and (tmp_path / "keys" / audit.KEY_FILE_NAME).exists()
    code, _, err = run("user", "add", "kim", "--role", "analyst", "--db", db, input=f"{PASSWORD}\n")
    assert code == 0, err  # no terminal: one line of stdin, as with --password-stdin
    code, _, err = run(
        "user", "add", "bob", "--role", "analyst", "--db", db, "--password-stdin", input="short\n"
    )
    assert code == 1 and err.strip() == "threadline: a password needs at least 12 characters"

    code, out, _ = run("user", "list", "--db", db)
    assert [line.split("\t")[:3] for line in out.splitlines()] == [
        ["ann", "admin", "enabled"],
        ["kim", "analyst", "enabled"],
    ]

    code, token, err = run("token", "add", "--user", "kim", "--scope", "push", "--days", "7", "--db", db)
    token = token.strip()
    assert code == 0 and token.startswith("tl_") and "T1 for kim (push)" in err and "shown once" in err
    code, out, _ = run("token", "list", "--db", db)
    assert code == 0 and out.startswith("T1\tkim\tpush\tactive") and token not in out
    with Store.open(db) as store:
        assert tokens.lookup_token(store, token) is not None
    assert run("token", "revoke", "T1", "--db", db)[:2] == (0, "token: revoked T1 (kim, push)\n")
    code, _, err = run("token", "revoke", "T1", "--db", db)
    assert code == 1 and err.startswith("threadline: token T1 was revoked") and err.count("\n") == 1

    assert run("user", "disable", "kim", "--db", db)[:2] == (0, "user: disabled kim\n")
    code, _, err = run("user", "disable", "nobody", "--db", db)
    assert code == 1 and err == "threadline: no user 'nobody'\n"
    code, out, _ = run("user", "list", "--db", db)
    assert "kim\tanalyst\tdisabled" in out
    assert run("user", "enable", "kim", "--db", db)[:2] == (0, "user: enabled kim\n")
    new_password = "another horse battery staple"
    code, out, err = run("user", "password", "kim", "--db", db, "--password-stdin", input=new_password + "\n")
    assert (code, out) == (0, "user: new password for kim\n"), err

    with Store.open(db) as store:
        entries = list(audit.iter_entries(store))
        assert {(e.actor_kind, e.origin) for e in entries} == {("os-user", "cli")}
        assert [(e.action, e.object) for e in entries] == [
            ("user add", "ann"),
            ("user add", "kim"),
            ("token add", "T1"),
            ("token revoke", "T1"),
            ("user disable", "kim"),
            ("user enable", "kim"),
            ("user password", "kim"),
        ]
        assert audit.verify(store).ok
        assert accounts.verify_login(store, "kim", new_password, "cli").ok


def test_on_a_terminal_the_password_is_asked_twice(tmp_path: Path) -> None:
    master, terminal = pty.openpty()
    env = {**os.environ, audit.KEY_DIR_ENV: str(tmp_path / "keys")}
    command = [sys.executable, "-m", "threadline.cli", "user", "add", "kim", "--role", "analyst"]
    process = subprocess.Popen(
        [*command, "--db", str(tmp_path / "s.duckdb")],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    shown = b""

    def answer(prompt: bytes) -> None:
        nonlocal shown
        while prompt not in shown:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, shown
            shown += os.read(master, 1024)
        os.write(master, PASSWORD.encode() + b"\n")

    with process:
        try:
            answer(b"Password: ")
            answer(b"Repeat for confirmation: ")
            assert process.wait(timeout=60) == 0
        finally:
            process.kill()
            os.close(master)
        assert process.stdout is not None and process.stdout.read() == b"user: added kim (analyst)\n"
    assert PASSWORD.encode() not in shown  # not echoed
