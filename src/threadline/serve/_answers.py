"""Answers of the read routes kept until the store changes, so that twenty analysts opening the
same queue page or network cost one read, not twenty.

An answer is the encoded JSON of one route with one set of parameters (the same for every
caller: what a reader may see does not depend on who reads). It stays valid while nothing it
reads was written: the writer counts the jobs it has finished and the transactions it has committed
(`Writer.generation`), and an answer made under an earlier count is never given again, so an
analyst's own decision or label shows on the next read. An ingest commits batch after batch within
its one job, changing stored ads and their words but nothing linked or scored until its link run:
those commits have their own count (`Writer.ads_generation`), which only answers reading stored
ads (an ad, a search) are made stale by; the queue and network views are not. While a job runs an
answer is also given for at most ``busy_seconds`` after it was made, for a write that does not go
through a `transaction` block.

Each read is audited whether its answer was kept or not (the routes do it, not this cache).
Kept answers are bounded in total bytes, the least recently used dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "Answers"]


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes  # the encoded JSON
    meta: Any  # what the route needs besides the body (the object its audit entry names)
    generation: tuple[int, int]  # the writer's counts when the read began (`Writer.generation`)
    made: float  # monotonic time the read began
    busy: bool  # a job was running when the read began


class Answers:
    """A bounded map from a route's key to its last `Answer`."""

    def __init__(self, max_bytes: int = 64 * 2**20, busy_seconds: float = 5.0) -> None:
        self.max_bytes, self.busy_seconds = max_bytes, busy_seconds
        self._kept: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, generation: tuple[int, int], busy: bool) -> Answer | None:
        """The answer kept for ``key`` if it still holds: made at this ``generation``, and, when
        a job runs now or ran when it was made, not older than ``busy_seconds``."""
        now = time.monotonic()
        with self._lock:
            answer = self._kept.get(key)
            fresh = (
                answer is not None
                and answer.generation == generation
                and (not (busy or answer.busy) or now - answer.made < self.busy_seconds)
            )
            if not fresh:
                self.misses += 1
                return None
            self._kept.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body)
        if size > self.max_bytes // 16:  # one huge answer must not push out everything else
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._kept[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._kept)
