"""What one thread prints, caught: for commands of the command line that a server runs for it.

A server runs a command handed over by `threadline.handoff` on one of its threads while other
threads serve other requests, so swapping ``sys.stdout`` for the command (as click's test runner
does) would catch what the others print too. `install` puts a stream in front of ``sys.stdout``
and ``sys.stderr`` once that writes to the real one, except on a thread inside `capture`, whose
writes go to that thread's buffers.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["capture", "install"]


class _Routed:
    """A text stream that writes to this thread's buffer while it captures, else to ``real``."""

    def __init__(self, real: TextIO, local: threading.local, which: str) -> None:
        self._real = real
        self._local = local
        self._which = which

    def _target(self) -> TextIO:
        buffer: TextIO | None = getattr(self._local, self._which, None)
        return buffer if buffer is not None else self._real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    @property
    def encoding(self) -> str:
        return "utf-8"

    @property
    def errors(self) -> str:
        return "strict"

    def fileno(self) -> int:
        return self._real.fileno()


_LOCAL = threading.local()


def install() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` (once per process)."""
    if not isinstance(sys.stdout, _Routed):
        sys.stdout = _Routed(sys.stdout, _LOCAL, "stdout")  # type: ignore[assignment]
    if not isinstance(sys.stderr, _Routed):
        sys.stderr = _Routed(sys.stderr, _LOCAL, "stderr")  # type: ignore[assignment]


@contextmanager
def capture() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """``with capture() as (out, err):`` what this thread prints in the block (after `install`)."""
    out, err = io.StringIO(), io.StringIO()
    _LOCAL.stdout, _LOCAL.stderr = out, err
    try:
        yield out, err
    finally:
        _LOCAL.stdout = _LOCAL.stderr = None
