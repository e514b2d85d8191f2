"""Who is asking, and may they: sessions, tokens, roles and CSRF for every route.

Deny by default. A route is added with `guarded` and names the `Action` it needs (or `SIGNED_IN`:
any user with a session or token, e.g. to log out); `check_routes` refuses to build an app with a
route that did neither, except the two open ones (`OPEN_ROUTES`). For each request:

1. ``Authorization: Bearer tl_…``: `tokens.lookup_token`; else the session cookie:
   `sessions.lookup_session`. Neither: 401.
2. A cookie on an unsafe method (POST, PUT, PATCH, DELETE) without its session's CSRF token in
   the ``X-CSRF-Token`` header: 403. (A token is sent by a program, never by a browser on its
   own, so it needs none.)
3. `roles.allowed(role, action)` for a session, `roles.scope_allows(scope, role, action)` for a
   token: else 403.

The caller, with the `Actor` its audit entries name, is then ``request.state.caller``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from threadline.serve._context import Context
from threadline.service import accounts, roles, sessions, tokens
from threadline.service._common import Actor, accounts_epoch, naive_utc, sha256_hex
from threadline.service.roles import Action

__all__ = [
    "CSRF_HEADER",
    "LOGIN_FORM_COOKIE",
    "LOGIN_FORM_FIELD",
    "OPEN_PAGES",
    "OPEN_ROUTES",
    "SIGNED_IN",
    "Caller",
    "GuardedRoute",
    "check_routes",
    "cookie_name",
    "guarded",
    "local_path",
    "login",
    "logout",
]

CSRF_HEADER = "X-CSRF-Token"
SIGNED_IN = "signed in"  # a route any user with a session or token may call
OPEN_ROUTES = frozenset({("POST", "/login"), ("GET", "/healthz")})
OPEN_PAGES = frozenset({("GET", "/login")})  # the sign-in page (`_pages`), outside the API's description
# The sign-in page's own CSRF token (a login has no session yet): a random value in a short-lived
# cookie and in the form's hidden field; a page login whose two differ is refused.
LOGIN_FORM_FIELD = "login_token"
LOGIN_FORM_COOKIE = "threadline-login"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_FIELD = 4096  # characters of a login's name, password or code


@dataclass(frozen=True)
class Caller:
    """Who makes a request, as the audit names them."""

    actor: Actor
    role: str
    scope: str | None = None  # a token's scope; None for a session
    token_id: int | None = None
    session: sessions.Session | None = None
    sources: tuple[str, ...] | None = None  # a push token's sources (None: any)

    @property
    def name(self) -> str:
        return self.actor.name

    def may(self, action: str) -> bool:
        if self.scope is not None:
            return roles.scope_allows(self.scope, self.role, action)
        return roles.allowed(self.role, action)

    def detail(self, **more: Any) -> dict[str, Any]:
        """An audit entry's detail: a token's entries name it."""
        return {**more, **({"token": f"T{self.token_id}"} if self.token_id is not None else {})}


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def origin(request: Request) -> str:
    """The client's address (behind a trusted proxy, the address it forwarded)."""
    return request.client.host if request.client else "unknown"


def secure(request: Request) -> bool:
    """Whether the session cookie is Secure: over TLS, or behind the trusted (TLS) proxy even
    when it forgets X-Forwarded-Proto."""
    return request.url.scheme == "https" or context(request).settings.behind_proxy


def cookie_name(request: Request) -> str:
    # A Secure cookie gets the __Host- prefix: browsers then refuse it unless it is Secure, set
    # for this host only and for every path, so no sibling host or plain-HTTP page can plant one.
    return "__Host-threadline" if secure(request) else "threadline"


