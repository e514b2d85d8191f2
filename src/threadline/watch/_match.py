"""Matching ads against the watchlists: one join of the ads' values with the entries' values.

An entry is stored as the values it waits for (`watch_values`: a phone in E.164, an e-mail, a
handle's name, a name, a city, a word, each as the ads' *facts* below hold it) and, for a photo,
its hash cut in bytes (`watch_image_chunks`: PDQ's 32, pHash's 8; by the pigeonhole principle an
image within 31 bits of the PDQ, or 7 of the pHash, shares one of them; linking's 16-bit chunks
would miss a photo cropped and saved again, 40 to 55 bits away). Matching a batch of new ads is
then a join of the batch's facts with those rows on ``(kind, value)`` and of the batch's image chunks with the
entries' on ``(hash, chunk, val)``: its cost grows with the batch and the hits, not with the
number of entries. The few (entry, ad) pairs found are then checked against the parts a join
cannot find alone (an age range, a date window) and the entry's rule (`_rule`):

* identifiers: any of its identifiers;
* a saved search: every part it gives (all its words, the place, the name, the age range, the
  date window);
* a photo: a near-identical image (PDQ within `PDQ_RADIUS` bits or pHash within `PHASH_RADIUS`);
* a missing person: the photo alone, or a name or nickname together with another part (the age
  range, the last known place, the time), so that a common nickname does not flood the inbox.

`match_batch` runs inside `Store.write_batch`'s transaction on the ads that batch stored (new ads
and new versions; a version that returns to earlier content was matched when first stored): an
alert is durable with the ad that raised it. `match_archive` runs once for a new entry over every
stored version. One alert per entry and ad (``UNIQUE (entry, source, id)``), whichever version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from threadline.extract.images import pdq_bits_sql, phash_bits_sql
from threadline.store.text_index import terms_sql

__all__ = ["PDQ_RADIUS", "PHASH_RADIUS", "BatchRelations", "Hit", "match_archive", "match_batch", "rule"]

PDQ_RADIUS = 31  # bits of 256: the image linking step's radius (`LinkParams.pdq_radius`)
PHASH_RADIUS = 8  # bits of 64

# The facts of ads, from a relation ``ext(source, id, version, kind, value)`` of extractions:
# (kind, value) as `watch_values` holds them, with the value as the ad wrote it (``shown``).
_FACTS = """
    SELECT source, id, version, kind, value AS key, value AS shown FROM ext
    WHERE kind IN ('phone', 'email')
    UNION ALL
    SELECT source, id, version, 'handle-name', lower(split_part(value, ':', 2)), value FROM ext
    WHERE kind = 'handle'
    UNION ALL
    SELECT source, id, version, 'name', lower(value), value FROM ext WHERE kind = 'name'
    UNION ALL
    SELECT source, id, version, 'place', lower(trim(split_part(value, ',', 1))), value FROM ext
    WHERE kind = 'place'
"""

_PDQ_BITS = pdq_bits_sql("i.pdq", "c.pdq")
_PHASH_BITS = phash_bits_sql("i.phash", "c.phash")


@dataclass(frozen=True, slots=True)
class Hit:
    """One part of an entry that one version of an ad matched, with the ad's value."""

    entry: int
    source: str
    id: str
    version: int
    part: str  # identifier, name, place, word:TERM, photo, age, date
    shown: str


@dataclass(frozen=True, slots=True)
class BatchRelations:
    """Where the ads to match are, as relations on the connection: ``ext(source, id, version,
    kind, value)``, ``dated(source, id, version, dated_at)``, ``pictured(source, id, version, sha256)``
    and ``worded(source, id, version, term)`` (SQL of a relation, or a registered table's name)."""

    ext: str
    dated: str
    pictured: str
    worded: str | None  # None: no entry waits for words


