"""Cases: the acts that build one (create, add, remove, note, assign) and how a case follows the
networks added to it as linking changes them.

A case holds ads, one row each (`case_ads`), never a network as such: adding network N12 adds the
ads N12 holds now and makes the case follow N12 (`case_networks`). After every link run,
`follow_networks` brings into each case the ads that joined a network it follows, with a notice
("N12: 3 new ads"). A split cannot drop an ad from a case, since the ad, not the network, is the
member; ads split away stay in the case, under the network they are in now. A merge is followed
through `link_lineage` (the id merged into another names the network it joined).

These functions run on the writer's connection inside the caller's transaction (the server's
act with its audit entry, or a command's); they raise `LookupError` for what does not exist and
`ValueError` for what cannot be done, as the other acts do. Rows are never deleted: a removal is
stamped with who and when.
"""

from __future__ import annotations

import duckdb

from threadline.link.lineage import MERGED_NETWORKS
from threadline.refs import format_ref
from threadline.store.schema import utc_now

__all__ = [
    "LINK_RUN",
    "STATUSES",
    "add_ads",
    "add_network",
    "assign",
    "case_ref",
    "create_case",
    "follow_networks",
    "note",
    "opened",
    "remove_ads",
    "remove_network",
    "set_status",
]

STATUSES = ("open", "closed")
LINK_RUN = "link run"  # who added an ad a followed network brought in

# Each network a case follows, with the network its id names now: an id merged into another is
# followed to the network it joined, however many merges ago (as labels are: link/lineage.py).
FOLLOWED = (
    MERGED_NETWORKS
    + """
    SELECT f.case_id, f.network AS added_as, COALESCE(m.cur, f.network) AS network
    FROM case_networks f LEFT JOIN merged m ON m.start = f.network
    WHERE f.removed_at IS NULL
"""
)


def case_ref(case_id: int) -> str:
    return format_ref("case", case_id)


def _clean_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        t = tag.strip()
        if not t or len(t) > 60:
            raise ValueError(f"a tag is 1 to 60 characters: {tag!r}")
        if t not in out:
            out.append(t)
    return out


def create_case(
    con: duckdb.DuckDBPyConnection, name: str, *, analyst: str, tags: list[str] | tuple[str, ...] = ()
) -> int:
    """A new open case named ``name``; returns its number (C…). The creator is assigned to it."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a case's name is 1 to 200 characters")
    [(case_id,)] = con.execute("SELECT COALESCE(MAX(case_id), 0) + 1 FROM cases").fetchall()
    now = utc_now()
    con.execute(
        "INSERT INTO cases (case_id, name, status, tags, created_by, created_at)"
        " VALUES (?, ?, 'open', ?, ?, ?)",
        [case_id, name, _clean_tags(tags), analyst, now],
    )
    con.execute(
        "INSERT INTO case_analysts (case_id, analyst, assigned_by, assigned_at) VALUES (?, ?, ?, ?)",
        [case_id, analyst, analyst, now],
    )
    return int(case_id)


def _exists(con: duckdb.DuckDBPyConnection, case_id: int) -> None:
    if not con.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchall():
        raise LookupError(f"no case {case_ref(case_id)}")


def set_status(con: duckdb.DuckDBPyConnection, case_id: int, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"a case's status is {' or '.join(STATUSES)}, not {status!r}")
    _exists(con, case_id)
    con.execute("UPDATE cases SET status = ? WHERE case_id = ?", [status, case_id])


def assign(con: duckdb.DuckDBPyConnection, case_id: int, analyst: str, *, by: str) -> bool:
    """Assign ``analyst`` (a user of the store) to the case; False if already assigned."""
    _exists(con, case_id)
    if not con.execute("SELECT 1 FROM users WHERE name = ?", [analyst]).fetchall():
        raise LookupError(f"no user {analyst}")
    if con.execute(
        "SELECT 1 FROM case_analysts WHERE case_id = ? AND analyst = ?", [case_id, analyst]
    ).fetchall():
        return False
    con.execute(
        "INSERT INTO case_analysts (case_id, analyst, assigned_by, assigned_at) VALUES (?, ?, ?, ?)",
        [case_id, analyst, by, utc_now()],
    )
    return True


def _insert_ads(
    con: duckdb.DuckDBPyConnection,
    case_id: int,
    keys_sql: str,
    params: list[object],
    via: str | None,
    by: str,
) -> int:
    """Add the ads ``keys_sql`` selects (source, id) to the case (removed ones again too);
    returns how many joined it."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _case_new AS SELECT DISTINCT source, id FROM ({keys_sql})", params
    )
    before = _active(con, case_id)
    # An ad removed once and added again gets a fresh row: the old one keeps its removal.
    con.execute(
        """
        INSERT INTO case_ads (case_id, source, id, via, added_by, added_at)
        SELECT ?, n.source, n.id, ?, ?, ? FROM _case_new n
        WHERE NOT EXISTS (
            SELECT 1 FROM case_ads c
            WHERE c.case_id = ? AND c.source = n.source AND c.id = n.id AND c.removed_at IS NULL
        )
        """,
        [case_id, via, by, utc_now(), case_id],
    )
    con.execute("DROP TABLE _case_new")
    return _active(con, case_id) - before


