"""One check for hostile input, shared by every extractor's tests: fast, and linear in its size.

Catastrophic regex backtracking takes minutes on a megabyte, and a quadratic stage takes four
times as long on twice the text; both fail here. The bounds are loose on purpose: the check must
not fail on a loaded CI machine, and speed itself is measured in bench/, not in tests.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

__all__ = ["assert_linear"]


def _best_time(run: Callable[[str], object], text: str, tries: int = 3) -> float:
    gc.collect()
    gc.disable()  # other tests' garbage must not land in the measurement
    try:
        best = float("inf")
        for i in range(tries):
            fresh = text + f" {i}"  # a new string each time: no cache may make a run free
            t0 = time.perf_counter()
            run(fresh)
            best = min(best, time.perf_counter() - t0)
        return best
    finally:
        gc.enable()


def assert_linear(run: Callable[[str], object], text: str) -> None:
    """``run(text)`` finishes in seconds, and twice the text costs about twice the time."""
    t_half = _best_time(run, text[: len(text) // 2])
    t_full = _best_time(run, text)
    assert t_full < 5.0, t_full
    assert t_full < 3.0 * t_half + 0.25, (t_half, t_full)