def _hits(con: duckdb.DuckDBPyConnection, rel: BatchRelations, entries: str, params: list[Any]) -> list[Hit]:
    """Every part of the entries of ``entries`` (SQL of a relation of entry numbers, with
    ``params``) the ads of ``rel`` match."""
    words = (
        f"""
        UNION ALL
        SELECT w.entry, a.source, a.id, a.version, w.part, a.term
        FROM ({rel.worded}) a JOIN watch_values w ON w.kind = 'word' AND w.value = a.term
        WHERE w.entry IN (SELECT entry FROM active)
        """
        if rel.worded is not None
        else ""
    )
    rows = con.execute(
        f"""
        WITH active AS ({entries}),
        ext AS (SELECT * FROM ({rel.ext})),
        facts AS ({_FACTS}),
        pictures AS (
            SELECT p.source, p.id, p.version, p.sha256, i.pdq, i.phash
            FROM ({rel.pictured}) p JOIN images i ON i.sha256 = p.sha256
            WHERE i.pdq IS NOT NULL AND i.phash IS NOT NULL
        ),
        chunks AS (
            SELECT source, id, version, sha256, pdq, phash, 'pdq' AS hash, n AS chunk,
                   substr(pdq, 2 * n + 1, 2) AS val
            FROM pictures, range(32) t(n)
            UNION ALL
            SELECT source, id, version, sha256, pdq, phash, 'phash', n, substr(phash, 2 * n + 1, 2)
            FROM pictures, range(8) t(n)
        ),
        photo AS (
            SELECT DISTINCT c.entry, i.source, i.id, i.version, i.sha256,
                   {_PDQ_BITS} AS pdq_bits, {_PHASH_BITS} AS phash_bits
            FROM chunks i
            JOIN watch_image_chunks c ON c.hash = i.hash AND c.chunk = i.chunk AND c.val = i.val
            WHERE c.entry IN (SELECT entry FROM active)
        ),
        hits AS (
            SELECT w.entry, f.source, f.id, f.version, w.part, f.shown
            FROM facts f JOIN watch_values w ON w.kind = f.kind AND w.value = f.key
            WHERE w.entry IN (SELECT entry FROM active)
            UNION ALL
            SELECT entry, source, id, version, 'photo',
                   'image ' || substr(sha256, 1, 12) || ' (PDQ distance ' || pdq_bits
                   || ', pHash distance ' || phash_bits || ')'
            FROM photo WHERE pdq_bits <= {PDQ_RADIUS} OR phash_bits <= {PHASH_RADIUS}
            {words}
        ),
        -- The pairs that may still meet their rule once the age and the dates are checked: a
        -- missing person's with a name or the photo, a saved search's with all its words, its
        -- place and its name (most pairs found are a common word or nickname alone).
        found AS (
            SELECT h.entry, h.source, h.id, h.version
            FROM hits h JOIN watch_entries w ON w.entry = h.entry
            GROUP BY h.entry, h.source, h.id, h.version, w.kind, w.needs
            HAVING CASE w.kind
                WHEN 'missing' THEN list_has_any(list(DISTINCT h.part), ['name', 'photo'])
                WHEN 'search' THEN list_has_all(
                    list(DISTINCT h.part),
                    list_filter(CAST(w.needs AS VARCHAR[]), x -> x NOT IN ('age', 'date'))
                )
                ELSE true
            END
        ),
        checked AS (
            SELECT f.entry, f.source, f.id, f.version, 'age' AS part, e.value AS shown
            FROM found f JOIN watch_entries w ON w.entry = f.entry
            JOIN ext e ON e.source = f.source AND e.id = f.id AND e.version = f.version AND e.kind = 'age'
            WHERE w.age_min IS NOT NULL AND TRY_CAST(e.value AS INTEGER) BETWEEN w.age_min AND w.age_max
            UNION ALL
            SELECT f.entry, f.source, f.id, f.version, 'date', strftime(d.dated_at, '%Y-%m-%d')
            FROM found f JOIN watch_entries w ON w.entry = f.entry
            JOIN ({rel.dated}) d ON d.source = f.source AND d.id = f.id AND d.version = f.version
            WHERE (w.date_from IS NOT NULL OR w.date_to IS NOT NULL)
              AND d.dated_at >= coalesce(w.date_from, d.dated_at)
              AND d.dated_at <= coalesce(w.date_to, d.dated_at)
        ),
        found_all AS (
            SELECT h.* FROM hits h
            JOIN found f
              ON f.entry = h.entry AND f.source = h.source AND f.id = h.id AND f.version = h.version
            UNION SELECT * FROM checked
        ),
        grouped AS (
            SELECT entry, source, id, version, list(DISTINCT part) AS parts
            FROM found_all GROUP BY entry, source, id, version
        ),
        matched AS (
            SELECT g.entry, g.source, g.id, g.version
            FROM grouped g JOIN watch_entries w ON w.entry = g.entry
            WHERE {_RULE_SQL}
        )
        SELECT e.* FROM found_all e
        JOIN matched m ON m.entry = e.entry AND m.source = e.source AND m.id = e.id AND m.version = e.version
        """,
        params,
    ).fetchall()
    return [Hit(int(e), s, i, int(v), p, str(shown)) for e, s, i, v, p, shown in rows]


