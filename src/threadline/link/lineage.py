"""Ids that survive change: when linking splits or merges networks (or persons), the ids an
analyst has cited keep pointing at the bulk of what they named.

A run's clustering names each group by its first ad (``N00000042``). Against the ids the store
held before the run, each old id goes to the new group holding most of its ads (ties: the group
named first); a group claimed by several old ids (a merge) keeps the id of the largest of them
(ties: the smaller id). Every other group keeps its first ad's name, or the next of its ads'
names that no group, no network outside the run and no retired id has. So splitting one ad out of
a 107-ad network leaves the 106 ads with the network's id (and its label, which follows the id),
and the one ad gets a new id.

Each change is kept in ``link_lineage``: ``split`` (the new id split from the old one, with the
analyst's decision that caused it when one was made since the last run) and ``merged`` (the old
id merged into the new one). An id once retired is never given again, so an old id always
resolves (`resolve`). Ids depend on the store's previous ids and the new clustering only: an
incremental run and a full relink of the same store give the same ids. A store with no previous
ids (a new store, a Spark run) names every group by its first ad.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import duckdb

__all__ = ["LABELLED_NETWORKS", "MERGED_NETWORKS", "Lineage", "inherit_ids", "resolve"]

_PREFIX = {"network": "N", "person": "P"}


@dataclass(frozen=True, slots=True)
class Lineage:
    """One change of an id: ``old_id`` split into ``new_id``, or merged into it."""

    kind: str  # network or person
    old_id: str
    new_id: str
    relation: str  # split or merged
    decision_id: int | None
    at: datetime


# Each active label with the network its id names now: a label is given to a network id, which
# the bulk of the network keeps through splits (see above) and which a merge hands on to the
# network it joined (followed here, however many merges ago).
# The CTEs ``chain`` and ``merged(start, cur)``: each network id merged into another, with the
# network it is part of now, however many merges ago.
MERGED_NETWORKS = """
    WITH RECURSIVE chain(start, cur, depth) AS (
        SELECT old_id, new_id, 1 FROM link_lineage WHERE kind = 'network' AND relation = 'merged'
        UNION ALL
        SELECT c.start, m.new_id, c.depth + 1 FROM chain c
        JOIN link_lineage m ON m.kind = 'network' AND m.relation = 'merged' AND m.old_id = c.cur
        WHERE c.depth < 1000
    ),
    merged AS (SELECT start, arg_max(cur, depth) AS cur FROM chain GROUP BY start)
"""
LABELLED_NETWORKS = (
    MERGED_NETWORKS
    + """
    SELECT COALESCE(m.cur, s.network) AS network, s.label_id, s.label, s.labelled_at
    FROM score_labels s LEFT JOIN merged m ON m.start = s.network
    WHERE s.revoked_at IS NULL
"""
)


def _name(prefix: str, key: int) -> str:
    text = str(key)
    return prefix + (text if len(text) >= 8 else text.rjust(8, "0"))


def inherit_ids(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Rename the groups of ``new_ad_links`` (and ``new_link_evidence``) after the ids the store
    held for their ads, and record what split or merged in ``link_lineage``. Runs inside the
    transaction that saves the run, before ``ad_links`` is replaced."""
    for kind in ("network", "person"):
        renames = _renames(con, kind, now)
        if not renames:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE _renames (drawn VARCHAR, final VARCHAR)")
        con.executemany("INSERT INTO _renames VALUES (?, ?)", list(renames.items()))
        con.execute(
            f"UPDATE new_ad_links SET {kind} = r.final FROM _renames r WHERE new_ad_links.{kind} = r.drawn"
        )
        if kind == "network":
            con.execute(
                "UPDATE new_link_evidence SET network = r.final FROM _renames r"
                " WHERE new_link_evidence.network = r.drawn"
            )


