"""One transaction on a DuckDB connection, as a context manager."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

import duckdb

__all__ = [
    "ALL",
    "Touches",
    "ad_tags",
    "failed_commit",
    "listened",
    "network_tags",
    "now_and_after_commit",
    "on_commit",
    "term_tags",
    "touched",
    "transaction",
]

# What a transaction may change, for those who keep answers (`serve._answers`): `ALL`, or a set
# of tags naming what it changed, so that an answer that read none of it stays good:
#
# * ``"ads"``: ads as stored (versions, extractions, words, images, sightings, quarantine): an
#   ingest's batch, which links and scores nothing; with it, ``"ad:…"`` (`ad_tags`) for each ad
#   the batch stored or saw, and ``"term:…"`` (`term_tags`) for each identifier it indexed
#   (``phone:+1…``, ``name:mia``: `threadline.store.text_index`);
# * ``"images"``: ads' images (which paths the store shows for an image);
# * ``"links"``: what a link or scoring run saved, somewhere (the queue's order, a search's hits);
# * ``"net:N00000042"``: what linking and scoring saved for that network (its ads' links, its
#   evidence, score, parts, summaries, movement; its persons'; its hubs' counts);
# * nothing at all (an audit entry, which no kept answer reads).
ALL: Literal["all"] = "all"
Touches = frozenset[str] | Literal["all"]

# Connections (by id) inside a `transaction` block now, with what the block touches so far.
# (A second BEGIN cannot be tried and caught: DuckDB aborts the open transaction when it fails.)
_open: dict[int, set[str] | None] = {}  # None: everything
# What to call before and after a connection's transaction commits (a server counts its
# writer's commits): before, so that no answer read earlier is given once the commit is seen;
# after, so that none read while it committed is kept.
_after_commit: dict[int, Callable[[Touches], None]] = {}


def on_commit(con: duckdb.DuckDBPyConnection, fn: Callable[[Touches], None] | None) -> None:
    """Call ``fn(touches)`` just before and just after every `transaction` of ``con`` commits
    (None: no more)."""
    if fn is None:
        _after_commit.pop(id(con), None)
    else:
        _after_commit[id(con)] = fn


# What to call once more when a connection's open transaction ends (`now_and_after_commit`).
_then: dict[int, list[Callable[[], None]]] = {}


def now_and_after_commit(con: duckdb.DuckDBPyConnection, fn: Callable[[], None]) -> None:
    """Call ``fn()`` now and, inside a `transaction` block of ``con``, again once its outermost
    transaction has committed (or rolled back): for a cache of what the block changes, which
    must not keep what a reader saw before the commit (a revoked token, a disabled user)."""
    fn()
    if id(con) in _open:
        _then.setdefault(id(con), []).append(fn)


def _ended(con: duckdb.DuckDBPyConnection) -> None:
    for fn in _then.pop(id(con), ()):
        fn()


def ad_tags(keys: Iterable[tuple[str, str]]) -> list[str]:
    """The tags of ads as stored, one per ``(source, id)`` (its versions, extractions, sightings)."""
    return [f"ad:{len(source)}:{source}:{ad_id}" for source, ad_id in keys]


def term_tags(terms: Iterable[str]) -> list[str]:
    """The tags of terms of the words index (`threadline.store.text_index`): who carries them."""
    return [f"term:{term}" for term in terms]


def network_tags(networks: Iterable[str]) -> list[str]:
    """The tags of what linking and scoring saved for ``networks``."""
    return [f"net:{n}" for n in networks]


def listened(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether anyone is told what ``con``'s transactions touch (`on_commit`): a caller may skip
    working out tags nobody reads (a command-line run, with no server keeping answers)."""
    return id(con) in _after_commit


def touched(con: duckdb.DuckDBPyConnection, *tags: str) -> None:
    """Inside a `transaction` block of ``con``: it touches ``tags`` too (`ALL`: everything).
    Outside one, nothing to say (there is no transaction to tell about)."""
    if id(con) not in _open:
        return
    now = _open[id(con)]
    if now is None:  # everything already
        return
    if ALL in tags:
        _open[id(con)] = None
    else:
        now.update(tags)


def _tell(con: duckdb.DuckDBPyConnection, touches: set[str] | None) -> None:
    hook = _after_commit.get(id(con))
    if hook is not None and touches != set():  # a block that touches nothing read is not told
        hook(ALL if touches is None else frozenset(touches))


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, touches: Iterable[str] | Literal["all"] = ALL
) -> Iterator[None]:
    """Run the block in one transaction: committed if it ends, rolled back if it raises (or is
    interrupted), so a failed step leaves the store as it was. ``touches`` says what it may
    change (`Touches`: `ALL`, or tags such as ``("ads",)``; a block can add to them with
    `touched`), told to the `on_commit` hook.

    Inside a `transaction` block of the same connection, the block joins it: the outer commit
    stores both or neither (an analyst's act and its audit entry), and an error raised here
    reaches the outer block, which rolls everything back. What the inner block says it touches
    is added to the outer block's."""
    if id(con) in _open:
        touched(con, *([ALL] if touches == ALL else touches))
        yield  # the caller's transaction: theirs to commit or roll back
        return
    con.execute("BEGIN TRANSACTION")
    _open[id(con)] = None if touches == ALL else set(touches)
    try:
        yield
    except BaseException:
        _open.pop(id(con), None)
        try:
            con.execute("ROLLBACK")
        finally:
            _ended(con)
        raise
    said = _open.pop(id(con), None)
    _tell(con, said)  # before: answers read until now may not be given once this is seen
    try:
        con.execute("COMMIT")
    except duckdb.TransactionException as exc:
        if failed_commit(exc):  # nothing this connection holds is written over the file
            with contextlib.suppress(duckdb.Error):
                con.execute("PRAGMA disable_checkpoint_on_shutdown")
        raise
    finally:
        _ended(con)
    _tell(con, said)  # after: answers read while it committed are not kept


def failed_commit(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised from, a COMMIT that DuckDB could not finish (out of
    memory while appending the transaction to the tables and their indexes).

    DuckDB 1.5's rollback of such a commit leaves the transaction's keys in the tables' indexes:
    every later write of those rows is refused as a duplicate, and a checkpoint would write the
    broken indexes into the file. So `transaction` turns off the connection's checkpoint on close,
    and its caller must not write on it again: the file opened again replays what was committed
    and is whole."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, duckdb.TransactionException) and "Failed to commit" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
