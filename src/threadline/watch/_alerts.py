"""Alerts as an inbox: each with its ad, its entry and why it matched; read or not, per user."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from threadline.store._tx import transaction
from threadline.store.schema import utc_now

__all__ = [
    "Alert",
    "CaseAlert",
    "alert",
    "alerts",
    "case_alerts",
    "mark_read",
    "parse_alert_ref",
    "unread_count",
]

_REF = re.compile(r"[Aa]?(\d{1,18})")


@dataclass(frozen=True)
class Alert:
    alert: int
    entry: int
    entry_kind: str
    entry_owner: str
    case_id: str | None
    source: str
    id: str
    version: int
    parts: tuple[str, ...]
    why: tuple[dict[str, str], ...]  # each matched part with the ad's value
    raised_at: datetime
    read: bool  # by the user asking

    @property
    def ref(self) -> str:
        return f"A{self.alert}"

    @property
    def entry_ref(self) -> str:
        return f"W{self.entry}"

    @property
    def ad(self) -> str:
        return f"{self.source}:{self.id}"

    @property
    def case_ref(self) -> str | None:
        """Its entry's case as ``C…`` (None: none, or text from before cases existed)."""
        from threadline.watch._entries import case_ref

        return case_ref(self.case_id)


@dataclass(frozen=True)
class CaseAlert:
    """An alert as a case shows it, with why it belongs there: its entry is the case's
    (``by_entry``), its ad is one of the case's members now (``by_ad``), or both."""

    alert: Alert
    by_entry: bool
    by_ad: bool


def parse_alert_ref(ref: str) -> int:
    m = _REF.fullmatch(ref.strip())
    if not m:
        raise ValueError(f"{ref!r}: expected an alert id such as A12")
    return int(m.group(1))


_SELECT = """
    SELECT a.alert, a.entry, e.kind, e.owner, e.case_id, a.source, a.id, a.version, a.parts, a.why,
           a.raised_at, r.alert IS NOT NULL
    FROM alerts a JOIN watch_entries e ON e.entry = a.entry
    LEFT JOIN alert_reads r ON r.alert = a.alert AND r.user_name = ?
"""


def _alert(row: tuple[Any, ...]) -> Alert:
    why = json.loads(row[9]) if isinstance(row[9], str) else row[9]
    a, e, kind, owner, case_id, source, ad_id, version = row[:8]
    return Alert(
        int(a),
        int(e),
        kind,
        owner,
        case_id,
        source,
        ad_id,
        int(version),
        tuple(row[8]),
        tuple(why),
        row[10],
        bool(row[11]),
    )


def alerts(
    con: duckdb.DuckDBPyConnection, user: str, *, unread: bool = False, limit: int = 50, offset: int = 0
) -> tuple[list[Alert], int]:
    """One page of alerts, newest first, with whether ``user`` read each; and how many in all."""
    where = " WHERE r.alert IS NULL" if unread else ""
    rows = con.execute(
        _SELECT + where + " ORDER BY a.alert DESC LIMIT ? OFFSET ?", [user, limit, offset]
    ).fetchall()
    [(total,)] = con.execute(
        "SELECT count(*) FROM alerts a LEFT JOIN alert_reads r ON r.alert = a.alert AND r.user_name = ?"
        + where,
        [user],
    ).fetchall()
    return [_alert(r) for r in rows], int(total)


def alert(con: duckdb.DuckDBPyConnection, number: int, user: str) -> Alert | None:
    rows = con.execute(_SELECT + " WHERE a.alert = ?", [user, number]).fetchall()
    return _alert(rows[0]) if rows else None


def case_alerts(
    con: duckdb.DuckDBPyConnection, case_id: int, user: str, *, limit: int = 200
) -> tuple[list[CaseAlert], int, int]:
    """The alerts of case ``case_id``, newest first, with whether ``user`` read each: those whose
    entry belongs to the case, and those on an ad that is a member of the case now (up to
    ``limit``); and how many in all, and how many of them ``user`` has not read."""
    where = """
        WITH of_case AS (
            SELECT a.alert, bool_or(e.case_id = ?) AS by_entry, bool_or(m.source IS NOT NULL) AS by_ad
            FROM alerts a JOIN watch_entries e ON e.entry = a.entry
            LEFT JOIN case_ads m ON m.case_id = ? AND m.removed_at IS NULL
                AND m.source = a.source AND m.id = a.id
            WHERE e.case_id = ? OR m.source IS NOT NULL
            GROUP BY a.alert
        )
    """
    ref = f"C{case_id}"
    params = [ref, case_id, ref]
    rows = con.execute(
        where
        + _SELECT.replace("SELECT a.alert,", "SELECT o.by_entry, o.by_ad, a.alert,", 1)
        + " JOIN of_case o ON o.alert = a.alert ORDER BY a.alert DESC LIMIT ?",
        [*params, user, limit],
    ).fetchall()
    [(total, unread)] = con.execute(
        where + "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM alert_reads r"
        " WHERE r.alert = o.alert AND r.user_name = ?)) FROM of_case o",
        [*params, user],
    ).fetchall()
    found = [CaseAlert(_alert(r[2:]), bool(r[0]), bool(r[1])) for r in rows]
    return found, int(total), int(unread)


def unread_count(con: duckdb.DuckDBPyConnection, user: str) -> int:
    """How many alerts ``user`` has not read (the count every page shows)."""
    [(n,)] = con.execute(
        "SELECT count(*) FROM alerts a WHERE NOT EXISTS"
        " (SELECT 1 FROM alert_reads r WHERE r.alert = a.alert AND r.user_name = ?)",
        [user],
    ).fetchall()
    return int(n)


def mark_read(con: duckdb.DuckDBPyConnection, numbers: list[int], user: str) -> int:
    """Mark alerts read for ``user``; returns how many were not read before. LookupError for an
    alert that does not exist."""
    if not numbers:
        return 0
    marks = ", ".join("?" for _ in numbers)
    known = {
        int(a)
        for (a,) in con.execute(f"SELECT alert FROM alerts WHERE alert IN ({marks})", numbers).fetchall()
    }
    missing = sorted(set(numbers) - known)
    if missing:
        raise LookupError(f"no alert A{missing[0]}")
    with transaction(con):
        done = con.execute(
            f"""
            INSERT INTO alert_reads (alert, user_name, read_at)
            SELECT alert, ?, ? FROM alerts a WHERE alert IN ({marks})
              AND NOT EXISTS (SELECT 1 FROM alert_reads r WHERE r.alert = a.alert AND r.user_name = ?)
            RETURNING alert
            """,
            [user, utc_now(), *numbers, user],
        ).fetchall()
    return len(done)
