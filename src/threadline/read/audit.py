"""The audit log as the workspace's audit page reads it: newest first, filtered by who and what,
a page at a time (`threadline.service.audit` appends, verifies and exports it in chain order)."""

from __future__ import annotations

import json

import duckdb

from threadline.service.audit import Entry

__all__ = ["audit_actions", "audit_entries"]


def audit_entries(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[Entry]:
    """Entries newest first (by ``seq``), those before ``before_seq`` when given (the next page
    starts before the last one shown), only ``actor``'s and only ``action`` when given."""
    where: list[str] = []
    params: list[object] = []
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("action = ?")
        params.append(action)
    if before_seq is not None:
        where.append("seq < ?")
        params.append(before_seq)
    rows = con.execute(
        "SELECT seq, logged_at, actor, actor_kind, origin, action, object, CAST(detail AS VARCHAR),"
        " prev_hash, hash FROM audit_log"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        Entry(seq, at, who, kind, origin, what, obj, json.loads(detail) if detail else {}, prev, hash_)
        for seq, at, who, kind, origin, what, obj, detail, prev, hash_ in rows
    ]


def audit_actions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every action the log holds, for a filter's choices."""
    return [a for (a,) in con.execute("SELECT DISTINCT action FROM audit_log ORDER BY action").fetchall()]
