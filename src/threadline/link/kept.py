"""Each ad's link inputs kept in the store, so that a link run reads the extractions of new
versions only.

What linking and scoring read from the extractions of an ad (`steps.input_rows`: its identifiers,
names, city and ages, sentences and hourly prices) depends on that ad's latest version alone. A
store keeps those rows per ad in ``link_input_*``, with the version they were read from in
``link_input_ads``: a run reads again only the ads whose latest version is not the one kept (new
ads and new versions) and forgets the rows of ads no longer there. At a million ads this is the
difference between joining some 21 million extraction rows to the ads and reading a few thousand.

The kept rows are what `steps.input_rows` gives over every ad, so a run reading them links as one
reading the extractions (tested). Their SQL is kept with them (``link_input_digest``): rows read by
another version of that SQL are all read again. A full run (`link.link` with ``full``) reads them
all again too.
"""

from __future__ import annotations

import hashlib

import duckdb

from threadline.engine import DuckDBEngine, Engine
from threadline.link.steps import INPUT_DETAIL_KINDS, INPUT_KINDS, input_rows
from threadline.store._tx import transaction

__all__ = ["KEPT", "keep_inputs"]

# The store's table for each of `steps.input_rows` (its columns named as that SQL names them).
KEPT = {
    "ids": "link_input_ids",
    "names": "link_input_names",
    "facts": "link_input_facts",
    "sentences": "link_input_sentences",
    "prices": "link_input_prices",
}


def keep_inputs(engine: Engine, *, rebuild: bool = False) -> int:
    """Bring the kept link inputs up to date with ``link_ads`` (`steps.build_inputs`); returns
    how many ads were read again. ``rebuild``: read every ad again.

    Saved in a transaction of its own, before the run's: the rows are right whatever becomes of
    the run, as the ad keys it saves first are (`link.assign_ad_keys`)."""
    if not isinstance(engine, DuckDBEngine):
        raise TypeError("link inputs are kept in a DuckDB store only")
    con = engine.con
    read_by = repr((INPUT_KINDS, INPUT_DETAIL_KINDS, sorted(input_rows(engine, "ads").items())))
    digest = hashlib.sha256(read_by.encode()).hexdigest()[:16]
    [(kept_digest,)] = con.execute("SELECT MAX(digest) FROM link_input_digest").fetchall()
    with transaction(con, touches=()):
        if rebuild or kept_digest != digest:
            # Every ad, read straight from the extractions.
            for table in ("link_input_ads", "link_input_digest", *KEPT.values()):
                con.execute(f"DELETE FROM {table}")
            con.execute("INSERT INTO link_input_digest VALUES (?)", [digest])
            _insert(con, input_rows(engine, "link_ads"), "link_ads")
            [(new,)] = con.execute("SELECT COUNT(*) FROM link_ads").fetchall()
            return int(new)
        engine.table(
            "_kept_gone",
            """
            SELECT k.ad_key FROM link_input_ads k
            LEFT JOIN link_ads l ON l.ad_key = k.ad_key AND l.version = k.version
            WHERE l.ad_key IS NULL
            """,
        )
        engine.table(
            "_kept_new",
            """
            SELECT l.ad_key, l.source, l.id, l.version FROM link_ads l
            LEFT JOIN link_input_ads k ON k.ad_key = l.ad_key AND k.version = l.version
            WHERE k.ad_key IS NULL
            """,
        )
        [(gone, new)] = con.execute(
            "SELECT (SELECT COUNT(*) FROM _kept_gone), (SELECT COUNT(*) FROM _kept_new)"
        ).fetchall()
        if gone:
            for table in ("link_input_ads", *KEPT.values()):
                con.execute(f"DELETE FROM {table} WHERE ad_key IN (SELECT ad_key FROM _kept_gone)")
        if new:
            # One scan of the extractions for the rows of every input; of the JSON details, only
            # those the inputs read (prices' rates, places' sources).
            kinds = ", ".join(f"'{k}'" for k in INPUT_KINDS)
            detailed = ", ".join(f"'{k}'" for k in INPUT_DETAIL_KINDS)
            engine.table(
                "_kept_extractions",
                f"""
                SELECT e.source, e.ad_id, e.version, e.kind, e.value, e.field, e.span_index, e.span_start,
                       CASE WHEN e.kind IN ({detailed}) THEN e.detail END AS detail
                FROM extractions e
                JOIN _kept_new n ON n.source = e.source AND n.id = e.ad_id AND n.version = e.version
                WHERE e.kind IN ({kinds})
                """,
            )
            _insert(con, input_rows(engine, "_kept_new", "_kept_extractions"), "_kept_new")
    engine.drop("_kept_gone", "_kept_new", "_kept_extractions")
    return int(new)


def _insert(con: duckdb.DuckDBPyConnection, rows: dict[str, str], ads: str) -> None:
    """Keep ``rows`` (`steps.input_rows`) of the ads of ``ads``."""
    for name, sql in rows.items():
        con.execute(f"INSERT INTO {KEPT[name]} BY NAME {sql}")
    con.execute(f"INSERT INTO link_input_ads (ad_key, version) SELECT ad_key, version FROM {ads}")
