"""The admins' pages: users (add, disable, enable, set a password) and API tokens (make one,
shown once; revoke). Each act is the account service's, as the admin, audited in its own
transaction with the audit books held (as the API's admin routes do); each list view is audited
as the API's read of the same list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import duckdb
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from threadline.serve._auth import Caller, caller, context
from threadline.serve._pages import _audit_read, _form, page, render
from threadline.service import accounts, tokens
from threadline.service.accounts import AccountError
from threadline.service.roles import ROLES, SCOPES, Action

__all__ = ["install", "tokens_page", "users_page"]

_MAX = 1024  # characters of any field of these forms


async def _as_admin(request: Request, fn: Any) -> Any:
    """``fn(cursor, caller)`` with the audit books held: each account change appends its entry."""
    ctx, who = context(request), caller(request)

    def run() -> Any:
        with ctx.books:
            return fn(ctx.cursor(), who)

    return await run_in_threadpool(run)


async def _users_view(request: Request, *, status: int = 200, problem: str | None = None) -> Response:
    def run(cur: duckdb.DuckDBPyConnection) -> list[accounts.User]:
        listed = accounts.list_users(cur)
        _audit_read(request, "read users", None)
        return listed

    users = await run_in_threadpool(lambda: run(context(request).cursor()))
    done = request.query_params.get("done", "")[:200]
    return render(
        request, "users.html", status=status, users=users, roles=list(ROLES), problem=problem, done=done
    )


@page("GET", "/users", Action.MANAGE_USERS)
async def users_page(request: Request) -> Response:
    """Every account: role, enabled, locked, second factor, last sign-in; forms to change them."""
    return await _users_view(request)


@page("POST", "/users", Action.MANAGE_USERS)
async def users_act(request: Request) -> Response:
    """Add a user, disable or enable one, or set one's password; then back to the list."""
    form = {k: v[:_MAX] for k, v in (await _form(request)).items()}
    doing, name = form.get("do", ""), form.get("name", "").strip()

    def act(cur: duckdb.DuckDBPyConnection, who: Caller) -> str:
        if doing == "add":
            accounts.add_user(cur, name, form.get("role", ""), form.get("password", ""), by=who.actor)
            return f"{name} added ({form.get('role')})"
        if doing == "disable":
            accounts.disable_user(cur, name, by=who.actor)
            return f"{name} disabled: signed out everywhere, tokens stopped"
        if doing == "enable":
            accounts.enable_user(cur, name, by=who.actor)
            return f"{name} enabled"
        if doing == "password":
            accounts.set_password(cur, name, form.get("password", ""), by=who.actor)
            return f"{name}'s password set: signed out everywhere"
        raise AccountError("choose add, disable, enable or set password")

    try:
        done = await _as_admin(request, act)
    except AccountError as exc:
        return await _users_view(request, status=422, problem=str(exc))
    return RedirectResponse("/users?" + urlencode({"done": done}), 303)


async def _tokens_view(
    request: Request, *, status: int = 200, problem: str | None = None, made: dict[str, Any] | None = None
) -> Response:
    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[tokens.TokenInfo], list[accounts.User]]:
        listed = tokens.list_tokens(cur), accounts.list_users(cur)
        _audit_read(request, "read tokens", None)
        return listed

    listed, users = await run_in_threadpool(lambda: run(context(request).cursor()))
    done = request.query_params.get("done", "")[:200]
    answer = render(
        request,
        "tokens.html",
        status=status,
        tokens=listed,
        users=[u.name for u in users if not u.disabled],
        scopes=list(SCOPES),
        problem=problem,
        done=done,
        made=made,
    )
    if made is not None:
        answer.headers["Cache-Control"] = "no-store"  # the token is on this page, once
    return answer


@page("GET", "/tokens", Action.MANAGE_TOKENS)
async def tokens_page(request: Request) -> Response:
    """API tokens (never the tokens themselves): user, scope, sources, state, dates; make, revoke."""
    return await _tokens_view(request)


@page("POST", "/tokens", Action.MANAGE_TOKENS)
async def tokens_act(request: Request) -> Response:
    """Make a token (shown on the answer page only, never again) or revoke one."""
    form = {k: v[:_MAX] for k, v in (await _form(request)).items()}
    doing = form.get("do", "")
    if doing == "add":
        sources = [s.strip() for s in form.get("sources", "").split(",") if s.strip()] or None
        try:
            days = int(form.get("days", "") or tokens.DEFAULT_DAYS)
        except ValueError:
            return await _tokens_view(request, status=422, problem="days: a whole number")

        def make(cur: duckdb.DuckDBPyConnection, who: Caller) -> tuple[str, tokens.TokenInfo]:
            return tokens.add_token(
                cur, form.get("user", ""), form.get("scope", ""), days=days, by=who.actor, sources=sources
            )

        try:
            secret, info = await _as_admin(request, make)
        except AccountError as exc:
            return await _tokens_view(request, status=422, problem=str(exc))
        return await _tokens_view(request, made={"token": secret, "info": info})
    if doing == "revoke":

        def revoke(cur: duckdb.DuckDBPyConnection, who: Caller) -> tokens.TokenInfo:
            return tokens.revoke_token(cur, tokens.parse_token_ref(form.get("ref", "")), by=who.actor)

        try:
            info = await _as_admin(request, revoke)
        except AccountError as exc:
            return await _tokens_view(request, status=422, problem=str(exc))
        return RedirectResponse("/tokens?" + urlencode({"done": f"{info.ref} revoked"}), 303)
    return await _tokens_view(request, status=422, problem="choose make or revoke")


def install() -> None:
    """Nothing to do: importing this module put its pages on the pages' router (`page`). Called
    by the app so that the import is not an unused one."""