# `rule` in SQL, over ``g.parts`` (the parts an ad's version matched) and the entry ``w``: only the
# (entry, ad) pairs that meet it leave the database (most pairs match a part or two: a common
# word of a saved search, a nickname without its age).
_RULE_SQL = """
    CASE w.kind
        WHEN 'identifiers' THEN list_contains(g.parts, 'identifier')
        WHEN 'photo' THEN list_contains(g.parts, 'photo')
        WHEN 'missing' THEN list_contains(g.parts, 'photo')
            OR (list_contains(g.parts, 'name') AND list_has_any(g.parts, ['age', 'place', 'date']))
        WHEN 'search' THEN len(CAST(w.needs AS VARCHAR[])) > 0
            AND list_has_all(g.parts, CAST(w.needs AS VARCHAR[]))
        ELSE false
    END
"""


def rule(kind: str, needs: Iterable[str], parts: set[str]) -> bool:
    """Whether an entry of ``kind`` (with the parts a saved search ``needs``) is matched by an ad
    that matched ``parts``."""
    if kind == "identifiers":
        return "identifier" in parts
    if kind == "photo":
        return "photo" in parts
    if kind == "missing":
        return "photo" in parts or ("name" in parts and bool(parts & {"age", "place", "date"}))
    if kind == "search":
        needed = set(needs)
        return bool(needed) and needed <= parts
    return False


def _raise(con: duckdb.DuckDBPyConnection, hits: list[Hit], now: datetime) -> list[int]:
    """Raise an alert for each (entry, ad) whose hits meet its entry's rule, unless one is
    raised already; returns the new alerts' numbers."""
    if not hits:
        return []
    entries = {h.entry for h in hits}
    marks = ", ".join("?" for _ in entries)
    kinds = {
        int(e): (k, json.loads(n))
        for e, k, n in con.execute(
            f"SELECT entry, kind, needs FROM watch_entries WHERE entry IN ({marks})", sorted(entries)
        ).fetchall()
    }
    grouped: dict[tuple[int, str, str], list[Hit]] = {}
    for hit in hits:
        grouped.setdefault((hit.entry, hit.source, hit.id), []).append(hit)
    rows = []
    for (entry, source, ad_id), found in sorted(grouped.items()):
        kind, needs = kinds[entry]
        # The version to show: the latest that matched the rule on its own, else the latest.
        by_version: dict[int, set[str]] = {}
        for h in found:
            by_version.setdefault(h.version, set()).add(h.part)
        matching = [v for v, parts in by_version.items() if rule(kind, needs, parts)]
        if not matching:
            continue
        version = max(matching)
        # One line per part and value, however many ways it was found ("Lexi" the name, "lexi" the word).
        shown = list(
            {
                (p, v.casefold()): (p, v)
                for p, v in sorted({(h.part, h.shown) for h in found if h.version == version}, reverse=True)
            }.values()
        )
        shown.sort()
        parts = sorted({"words" if p.startswith("word:") else p for p, _ in shown})
        why = [{"part": "words" if p.startswith("word:") else p, "value": v} for p, v in shown]
        rows.append((entry, source, ad_id, version, parts, json.dumps(why, ensure_ascii=False), now))
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "entry": pa.array(columns[0], pa.int64()),
            "source": pa.array(columns[1], pa.string()),
            "id": pa.array(columns[2], pa.string()),
            "version": pa.array(columns[3], pa.int32()),
            "parts": pa.array(columns[4], pa.list_(pa.string())),
            "why": pa.array(columns[5], pa.string()),
            "raised_at": pa.array(columns[6], pa.timestamp("us")),
        }
    )
    con.register("_new_alerts", table)
    try:
        raised = con.execute(
            """
            INSERT INTO alerts (entry, source, id, version, parts, why, raised_at)
            SELECT n.entry, n.source, n.id, n.version, n.parts, CAST(n.why AS JSON), n.raised_at
            FROM _new_alerts n
            WHERE NOT EXISTS (
                SELECT 1 FROM alerts a WHERE a.entry = n.entry AND a.source = n.source AND a.id = n.id
            )
            RETURNING alert
            """
        ).fetchall()
    finally:
        con.unregister("_new_alerts")
    numbers = [int(a) for (a,) in raised]
    _queue_deliveries(con, numbers, now)
    return numbers