def _renames(con: duckdb.DuckDBPyConnection, kind: str, now: datetime) -> dict[str, str]:
    overlap = con.execute(
        f"""
        SELECT o.{kind} AS old, n.{kind} AS drawn, COUNT(*) AS ads
        FROM ad_links o JOIN new_ad_links n ON n.ad_key = o.ad_key
        GROUP BY ALL
        """
    ).fetchall()
    if not overlap:
        return {}
    by_old: dict[str, list[tuple[int, str]]] = defaultdict(list)
    by_drawn: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for old, drawn, ads in overlap:
        by_old[old].append((int(ads), drawn))
        by_drawn[drawn].append((int(ads), old))
    size = {old: sum(n for n, _ in parts) for old, parts in by_old.items()}
    heir = {old: min(parts, key=lambda p: (-p[0], p[1]))[1] for old, parts in by_old.items()}
    claims: dict[str, list[str]] = defaultdict(list)
    for old, drawn in heir.items():
        claims[drawn].append(old)
    final = {drawn: min(olds, key=lambda o: (-size[o], o)) for drawn, olds in claims.items()}

    # Names no other group may take: the kept ids, the networks outside this run, retired ids.
    taken = set(final.values())
    taken.update(
        row[0]
        for row in con.execute(
            f"""
            SELECT DISTINCT {kind} FROM ad_links WHERE ad_key NOT IN (SELECT ad_key FROM new_ad_links)
            UNION SELECT old_id FROM link_lineage WHERE kind = ?
            """,
            [kind],
        ).fetchall()
    )
    drawn_ids = [row[0] for row in con.execute(f"SELECT DISTINCT {kind} FROM new_ad_links").fetchall()]
    prefix = _PREFIX[kind]
    renames: dict[str, str] = {}
    for drawn in sorted(drawn_ids):
        if drawn in final:
            if final[drawn] != drawn:
                renames[drawn] = final[drawn]
            continue
        if drawn not in taken:
            taken.add(drawn)
            continue
        keys = con.execute(
            f"SELECT ad_key FROM new_ad_links WHERE {kind} = ? ORDER BY ad_key", [drawn]
        ).fetchall()
        name = next((n for (key,) in keys if (n := _name(prefix, int(key))) not in taken), None)
        if name is None:  # every ad's name is taken: the first free name past the last ad
            [(top,)] = con.execute("SELECT COALESCE(MAX(ad_key), 0) FROM ad_keys").fetchall()
            key = int(top) + 1
            while _name(prefix, key) in taken:
                key += 1
            name = _name(prefix, key)
        taken.add(name)
        renames[drawn] = name

    named = {drawn: renames.get(drawn, drawn) for drawn in drawn_ids}
    rows: list[tuple[str, str, str, str, int | None, datetime]] = []
    for old, drawn in heir.items():
        if final[drawn] != old:
            rows.append((kind, old, named[drawn], "merged", None, now))
    kept = set(final.values())
    for drawn in drawn_ids:
        if drawn in final:
            continue
        parts = [(n, old) for n, old in by_drawn.get(drawn, ()) if old in kept]
        if parts:
            old = min(parts, key=lambda p: (-p[0], p[1]))[1]
            rows.append((kind, old, named[drawn], "split", _decision(con, kind, drawn), now))
    if rows:
        con.executemany(
            "INSERT INTO link_lineage (kind, old_id, new_id, relation, decision_id, changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return renames


def _decision(con: duckdb.DuckDBPyConnection, kind: str, drawn: str) -> int | None:
    """The latest active split or separation since the last run naming an ad of the group."""
    [(decision,)] = con.execute(
        f"""
        SELECT MAX(d.decision_id) FROM analyst_decisions d
        JOIN analyst_decision_ads s ON s.decision_id = d.decision_id
        JOIN new_ad_links n ON n.source = s.source AND n.id = s.id AND n.{kind} = ?
        WHERE d.revoked_by IS NULL AND d.decision = 'separate'  -- a split is a separation
          AND d.decided_at >= COALESCE((SELECT MAX(finished) FROM link_runs), TIMESTAMP '0001-01-01')
        """,
        [drawn],
    ).fetchall()
    return int(decision) if decision is not None else None


def resolve(con: duckdb.DuckDBPyConnection, kind: str, ident: str) -> tuple[str, list[Lineage]]:
    """The id ``ident`` names now (following merges), and the lineage rows that involve it."""
    rows = [
        Lineage(*row)
        for row in con.execute(
            "SELECT kind, old_id, new_id, relation, decision_id, changed_at FROM link_lineage"
            " WHERE kind = ? AND (old_id = ? OR new_id = ?) ORDER BY changed_at, old_id, new_id",
            [kind, ident, ident],
        ).fetchall()
    ]
    current, seen = ident, {ident}
    while True:
        merged = con.execute(
            "SELECT new_id FROM link_lineage WHERE kind = ? AND old_id = ? AND relation = 'merged'"
            " ORDER BY changed_at DESC LIMIT 1",
            [kind, current],
        ).fetchall()
        if not merged or merged[0][0] in seen:
            return current, rows
        current = merged[0][0]
        seen.add(current)
