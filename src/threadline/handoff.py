"""Finding the server that owns a store, and handing it a command of the command line.

While `threadline serve` runs, DuckDB's file lock keeps every other process out of the store. So
a command that reads or writes a store first looks for its server: the server's lock file
(``STORE.server``, owner-only) is held with ``flock`` while it runs and names a Unix socket in a
folder only the store's owner can enter. The command then sends its name and parameters over that
socket; the server runs the very same command on its own connections (a write in its writer's
queue, in order with everything else) and answers with what it printed and its exit status.

This module is light on purpose: every command imports it, and only one that finds a server
imports httpx.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.store import Store

__all__ = [
    "LOCAL_PATH",
    "SECRET",
    "SERVED",
    "Answer",
    "HandoffError",
    "RunningServer",
    "Served",
    "lock_path",
    "running_server",
    "send",
]

LOCAL_PATH = "/cli"  # the one route of the server's Unix socket
_WAIT_TRIES = 100  # a server starting or stopping: tries to reach it, 0.1 s apart


class HandoffError(RuntimeError):
    """A server holds the store but cannot take the command (one line for the command line)."""


@dataclass(frozen=True)
class RunningServer:
    pid: int
    url: str
    socket: Path


@dataclass(frozen=True)
class Answer:
    stdout: str
    stderr: str
    code: int


@dataclass(frozen=True)
class Served:
    """A command running inside the server for the command line: the server's store, the --db
    the command was given (as typed, for its messages), and how its acts are audited."""

    store: Store
    db: Path
    audit: Callable[[str, str | None, dict[str, Any]], None]


# Set while the server runs a command for the command line. It lives here, not in threadline.cli:
# run as `python -m threadline.cli`, that module is loaded twice (as __main__, and by name when
# the server or an admin command imports it), and both copies must see the one state.
SERVED: ContextVar[Served | None] = ContextVar("threadline_served", default=None)

# A secret the command needs (`user add`'s new password), read where the command was typed (the
# terminal or stdin is there, not in the server) and handed over beside its parameters: on the
# owner-only socket, never in the parameters the server logs or audits. Set while the command
# runs with it, in the server or, when the server went away meanwhile, here.
SECRET: ContextVar[str | None] = ContextVar("threadline_secret", default=None)


def lock_path(store_file: Path) -> Path:
    return store_file.with_name(store_file.name + ".server")


def running_server(store_file: Path) -> RunningServer | None:
    """The server that holds ``store_file`` now, or None."""
    try:
        fd = os.open(lock_path(store_file.absolute()), os.O_RDONLY)
    except OSError:  # no lock file (never served), or not ours to read
        return None
    try:
        try:
            # A shared lock is refused only while a server holds the exclusive one. (A server
            # starting in this instant finds the file locked and tries again: see ServerLock.)
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held = os.read(fd, 65536)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    try:
        info = json.loads(held)
        return RunningServer(int(info["pid"]), str(info["url"]), Path(info["socket"]))
    except (ValueError, KeyError, TypeError):
        return None  # a server of an older version, without a socket, or one writing its file now


def send(store_file: Path, payload: dict[str, Any]) -> Answer | None:
    """Hand ``payload`` to the server of ``store_file`` and wait for its answer; None when no
    server holds the store (any more): the command then runs on the file itself."""
    import httpx

    silent: Path | None = None
    for _ in range(_WAIT_TRIES):
        server = running_server(store_file)
        if server is None:
            return None
        silent = server.socket
        transport = httpx.HTTPTransport(uds=str(server.socket))
        try:
            # No timeout: an ingest or a link run takes as long as it takes.
            with httpx.Client(transport=transport, timeout=None) as client:
                response = client.post(f"http://threadline{LOCAL_PATH}", json=payload)
        except (httpx.ConnectError, httpx.RemoteProtocolError):
            time.sleep(0.1)  # starting (not listening yet) or stopping (its queue finishing)
            continue
        if response.status_code != 200:
            try:
                reason = str(response.json()["error"])
            except (ValueError, KeyError, TypeError):
                reason = f"HTTP {response.status_code}"
            raise HandoffError(f"the server of {store_file} refused the command: {reason}")
        body = response.json()
        return Answer(str(body["stdout"]), str(body["stderr"]), int(body["code"]))
    raise HandoffError(
        f"a server holds {store_file} but does not answer on its socket {silent}: "
        "stop it, or try again when it is up"
    )
