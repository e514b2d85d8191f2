"""Analysts' decisions about linking, kept in the store so that every later run honours them.

A mark says a value is (or is not) a hub whatever the data says. A merge says ads belong to one
network; a separation says two sets of ads are not linked ("these are not the same operation"),
and a split takes ads out of their network (a separation from the rest of it, which names the
network). Decisions, hub marks included, are numbered and shown as ``D12`` (`threadline.refs`),
never deleted (a revoked one keeps who revoked it, when and why), and every link run honours the
active ones (`steps.detect_hubs`, `steps.link_components`, `constraints`). Nothing else writes
them, so the command line and a workspace record decisions the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from threadline.refs import format_ref
from threadline.store._tx import transaction
from threadline.store.schema import utc_now

__all__ = [
    "HUB_KINDS",
    "Decision",
    "UnknownAd",
    "UnknownNetwork",
    "clear_hub_mark",
    "decisions",
    "mark_hub",
    "record_merge",
    "record_separation",
    "record_split",
    "revoke",
]

HUB_KINDS = ("phone", "email", "handle", "image", "text")


class UnknownAd(LookupError):
    """A decision named an ad the store does not hold."""


class UnknownNetwork(LookupError):
    """A decision named a network the last link run did not make."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision as analysts see it. ``kind`` is what it is: merge, separate, split, hub or
    not-hub (a split is kept as a separation, which every run honours, naming ``split_from``)."""

    decision_id: int
    kind: str
    analyst: str
    decided_at: datetime
    note: str | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_note: str | None
    side_a: tuple[str, ...] = ()  # SOURCE:ID of every ad of a merge, or one side of a separation
    side_b: tuple[str, ...] = ()
    split_from: str | None = None
    hub_kind: str | None = None
    hub_value: str | None = None

    @property
    def ref(self) -> str:
        return format_ref("decision", self.decision_id)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


_DECISIONS_SQL = """
    SELECT d.decision_id,
           CASE WHEN d.split_from IS NOT NULL THEN 'split' ELSE d.decision END,
           d.analyst, d.decided_at, d.note, d.revoked_by, d.revoked_at, d.revoke_note,
           COALESCE(list(s.source || ':' || s.id ORDER BY s.source, s.id) FILTER (WHERE s.side = 'a'), []),
           COALESCE(list(s.source || ':' || s.id ORDER BY s.source, s.id) FILTER (WHERE s.side = 'b'), []),
           d.split_from, d.hub_kind, d.hub_value
    FROM analyst_decisions d LEFT JOIN analyst_decision_ads s ON s.decision_id = d.decision_id
    {where}
    GROUP BY ALL ORDER BY d.decision_id
"""


def decisions(
    con: duckdb.DuckDBPyConnection, decision_id: int | None = None, *, ids: Sequence[int] | None = None
) -> list[Decision]:
    """Every decision (or the one numbered ``decision_id``, or those numbered ``ids``), oldest
    first, revoked ones too."""
    where: str
    params: list[Any]
    if decision_id is not None:
        where, params = "WHERE d.decision_id = ?", [decision_id]
    elif ids is not None:
        where, params = "WHERE d.decision_id IN (SELECT UNNEST(?::BIGINT[]))", [list(ids)]
    else:
        where, params = "", []
    rows = con.execute(_DECISIONS_SQL.format(where=where), params).fetchall()
    return [
        Decision(
            int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(r[8]), tuple(r[9]), r[10], r[11], r[12]
        )
        for r in rows
    ]


def mark_hub(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    value: str,
    *,
    is_hub: bool,
    analyst: str,
    note: str | None = None,
) -> int:
    """Record that ``value`` is a hub (never used for linking) or is not one (trusted); returns
    the decision's number. An earlier mark of the value is revoked: the new one replaces it."""
    if kind not in HUB_KINDS:
        raise ValueError(f"kind must be one of {', '.join(HUB_KINDS)}, not {kind!r}")
    with transaction(con):
        now = utc_now()
        [(decision_id,)] = con.execute(
            "SELECT COALESCE(MAX(decision_id), 0) + 1 FROM analyst_decisions"
        ).fetchall()
        con.execute(
            """
            UPDATE analyst_decisions SET revoked_by = ?, revoked_at = ?, revoke_note = ?
            WHERE revoked_at IS NULL AND decision_id IN
                (SELECT decision_id FROM hub_marks WHERE kind = ? AND value = ?)
            """,
            [analyst, now, f"replaced by {format_ref('decision', decision_id)}", kind, value],
        )
        con.execute("DELETE FROM hub_marks WHERE kind = ? AND value = ?", [kind, value])
        con.execute(
            "INSERT INTO analyst_decisions"
            " (decision_id, decision, analyst, note, decided_at, hub_kind, hub_value)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [decision_id, "hub" if is_hub else "not-hub", analyst, note, now, kind, value],
        )
        con.execute(
            "INSERT INTO hub_marks (kind, value, is_hub, analyst, note, marked_at, decision_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [kind, value, is_hub, analyst, note, now, decision_id],
        )
    return int(decision_id)