def _active(con: duckdb.DuckDBPyConnection, case_id: int) -> int:
    [(n,)] = con.execute(
        "SELECT COUNT(*) FROM case_ads WHERE case_id = ? AND removed_at IS NULL", [case_id]
    ).fetchall()
    return int(n)


def add_ads(
    con: duckdb.DuckDBPyConnection, case_id: int, keys: list[tuple[str, str]], *, analyst: str
) -> int:
    """Add single ads (source, id) to the case; returns how many were not in it already."""
    _exists(con, case_id)
    if not keys:
        return 0
    found = con.execute(
        """
        SELECT k[1], k[2] FROM (SELECT unnest(CAST(? AS VARCHAR[][])) AS k)
        WHERE EXISTS (SELECT 1 FROM ads a WHERE a.source = k[1] AND a.id = k[2])
        """,
        [[list(k) for k in keys]],
    ).fetchall()
    missing = sorted({f"{s}:{i}" for s, i in keys} - {f"{s}:{i}" for s, i in found})
    if missing:
        raise LookupError(f"no ad {', '.join(missing[:5])}")
    return _insert_ads(
        con,
        case_id,
        "SELECT k[1] AS source, k[2] AS id FROM (SELECT unnest(CAST(? AS VARCHAR[][])) AS k)",
        [[list(k) for k in keys]],
        None,
        analyst,
    )


def add_network(con: duckdb.DuckDBPyConnection, case_id: int, network: str, *, analyst: str) -> int:
    """Add the ads of ``network`` to the case and follow it; returns how many ads joined."""
    _exists(con, case_id)
    if not con.execute("SELECT 1 FROM ad_links WHERE network = ? LIMIT 1", [network]).fetchall():
        raise LookupError(f"no network {network}")
    following = con.execute(
        "SELECT 1 FROM case_networks WHERE case_id = ? AND network = ? AND removed_at IS NULL",
        [case_id, network],
    ).fetchall()
    if not following:
        con.execute(
            "INSERT INTO case_networks (case_id, network, added_by, added_at) VALUES (?, ?, ?, ?)",
            [case_id, network, analyst, utc_now()],
        )
    return _insert_ads(
        con, case_id, "SELECT source, id FROM ad_links WHERE network = ?", [network], network, analyst
    )


def _remove(
    con: duckdb.DuckDBPyConnection, case_id: int, keys_sql: str, params: list[object], by: str
) -> int:
    now = utc_now()
    [(n,)] = con.execute(
        f"""
        SELECT COUNT(*) FROM case_ads
        WHERE case_id = ? AND removed_at IS NULL AND (source, id) IN (SELECT (source, id) FROM ({keys_sql}))
        """,
        [case_id, *params],
    ).fetchall()
    con.execute(
        f"""
        UPDATE case_ads SET removed_by = ?, removed_at = ?
        WHERE case_id = ? AND removed_at IS NULL AND (source, id) IN (SELECT (source, id) FROM ({keys_sql}))
        """,
        [by, now, case_id, *params],
    )
    return int(n)


