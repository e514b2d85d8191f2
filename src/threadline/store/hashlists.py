"""Hash lists of known child sexual abuse material, their matches in the archive, and what the
workspace therefore hides (issue 15).

A unit receives lists of hashes (PDQ, MD5 or SHA-256) from trust-and-safety organisations and
clearinghouses and loads them (`threadline hashlist load`, parsed by `threadline.ingest.hashlists`).
Loading a list matches every image of the archive against it once; every image stored after is
matched against every list in the transaction that stores it (`Store.write_batch`), so no reader
ever sees a new image before its match. SHA-256 and MD5 match exactly; PDQ within `PDQ_RADIUS` bits
of 256 (as linking judges near-identical photos), only for images with a PDQ of real content
(quality `PDQ_MIN_QUALITY` or more: a flat placeholder's PDQ says nothing).

What is hidden (`hidden_images`), for every route and export that could send an image:

* ``hash_list``: the image matches a loaded list. Never displayed to anyone, never revealable,
  never exported; its ads and networks carry a mandatory-reporting flag until a supervisor records
  the report (`record_report`).
* ``minor``: an ad showing the image states an age under 18 in any of its versions (extraction's
  ``minor`` flag, which scoring's ``minor_age`` reads). Hidden, not blurred; a supervisor or an
  admin may reveal it, with a reason that the audit keeps.

Every table here is appended to, never updated (`schema`, migration 20).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from threadline.extract.images import PDQ_MIN_QUALITY, pdq_bits_sql
from threadline.store.schema import by_id, utc_now

__all__ = [
    "HASH_LIST",
    "KINDS",
    "MINOR",
    "PDQ_RADIUS",
    "HashList",
    "Match",
    "add_list",
    "any_entries",
    "fill_md5",
    "flagged_ads",
    "flagged_networks",
    "hidden_images",
    "lists",
    "match_images",
    "matches",
    "record_report",
]

KINDS = ("pdq", "md5", "sha256")
PDQ_RADIUS = 31  # bits of 256: linking's near-identical photo (`LinkParams.pdq_radius`, kept equal by a test)
HASH_LIST = "hash_list"  # why an image is hidden: it matches a loaded hash list
MINOR = "minor"  # why an image is hidden: an ad showing it states an age under 18


@dataclass(frozen=True, slots=True)
class HashList:
    list_id: int
    name: str
    source_file: str
    file_sha256: str
    entries: int
    rejected: int
    loaded_at: datetime
    loaded_by: str
    matched: int  # images of the archive matching it now

    @property
    def ref(self) -> str:
        return f"HL{self.list_id}"


@dataclass(frozen=True, slots=True)
class Match:
    """An image matching one or more loaded lists: to report (or reported), with its ads."""

    sha256: str
    lists: tuple[str, ...]  # the lists' names
    kinds: tuple[str, ...]  # which of its hashes matched: pdq, md5, sha256
    distance: int  # the nearest PDQ's bits (0: an exact hash)
    flagged_at: datetime
    ads: tuple[str, ...]  # SOURCE:ID of the ads showing it (the first 50)
    ad_count: int
    networks: tuple[str, ...]
    reported_at: datetime | None
    reported_by: str | None
    report_note: str | None


def any_entries(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any list is loaded (one small query: a store without lists pays no more)."""
    return con.execute("SELECT 1 FROM hash_list_entries LIMIT 1").fetchone() is not None