def clear_hub_mark(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    value: str,
    *,
    analyst: str = "unknown",
    note: str | None = None,
) -> int | None:
    """Forget an analyst's mark: the data decides again. The decision that made the mark is
    revoked (kept on record); returns its number, or None when the value had no mark."""
    rows = con.execute(
        "SELECT decision_id FROM hub_marks WHERE kind = ? AND value = ?", [kind, value]
    ).fetchall()
    if not rows:
        return None
    if rows[0][0] is None:  # pragma: no cover - every mark has had its decision since migration 8
        con.execute("DELETE FROM hub_marks WHERE kind = ? AND value = ?", [kind, value])
        return None
    revoke(con, int(rows[0][0]), analyst=analyst, note=note)
    return int(rows[0][0])


def _check_ads(con: duckdb.DuckDBPyConnection, ads: Sequence[tuple[str, str]]) -> None:
    """Raise `UnknownAd` for the first of ``ads`` the store does not hold (one query for all: a
    split names every other ad of its network)."""
    if not ads:
        return
    wanted = pa.table({"source": [s for s, _ in ads], "id": [i for _, i in ads]})  # noqa: F841
    missing = con.execute(
        """
        SELECT w.source, w.id FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM ads a WHERE a.source = w.source AND a.id = w.id)
        LIMIT 1
        """
    ).fetchall()
    if missing:
        raise UnknownAd(f"no ad {missing[0][0]}:{missing[0][1]}")


def _record(
    con: duckdb.DuckDBPyConnection,
    decision: str,
    sides: dict[str, Sequence[tuple[str, str]]],
    analyst: str,
    note: str | None,
    split_from: str | None = None,
) -> int:
    with transaction(con):  # the decision and its ads, or nothing
        [(decision_id,)] = con.execute(
            "SELECT COALESCE(MAX(decision_id), 0) + 1 FROM analyst_decisions"
        ).fetchall()
        con.execute(
            "INSERT INTO analyst_decisions (decision_id, decision, analyst, note, decided_at, split_from)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [decision_id, decision, analyst, note, utc_now(), split_from],
        )
        con.executemany(
            "INSERT INTO analyst_decision_ads (decision_id, side, source, id) VALUES (?, ?, ?, ?)",
            [[decision_id, side, source, ad_id] for side, ads in sides.items() for source, ad_id in ads],
        )
    return int(decision_id)


def _separated(con: duckdb.DuckDBPyConnection, ads: Sequence[tuple[str, str]]) -> list[tuple[int, str]]:
    """Active separations that put two of ``ads`` on opposite sides: (decision id, analyst)."""
    keys = {f"{s}\x00{i}" for s, i in ads}
    rows = con.execute(
        """
        SELECT d.decision_id, d.analyst, s.side, s.source || chr(0) || s.id
        FROM analyst_decisions d JOIN analyst_decision_ads s ON s.decision_id = d.decision_id
        WHERE d.decision = 'separate' AND d.revoked_at IS NULL
        """
    ).fetchall()
    sides: dict[tuple[int, str], set[str]] = {}
    for decision_id, analyst, side, key in rows:
        if key in keys:
            sides.setdefault((decision_id, analyst), set()).add(side)
    return sorted(k for k, v in sides.items() if len(v) == 2)


