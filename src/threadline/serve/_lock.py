"""The server's claim on a store: a lock file beside it, so that a second server refuses at once.

DuckDB's own file lock already keeps a second process from writing the store, but its refusal
names a PID and nothing else, and it cannot tell a second server from a running `ingest`. The
lock file ``STORE.server`` (owner-only, mode 0600) is held with ``flock`` while the server runs
and says where it listens, so that the refusal can say so in one line, and where its Unix socket
is, so that the command line can hand it its commands (`threadline.handoff`). ``flock`` is
released by the kernel when the process dies, so a crashed server leaves no stale claim behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from threadline.handoff import lock_path

__all__ = ["ServerLock", "ServerRunning", "lock_path"]

_PROBE_TRIES = 50  # a command probing the lock holds it shared for an instant: tries, 10 ms apart


class ServerRunning(RuntimeError):
    """Another server holds the store."""


class ServerLock:
    """``with ServerLock(store, url):`` holds the store's lock file, or raises `ServerRunning`."""

    def __init__(self, store_file: Path, url: str, socket: Path | None = None) -> None:
        self.path = lock_path(store_file)
        self.url = url
        self.socket = socket  # where the command line reaches the server
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(_PROBE_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # An empty file is a command looking for a server (`threadline.handoff`), gone in
                # a moment; a file with an address is a server.
                if os.fstat(fd).st_size or attempt == _PROBE_TRIES - 1:
                    os.close(fd)
                    raise ServerRunning(self._holder()) from None
                time.sleep(0.01)
        os.fchmod(fd, 0o600)  # a file left by an older umask: the address is the owner's business
        os.ftruncate(fd, 0)
        held = {"pid": os.getpid(), "url": self.url}
        if self.socket is not None:
            held["socket"] = str(self.socket)
        os.write(fd, json.dumps(held).encode() + b"\n")
        self._fd = fd

    def _holder(self) -> str:
        try:
            held = json.loads(self.path.read_text(encoding="utf-8"))
            where = f" (pid {int(held['pid'])}, {held['url']})"
        except (OSError, ValueError, KeyError, TypeError):
            where = ""
        return f"a server already runs on this store{where}: one server per store"

    def release(self) -> None:
        if self._fd is None:
            return
        # Emptied, not removed: removing it would let a server starting now lock a new file
        # while a third still waits on the old one.
        os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ServerLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
