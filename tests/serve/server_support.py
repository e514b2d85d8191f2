"""What the server tests share: the command line in a subprocess, a free loopback port, and a
real server started on a store and polled until it answers (a bounded number of times; never a
clock in an assertion)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def threadline(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``threadline ARGS`` in a subprocess, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, **kw
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(db: Path, port: int, env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[str]:
    """`threadline serve` on ``db`` and ``port``; its log goes to the file ``log`` (a pipe nobody
    reads would fill and stop the server mid-test)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "threadline.cli", "serve", "--db", str(db), "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )


def wait_until_up(proc: subprocess.Popen[str], url: str, log: Path) -> None:
    """Poll ``url``/healthz until the server answers; fail with its log if it stops or never does."""
    for _ in range(2000):
        if proc.poll() is not None:
            raise AssertionError(f"the server stopped (exit {proc.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("the server never answered /healthz")


@contextmanager
def serving(db: Path, env: dict[str, str], log: Path, *extra: str) -> Iterator[str]:
    """A server on ``db`` for the block (its URL), stopped as Ctrl-C stops it; then the audit
    chain everything in the block appended, from however many threads, must verify."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(db, port, env, log, *extra)
    try:
        wait_until_up(proc, url, log)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    verified = threadline("audit", "verify", "--db", str(db), env=env, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
