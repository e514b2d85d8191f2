"""What every request of one server shares: the store, its writer, the readers' cursors, and the
lock that keeps the server's small bookkeeping writes from colliding."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from threadline.serve._answers import Answer, Answers
from threadline.serve._http import DEFAULT_MAX_BODY
from threadline.serve._writer import Readers, Writer
from threadline.service._common import Actor
from threadline.store import Store

__all__ = ["Context", "Settings"]

_log = logging.getLogger("threadline.serve")


@dataclass(frozen=True)
class Settings:
    max_body: int = DEFAULT_MAX_BODY  # bytes of a request body, refused with 413 beyond it
    behind_proxy: bool = False  # a trusted TLS proxy in front: cookies are Secure
    purge_seconds: float = 3600.0  # how often expired sessions are deleted (they are refused anyway)
    writer_nice: int = 10  # how much lower the writer and its ingests' workers run than the readers
    max_push_body: int = 64 * 1024 * 1024  # bytes of a push (POST /api/v1/ads: ads with images)
    push_rate: float = 10.0  # pushes a second per token, on average (a token bucket) ...
    push_burst: float = 20.0  # ... and at once
    link_after: float = 2.0  # seconds pushes must pause before the link and score run that takes them in
    link_within: float = 60.0  # ... and at most this many seconds after the first push not linked yet
    alert_poll: float = 1.0  # seconds between the delivery thread's looks for alerts to send
    alert_retry: float = 5.0  # a failed delivery waits this, doubled at each failure (an hour at most)
    alert_attempts: int = 8  # ... and is given up (marked failed) after this many tries
    workspace_url: str = "http://127.0.0.1:8000"  # the link in deliveries (an admin's setting wins)


ANSWERS_ENV = "THREADLINE_ANSWERS_MB"  # memory for kept answers (`_answers`); 0 keeps none


def _answers_bytes() -> int:
    raw = os.environ.get(ANSWERS_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else 64.0
    except ValueError:
        raise ValueError(f"{ANSWERS_ENV} must be a number of megabytes, not {raw!r}") from None
    return max(0, int(megabytes * 2**20))


@dataclass
class _Pending:
    """An audit entry waiting to be written with others (`Context.audit`)."""

    record: Any
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class Coordinates:
    """Where each place is (`read.place_coordinates`), kept for the server's life: a place's
    coordinates are its gazetteer's, the same in every ad that names it, while reading them
    again scans every place the store's ads name (some 40 ms of a network's page at 100k ads).
    Places not found are asked again next time; at ``limit`` places kept, all are forgotten."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[str, tuple[float, float]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def of(self, cur: duckdb.DuckDBPyConnection, places: Iterable[str]) -> dict[str, tuple[float, float]]:
        from threadline import read

        wanted = set(places)
        with self._lock:
            found = {place: self._known[place] for place in wanted if place in self._known}
        missing = wanted - found.keys()
        if missing:
            read_now = read.place_coordinates(cur, missing)
            found.update(read_now)
            with self._lock:
                if len(self._known) + len(read_now) > self._limit:
                    self._known.clear()
                self._known.update(read_now)
        return found


