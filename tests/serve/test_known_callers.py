"""Callers the server keeps once looked up (`threadline.serve._auth.Known`): a token or session
is not looked up in the store on every request, yet a revoked token, a disabled user's token and
session, and an ended session are refused at once, even when the change commits while a request
looks its caller up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from threadline.serve import Context
from threadline.service import accounts, audit, sessions, tokens
from threadline.service._common import Actor
from threadline.store import Store
from threadline.store._tx import transaction

ADMIN = Actor("root", "os-user", "cli")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    store = Store.open(tmp_path / "store.duckdb")
    accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
    context = Context(store)
    context.start()
    yield context
    context.close()


def _lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each lookup in the store, by kind."""
    made: list[str] = []
    token, session = tokens.lookup_token, sessions.lookup_session
    monkeypatch.setattr(tokens, "lookup_token", lambda *a, **k: made.append("token") or token(*a, **k))
    monkeypatch.setattr(
        sessions, "lookup_session", lambda *a, **k: made.append("session") or session(*a, **k)
    )
    return made


def test_a_token_is_looked_up_once_and_refused_as_soon_as_it_is_revoked(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, info = tokens.add_token(ctx.store, "ana", "read", by=ADMIN)
    made = _lookups(monkeypatch)
    first = ctx.known.token(ctx, secret)
    assert first is not None and ctx.known.token(ctx, secret) == first
    assert made == ["token"]  # the second was kept
    assert ctx.known.token(ctx, "tl_unknown") is None and ctx.known.token(ctx, "tl_unknown") is None
    assert made == ["token"] * 3  # unknown tokens are never kept
    tokens.revoke_token(ctx.store, info.token_id, by=ADMIN)
    assert ctx.known.token(ctx, secret) is None


def test_a_change_committing_while_a_caller_is_looked_up_is_not_missed(ctx: Context) -> None:
    """A lookup that read the token before the revocation committed keeps nothing that outlives
    the commit."""
    secret, info = tokens.add_token(ctx.store, "ana", "read", by=ADMIN)
    assert ctx.known.token(ctx, secret) is not None
    con = ctx.store.connection
    with transaction(con):
        tokens.revoke_token(con, info.token_id, by=ADMIN)
        # Not committed yet: another cursor still sees the token as good, and may keep it...
        assert ctx.known.token(ctx, secret) is not None
    # ... but not past the commit.
    assert ctx.known.token(ctx, secret) is None


def test_disabling_a_user_refuses_their_kept_token_and_session(ctx: Context) -> None:
    secret, _ = tokens.add_token(ctx.store, "ana", "read", by=ADMIN)
    session_id = sessions.create_session(ctx.store, "ana", "127.0.0.1")
    assert ctx.known.token(ctx, secret) is not None and ctx.known.session(ctx, session_id) is not None
    accounts.disable_user(ctx.store, "ana", by=ADMIN)
    assert ctx.known.token(ctx, secret) is None and ctx.known.session(ctx, session_id) is None


def test_an_ended_session_is_refused(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = sessions.create_session(ctx.store, "ana", "127.0.0.1")
    made = _lookups(monkeypatch)
    assert ctx.known.session(ctx, session_id) is not None and ctx.known.session(ctx, session_id) is not None
    assert made == ["session"]
    assert sessions.end_session(ctx.store, session_id, "127.0.0.1")
    assert ctx.known.session(ctx, session_id) is None
