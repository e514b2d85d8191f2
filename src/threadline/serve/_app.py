"""The ASGI application: routes, error handlers, and the middleware every response goes through."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from threadline import __version__
from threadline.serve import (
    _admin_pages,
    _api,
    _cases,
    _pages,
    _push,
    _watch,
    _watch_pages,  # noqa: F401 (its pages join `_pages.router` as it loads)
)
from threadline.serve._auth import check_routes, login
from threadline.serve._context import Context
from threadline.serve._http import BodyLimit, SecurityHeaders

__all__ = ["create_app", "wrap"]

_log = logging.getLogger("threadline.serve")


def _error(status: int, reason: str, headers: dict[str, str] | None = None, **more: Any) -> JSONResponse:
    return JSONResponse({"error": reason, "status": status, **more}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = exc.detail if isinstance(exc.detail, str) else "refused"
    if exc.status_code == 404 and reason == "Not Found":
        reason = f"no route {request.url.path}"
    elif exc.status_code == 405:
        reason = f"{request.method} is not allowed on {request.url.path}"
    return _error(exc.status_code, reason, dict(exc.headers) if exc.headers else None)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path")) or "body"


async def _invalid(request: Request, exc: Exception) -> Response:
    """A body or parameter that does not fit: malformed JSON is 400, the rest 422, each problem
    named by where it is (``ads.1``, ``limit``) and what was wrong."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(400, "malformed JSON")
    problems = [f"{_where(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in errors[:20]]
    if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errors):
        problems = ["body: expected a JSON object (Content-Type: application/json)"]
    return _error(422, problems[0] if problems else "invalid request", problems=problems)


async def _crash(request: Request, exc: Exception) -> Response:
    _log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal error (logged by the server)")


def create_app(ctx: Context) -> FastAPI:
    """The API on ``ctx``'s store. Refuses to build if a route names no action (deny by default)."""
    app = FastAPI(
        title="Threadline",
        version=__version__,
        description=(
            "Scores are priorities for human review, never findings. Every route but POST /login and "
            "GET /healthz needs a session cookie (with its CSRF token in X-CSRF-Token for unsafe "
            "methods) or 'Authorization: Bearer TOKEN'."
        ),
        # The description is served at /api/v1/openapi.json to signed-in callers; no docs page
        # (Swagger UI loads its script from a CDN, which the CSP and an offline unit both refuse).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.add_api_route("/login", login, methods=["POST"], summary="Sign in (JSON or form)")
    app.add_api_route("/healthz", _healthz, methods=["GET"], summary="Liveness (open)")
    app.include_router(_api.router)
    app.include_router(_push.router)
    app.include_router(_watch.router)
    _push.install(app, ctx.settings.push_rate, ctx.settings.push_burst)
    app.include_router(_cases.router)
    # The pages: the sign-in page is open; the others are guarded (`_pages.PageRoute`); the
    # stylesheet and script are the package's own files, open to the sign-in page too.
    app.add_api_route("/login", _pages.login_page, methods=["GET"], include_in_schema=False)
    _admin_pages.install()  # its pages are on the pages' router, which comes next
    app.include_router(_pages.router)  # with the watchlist's and the inbox's (`_watch_pages`)
    app.include_router(_cases.pages)
    app.mount("/static", _pages.static_files(), name="static")
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _crash)
    check_routes(app.routes)
    return app


def _healthz(request: Request) -> Response:
    """200 while the server serves and writes; 503 once its writer has stopped after a failed
    commit (it still serves reads, but a supervisor should restart it)."""
    stopped = request.app.state.ctx.writer.broken
    if stopped is not None:
        return JSONResponse({"status": "writer stopped", "detail": stopped}, status_code=503)
    return JSONResponse({"status": "ok"})


def wrap(app: FastAPI, ctx: Context, *, tls: bool = False) -> ASGIApp:
    """The app inside the middleware that must see every response, errors and 413s included."""
    larger = {_push.PATH: ctx.settings.max_push_body}
    larger |= {path: max(ctx.settings.max_body, _pages.MAX_PHOTO_BODY) for path in _pages.PHOTO_PATHS}
    return SecurityHeaders(BodyLimit(app, max_bytes=ctx.settings.max_body, larger=larger), hsts=tls)
