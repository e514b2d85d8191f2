"""What every response shares: security headers, a cap on request bodies, errors as JSON.

Set here once, as plain ASGI middleware, so that no route (nor an error page, nor a 413 sent
before any route ran) can forget them.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "DEFAULT_MAX_BODY", "PAGE_CSP", "BodyLimit", "SecurityHeaders", "error_body"]

DEFAULT_MAX_BODY = 1024 * 1024  # decisions and labels are a few hundred bytes

# The API serves JSON only: nothing in a response may load, run or frame anything.
CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The pages (`_pages`): their own scripts, styles and images only, nothing inline (a `<script>` in
# an ad's text could not run even if it escaped the templates), forms to this site only.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),  # ad text and names must not sit in shared caches
]


# A page's own requests carry its origin (a page with no-referrer would make the browser send
# ``Origin: null`` with its forms, and the sign-in form would be refused as cross-site); nothing
# goes to other sites (an ad's source link says rel="noreferrer" as well).
_PAGE = [(b"content-security-policy", PAGE_CSP.encode()), (b"referrer-policy", b"same-origin")]
_DATA = [(b"content-security-policy", CSP.encode()), (b"referrer-policy", b"no-referrer")]


def error_body(status: int, reason: str, **more: Any) -> bytes:
    """The JSON of every error: what went wrong in one sentence, and the status again."""
    return json.dumps({"error": reason, "status": status, **more}, ensure_ascii=False).encode()


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*HEADERS]
        if hsts:  # only over TLS: a browser that saw it would refuse plain HTTP afterwards
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers} | {b"content-security-policy", b"referrer-policy"}
                sent = message.get("headers", [])
                kind = next((v for k, v in sent if k.lower() == b"content-type"), b"")
                kept = [(k, v) for k, v in sent if k.lower() not in names]
                message["headers"] = [
                    *kept,
                    *self.headers,
                    *(_PAGE if kind.startswith(b"text/html") else _DATA),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(HTTPException):
    """Raised from ``receive``: an HTTP error, so that the app's body parsing passes it on and
    its error handler answers 413 (a plain exception would become a 500 there)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over {max_bytes:,} bytes")


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413: at once when its Content-Length says
    so, else as soon as the bytes received pass the limit (a chunked body), never reading it
    whole first."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # paths that take larger bodies (a crawler's push)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send_error(send, 400, "the Content-Length header is not a number")
                return
            if declared > limit:
                await _send_error(send, 413, f"the request body is over {limit:,} bytes")
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, f"the request body is over {limit:,} bytes")


async def _send_error(send: Send, status: int, reason: str) -> None:
    body = error_body(status, reason)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
