"""One check for hostile input, shared by every extractor's tests: the cost is linear in the size.

Catastrophic regex backtracking takes minutes on a megabyte, and a quadratic stage takes sixteen
times as long on four times the text; both fail here. Nothing is compared with a number of seconds:
a loaded CI machine makes every run slower, but not the full text slower than its quarter (speed
itself is measured in bench/, not in tests). Times are this process's CPU time, which other
processes do not add to (wall time does: a short run may fit between two of theirs, a long one
never does), each size the best of several tries.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

__all__ = ["assert_drawn_linear", "assert_linear", "best_time", "best_time_of"]

# Four times the text must cost less than this many times as much. Linear work costs 4 in theory
# but up to 8 in practice: in a long test run (a fragmented heap, a megabyte past the CPU's caches)
# the lexicon matcher's full text cost 6.7-8.2 times its quarter, though 4-5 times alone. Quadratic
# work costs 16, catastrophic backtracking far more.
_FACTOR = 10.0
# A machine busy with other work makes a short run cost more CPU time now and then (caches, shared
# cores): the measurement is repeated up to this many times, and one ratio under the bound passes.
# Work that really grows faster than the text fails every attempt.
_ATTEMPTS = 3


def best_time_of(run: Callable[[str], object], texts: list[str]) -> float:
    """The shortest run of ``run`` on each of ``texts``, in seconds."""
    gc.collect()
    gc.disable()  # other tests' garbage must not land in the measurement
    try:
        best = float("inf")
        for text in texts:
            t0 = time.process_time()
            run(text)
            best = min(best, time.process_time() - t0)
        return best
    finally:
        gc.enable()


def best_time(run: Callable[[str], object], text: str, tries: int = 3) -> float:
    """The shortest of ``tries`` runs of ``run`` on ``text``, in seconds."""
    # A new string each time: no cache keyed by the whole text may make a run free.
    return best_time_of(run, [text + f" {i}" for i in range(tries)])


def assert_linear(run: Callable[[str], object], text: str) -> None:
    """Four times the text costs about four times the time: ``run(text)`` against its first quarter.

    The quarter is timed first, so the caches it fills can only make the full run cheaper.
    """
    ratios = []
    for _ in range(_ATTEMPTS):
        t_quarter = best_time(run, text[: len(text) // 4], tries=5)
        t_full = best_time(run, text)
        ratios.append((t_quarter, t_full))
        if t_full < _FACTOR * t_quarter:
            return
    raise AssertionError(f"four times the text cost more than {_FACTOR} times as much: {ratios}")


def assert_drawn_linear(run: Callable[[str], object], draw: Callable[[int, int], str], size: int) -> None:
    """`assert_linear` for random text: every try runs on a new text, ``draw(length, try)``.

    With the same random text in every try, the second try finds in the extractors' caches (a few
    thousand entries) every value of a short text but not of a long one, and the ratio measures
    the caches.
    """
    ratios = []
    for attempt in range(_ATTEMPTS):
        t_quarter = best_time_of(run, [draw(size // 4, 10 * attempt + i) for i in range(5)])
        t_full = best_time_of(run, [draw(size, 10 * attempt + i) for i in range(3)])
        ratios.append((t_quarter, t_full))
        if t_full < _FACTOR * t_quarter:
            return
    raise AssertionError(f"four times the text cost more than {_FACTOR} times as much: {ratios}")