def add_list(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source_file: str,
    file_sha256: str,
    entries: Sequence[tuple[int, str, str]],
    rejected: int,
    *,
    by: str,
    now: datetime | None = None,
) -> int:
    """Keep a list: ``entries`` are (line, kind, value) as `threadline.ingest.hashlists` read
    them (each value once). Its id; the caller runs `match_images` after (in one transaction)."""
    now = now or utc_now()
    row = con.execute("SELECT nextval('hash_list_ids')").fetchone()
    assert row is not None
    list_id = int(row[0])
    con.execute(
        "INSERT INTO hash_lists (list_id, name, source_file, file_sha256, entries, rejected, loaded_at,"
        " loaded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [list_id, name, source_file, file_sha256, len(entries), rejected, now, by],
    )
    table = pa.table(
        {
            "list_id": pa.array([list_id] * len(entries), pa.int64()),
            "kind": pa.array([k for _, k, _ in entries], pa.string()),
            "value": pa.array([v for _, _, v in entries], pa.string()),
            "line": pa.array([n for n, _, _ in entries], pa.int64()),
        }
    )
    con.register("_hash_list_new", table)
    try:
        con.execute(
            "INSERT INTO hash_list_entries (list_id, kind, value, line)"
            " SELECT list_id, kind, value, line FROM _hash_list_new"
        )
    finally:
        con.unregister("_hash_list_new")
    return list_id


def add_md5(con: duckdb.DuckDBPyConnection, md5s: dict[str, str]) -> None:
    """Record images' MD5s (SHA-256 -> MD5) not recorded yet."""
    if not md5s:
        return
    con.register("_image_md5_new", pa.table({"sha256": list(md5s), "md5": list(md5s.values())}))
    try:
        con.execute(
            "INSERT INTO image_md5 (sha256, md5) SELECT n.sha256, n.md5 FROM _image_md5_new n"
            " WHERE n.sha256 NOT IN (SELECT sha256 FROM image_md5)"
        )
    finally:
        con.unregister("_image_md5_new")


def fill_md5(con: duckdb.DuckDBPyConnection, store_file: Path) -> int:
    """The MD5 of every image of the archive that has none recorded yet (stored before MD5s
    were kept), read from the store's kept copy or the ad's own file if it still holds the image;
    how many were recorded. An image neither holds cannot be matched by MD5."""
    import hashlib

    from threadline.store import kept_images

    missing = con.execute(
        "SELECT sha256, min(path) FROM ad_images WHERE sha256 NOT IN (SELECT sha256 FROM image_md5)"
        " GROUP BY sha256 ORDER BY sha256"
    ).fetchall()
    found: dict[str, str] = {}
    for sha, path in missing:
        try:
            data = kept_images.image_bytes(store_file, sha, path)
        except ValueError:  # not a SHA-256 the store could have kept
            data = None
        if data is not None:
            found[sha] = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if len(found) >= 5000:
            add_md5(con, found)
            found = {}
    add_md5(con, found)
    row = con.execute(
        "SELECT count(*) FROM image_md5 WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [[s for s, _ in missing]],
    ).fetchone()
    return int(row[0]) if row else 0


