"""Answers of the read routes kept until what they read changes, so that twenty analysts opening
the same queue page or network cost one read, not twenty.

An answer is the encoded JSON of one route with one set of parameters, for one role (what a
reader may see could depend on it: an answer is given only to callers of the role it was read
for). With it are kept the *tags* of what it read (`threadline.store._tx.Touches`): ``"ads"``
for ads as stored, ``"links"`` for anything linking or scoring saved, ``"net:N…"`` for what they
saved for one network, ``"images"`` for which file the store shows for an image.

The writer tells what each of its commits touched (`Changes`, fed by `store._tx.on_commit`,
just before the commit and again just after): an ingest's batch touches ``"ads"``; a link run
``"links"`` and the networks it clustered again (and those whose hubs' counts moved); a scoring
run ``"links"`` and the networks it scored again; anything else (an analyst's act, a fit, a
hash list, a full link run) touches everything. An answer read before a commit that touched one
of its tags is never given again; so a network's view outlives link runs that did not touch it,
and an analyst's own decision or label shows on the next read.

A job whose writes are not all told so (`Writer.submit` without ``told``: a command of the
command line, a test's raw SQL) counts as touching everything when it ends, and while it runs an
answer is given for at most ``busy_seconds`` after it was read.

Reads of one key at once are read once (the others wait for that read, then check it as any kept
answer). Each read is audited whether its answer was kept or not (the routes do it, not this
cache). Kept answers are bounded in total bytes, the least recently used dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from threadline.store._tx import ALL, Touches

__all__ = ["Answer", "Answers", "Changes"]


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes  # the encoded JSON (a page's kept reads: empty, the values in ``meta``)
    meta: Any  # what the route needs besides the body (the object its audit entry names)
    seen: int  # the writer's count of changes when the read began (`Changes.count`)
    tags: frozenset[str]  # what it read (see above)
    made: float  # monotonic time the read began
    busy: bool  # a job whose writes are not told was running when the read began
    size: int | None = None  # bytes it holds, counted against the bound (None: the body's length)

    @property
    def weight(self) -> int:
        return len(self.body) if self.size is None else self.size


class Changes:
    """What the writer's commits touched, in order: a count of the changes told so far, and for
    each tag the count at which it was last touched (`ALL`: every tag)."""

    MAX_TAGS = 200_000  # tags remembered; past that they are forgotten as one change of everything

    def __init__(self) -> None:
        self.count = 0
        self._all = 0  # the count at which everything was last touched
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def touch(self, touches: Touches) -> None:
        with self._lock:
            self.count += 1
            if touches == ALL or len(self._last) + len(touches) > self.MAX_TAGS:
                self._all = self.count
                self._last = {}
                return
            for tag in touches:
                self._last[tag] = self.count

    def holds(self, seen: int, tags: Iterable[str]) -> bool:
        """Whether nothing that ``tags`` name was touched after the count ``seen``."""
        with self._lock:  # not half of a change of everything
            if self._all > seen:
                return False
            last = self._last
            return all(last.get(tag, 0) <= seen for tag in tags)


class Answers:
    """A bounded map from a route's key to its last `Answer`."""

    def __init__(self, max_bytes: int = 64 * 2**20, busy_seconds: float = 5.0) -> None:
        self.max_bytes, self.busy_seconds = max_bytes, busy_seconds
        self._kept: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._reading: dict[Hashable, threading.Event] = {}  # keys being read now
        self.hits = self.misses = 0

    def get(self, key: Hashable, changes: Changes, busy: bool) -> Answer | None:
        """The answer kept for ``key`` if it still holds: nothing it read was touched since it
        was read, and, when a job with untold writes runs now or ran when it was read, it is not
        older than ``busy_seconds``."""
        now = time.monotonic()
        with self._lock:
            answer = self._kept.get(key)
            fresh = (
                answer is not None
                and changes.holds(answer.seen, answer.tags)
                and (not (busy or answer.busy) or now - answer.made < self.busy_seconds)
            )
            if not fresh:
                self.misses += 1
                return None
            self._kept.move_to_end(key)
            self.hits += 1
            return answer

    def get_or_read(
        self,
        key: Hashable,
        changes: Changes,
        busy: Callable[[], bool],
        read: Callable[[int, bool, float], Answer],
    ) -> tuple[Answer, bool]:
        """The kept answer for ``key``, else ``read(seen, busy, made)``'s (kept for the next
        caller); True when it was kept. While one thread reads a key, others asking for it wait
        for that read and take its answer if it holds for them too."""
        while True:
            answer = self.get(key, changes, busy())
            if answer is not None:
                return answer, True
            with self._lock:
                reading = self._reading.get(key)
                if reading is None:
                    reading = self._reading[key] = threading.Event()
                    break
            reading.wait(timeout=60)  # then look again: kept by that read, or read it here
        try:
            # The count before reading: a commit told after this makes the answer stale.
            seen, running, made = changes.count, busy(), time.monotonic()
            answer = read(seen, running, made)
            self.put(key, answer)
            return answer, False
        finally:
            with self._lock:
                self._reading.pop(key, None)
            reading.set()

    def put(self, key: Hashable, answer: Answer) -> None:
        size = answer.weight
        if size > self.max_bytes // 16:  # one huge answer must not push out everything else
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._bytes -= old.weight
            self._kept[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= dropped.weight

    def __len__(self) -> int:
        return len(self._kept)
