"""Browser sessions: what the server's cookie names, and the CSRF token that goes with it.

A session id is 32 random bytes (URL-safe text) that only the cookie holds: the store keeps its
SHA-256, so a copy of the store opens no session. A session ends at `SESSION_MAX_AGE` however
active, or after `SESSION_IDLE` without a request; disabling a user or changing their password
ends theirs. Each session has its own CSRF token, which the server puts in its pages and checks
(`csrf_ok`) on every state-changing request made with the cookie.

The cookie itself (Secure, HttpOnly, SameSite) is the server's business; nothing here speaks HTTP.
"""

from __future__ import annotations

import hmac
import secrets
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.service import audit
from threadline.service._common import Actor, StoreLike, accounts_changed, connection, naive_utc, sha256_hex
from threadline.service.accounts import AccountError, User, get_user
from threadline.store._tx import transaction

__all__ = [
    "SESSION_IDLE",
    "SESSION_MAX_AGE",
    "TOUCH_EVERY",
    "Session",
    "create_session",
    "csrf_ok",
    "end_session",
    "lookup_session",
    "purge_expired_sessions",
]

SESSION_MAX_AGE = timedelta(hours=12)  # a working day, then a new login
SESSION_IDLE = timedelta(minutes=60)
# A lookup records the request's time (for the idle timeout) at most this often: one write per
# minute per session instead of one per request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    origin: str  # where the login came from
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


def create_session(store: StoreLike, user_name: str, origin: str, *, now: datetime | None = None) -> str:
    """Open a session for ``user_name`` (after `accounts.verify_login` said yes); returns the id
    for the cookie, which only the caller ever sees."""
    user = get_user(store, user_name)
    if user is None or user.disabled:
        raise AccountError(f"no enabled user {user_name!r}")
    session_id = secrets.token_urlsafe(32)
    at = naive_utc(now)
    connection(store).execute(
        "INSERT INTO sessions (id_hash, user_name, csrf_token, origin, created_at, last_seen, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sha256_hex(session_id), user_name, secrets.token_urlsafe(32), origin, at, at, at + SESSION_MAX_AGE],
    )
    return session_id


def lookup_session(
    store: StoreLike,
    session_id: str,
    *,
    now: datetime | None = None,
    books: AbstractContextManager[Any] | None = None,
) -> Session | None:
    """The live session a cookie names, its user enabled; None for an unknown, expired or idle
    session. Records the request's time for the idle timeout (at most once a minute), holding
    ``books`` while it does: a server's lock for small writes, taken only when there is one."""
    at = naive_utc(now)
    con = connection(store)
    rows = con.execute(
        "SELECT user_name, csrf_token, origin, created_at, last_seen, expires_at FROM sessions"
        " WHERE id_hash = ?",
        [sha256_hex(session_id)],
    ).fetchall()
    if not rows:
        return None
    user_name, csrf_token, origin, created_at, last_seen, expires_at = rows[0]
    if expires_at <= at or last_seen + SESSION_IDLE <= at:
        return None
    user = get_user(store, user_name)
    if user is None or user.disabled:
        return None
    if at - last_seen >= TOUCH_EVERY:
        with books or nullcontext():
            con.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", [at, sha256_hex(session_id)])
        last_seen = at
    return Session(user, csrf_token, origin, created_at, last_seen, expires_at)


def csrf_ok(session: Session, token: str | None) -> bool:
    """Whether a request's CSRF token (form field or header) is its session's (constant time)."""
    return token is not None and hmac.compare_digest(session.csrf_token.encode(), token.encode())


def end_session(store: StoreLike, session_id: str, origin: str, *, now: datetime | None = None) -> bool:
    """Log out: delete the session (audited as ``logout``); False when there was none."""
    con = connection(store)
    id_hash = sha256_hex(session_id)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        rows = con.execute("SELECT user_name FROM sessions WHERE id_hash = ?", [id_hash]).fetchall()
        if not rows:
            return False
        con.execute("DELETE FROM sessions WHERE id_hash = ?", [id_hash])
        audit.append_within(store, Actor(rows[0][0], "user", origin), "logout", rows[0][0], now=now)
    return True


def purge_expired_sessions(store: StoreLike, *, now: datetime | None = None) -> int:
    """Delete the sessions that can no longer be used; returns how many (for a periodic task)."""
    at = naive_utc(now)
    rows = (
        connection(store)
        .execute(
            "DELETE FROM sessions WHERE expires_at <= ? OR last_seen + ? <= ? RETURNING 1",
            [at, SESSION_IDLE, at],
        )
        .fetchall()
    )
    if rows:
        accounts_changed(store)
    return len(rows)