@dataclass
class Context:
    """One running server's state.

    ``books`` serialises the writes that do not go through the writer: audit entries, a login's
    counters, a session's or token's last use. They are a few rows each and run on the request's
    own cursor, so that a read's audit entry never waits for a link run. They must not run two
    at once: every audit entry moves the one row of the signed head, and DuckDB refuses the
    second of two transactions that change one row. The writer takes ``books`` too when it
    appends the entry of an act.
    """

    store: Store
    settings: Settings = field(default_factory=Settings)
    writer: Writer = field(init=False)
    readers: Readers = field(init=False)
    books: threading.Lock = field(default_factory=threading.Lock)
    answers: Answers = field(default_factory=lambda: Answers(_answers_bytes()))  # until the store changes
    known: Any = None  # tokens and sessions found good lately (`_auth.Known`)
    coordinates: Coordinates = field(default_factory=Coordinates)  # of places, for maps
    _queued: list[_Pending] = field(default_factory=list)  # audit entries waiting for a batch
    _queued_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _sweeper: threading.Thread | None = None
    _deliverer: Any = None  # threadline.watch._deliver.Deliverer, once started

    def __post_init__(self) -> None:
        self.writer = Writer(self.store.connection, nice=self.settings.writer_nice)
        if self.settings.writer_nice > 0:  # the ingests' extraction workers, likewise
            from threadline.ingest._work import NICE_ENV

            os.environ.setdefault(NICE_ENV, str(self.settings.writer_nice))
        self.readers = Readers(self.store.connection)
        from threadline.serve._auth import Known

        self.known = Known()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This request thread's cursor: reads see the last committed state."""
        return self.readers.cursor()

    def kept(
        self, key: Hashable, read: Callable[[duckdb.DuckDBPyConnection, int, bool, float], Answer]
    ) -> tuple[Answer, bool]:
        """The answer kept for ``key`` while nothing it read changed (`Answers.get_or_read`, with
        this server's writer's changes), else ``read(cursor, seen, busy, made)``'s on this
        thread's cursor; True when it was kept."""
        writer = self.writer
        return self.answers.get_or_read(
            key, writer.changes, lambda: writer.untold, lambda *at: read(self.cursor(), *at)
        )

    def audit(
        self,
        actor: Actor,
        action: str,
        object: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """Append one audit entry: on ``con`` when given (inside the caller's work), else with the
        entries other requests are appending at the same moment.

        Group commit: an entry costs a few milliseconds alone (a transaction, the head checked
        and signed), and ``books`` lets one append run at a time, so twenty readers would queue
        behind each other. Each request queues its entry instead; whoever holds ``books`` next
        writes every entry queued so far in one transaction (`audit.append_many`), and each
        request returns once its own entry is written (or fails with the batch's error).
        """
        from threadline.service import audit

        if con is not None:
            with self.books:
                audit.append(con, actor, action, object, detail)
            return
        ticket = _Pending(audit.Record(actor, action, object, detail))
        with self._queued_lock:
            self._queued.append(ticket)
        while not ticket.done.is_set():
            with self.books:
                if ticket.done.is_set():  # written by the batch before
                    break
                with self._queued_lock:
                    batch, self._queued = self._queued, []
                try:
                    audit.append_many(self.cursor(), [t.record for t in batch], path=self.store.path)
                except BaseException as exc:
                    for t in batch:
                        t.error = exc
                        t.done.set()
                else:
                    for t in batch:
                        t.done.set()
        if ticket.error is not None:
            raise ticket.error

    def start(self) -> None:
        self.writer.start()
        self._sweeper = threading.Thread(target=self._sweep, name="threadline-sessions", daemon=True)
        self._sweeper.start()
        from threadline.service import audit
        from threadline.service._common import os_actor
        from threadline.watch._deliver import AuditEntries, Deliverer

        # The server itself delivers: its operating-system user, from the server (not a client).
        deliverer = Actor(os_actor().name, "os-user", "server")

        def audit_deliveries(con: duckdb.DuckDBPyConnection, entries: AuditEntries) -> None:
            # In the writer's job, which holds ``books`` for its whole transaction, as an act does.
            audit.append_many(con, [audit.Record(deliverer, *e) for e in entries], path=self.store.path)

        # Alerts go out from a thread of their own: a webhook that hangs or refuses never holds
        # up the writer (an ingest), which only records each outcome, and audits each attempt.
        self._deliverer = Deliverer(
            self.cursor,
            lambda job: self.writer.submit("record alert deliveries", job, told=True),
            self.settings.workspace_url,
            poll=self.settings.alert_poll,
            retry=self.settings.alert_retry,
            attempts=self.settings.alert_attempts,
            audit=audit_deliveries,
            books=self.books,
        )
        self._deliverer.start()

    def purge_sessions(self) -> int:
        """Delete the sessions that expired or idled out (a few rows; with the books, as logins
        and every request's last-use update write the same table)."""
        from threadline.service import sessions

        with self.books:
            return sessions.purge_expired_sessions(self.cursor())

    def _sweep(self) -> None:
        while not self._stopping.wait(self.settings.purge_seconds):
            try:
                self.purge_sessions()
            except Exception:  # the next sweep tries again; a dead session is refused meanwhile
                _log.exception("purging expired sessions failed")

    def close(self) -> None:
        """Finish the writer's queued jobs, then close every cursor and the store."""
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join()
        if self._deliverer is not None:
            self._deliverer.stop()
        self.writer.stop()
        self.readers.close()
        self.store.close()