def _unauthorised(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": 'Bearer realm="threadline"'})


class Known:
    """Tokens and sessions found good lately, so that a request does not look its caller up in
    the store each time (two queries, and a write a minute). One is taken again while nothing
    that could end it has happened since (`accounts_epoch`: a user disabled, a password set, a
    token revoked, a session ended, in this process, which alone writes the store), it has not
    expired nor idled out, and its last use was recorded less than a minute ago; else it is
    looked up again (which records the use)."""

    MAX = 10_000

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[int, Any]] = {}

    def token(self, ctx: Context, token: str) -> tokens.TokenUse | None:
        def fresh(use: tokens.TokenUse, at: datetime) -> bool:
            return (
                use.expires_at is not None
                and at < use.expires_at
                and use.last_used is not None
                and at - use.last_used < tokens.TOUCH_EVERY
            )

        found: tokens.TokenUse | None = self._known(
            ("token", sha256_hex(token)),
            fresh,
            lambda: tokens.lookup_token(ctx.cursor(), token, books=ctx.books),  # books: to record its use
        )
        return found

    def session(self, ctx: Context, session_id: str) -> sessions.Session | None:
        def fresh(session: sessions.Session, at: datetime) -> bool:
            return (
                at < session.expires_at
                and at < session.last_seen + sessions.SESSION_IDLE
                and at - session.last_seen < sessions.TOUCH_EVERY
            )

        found: sessions.Session | None = self._known(
            ("session", sha256_hex(session_id)),
            fresh,
            lambda: sessions.lookup_session(
                ctx.cursor(), session_id, books=ctx.books
            ),  # books: to record the time
        )
        return found

    def _known(
        self, key: tuple[str, str], fresh: Callable[[Any, datetime], bool], lookup: Callable[[], Any]
    ) -> Any:
        """The caller kept under ``key`` if no account change happened since and ``fresh`` says it
        still holds now; else ``lookup()`` (which records the use), kept for next time."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] == accounts_epoch() and fresh(kept[1], naive_utc(None)):
            return kept[1]
        epoch = accounts_epoch()  # before the lookup: a change during it makes this stale
        found = lookup()
        self._keep(key, epoch, found)
        return found

    def _keep(self, key: tuple[str, str], epoch: int, found: Any) -> None:
        if found is None:
            self._kept.pop(key, None)  # unknown ones are not kept: each is looked up
            return
        if len(self._kept) >= self.MAX:
            self._kept.clear()
        self._kept[key] = (epoch, found)


def _identify(ctx: Context, request: Request) -> Caller:
    where = origin(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("the Authorization header is not 'Bearer TOKEN'")
        use = ctx.known.token(ctx, token.strip())
        if use is None:
            raise _unauthorised("unknown, expired or revoked token")
        return Caller(
            Actor(use.user.name, "token", where), use.user.role, use.scope, use.token_id, sources=use.sources
        )
    session_id = request.cookies.get(cookie_name(request))
    if not session_id:
        raise _unauthorised("sign in (POST /login) or send 'Authorization: Bearer TOKEN'")
    session = ctx.known.session(ctx, session_id)
    if session is None:
        raise _unauthorised("the session has ended: sign in again")
    return Caller(Actor(session.user.name, "user", where), session.user.role, session=session)


class _Guard:
    """What every guarded route runs first: who asks, CSRF, and whether they may."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __call__(self, request: Request) -> None:
        caller = self.identify(request)
        if caller.session is not None and request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            if not sessions.csrf_ok(caller.session, sent):
                raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (the session's CSRF token)")
        self.authorise(request, caller)

    def identify(self, request: Request) -> Caller:
        """Who asks (401 if nobody known)."""
        return _identify(context(request), request)

    def authorise(self, request: Request, caller: Caller) -> None:
        """May ``caller`` take this route's action (403 if not); then ``request.state.caller``."""
        if self.action != SIGNED_IN and not caller.may(self.action):
            what = f"a {caller.scope} token" if caller.scope else f"the role {caller.role}"
            raise HTTPException(403, f"{what} may not {self.action.replace('_', ' ')}")
        request.state.caller = caller


_ACTION_KEY = "x-threadline-action"  # where a route keeps its action (shown in the OpenAPI too)


class GuardedRoute(APIRoute):
    """A route that checks its caller before anything else, its body included: FastAPI reads and
    parses a body before it runs a route's dependencies, and a stranger's request should cost
    no more than a look at its headers (and get 401, not a 400 about its JSON)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        action = (self.openapi_extra or {}).get(_ACTION_KEY)
        if not action:
            raise RuntimeError(f"{path} names no action: add it with `guarded`")
        self.guard = _Guard(str(action))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded_handler(request: Request) -> Response:
            await run_in_threadpool(self.guard, request)  # a lookup touches the store
            return await handler(request)

        return guarded_handler


def guarded(
    router: APIRouter, method: str, path: str, action: Action | str, **kwargs: Any
) -> Callable[[_Endpoint], _Endpoint]:
    """``@guarded(router, "GET", "/networks", Action.READ)``: a route that needs ``action``, on
    a router made with ``APIRouter(route_class=GuardedRoute)`` (which refuses any other route)."""
    add: Callable[[_Endpoint], _Endpoint] = router.api_route(
        path,
        methods=[method],
        openapi_extra={_ACTION_KEY: str(action)},
        **kwargs,
    )
    return add


def check_routes(routes: list[BaseRoute]) -> None:
    """Refuse an app with a route that is neither open nor guarded (deny by default)."""
    open_routes = OPEN_ROUTES | OPEN_PAGES
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            if (method, route.path) not in open_routes and not isinstance(route, GuardedRoute):
                raise RuntimeError(f"{method} {route.path} names no action: add it with `guarded`")


def caller(request: Request) -> Caller:
    found: Caller = request.state.caller
    return found


# -- login and logout ----------------------------------------------------------------------------


async def _login_body(request: Request) -> dict[str, Any]:
    """The fields of a login sent as a JSON object or a form."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, Any]
    if kind == "application/json":
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "malformed JSON") from None
        if not isinstance(parsed, dict):
            raise HTTPException(400, "expected a JSON object with name and password")
        fields = parsed
    elif kind == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=10)
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "malformed form") from None
        fields = {key: values[0] for key, values in form.items()}
    else:
        raise HTTPException(415, "send the login as application/json or a form")
    return fields


