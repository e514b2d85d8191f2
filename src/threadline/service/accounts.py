"""Users: roles, argon2id passwords, login with lockout, and an optional TOTP second factor.

Passwords are hashed with argon2id at argon2-cffi's default parameters (RFC 9106's low-memory
profile); the parameters are stored in each hash, and a login whose hash was made with other
parameters stores a new one (`verify_login`), so raising them needs no migration.

Lockout: `MAX_FAILED_LOGINS` failures in a row (a wrong password or second factor) lock the
account for `LOCKOUT`; while locked, no password is even checked. The count starts again after a
success or once the lock has run out. The lock is per account, not per address: a guesser who
spreads over many addresses is still stopped, at the price that anyone can lock a known name for
15 minutes (the audit shows who tried, and from where).

Every login and failed login is appended to the audit with its reason. The reason is for the
audit and the admin: a login page should tell the user only that the login failed (or that a
second factor is needed).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from threadline.service import audit
from threadline.service._common import Actor, StoreLike, accounts_changed, connection, naive_utc
from threadline.service.roles import ROLES
from threadline.store._tx import transaction

__all__ = [
    "DISABLED",
    "LOCKED",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "TOTP_NEEDED",
    "TOTP_WRONG",
    "UNKNOWN_USER",
    "WRONG_PASSWORD",
    "AccountError",
    "Login",
    "User",
    "add_user",
    "check_name",
    "check_password",
    "disable_user",
    "enable_user",
    "enrol_totp",
    "get_user",
    "list_users",
    "set_password",
    "verify_login",
]

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
TOTP_ISSUER = "Threadline"

# Why a login failed (kept in the audit entry's detail).
UNKNOWN_USER = "unknown user"
WRONG_PASSWORD = "wrong password"
LOCKED = "locked"
DISABLED = "disabled"
TOTP_NEEDED = "second factor needed"
TOTP_WRONG = "wrong second factor"

_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_HASHER = PasswordHasher()  # argon2id (argon2-cffi's default type)


class AccountError(ValueError):
    """A refused account change: a bad name, role or password, or a user that does not exist."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    disabled: bool
    created_at: datetime
    failed_logins: int
    locked_until: datetime | None
    last_login: datetime | None
    totp: bool  # a second factor is enrolled

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > naive_utc(now)


@dataclass(frozen=True, slots=True)
class Login:
    """What `verify_login` decided: the user when the login succeeded, else the reason."""

    user: User | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.user is not None


_USER_COLUMNS = (
    "name, role, disabled, created_at, failed_logins, locked_until, last_login, totp_secret IS NOT NULL"
)


def _user(row: tuple[Any, ...]) -> User:
    return User(*row)


def check_name(name: str) -> str:
    """``name`` if it can name a user (lower-case letters, digits and ``._@-``, at most 64)."""
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"{name!r}: a user name is 1 to 64 lower-case letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"{role!r}: a role is one of {', '.join(ROLES)}")
    return role


def get_user(store: StoreLike, name: str) -> User | None:
    rows = connection(store).execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name]).fetchall()
    return _user(rows[0]) if rows else None


def list_users(store: StoreLike) -> list[User]:
    rows = connection(store).execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()
    return [_user(row) for row in rows]


def _existing(store: StoreLike, name: str) -> User:
    user = get_user(store, name)
    if user is None:
        raise AccountError(f"no user {name!r}")
    return user


def add_user(
    store: StoreLike,
    name: str,
    role: str,
    password: str,
    *,
    by: Actor,
    now: datetime | None = None,
    hasher: PasswordHasher = _HASHER,
) -> User:
    """Add a user (audited as ``user add`` by ``by``). ``hasher``: argon2 parameters other than
    the default, for tests of rehashing."""
    check_name(name)
    _check_role(role)
    password_hash = hasher.hash(check_password(password))
    at = naive_utc(now)
    con = connection(store)
    with transaction(con):
        if get_user(store, name) is not None:
            raise AccountError(f"user {name!r} exists")
        con.execute(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, failed_logins)"
            " VALUES (?, ?, ?, false, ?, 0)",
            [name, role, password_hash, at],
        )
        audit.append_within(store, by, "user add", name, {"role": role}, now=at)
    return _existing(store, name)


def disable_user(store: StoreLike, name: str, *, by: Actor, now: datetime | None = None) -> User:
    """Disable a user and end their sessions (their tokens stop working too); audited."""
    con = connection(store)
    at = naive_utc(now)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        user = _existing(store, name)
        con.execute("UPDATE users SET disabled = true WHERE name = ?", [name])
        con.execute("DELETE FROM sessions WHERE user_name = ?", [name])
        audit.append_within(store, by, "user disable", name, {"was_disabled": user.disabled}, now=at)
    return _existing(store, name)


def enable_user(store: StoreLike, name: str, *, by: Actor, now: datetime | None = None) -> User:
    """Enable a disabled user again (their unexpired tokens work again); audited."""
    con = connection(store)
    at = naive_utc(now)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        user = _existing(store, name)
        con.execute("UPDATE users SET disabled = false WHERE name = ?", [name])
        audit.append_within(store, by, "user enable", name, {"was_disabled": user.disabled}, now=at)
    return _existing(store, name)


