"""One transaction on a DuckDB connection, as a context manager."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import duckdb

__all__ = ["Touches", "on_commit", "transaction"]

# What a transaction may change, for those who keep answers (`serve._answers`): "ads" (an
# ingest's batch: ads, versions, extractions, quarantine; nothing linked or scored), or "all".
Touches = Literal["ads", "all"]

# Connections (by id) inside a `transaction` block now. (A second BEGIN cannot be tried and
# caught: DuckDB aborts the open transaction when it fails.)
_open: set[int] = set()
# What to call after a connection's transaction commits (a server counts its writer's commits).
_after_commit: dict[int, Callable[[Touches], None]] = {}


def on_commit(con: duckdb.DuckDBPyConnection, fn: Callable[[Touches], None] | None) -> None:
    """Call ``fn(touches)`` after every `transaction` of ``con`` commits (None: no more)."""
    if fn is None:
        _after_commit.pop(id(con), None)
    else:
        _after_commit[id(con)] = fn


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, touches: Touches = "all") -> Iterator[None]:
    """Run the block in one transaction: committed if it ends, rolled back if it raises (or is
    interrupted), so a failed step leaves the store as it was. ``touches`` says what it may
    change (`Touches`), told to the `on_commit` hook.

    Inside a `transaction` block of the same connection, the block joins it: the outer commit
    stores both or neither (an analyst's act and its audit entry), and an error raised here
    reaches the outer block, which rolls everything back (what the outer block said it touches
    holds for both)."""
    if id(con) in _open:
        yield  # the caller's transaction: theirs to commit or roll back
        return
    con.execute("BEGIN TRANSACTION")
    _open.add(id(con))
    try:
        yield
    except BaseException:
        _open.discard(id(con))
        con.execute("ROLLBACK")
        raise
    _open.discard(id(con))
    con.execute("COMMIT")
    hook = _after_commit.get(id(con))
    if hook is not None:
        hook(touches)