def _login_fields(fields: dict[str, Any]) -> dict[str, str]:
    """name, password and (optional) totp."""
    out = {}
    for key in ("name", "password", "totp"):
        value = fields.get(key)
        if value is None and key == "totp":
            continue
        if not isinstance(value, str) or not value or len(value) > _MAX_FIELD:
            raise HTTPException(422, f"{key}: expected a non-empty string")
        out[key] = value
    return out


def _login(ctx: Context, fields: dict[str, str], where: str) -> tuple[accounts.Login, str | None, str | None]:
    cur = ctx.cursor()
    with ctx.books:  # the login's counters and its audit entry
        result = accounts.verify_login(
            cur, fields["name"], fields["password"], where, totp_code=fields.get("totp")
        )
        if not result.ok:
            return result, None, None
        session_id = sessions.create_session(cur, fields["name"], where)
    session = sessions.lookup_session(cur, session_id)
    return result, session_id, session.csrf_token if session else None


def _cross_site(request: Request) -> bool:
    """Whether a browser says the request comes from another site's page. (SameSite keeps the
    session cookie from other sites' requests, but a login has no cookie yet: a page elsewhere
    could sign a visitor in as the page's author, and what the visitor then does is recorded
    as theirs.)"""
    sent = request.headers.get("origin")
    return sent is not None and urlsplit(sent).netloc != request.headers.get("host")


async def login(request: Request) -> Response:
    """Sign in: sets the session cookie and answers the CSRF token that unsafe requests must send."""
    if _cross_site(request):
        raise HTTPException(403, "a login from another site's page is refused")
    body = await _login_body(request)
    if LOGIN_FORM_FIELD in body:
        return await _page_login(request, body)
    fields = _login_fields(body)
    result, session_id, csrf = await run_in_threadpool(_login, context(request), fields, origin(request))
    if result.user is None or session_id is None:
        # Only whether a second factor is needed: the reason (unknown name, locked ...) is the audit's.
        reason = "second factor needed" if result.reason == accounts.TOTP_NEEDED else "login failed"
        return JSONResponse({"error": reason, "status": 401}, status_code=401)
    response = JSONResponse(
        {"user": result.user.name, "role": result.user.role, "csrf_token": csrf, "csrf_header": CSRF_HEADER}
    )
    _set_session_cookie(request, response, session_id)
    return response


def _set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        cookie_name(request),
        session_id,
        max_age=int(sessions.SESSION_MAX_AGE.total_seconds()),
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )


def local_path(target: str | None) -> str:
    """``target`` if it is a path of this site (where a page login goes next), else ``/``: never
    another host (``//evil.example``, ``/\\evil.example``), a scheme or a control character."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target)
        or len(target) > 2000
    ):
        return "/"
    return target


async def _page_login(request: Request, body: dict[str, Any]) -> Response:
    """The sign-in page's form: on success to the page asked for (303), else back to the sign-in
    page saying why (a fixed code in its address, never the text sent). Post, redirect, get: a
    reload never posts the password again."""
    from urllib.parse import urlencode

    next_path = local_path(body.get("next") if isinstance(body.get("next"), str) else None)

    def back(error: str) -> Response:
        response = RedirectResponse("/login?" + urlencode({"error": error, "next": next_path}), 303)
        return response

    sent, kept = body.get(LOGIN_FORM_FIELD), request.cookies.get(LOGIN_FORM_COOKIE)
    if not isinstance(sent, str) or not kept or not secrets.compare_digest(sent, kept):
        return back("expired")  # the form is not the one this browser was given
    if not body.get("totp"):
        body = {k: v for k, v in body.items() if k != "totp"}
    try:
        fields = _login_fields(body)
    except HTTPException:
        return back("missing")
    result, session_id, _ = await run_in_threadpool(_login, context(request), fields, origin(request))
    if result.user is None or session_id is None:
        return back("totp" if result.reason == accounts.TOTP_NEEDED else "failed")
    response = RedirectResponse(next_path, 303)
    _set_session_cookie(request, response, session_id)
    response.delete_cookie(LOGIN_FORM_COOKIE, path="/login")
    return response


def logout(request: Request) -> Response:
    """End the session whose cookie came with the request (audited)."""
    ctx = context(request)
    session_id = request.cookies.get(cookie_name(request))
    if session_id:
        with ctx.books:
            sessions.end_session(ctx.cursor(), session_id, origin(request))
    response = JSONResponse({"signed_out": True})
    response.delete_cookie(cookie_name(request), path="/", secure=secure(request))
    return response