def set_password(
    store: StoreLike,
    name: str,
    password: str,
    *,
    by: Actor,
    now: datetime | None = None,
    hasher: PasswordHasher = _HASHER,
) -> None:
    """Set a new password, lift a lockout and end the user's sessions; audited."""
    password_hash = hasher.hash(check_password(password))
    con = connection(store)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        _existing(store, name)
        con.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE name = ?",
            [password_hash, name],
        )
        con.execute("DELETE FROM sessions WHERE user_name = ?", [name])
        audit.append_within(store, by, "user password", name, now=now)


def enrol_totp(store: StoreLike, name: str, *, by: Actor, now: datetime | None = None) -> str:
    """Give ``name`` a new TOTP secret (replacing any); returns the ``otpauth://`` URI to show
    once, as text or a QR code, for an authenticator app. Audited (without the secret)."""
    secret = pyotp.random_base32()
    con = connection(store)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        _existing(store, name)
        con.execute("UPDATE users SET totp_secret = ?, totp_last_step = NULL WHERE name = ?", [secret, name])
        audit.append_within(store, by, "user totp", name, now=now)
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a password of anyone's")


def _password_matches(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _totp_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step ``code`` is valid for (this one or a neighbour, for clocks a little apart),
    if it is later than the last one used: a code works once."""
    totp = pyotp.TOTP(secret)
    step = int(now.replace(tzinfo=UTC).timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if (last_step is None or candidate > last_step) and hmac.compare_digest(
            totp.generate_otp(candidate), code.strip()
        ):
            return candidate
    return None


def verify_login(
    store: StoreLike,
    name: str,
    password: str,
    origin: str,
    *,
    totp_code: str | None = None,
    now: datetime | None = None,
    hasher: PasswordHasher = _HASHER,
) -> Login:
    """Check a login attempt from ``origin`` (the client's address, or 'cli'); audited either way.

    Fails, with its reason, for an unknown name, a locked account (the password is not checked),
    a wrong password (counted), a disabled account, and, for a user with TOTP, a missing code
    (`TOTP_NEEDED`, not counted: the page asks for it) or a wrong one (counted). On success the
    count is cleared and a hash made with old argon2 parameters is replaced.
    """
    at = naive_utc(now)
    con = connection(store)
    rows = con.execute(
        "SELECT password_hash, totp_secret, totp_last_step FROM users WHERE name = ?", [name]
    ).fetchall()
    actor = Actor(name, "user", origin)
    if not rows:
        _password_matches(hasher, _dummy_hash(hasher), password)  # the same time as a known name
        audit.append(store, actor, "login failed", None, {"reason": UNKNOWN_USER}, now=at)
        return Login(None, UNKNOWN_USER)
    user = _existing(store, name)
    if user.locked(at):
        audit.append(store, actor, "login failed", name, {"reason": LOCKED}, now=at)
        return Login(None, LOCKED)
    password_hash, secret, last_step = rows[0]
    if not _password_matches(hasher, password_hash, password[: MAX_PASSWORD_CHARS + 1]):
        return _failed(store, actor, WRONG_PASSWORD, at)
    if user.disabled:
        audit.append(store, actor, "login failed", name, {"reason": DISABLED}, now=at)
        return Login(None, DISABLED)
    step = None
    if secret is not None:
        if not totp_code:
            audit.append(store, actor, "login failed", name, {"reason": TOTP_NEEDED}, now=at)
            return Login(None, TOTP_NEEDED)
        step = _totp_step(secret, totp_code, last_step, at)
        if step is None:
            return _failed(store, actor, TOTP_WRONG, at)
    new_hash = hasher.hash(password) if hasher.check_needs_rehash(password_hash) else None
    with transaction(con):
        con.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = ?,"
            " password_hash = coalesce(?, password_hash), totp_last_step = coalesce(?, totp_last_step)"
            " WHERE name = ?",
            [at, new_hash, step, name],
        )
        audit.append_within(store, actor, "login", name, {"rehashed": new_hash is not None}, now=at)
    return Login(_existing(store, name), None)


def _failed(store: StoreLike, actor: Actor, reason: str, at: datetime) -> Login:
    """Count a failure (locking the account at the limit) and audit it."""
    con = connection(store)
    with transaction(con):
        failed, locked_until = con.execute(
            "SELECT failed_logins, locked_until FROM users WHERE name = ?", [actor.name]
        ).fetchall()[0]
        if locked_until is not None and locked_until <= at:  # an old lock ran out: start again
            failed = 0
        failed += 1
        locked = failed >= MAX_FAILED_LOGINS
        con.execute(
            "UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?",
            [0 if locked else failed, at + LOCKOUT if locked else None, actor.name],
        )
        detail = {"reason": reason, "failures": failed, "locked": locked}
        audit.append_within(store, actor, "login failed", actor.name, detail, now=at)
    return Login(None, reason)