def record_merge(
    con: duckdb.DuckDBPyConnection,
    *ads: tuple[str, str],
    analyst: str,
    note: str | None = None,
) -> int:
    """Record that the ads ``(source, id)`` belong to one network; returns the decision's id."""
    distinct = list(dict.fromkeys(ads))
    if len(distinct) < 2:
        raise ValueError("a merge needs at least two different ads")
    _check_ads(con, distinct)
    conflicts = _separated(con, distinct)
    if conflicts:
        decision_id, by = conflicts[0]
        raise ValueError(
            f"decision {format_ref('decision', decision_id)} (by {by}) keeps some of these ads apart:"
            " revoke it first to merge them"
        )
    return _record(con, "merge", {"a": distinct}, analyst, note)


def record_separation(
    con: duckdb.DuckDBPyConnection,
    side_a: Sequence[tuple[str, str]],
    side_b: Sequence[tuple[str, str]],
    *,
    analyst: str,
    note: str | None = None,
) -> int:
    """Record that the ads of ``side_a`` are not linked to those of ``side_b``.

    Every later run keeps the two sides in different networks by removing the fewest links that
    join them (a minimum cut, see `constraints`), and shows what it removed. Returns the id.
    """
    return _separation(con, side_a, side_b, analyst, note, None)


def _separation(
    con: duckdb.DuckDBPyConnection,
    side_a: Sequence[tuple[str, str]],
    side_b: Sequence[tuple[str, str]],
    analyst: str,
    note: str | None,
    split_from: str | None,
) -> int:
    a, b = list(dict.fromkeys(side_a)), list(dict.fromkeys(side_b))
    if not a or not b:
        raise ValueError("a separation needs an ad on each side")
    if set(a) & set(b):
        both = ", ".join(f"{s}:{i}" for s, i in sorted(set(a) & set(b)))
        raise ValueError(f"an ad cannot be on both sides of a separation: {both}")
    _check_ads(con, a + b)
    return _record(con, "separate", {"a": a, "b": b}, analyst, note, split_from)


def record_split(
    con: duckdb.DuckDBPyConnection,
    network: str,
    ads: Sequence[tuple[str, str]],
    *,
    analyst: str,
    note: str | None = None,
) -> int:
    """Split ``ads`` out of ``network``: a separation between them and the network's other ads.

    The other side is the network as the last link run left it; ads that join later go wherever
    their own links take them.
    """
    rows = con.execute("SELECT source, id FROM ad_links WHERE network = ?", [network]).fetchall()
    members = {(s, i) for s, i in rows}
    if not members:
        raise UnknownNetwork(f"no network {network}")
    outside = [f"{s}:{i}" for s, i in ads if (s, i) not in members]
    if outside:
        raise ValueError(f"not in network {network}: {', '.join(outside)}")
    rest = sorted(members - set(ads))
    if not rest:
        raise ValueError(f"that is all of network {network}: nothing would be left to split from")
    return _separation(con, ads, rest, analyst, note, network)


def revoke(
    con: duckdb.DuckDBPyConnection, decision_id: int, *, analyst: str, note: str | None = None
) -> Decision:
    """Withdraw a decision; it stays on record with who withdrew it, when and why (``note``).
    A hub mark's withdrawal forgets the mark. The next link run obeys. Returns the decision."""
    ref = format_ref("decision", decision_id)
    row = con.execute(
        "SELECT revoked_by FROM analyst_decisions WHERE decision_id = ?", [decision_id]
    ).fetchall()
    if not row:
        raise LookupError(f"no decision {ref}")
    if row[0][0] is not None:
        raise ValueError(f"decision {ref} was already revoked by {row[0][0]}")
    with transaction(con):
        con.execute(
            "UPDATE analyst_decisions SET revoked_by = ?, revoked_at = ?, revoke_note = ?"
            " WHERE decision_id = ?",
            [analyst, utc_now(), note, decision_id],
        )
        con.execute("DELETE FROM hub_marks WHERE decision_id = ?", [decision_id])
    return decisions(con, decision_id)[0]
