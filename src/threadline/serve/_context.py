"""What every request of one server shares: the store, its writer, the readers' cursors, and the
lock that keeps the server's small bookkeeping writes from colliding."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from threadline.serve._http import DEFAULT_MAX_BODY
from threadline.serve._writer import Readers, Writer
from threadline.service._common import Actor
from threadline.store import Store

__all__ = ["Context", "Settings"]


@dataclass(frozen=True)
class Settings:
    max_body: int = DEFAULT_MAX_BODY  # bytes of a request body, refused with 413 beyond it
    behind_proxy: bool = False  # a trusted TLS proxy in front: cookies are Secure


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

    def __post_init__(self) -> None:
        self.writer = Writer(self.store.connection)
        self.readers = Readers(self.store.connection)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This request thread's cursor: reads see the last committed state."""
        return self.readers.cursor()

    def audit(
        self,
        actor: Actor,
        action: str,
        object: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """Append one audit entry (on ``con``, default this thread's cursor)."""
        from threadline.service import audit

        with self.books:
            audit.append(con if con is not None else self.cursor(), actor, action, object, detail)

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        """Finish the writer's queued jobs, then close every cursor and the store."""
        self.writer.stop()
        self.readers.close()
        self.store.close()