def remove_ads(
    con: duckdb.DuckDBPyConnection, case_id: int, keys: list[tuple[str, str]], *, analyst: str
) -> int:
    """Take single ads out of the case; returns how many were in it. A followed network does not
    bring a removed ad back (only ads new to the case)."""
    _exists(con, case_id)
    return _remove(
        con,
        case_id,
        "SELECT k[1] AS source, k[2] AS id FROM (SELECT unnest(CAST(? AS VARCHAR[][])) AS k)",
        [[list(k) for k in keys]],
        analyst,
    )


def remove_network(con: duckdb.DuckDBPyConnection, case_id: int, network: str, *, analyst: str) -> int:
    """Stop following ``network`` and take its ads (those it holds now) out of the case; returns
    how many ads left the case."""
    _exists(con, case_id)
    [(followed,)] = con.execute(
        f"SELECT COUNT(*) FROM ({FOLLOWED}) WHERE case_id = ? AND (network = ? OR added_as = ?)",
        [case_id, network, network],
    ).fetchall()
    removed = _remove(con, case_id, "SELECT source, id FROM ad_links WHERE network = ?", [network], analyst)
    if not followed and not removed:
        raise LookupError(f"network {network} is not in case {case_ref(case_id)}")
    con.execute(
        f"""
        UPDATE case_networks SET removed_by = ?, removed_at = ?
        WHERE case_id = ? AND removed_at IS NULL
          AND network IN (
              SELECT added_as FROM ({FOLLOWED}) WHERE case_id = ? AND (network = ? OR added_as = ?)
          )
        """,
        [analyst, utc_now(), case_id, case_id, network, network],
    )
    return removed


def note(con: duckdb.DuckDBPyConnection, case_id: int, body: str, *, analyst: str) -> int:
    """Add a note (markdown) to the case; returns its number."""
    _exists(con, case_id)
    if not body.strip():
        raise ValueError("a note needs some text")
    [(note_id,)] = con.execute("SELECT COALESCE(MAX(note_id), 0) + 1 FROM case_notes").fetchall()
    con.execute(
        "INSERT INTO case_notes (note_id, case_id, author, written_at, body) VALUES (?, ?, ?, ?, ?)",
        [note_id, case_id, analyst, utc_now(), body],
    )
    return int(note_id)


def opened(con: duckdb.DuckDBPyConnection, case_id: int, analyst: str) -> None:
    """Remember that ``analyst`` opened the case now (the case page's "new since")."""
    con.execute("DELETE FROM case_opened WHERE case_id = ? AND analyst = ?", [case_id, analyst])
    con.execute(
        "INSERT INTO case_opened (case_id, analyst, opened_at) VALUES (?, ?, ?)",
        [case_id, analyst, utc_now()],
    )


def follow_networks(con: duckdb.DuckDBPyConnection) -> int:
    """Bring into every case the ads new to the networks it follows (after a link run, in its
    transaction), with a notice per case and network; returns how many ads joined cases.

    An ad the case holds, or held and had removed by an analyst, is not new to it."""
    if not con.execute("SELECT 1 FROM case_networks WHERE removed_at IS NULL LIMIT 1").fetchall():
        return 0  # no case follows a network: nothing to read (most link runs of most stores)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _case_follow AS
        SELECT f.case_id, f.added_as, l.source, l.id, l.network
        FROM ({FOLLOWED}) f JOIN cases c ON c.case_id = f.case_id AND c.status = 'open'
        JOIN ad_links l ON l.network = f.network
        WHERE NOT EXISTS (
            SELECT 1 FROM case_ads a WHERE a.case_id = f.case_id AND a.source = l.source AND a.id = l.id
        )
        """
    )
    rows = con.execute(
        "SELECT case_id, network, COUNT(DISTINCT (source, id)) FROM _case_follow GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    now = utc_now()
    con.execute(
        """
        INSERT INTO case_ads (case_id, source, id, via, added_by, added_at)
        SELECT case_id, source, id, arg_min(network, added_as), ?, ?
        FROM _case_follow GROUP BY case_id, source, id
        """,
        [LINK_RUN, now],
    )
    for case_id, network, n in rows:
        text = f"{network}: {n} new ad{'s' if n != 1 else ''} joined the case from a link run"
        con.execute(
            "INSERT INTO case_notices (case_id, noticed_at, network, ads, text) VALUES (?, ?, ?, ?, ?)",
            [case_id, now, network, n, text],
        )
    con.execute("DROP TABLE _case_follow")
    return int(sum(n for _, _, n in rows))