def _queue_deliveries(con: duckdb.DuckDBPyConnection, alerts: list[int], now: datetime) -> None:
    """A pending delivery of each new alert on each channel an admin configured."""
    if not alerts:
        return
    channels = [
        k
        for (k,) in con.execute("SELECT key FROM alert_settings WHERE key IN ('webhook', 'smtp')").fetchall()
    ]
    for channel in channels:
        con.execute(
            "INSERT INTO alert_deliveries (alert, channel, status, attempts, next_at)"
            " SELECT unnest(CAST(? AS BIGINT[])), ?, 'pending', 0, ?",
            [alerts, channel, now],
        )


_ACTIVE = (
    "SELECT entry FROM watch_entries WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"
)


def any_active(con: duckdb.DuckDBPyConnection, now: datetime) -> tuple[bool, bool]:
    """Whether any entry is active, and whether any active one waits for words."""
    row = con.execute(
        f"""
        SELECT count(*), count(*) FILTER (WHERE entry IN (SELECT entry FROM watch_values WHERE kind = 'word'))
        FROM ({_ACTIVE})
        """,
        [now],
    ).fetchone()
    return (bool(row and row[0]), bool(row and row[1]))


def match_batch(
    con: duckdb.DuckDBPyConnection,
    ads: str,
    extractions: str,
    images: str,
    now: datetime,
    *,
    words: str | None = None,
) -> list[int]:
    """Match the ads a batch stored against the active entries; returns the alerts raised.

    ``ads``: a registered relation of the batch's new versions ``(source, id, version, text,
    dated_at)`` (title, body and location; posted, else captured, else stored); ``extractions``:
    their extraction rows (the store's layout); ``images``: their ``ad_images`` rows. Costs one
    small query when no entry is active. ``words``: a relation ``(source, id, version, words)``
    of the batch's words as the words index cut them (`text_index.index_ads` with
    ``keep_words``); without it they are cut here."""
    active, wants_words = any_active(con, now)
    if not active:
        return []
    relations = BatchRelations(
        ext=f"SELECT source, ad_id AS id, version, kind, value FROM {extractions}",
        dated=f"SELECT source, id, version, dated_at FROM {ads}",
        pictured=f"SELECT source, ad_id AS id, version, sha256 FROM {images}",
        worded=(
            None
            if not wants_words
            else (
                "SELECT * FROM (SELECT source, id, version, unnest(words) AS term"
                f" FROM {words}) WHERE term IN (SELECT value FROM watch_values WHERE kind = 'word')"
            )
            if words is not None
            else f"SELECT DISTINCT source, id, version, unnest({terms_sql('text')}) AS term FROM {ads}"
        ),
    )
    hits = _hits(con, relations, _ACTIVE, [now])
    return _raise(con, hits, now)


def match_archive(con: duckdb.DuckDBPyConnection, entry: int, now: datetime) -> list[int]:
    """Match every stored version of every ad against the one entry ``entry`` (once, when it is
    made); returns the alerts raised."""
    terms = [
        t
        for (t,) in con.execute(
            "SELECT value FROM watch_values WHERE entry = ? AND kind = 'word'", [entry]
        ).fetchall()
    ]
    worded = None
    if terms:
        quoted = ", ".join("'" + t.replace("'", "''") + "'" for t in terms)
        worded = (
            "SELECT d.source, d.id, d.version, t.term FROM search_terms t JOIN search_docs d ON d.doc = t.doc"
            f" WHERE t.term IN ({quoted})"
        )
    relations = BatchRelations(
        ext="SELECT source, ad_id AS id, version, kind, value FROM extractions",
        dated=(
            "SELECT source, id, version, coalesce(posted_at, captured_at, ingested_at) AS dated_at"
            " FROM ad_rows"
        ),
        pictured="SELECT source, ad_id AS id, version, sha256 FROM ad_images",
        worded=worded,
    )
    hits = _hits(con, relations, "SELECT CAST(? AS BIGINT) AS entry", [entry])
    return _raise(con, hits, now)
