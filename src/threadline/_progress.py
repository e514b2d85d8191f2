"""Progress on stderr for long commands: a live line on a terminal, a line every few seconds in logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Call with (records done, bytes read, total bytes); `close` prints the final line."""

    def __init__(self, label: str, *, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self._last = self.started  # short runs stay silent
        self._every = 0.25 if self.live else 5.0
        self._shown = False
        self._state = (0, 0, 0)

    def __call__(self, done: int, read_bytes: int, total_bytes: int) -> None:
        self._state = (done, read_bytes, total_bytes)
        now = time.monotonic()
        if self.quiet or now - self._last < self._every:
            return
        self._last = now
        self._show(final=False)

    def _show(self, *, final: bool) -> None:
        done, read_bytes, total = self._state
        elapsed = max(time.monotonic() - self.started, 1e-9)
        pct = f" {100 * read_bytes / total:5.1f}%" if total and not final else ""
        line = f"{self.label}:{pct} {done:,} records, {done / elapsed:,.0f}/s, {elapsed:,.1f}s"
        if self.live:
            self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """Print the last state if anything was shown (short runs stay silent)."""
        if not self.quiet and self._shown:
            self._show(final=True)