def match_images(
    con: duckdb.DuckDBPyConnection,
    shas: Iterable[str] | None = None,
    *,
    list_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Record the matches of the images ``shas`` (None: every image of the archive) against
    list ``list_id`` (None: every list); how many new matches. A match already recorded is not
    recorded again."""
    params: dict[str, object] = {"now": now or utc_now()}
    if shas is None:
        scope = "SELECT sha256 FROM images UNION SELECT sha256 FROM ad_images"
    else:
        params["shas"] = sorted(set(shas))
        if not params["shas"]:
            return 0
        scope = "SELECT DISTINCT unnest($shas::VARCHAR[]) AS sha256"
    entries = "SELECT list_id, kind, value FROM hash_list_entries"
    if list_id is not None:
        entries += " WHERE list_id = $list_id"
        params["list_id"] = list_id
    row = con.execute(
        f"""
        INSERT INTO hash_matches (sha256, list_id, kind, value, distance, flagged_at)
        SELECT * FROM (
            WITH scope AS ({scope}),
            e AS ({entries}),
            found AS (
                SELECT s.sha256, e.list_id, e.kind, e.value, 0 AS distance
                FROM scope s JOIN e ON e.kind = 'sha256' AND e.value = s.sha256
                UNION ALL
                SELECT m.sha256, e.list_id, e.kind, e.value, 0
                FROM image_md5 m JOIN e ON e.kind = 'md5' AND e.value = m.md5
                WHERE m.sha256 IN (SELECT sha256 FROM scope)
                UNION ALL
                SELECT sha256, list_id, kind, value, distance FROM (
                    SELECT i.sha256, e.list_id, e.kind, e.value,
                           CAST({pdq_bits_sql("i.pdq", "e.value")} AS INTEGER) AS distance
                    FROM images i, e
                    WHERE e.kind = 'pdq' AND i.pdq IS NOT NULL
                      AND coalesce(i.pdq_quality, 0) >= {PDQ_MIN_QUALITY}
                      AND i.sha256 IN (SELECT sha256 FROM scope)
                ) WHERE distance <= {PDQ_RADIUS}
            )
            SELECT f.sha256, f.list_id, f.kind, f.value, CAST(min(f.distance) AS INTEGER), $now::TIMESTAMP
            FROM found f
            WHERE NOT EXISTS (
                SELECT 1 FROM hash_matches h
                WHERE h.sha256 = f.sha256 AND h.list_id = f.list_id AND h.kind = f.kind
                  AND h.value = f.value
            )
            GROUP BY f.sha256, f.list_id, f.kind, f.value
        )
        """,
        params,
    ).fetchone()
    return int(row[0]) if row else 0


def hidden_images(con: duckdb.DuckDBPyConnection, shas: Iterable[str]) -> dict[str, str]:
    """Each of ``shas`` that is hidden, with why: `HASH_LIST` (never shown, never revealable)
    or `MINOR` (an ad showing it states an age under 18 in some version: a supervisor may
    reveal it). An image that is both is `HASH_LIST`."""
    asked = sorted(set(shas))
    if not asked:
        return {}
    hidden: dict[str, str] = {}
    # The ads showing them, then those ads' extractions looked up by their ids alone (the index
    # of `schema._LOOKUP_INDEXES`; a join, or a second filter in the scan, reads every extraction).
    shown = con.execute(
        "SELECT DISTINCT source, ad_id, sha256 FROM ad_images WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [asked],
    ).fetchall()
    ids = sorted({ad_id for _, ad_id, _ in shown})
    minors: set[tuple[str, str]] = set()
    if ids:
        minors = set(
            con.execute(
                f"""
                {by_id("extractions", "ad_id", "SELECT unnest(?::VARCHAR[])")}
                SELECT source, ad_id FROM hit GROUP BY ALL
                HAVING bool_or(kind = 'age' AND json_extract_string(detail, '$.minor') = 'true')
                """,
                [ids],
            ).fetchall()
        )
    for sha, why in [
        *con.execute(
            "SELECT sha256, 'hash_list' FROM hash_matches WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
            [asked],
        ).fetchall(),
        *((sha, "minor") for source, ad_id, sha in shown if (source, ad_id) in minors),
    ]:
        if why == HASH_LIST or sha not in hidden:
            hidden[sha] = str(why)
    return hidden


def flagged_networks(con: duckdb.DuckDBPyConnection, networks: Iterable[str]) -> dict[str, int]:
    """Of ``networks``, those with an ad showing an image that matches a hash list: how many such
    images each (mandatory reporting)."""
    asked = sorted(set(networks))
    if not asked:
        return {}
    return {
        str(network): int(n)
        for network, n in con.execute(
            """
            SELECT l.network, count(DISTINCT h.sha256)
            FROM hash_matches h
            JOIN ad_images ai ON ai.sha256 = h.sha256
            JOIN ad_links l ON l.source = ai.source AND l.id = ai.ad_id
            WHERE l.network IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY l.network
            """,
            [asked],
        ).fetchall()
    }


def flagged_ads(con: duckdb.DuckDBPyConnection, ads: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Of ``ads`` ((source, id)), those showing (in any version) an image that matches a hash
    list: how many such images each."""
    asked = sorted(set(ads))
    if not asked:
        return {}
    table = pa.table({"source": [s for s, _ in asked], "id": [i for _, i in asked]})
    con.register("_flag_ads", table)
    try:
        rows = con.execute(
            """
            SELECT ai.source, ai.ad_id, count(DISTINCT h.sha256)
            FROM _flag_ads a
            JOIN ad_images ai ON ai.source = a.source AND ai.ad_id = a.id
            JOIN hash_matches h ON h.sha256 = ai.sha256
            GROUP BY ai.source, ai.ad_id
            """
        ).fetchall()
    finally:
        con.unregister("_flag_ads")
    return {(str(s), str(i)): int(n) for s, i, n in rows}


def lists(con: duckdb.DuckDBPyConnection) -> list[HashList]:
    """Every list loaded, oldest first, with how many images of the archive match it now."""
    return [
        HashList(*row)
        for row in con.execute(
            """
            SELECT l.list_id, l.name, l.source_file, l.file_sha256, l.entries, l.rejected,
                   l.loaded_at, l.loaded_by,
                   (SELECT count(DISTINCT sha256) FROM hash_matches m WHERE m.list_id = l.list_id)
            FROM hash_lists l ORDER BY l.list_id
            """
        ).fetchall()
    ]


_ADS_SHOWN = 50


def matches(con: duckdb.DuckDBPyConnection, *, to_report: bool = False) -> list[Match]:
    """Every image matching a loaded list, those not reported yet first, then by when flagged;
    ``to_report``: only those not reported yet."""
    rows = con.execute(
        f"""
        WITH reports AS (
            SELECT sha256, max(reported_at) AS at, arg_max(reported_by, reported_at) AS by,
                   arg_max(note, reported_at) AS note
            FROM hash_match_reports GROUP BY sha256
        )
        SELECT h.sha256, list(DISTINCT l.name ORDER BY l.name), list(DISTINCT h.kind ORDER BY h.kind),
               min(h.distance), min(h.flagged_at), r.at, r.by, r.note
        FROM hash_matches h
        JOIN hash_lists l ON l.list_id = h.list_id
        LEFT JOIN reports r ON r.sha256 = h.sha256
        GROUP BY h.sha256, r.at, r.by, r.note
        {"HAVING r.at IS NULL" if to_report else ""}
        ORDER BY r.at IS NOT NULL, min(h.flagged_at), h.sha256
        """
    ).fetchall()
    shas = [r[0] for r in rows]
    ads: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    networks: dict[str, list[str]] = {}
    if shas:
        for sha, source, ad_id, network, n in con.execute(
            f"""
            WITH shown AS (
                SELECT DISTINCT sha256, source, ad_id FROM ad_images
                WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))
            )
            SELECT s.sha256, s.source, s.ad_id, l.network, count(*) OVER (PARTITION BY s.sha256)
            FROM shown s LEFT JOIN ad_links l ON l.source = s.source AND l.id = s.ad_id
            QUALIFY row_number() OVER (PARTITION BY s.sha256 ORDER BY s.source, s.ad_id) <= {_ADS_SHOWN}
            ORDER BY s.sha256, s.source, s.ad_id
            """,
            [shas],
        ).fetchall():
            ads.setdefault(sha, []).append(f"{source}:{ad_id}")
            counts[sha] = int(n)
            if network is not None and network not in networks.setdefault(sha, []):
                networks[sha].append(network)
    return [
        Match(
            sha,
            tuple(names),
            tuple(kinds),
            int(distance),
            flagged_at,
            tuple(ads.get(sha, ())),
            counts.get(sha, 0),
            tuple(sorted(networks.get(sha, ()))),
            at,
            by,
            note,
        )
        for sha, names, kinds, distance, flagged_at, at, by, note in rows
    ]


def record_report(
    con: duckdb.DuckDBPyConnection, sha256: str, *, by: str, note: str, now: datetime | None = None
) -> bool:
    """Record that the matching image ``sha256`` was reported (``note``: the clearinghouse's
    reference); False if no list matches it."""
    if con.execute("SELECT 1 FROM hash_matches WHERE sha256 = ? LIMIT 1", [sha256]).fetchone() is None:
        return False
    con.execute(
        "INSERT INTO hash_match_reports (sha256, reported_at, reported_by, note) VALUES (?, ?, ?, ?)",
        [sha256, now or utc_now(), by, note],
    )
    return True
