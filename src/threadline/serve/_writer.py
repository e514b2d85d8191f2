"""The one writer: a thread that runs every change to the store, one at a time, in order.

A store has one writer connection (DuckDB's, `Store.connection`), and the link and score runs
keep their temporary tables on it; so every change (an analyst's decision or label, a link and
score run) is a job on this thread's queue. Readers do not wait for it: each request thread
reads through its own cursor of the same database (`Readers`), and DuckDB gives every cursor the
last committed state (a link run saves its results in one transaction, a scoring run too, so a
reader sees the networks before a run or after it, never half of it).

DuckDB's threads are the database's, shared by the writer and every reader, and stay as DuckDB
sets them: one thread per query while the writer is idle cost 11–16% less CPU per page on the
100k-ad store, but changing the count while serving (``SET threads`` around each job) left the
server deadlocked in DuckDB 1.5.6 (the setting waits on the scheduler while readers' queries
wait for its workers), and a fixed count of one would slow the writer's link runs.

Relinking after a decision is its own job, and jobs asking for it coalesce: ten decisions made
while a link run works get one run after it, not ten.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import duckdb

from threadline.serve._answers import Changes
from threadline.store._store import StoreError
from threadline.store._tx import ALL, failed_commit, on_commit

__all__ = ["REFUSALS", "Readers", "Writer"]

T = TypeVar("T")
_log = logging.getLogger("threadline.serve")

_STOP = object()
# What an act's functions raise to refuse it (no such ad, already revoked, not yours): answered
# to the caller as a 4xx, not logged as the server's failure.
REFUSALS = (LookupError, ValueError, PermissionError)


class Writer:
    """Runs jobs ``fn(connection)`` on one thread in the order they were submitted."""

    def __init__(self, con: duckdb.DuckDBPyConnection, nice: int = 0) -> None:
        self._con = con
        self.nice = nice
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._relink: Future[Any] | None = None  # a relink job queued and not yet started
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="threadline-writer", daemon=True)
        self.running: str | None = None  # what the writer does now, for the health check
        # What its commits touched (`_answers`): each `transaction` on its connection tells,
        # and a job whose writes are not all told so counts as a change of everything when it
        # ends (and, while it runs, kept answers are given only for a short while: ``untold``).
        self.changes = Changes()
        self.untold = False
        self.broken: str | None = None  # why it refuses every job, after a failed commit
        on_commit(con, self.changes.touch)

    def start(self) -> None:
        self._thread.start()

    def submit(
        self, name: str, fn: Callable[[duckdb.DuckDBPyConnection], T], *, told: bool = False
    ) -> Future[T]:
        """Queue ``fn(connection)``. ``told``: every write it makes is in a `transaction` block
        that says what it touches (an ingest's batches, a link and score run), so its end does
        not count as a change of everything."""
        future: Future[T] = Future()
        self._jobs.put((name, fn, future, told))
        return future

    def submit_relink(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        """Queue a link and score run, unless one is queued already and has not started: that
        one will see this change too."""
        with self._guard:
            if self._relink is not None:
                return self._relink
            future: Future[T] = Future()
            self._relink = future

        def run(con: duckdb.DuckDBPyConnection) -> T:
            with self._guard:
                self._relink = None  # from now on, a new change needs a new run
            return fn(con)

        self._jobs.put(("relink", run, future, True))
        return future

    @property
    def pending(self) -> int:
        return self._jobs.qsize()

    def _run(self) -> None:
        # Readers come first: the writer's thread (its Python work and the DuckDB work it runs
        # itself) and the extraction workers its ingests start run ``nice`` steps lower, so that
        # a long ingest or link run takes the CPU the readers leave. (Linux: niceness is per thread.)
        if self.nice > 0:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            name, fn, future, told = job
            if not future.set_running_or_notify_cancel():
                continue
            self.running = name
            self.untold = not told
            try:
                if self.broken is not None:
                    raise StoreError(self.broken)
                future.set_result(fn(self._con))
            except BaseException as exc:  # handed to whoever waits; the writer goes on
                if not isinstance(exc, REFUSALS):
                    _log.exception("writer job %s failed", name)
                if self.broken is None and failed_commit(exc):
                    # Nothing more is written by this process (`failed_commit`; nor checkpointed:
                    # `transaction`): what was committed before is in the file, whole when it is
                    # opened again.
                    self.broken = (
                        "a commit failed half way (out of memory?): this server writes no more; "
                        "restart it (everything committed before is kept)"
                    )
                    _log.error("writer: %s", self.broken)
                future.set_exception(exc)
            finally:
                if not told:  # before `untold` clears: no reader sees idle and the old count
                    self.changes.touch(ALL)
                self.untold = False
                self.running = None
                self._forget_run_tables(name)

    def _forget_run_tables(self, name: str) -> None:
        """A job's link and score runs leave their step tables on the writer's connection: drop
        them, so that a server running ingests all day holds the store, not the last run."""
        from threadline.engine import drop_run_tables

        try:
            drop_run_tables(self._con)
        except Exception:  # the job's result stands; the tables go with the next job's
            _log.exception("dropping the temporary tables of writer job %s failed", name)

    def stop(self) -> None:
        """Finish the jobs already queued, then end the thread."""
        self._jobs.put(_STOP)
        self._thread.join()
        on_commit(self._con, None)


class Readers:
    """A cursor of the store per request thread: DuckDB cursors are connections of their own to
    the same database, safe to use beside the writer, each seeing the last committed state."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        # Cursors are made from a connection of the readers' own, so that making one never
        # waits on the writer's connection while it runs a long statement.
        self._base = con.cursor()
        self._local = threading.local()
        self._all: list[duckdb.DuckDBPyConnection] = []
        self._guard = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            with self._guard:
                cur = self._base.cursor()
                self._all.append(cur)
            self._local.cursor = cur
        return cur

    def close(self) -> None:
        with self._guard:
            for cur in self._all:
                cur.close()
            self._all.clear()
            self._base.close()
