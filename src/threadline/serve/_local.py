"""The server's Unix socket: where the command line hands a running server its commands.

``threadline ingest FILE --db STORE`` and the other commands that open a store cannot open it
while the server holds it; they find the server (`threadline.handoff`) and send their name and
parameters here instead. The server runs the same command (`threadline.cli.run_served`) on its own
connections: a command that writes as a job of the writer, in order with every other change; one
that reads on a reader's cursor. The answer is what the command printed and its exit status, so
the command line prints exactly what it prints without a server.

Who may connect: the socket is made in a fresh folder that only the server's OS user may enter
(mode 0700, the socket itself 0600), so the caller is that user, the store's owner, or root. The
audit names that user as the actor, with the origin ``cli``, as it does for the admin commands.

This app is served by a uvicorn server of its own on that socket only, never on the TCP port; it
also refuses any request whose scope says it came over TCP.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
from fastapi.concurrency import run_in_threadpool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from threadline.handoff import LOCAL_PATH
from threadline.serve._context import Context
from threadline.service._common import os_actor
from threadline.store import Store

__all__ = ["LocalSocket", "create_local_app"]

_log = logging.getLogger("threadline.serve")


class LocalSocket:
    """A listening Unix socket in a folder of its own, only this OS user's; `close` removes both."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="threadline-"))  # mode 0700
        self.path = self.folder / "cli.sock"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.bind(str(self.path))
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        self.socket.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _over_tcp(scope: Mapping[str, Any]) -> bool:
    """Whether a request came over a network socket: uvicorn gives (host, port) for TCP, and
    (path, None) for a Unix socket."""
    server = scope.get("server")
    return bool(scope.get("client")) or (server is not None and server[1] is not None)


def create_local_app(ctx: Context) -> Starlette:
    """The app of the socket: POST /cli {"command": [...], "params": {...}, "color": bool} and, for
    a command that reads a new password where it is typed, "secret"."""
    # Only this OS user can reach the socket (see above): the actor of every act through it.
    actor = os_actor()

    async def run_command(request: Request) -> JSONResponse:
        from threadline.cli import CommandRefused, run_served, served_kind, served_told

        if _over_tcp(request.scope):
            return JSONResponse({"error": "not found"}, status_code=404)
        try:
            body = await request.json()
            names = [str(n) for n in body["command"]]
            params = dict(body["params"])
            color = body.get("color")
            secret = body.get("secret")  # a new password: never logged or audited
            if secret is not None and not isinstance(secret, str):
                raise TypeError("secret: not a string")
            kind = served_kind(names)
        except (ValueError, KeyError, TypeError, CommandRefused) as exc:
            return JSONResponse({"error": f"not a command the server runs: {exc}"}, status_code=400)

        def run(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
            def audit(action: str, obj: str | None, detail: dict[str, Any]) -> None:
                ctx.audit(actor, action, obj, detail, con=con)

            store = Store(con, ctx.store.path, read_only=kind == "read")
            try:
                answer = run_served(names, params, color, store=store, audit=audit, secret=secret)
            except Exception as exc:  # what the command line would show as a traceback
                _log.exception("command %s failed in the server", " ".join(names))
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                return {"stdout": "", "stderr": f"threadline: {reason} (logged by the server)\n", "code": 1}
            return {"stdout": answer.stdout, "stderr": answer.stderr, "code": answer.code}

        def run_admin(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
            # An admin command appends its own audit entries in its transaction: it must not run
            # beside another append (every append moves the signed head's one row).
            with ctx.books:
                return run(con)

        if kind in ("write", "admin"):
            job = run_admin if kind == "admin" else run
            told = kind == "write" and served_told(names)
            result = await asyncio.wrap_future(ctx.writer.submit(f"cli {' '.join(names)}", job, told=told))
        else:
            result = await run_in_threadpool(lambda: run(ctx.cursor()))
        return JSONResponse(result)

    return Starlette(routes=[Route(LOCAL_PATH, run_command, methods=["POST"])])
