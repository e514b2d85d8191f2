"""`threadline serve`: claim the store, open it, start the writer, serve until stopped.

Two uvicorn servers run in one event loop: the API on the TCP address, and the command line's
app (`_local`) on a Unix socket only the store's owner can reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from threadline import _capture
from threadline.serve._app import create_app, wrap
from threadline.serve._context import Context, Settings
from threadline.serve._local import LocalSocket, create_local_app
from threadline.serve._lock import ServerLock, ServerRunning

__all__ = ["ServeError", "is_loopback", "run"]

_log = logging.getLogger("threadline.serve")


class ServeError(RuntimeError):
    """The server cannot start (one line for the command line)."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(
    db: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
    trusted_proxy: str | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    log_level: str = "info",
) -> None:
    """Serve the store ``db`` on ``host:port`` until interrupted (SIGINT / SIGTERM).

    Off loopback, passwords and session cookies would cross the network in clear: a host other
    than loopback needs TLS (``certfile``/``keyfile``) or a TLS proxy in front (``trusted_proxy``,
    whose X-Forwarded-For/-Proto headers alone are believed).
    """
    import uvicorn

    from threadline.service import sessions
    from threadline.store import Store, StoreBusyError

    tls = certfile is not None
    if (certfile is None) != (keyfile is None):
        raise ServeError("TLS needs both --certfile and --keyfile")
    if not is_loopback(host) and not tls and trusted_proxy is None:
        raise ServeError(
            f"{host} is not a loopback address: serve over TLS (--certfile, --keyfile) or behind a "
            "TLS proxy (--trusted-proxy ADDRESS), or bind to 127.0.0.1"
        )
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    store_file = db.absolute()
    local = LocalSocket()
    lock = ServerLock(store_file, url, local.path)
    try:
        lock.acquire()
    except ServerRunning as exc:
        local.close()
        raise ServeError(f"{db}: {exc}") from None
    try:
        try:
            store = Store.open(store_file)
        except StoreBusyError:
            raise ServeError(
                f"{db} is open in another process (a command such as ingest or link is writing it): "
                "serve when it is done"
            ) from None
        settings = settings or Settings()
        if trusted_proxy is not None:
            settings = dataclasses.replace(settings, behind_proxy=True)
        if settings.workspace_url == Settings.workspace_url:  # the default: this server's address
            settings = dataclasses.replace(settings, workspace_url=url)
        ctx = Context(store, settings)
        try:
            sessions.purge_expired_sessions(store.connection)
            app = create_app(ctx)
            ctx.start()
            from threadline.serve import _push

            _push.prepare(app, ctx)  # crawlers' first pushes find their extraction ready
            config = uvicorn.Config(
                wrap(app, ctx, tls=tls),
                host=host,
                port=port,
                log_level=log_level,
                # No access log: its lines would hold every search (phone numbers, names) and
                # every ad asked for, in a file nobody signs; the audit records them instead.
                access_log=False,
                proxy_headers=trusted_proxy is not None,
                forwarded_allow_ips=trusted_proxy or "",
                ssl_certfile=str(certfile) if certfile else None,
                ssl_keyfile=str(keyfile) if keyfile else None,
                server_header=False,
                date_header=True,
                timeout_graceful_shutdown=30,
            )
            server = uvicorn.Server(config)
            local_server = _local_server(
                uvicorn.Config(
                    create_local_app(ctx),
                    log_level=log_level,
                    access_log=False,
                    lifespan="off",
                    server_header=False,
                    timeout_graceful_shutdown=30,
                )
            )
            _check_port(host, port)
            _capture.install()  # what a command run for the command line prints goes back to it
            _serve_until_stopped(server, local_server, local)
        finally:
            ctx.close()
    finally:
        lock.release()
        local.close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve_until_stopped(server: Any, local_server: Any, local: LocalSocket) -> None:
    """Run uvicorn until SIGINT or SIGTERM. It shuts down gracefully on either, then raises the
    signal again with the handler it found: ours, so that SIGTERM too ends here, and the writer's
    queue is finished and the store closed, instead of killing the process on the spot.

    The command line's server on the Unix socket runs beside it in the same loop and stops when
    it stops (it does not watch the signals itself: only one server may)."""

    async def both() -> None:
        beside = asyncio.create_task(local_server.serve(sockets=[local.socket]))
        try:
            await server.serve()
        finally:
            local_server.should_exit = True
            await beside

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        asyncio.run(both())
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _local_server(config: Any) -> Any:
    """A uvicorn server that leaves the signals to the API's server: only one may watch them."""
    import uvicorn

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Quiet(config)


def _check_port(host: str, port: int) -> None:
    """Refuse a port in use with one line (uvicorn logs a traceback-like error and exits)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
