"""API tokens for machine clients: a crawler pushing ads (scope ``push``), a dashboard reading
(scope ``read``).

A token is ``tl_`` and 32 random bytes (URL-safe text), shown once when it is made: the store
keeps only its SHA-256, with its user, scope, expiry, creation and last use. A token works while
it is unexpired, unrevoked and its user enabled; it acts as its user within its scope
(`roles.scope_allows`). Tokens are named ``T1``, ``T2`` ... in lists and commands.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.service import audit
from threadline.service._common import Actor, StoreLike, accounts_changed, connection, naive_utc, sha256_hex
from threadline.service.accounts import AccountError, User, get_user
from threadline.service.roles import SCOPES
from threadline.store._tx import transaction

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "PREFIX",
    "TokenInfo",
    "TokenUse",
    "add_token",
    "list_tokens",
    "lookup_token",
    "parse_token_ref",
    "revoke_token",
]

PREFIX = "tl_"  # lets secret scanners and people tell a Threadline token from other secrets
DEFAULT_DAYS = 90
MAX_DAYS = 366 * 2
# A lookup records the token's use at most this often (one write a minute, not one a request).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token_id: int
    user_name: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    sources: tuple[str, ...] | None = None  # the sources a push token may send ads of; None: any

    @property
    def ref(self) -> str:
        return f"T{self.token_id}"

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked`` (a disabled user's tokens fail at lookup)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= naive_utc(now) else "active"


@dataclass(frozen=True, slots=True)
class TokenUse:
    """A token that works: whose it is and what it may do."""

    user: User
    scope: str
    token_id: int
    sources: tuple[str, ...] | None = None  # the sources it may push ads of; None: any
    expires_at: datetime | None = None
    last_used: datetime | None = None  # as recorded now (at most a minute old)


_COLUMNS = (
    "token_id, user_name, scope, created_at, expires_at, last_used, revoked_at, revoked_by,"
    " (SELECT list(source ORDER BY source) FROM token_sources s WHERE s.token_id = api_tokens.token_id)"
)


def _sources(value: Any) -> tuple[str, ...] | None:
    return tuple(str(s) for s in value) if value else None


def _info(row: tuple[Any, ...]) -> TokenInfo:
    token_id, user_name, scope, created, expires, used, revoked_at, revoked_by, sources = row
    return TokenInfo(
        token_id, user_name, scope, created, expires, used, revoked_at, revoked_by, _sources(sources)
    )


def parse_token_ref(text: str) -> int:
    """``"T3"`` (or ``"3"``) -> 3."""
    m = re.fullmatch(r"[Tt]?([0-9]{1,18})", text.strip())
    if not m or int(m.group(1)) < 1:
        raise AccountError(f"{text!r}: not a token id (T1, T2 ... as `token list` shows)")
    return int(m.group(1))


def add_token(
    store: StoreLike,
    user_name: str,
    scope: str,
    *,
    days: int = DEFAULT_DAYS,
    by: Actor,
    now: datetime | None = None,
    sources: Sequence[str] | None = None,
) -> tuple[str, TokenInfo]:
    """Make a token for an enabled user; returns (the token, to show once, and its record).
    ``sources``: the only sources a push token may send ads of (None: any). Audited as ``token
    add`` (without the token)."""
    if sources is not None:
        sources = sorted({s.strip() for s in sources})
        if not sources or not all(sources):
            raise AccountError("a token's sources are names, not blank")
        if scope != "push":
            raise AccountError("only a push token is bound to sources")
    if scope not in SCOPES:
        raise AccountError(f"{scope!r}: a scope is one of {', '.join(SCOPES)}")
    if not 1 <= days <= MAX_DAYS:
        raise AccountError(f"a token lasts 1 to {MAX_DAYS} days")
    token = PREFIX + secrets.token_urlsafe(32)
    at = naive_utc(now)
    con = connection(store)
    with transaction(con):
        user = get_user(store, user_name)
        if user is None or user.disabled:
            raise AccountError(f"no enabled user {user_name!r}")
        (token_id,) = con.execute(
            "INSERT INTO api_tokens (token_hash, user_name, scope, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING token_id",
            [sha256_hex(token), user_name, scope, at, at + timedelta(days=days)],
        ).fetchall()[0]
        for source in sources or ():
            con.execute("INSERT INTO token_sources (token_id, source) VALUES (?, ?)", [token_id, source])
        detail = {"user": user_name, "scope": scope, "days": days}
        if sources is not None:
            detail["sources"] = sources
        audit.append_within(store, by, "token add", f"T{token_id}", detail, now=at)
    return token, _get(store, int(token_id))


def _get(store: StoreLike, token_id: int) -> TokenInfo:
    rows = (
        connection(store)
        .execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = ?", [token_id])
        .fetchall()
    )
    if not rows:
        raise AccountError(f"no token T{token_id}")
    return _info(rows[0])


def list_tokens(store: StoreLike) -> list[TokenInfo]:
    rows = connection(store).execute(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY token_id").fetchall()
    return [_info(row) for row in rows]


def revoke_token(store: StoreLike, token_id: int, *, by: Actor, now: datetime | None = None) -> TokenInfo:
    """Revoke a token for good (audited); revoking a revoked token is refused."""
    at = naive_utc(now)
    con = connection(store)
    with transaction(con):
        accounts_changed(con)  # for servers that keep callers they looked up
        info = _get(store, token_id)
        if info.revoked_at is not None:
            raise AccountError(f"token T{token_id} was revoked at {info.revoked_at:%Y-%m-%d %H:%M} UTC")
        con.execute(
            "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?", [at, by.name, token_id]
        )
        audit.append_within(store, by, "token revoke", f"T{token_id}", {"user": info.user_name}, now=at)
    return _get(store, token_id)


def lookup_token(
    store: StoreLike,
    token: str,
    *,
    now: datetime | None = None,
    books: AbstractContextManager[Any] | None = None,
) -> TokenUse | None:
    """Whose a presented token is and its scope; None when it is unknown, expired, revoked or its
    user disabled. Records its last use (at most once a minute), holding ``books`` while it does:
    a server's lock for small writes, taken only when there is one to make."""
    if not token.startswith(PREFIX):
        return None
    at = naive_utc(now)
    con = connection(store)
    id_hash = sha256_hex(token)
    rows = con.execute(
        "SELECT token_id, user_name, scope, expires_at, revoked_at, last_used,"
        " (SELECT list(source ORDER BY source) FROM token_sources s WHERE s.token_id = t.token_id)"
        " FROM api_tokens t WHERE token_hash = ?",
        [id_hash],
    ).fetchall()
    if not rows:
        return None
    token_id, user_name, scope, expires_at, revoked_at, last_used, sources = rows[0]
    if revoked_at is not None or expires_at <= at:
        return None
    user = get_user(store, user_name)
    if user is None or user.disabled:
        return None
    if last_used is None or at - last_used >= TOUCH_EVERY:
        with books or nullcontext():
            con.execute("UPDATE api_tokens SET last_used = ? WHERE token_id = ?", [at, token_id])
        last_used = at
    return TokenUse(user, scope, int(token_id), _sources(sources), expires_at, last_used)
