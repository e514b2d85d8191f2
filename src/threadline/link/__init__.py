"""Linking: from ads to the persons and networks (operations) behind them, every link explained.

`link_store` runs the set-based steps of `steps` and `text` on the store's own DuckDB connection
and saves the results in the store: ``ad_links`` (ad -> person, network), ``link_hubs``
(identifiers and images shown as hubs and not trusted), ``link_evidence`` (what joins each
network: shared identifiers and images, similar images, and for near-duplicate text each ad's
closest text pair; and, joining nothing, weak corroboration by name, age, city and time: see
`corroboration`) and ``link_runs``. A new group is named by its first ad (``N00000042``); a
group that holds most of an earlier group's ads keeps that group's id, so ids survive splits and
merges, and ``link_lineage`` says what split from or merged into what (see `lineage`). An
incremental run and a full relink of the same store give the same ids.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from threadline.engine import DuckDBEngine, Engine, components_sql
from threadline.link.cases import follow_networks
from threadline.link.corroboration import corroboration_pairs, orphan_pairs, save_corroboration
from threadline.link.incremental import affected_ads
from threadline.link.kept import KEPT
from threadline.link.lineage import inherit_ids
from threadline.link.steps import (
    LinkParams,
    build_inputs,
    detect_hubs,
    image_pairs,
    link_components,
    phone_groups,
)
from threadline.link.text import text_pairs
from threadline.store._tx import ALL, listened, network_tags, touched, transaction
from threadline.store.schema import insert_row

__all__ = [
    "DuckDBEngine",
    "Engine",
    "LinkParams",
    "LinkReport",
    "assign_ad_keys",
    "components_sql",
    "link",
    "result_tables",
    "run_params",
]


@dataclass(frozen=True, slots=True)
class LinkReport:
    ads: int
    networks: int
    persons: int
    hubs: int
    seconds: float
    relinked: int = 0  # ads clustered again by this run (all of them on a full run)


def assign_ad_keys(con: duckdb.DuckDBPyConnection) -> int:
    """Give every ad not yet keyed the next keys, in the order its first version was ingested."""
    before = con.execute("SELECT COUNT(*) FROM ad_keys").fetchone()
    con.execute(
        """
        INSERT INTO ad_keys
        SELECT a.source, a.id,
               (SELECT COALESCE(MAX(ad_key), 0) FROM ad_keys)
               + row_number() OVER (
                   ORDER BY a.run_id NULLS FIRST, a.ingested_at, a.file, a.line, a.source, a.id
               )
        FROM ads a
        WHERE a.version = 1 AND NOT EXISTS (SELECT 1 FROM ad_keys k WHERE k.source = a.source AND k.id = a.id)
        """
    )
    after = con.execute("SELECT COUNT(*) FROM ad_keys").fetchone()
    return int(after[0] if after else 0) - int(before[0] if before else 0)


def link(
    con: duckdb.DuckDBPyConnection, params: LinkParams | None = None, *, full: bool = False
) -> LinkReport:
    """Link the ads of the store behind ``con`` and save the results (one transaction).

    Incremental: only the ads affected by what changed since the last run are clustered again
    (see `incremental`), with the same result as a ``full`` run. A run with other parameters than
    the last one is always full.
    """
    params = params or LinkParams()
    t0 = time.perf_counter()
    engine = DuckDBEngine(con)
    # The steps make only temporary tables and run outside the transaction that saves their
    # results: inside one, every replaced temporary table is kept until the commit, and a run at
    # scale spills to disk (twice as slow). New ads' keys are saved first, on their own: a failed
    # run leaves them, which is harmless (the next run would give the same keys).
    assign_ad_keys(con)
    last = con.execute("SELECT params FROM link_runs ORDER BY finished DESC LIMIT 1").fetchall()
    # Each ad's inputs are kept in the store and read again for new versions only (`kept`).
    build_inputs(engine, params, kept="rebuild" if full else "update")
    detect_hubs(engine, params)
    image_pairs(engine, params)
    text_pairs(engine, params, sentences=KEPT["sentences"])
    phone_groups(engine)  # phones beside unrelated numbers: weak links
    corroboration_pairs(engine, params)  # see link/corroboration.py
    orphan_pairs(engine)  # ads with nothing else to link them, and what corroborates them
    # What the run used: its parameters and the thresholds it measured on the data. Either
    # changed since the last run, every pair is judged anew: a full run.
    used = run_params(engine, params)
    full = full or not last or json.loads(last[0][0]) != used
    scope = None
    if not full:
        affected_ads(engine, params)
        [(affected, total)] = engine.query(
            "SELECT (SELECT COUNT(*) FROM _affected), (SELECT COUNT(*) FROM link_ads)"
        )
        # When most of the archive is affected anyway, one full pass is cheaper (same result).
        if affected <= total * params.incremental_max_share:
            scope = "_affected"
    link_components(engine, scope, params)
    # What the run touches, for those who keep answers (`store._tx.Touches`): the networks it
    # clustered again and those it changed otherwise (`_save`, `save_corroboration`); a full
    # run, everything.
    with transaction(con, touches=("links",) if scope else ALL):
        relinked = _save(con, scope)
        save_corroboration(con)
        follow_networks(con)  # cases following a network take in its new ads, with a notice
        report = _report(con, time.perf_counter() - t0, relinked)
        insert_row(
            con,
            "link_runs",
            {
                "finished": datetime.now(UTC).replace(tzinfo=None),
                "params": json.dumps(used),
                "ads": report.ads,
                "networks": report.networks,
                "persons": report.persons,
                "hubs": report.hubs,
                "seconds": report.seconds,
            },
        )
    return report


def run_params(engine: Engine, params: LinkParams) -> dict[str, Any]:
    """What a run used, as ``link_runs.params`` keeps it: ``params`` and the thresholds the run
    measured on the data (how many numbers one writer's text is beside, ``text_own``)."""
    [(own,)] = engine.query("SELECT holders FROM text_own")
    return {**asdict(params), "measured": {"text_own_holders": int(own)}}


def _padded(key: str) -> str:
    """An ad key as at least 8 digits (``00000042``): lpad alone would cut longer keys short."""
    text = f"CAST({key} AS STRING)"
    return f"CASE WHEN length({text}) >= 8 THEN {text} ELSE lpad({text}, 8, '0') END"


def result_tables(engine: Engine) -> None:
    """Tables ``new_ad_links`` (each clustered ad's network and person) and ``new_link_evidence``
    (what joins each of their networks), from the run's tables: what a run saves, in any engine.
    """
    engine.table(
        "new_ad_links",
        f"""
        SELECT l.ad_key, l.source, l.id, l.version,
               'N' || {_padded("n.component")} AS network,
               'P' || {_padded("p.component")} AS person
        FROM link_ads l
        JOIN networks n ON n.node = l.ad_key
        JOIN persons p ON p.node = l.ad_key
        """,
    )
    # Every ad of a network clustered again is in ``new_ad_links`` (a scope holds whole networks).
    engine.table(
        "new_link_evidence",
        """
        SELECT l.network, e.kind, e.value, COUNT(DISTINCT e.a) AS ads, CAST(NULL AS STRING) AS detail
        FROM net_edges e JOIN new_ad_links l ON l.ad_key = e.a
        WHERE e.kind IN ('phone', 'email', 'handle', 'image', 'analyst_merge')
        GROUP BY l.network, e.kind, e.value
        HAVING COUNT(DISTINCT e.a) > 1
        UNION ALL
        SELECT DISTINCT l.network, 'similar_image', p.sha_a || ' ' || p.sha_b, 2,
               'PDQ distance ' || CAST(p.pdq_distance AS STRING)
               || ', pHash distance ' || CAST(p.phash_distance AS STRING)
        FROM image_pairs p
        JOIN net_edges e ON e.kind = 'similar_image' AND e.value = p.sha_a || ' ' || p.sha_b
        JOIN new_ad_links l ON l.ad_key = e.a
        UNION ALL
        SELECT l.network, 'analyst_cut', c.kind || ' ' || c.value, 2,
               CASE WHEN c.kind IN ('text', 'similar_image')
                    THEN 'cut between ' || a.source || ':' || a.id || ' and ' || b.source || ':' || b.id
                    ELSE 'not used to link ' || a.source || ':' || a.id || ' to its other holders'
               END || ' for decision ' || CAST(c.decision_id AS STRING) || ' by ' || d.analyst
        FROM (
            SELECT a AS here, decision_id, a, b, kind, value FROM link_cut_edges
            UNION ALL SELECT b AS here, decision_id, a, b, kind, value FROM link_cut_edges
        ) c
        JOIN analyst_decisions d ON d.decision_id = c.decision_id
        JOIN new_ad_links l ON l.ad_key = c.here
        JOIN link_ads a ON a.ad_key = c.a
        JOIN link_ads b ON b.ad_key = c.b
        UNION ALL
        -- a phone beside numbers nothing else joins (`steps.phone_groups`): in each network that
        -- holds it, why it links only where other evidence agrees
        SELECT l.network, 'weak_phone', w.value, COUNT(DISTINCT l.ad_key),
               -- counts as whole numbers: a measured median is a double on Spark
               'beside ' || CAST(CAST(MIN(h.co_phones) AS BIGINT) AS STRING) || ' other numbers in '
               || CAST(CAST(MIN(w.groups) AS BIGINT) AS STRING) || ' unrelated groups (one holder is beside '
               || CAST(CAST(MIN(t.holders) AS BIGINT) AS STRING)
               || '): links only where other evidence agrees'
        FROM weak_phones w
        JOIN hubs h ON h.kind = 'phone' AND h.value = w.value
        JOIN link_ids i ON i.kind = 'phone' AND i.value = w.value
        JOIN new_ad_links l ON l.ad_key = i.ad_key
        CROSS JOIN text_own t
        GROUP BY l.network, w.value
        UNION ALL
        SELECT l.network, 'text', a.source || ':' || a.id || ' ' || b.source || ':' || b.id, 2,
               'jaccard ' || CAST(floor(t.jaccard * 100 + 0.5) / 100 AS STRING)
               || ', ' || CAST(t.shared AS STRING) || ' sentences'
        FROM (
            SELECT p.ad_a, p.ad_b, p.jaccard, p.shared,
                   row_number() OVER (
                       PARTITION BY p.ad_b ORDER BY p.jaccard DESC, p.shared DESC, p.ad_a
                   ) AS rank
            FROM text_pairs p
            JOIN net_edges e ON e.kind = 'text' AND e.a = p.ad_a AND e.b = p.ad_b
        ) t
        JOIN new_ad_links l ON l.ad_key = t.ad_a
        JOIN link_ads a ON a.ad_key = t.ad_a
        JOIN link_ads b ON b.ad_key = t.ad_b
        WHERE t.rank = 1
        UNION ALL
        -- two persons made one by her name (`steps._namesakes`): their first ads, and why
        SELECT l.network, 'namesake', a.source || ':' || a.id || ' ' || b.source || ':' || b.id, 2, n.reason
        FROM person_namesakes n
        JOIN new_ad_links l ON l.ad_key = n.x
        JOIN link_ads a ON a.ad_key = n.x
        JOIN link_ads b ON b.ad_key = n.y
        """,
    )


def _save(con: duckdb.DuckDBPyConnection, scope: str | None) -> int:
    """Replace the saved results of the ads in ``scope`` (all ads if None); returns their count."""
    result_tables(DuckDBEngine(con))
    inherit_ids(con, datetime.now(UTC).replace(tzinfo=None))
    where = f"WHERE ad_key IN (SELECT ad_key FROM {scope})" if scope else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _old_networks AS SELECT DISTINCT network FROM ad_links {where}"
    )
    con.execute(f"DELETE FROM ad_links {where}")
    con.execute("INSERT INTO ad_links SELECT * FROM new_ad_links")
    con.execute("DELETE FROM link_image_pairs")
    con.execute("INSERT INTO link_image_pairs SELECT sha_a, sha_b FROM image_pairs")
    con.execute("DELETE FROM link_text_pairs")
    con.execute("INSERT INTO link_text_pairs SELECT ad_a, ad_b, jaccard, shared, holders FROM text_pairs")
    con.execute("DELETE FROM link_orphan_pairs")
    con.execute("INSERT INTO link_orphan_pairs SELECT orphan, other, detail FROM orphan_pairs")
    # Every cut of the last run is inside the scope (its ends are always affected): replace all.
    con.execute("DELETE FROM link_cuts")
    con.execute("INSERT INTO link_cuts SELECT decision_id, a, b, kind, value FROM link_cut_edges")
    # Hub statistics are kept for every value: rewrite only the rows that changed (a few per
    # run), not the millions that did not.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _hub_rows AS
        SELECT kind, value, ads, co_phones, names, detected, is_hub, marked_by FROM hubs
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _hub_gone AS
        SELECT kind, value FROM (SELECT * FROM link_hubs EXCEPT SELECT * FROM _hub_rows)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _hub_new AS SELECT * FROM _hub_rows EXCEPT SELECT * FROM link_hubs
        """
    )
    _touch_hub_holders(con)
    con.execute("DELETE FROM link_hubs WHERE (kind, value) IN (SELECT (kind, value) FROM _hub_gone)")
    con.execute("INSERT INTO link_hubs SELECT * FROM _hub_new")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _changed_networks AS
        SELECT network FROM _old_networks UNION SELECT DISTINCT network FROM new_ad_links
        """
    )
    touched(con, *network_tags(n for (n,) in con.execute("SELECT network FROM _changed_networks").fetchall()))
    con.execute("DELETE FROM link_evidence WHERE network IN (SELECT network FROM _changed_networks)")
    con.execute("INSERT INTO link_evidence SELECT * FROM new_link_evidence")
    [(relinked,)] = con.execute("SELECT COUNT(*) FROM new_ad_links").fetchall()
    return int(relinked)


def _touch_hub_holders(con: duckdb.DuckDBPyConnection) -> None:
    """Tell the run's transaction (`touched`) the networks whose ads carry a hub whose saved row
    changes now (``_hub_gone`` and ``_hub_new``, before ``link_hubs`` is rewritten): a network's
    view lists the hubs its ads carry with their counts (`read.networks.network_hubs`: hubs,
    and images beside other numbers), though the run may not cluster it again. Rows that are no
    hub before or after, and no image, are shown nowhere. Nothing to do where nobody listens."""
    if not listened(con):
        return
    rows = con.execute(
        """
        WITH moved AS (
            SELECT kind, value, is_hub FROM link_hubs
            WHERE (kind, value) IN (SELECT (kind, value) FROM _hub_gone)
            UNION ALL
            SELECT kind, value, is_hub FROM _hub_new
        ),
        shown AS (
            -- a phone's hub value names its tenure ("+18005550199 from 2026-08-01"); a text
            -- hub's, its two sentences (its ads carry the first)
            SELECT DISTINCT CASE WHEN kind = 'text' THEN 'sentence' ELSE kind END AS kind,
                   split_part(value, ' ', 1) AS value
            FROM moved WHERE is_hub OR kind = 'image'
        )
        SELECT DISTINCT l.network
        FROM extractions e
        JOIN shown s ON s.kind = e.kind AND s.value = e.value
        JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id
        """
    ).fetchall()
    touched(con, *network_tags(n for (n,) in rows))


def _report(con: duckdb.DuckDBPyConnection, seconds: float, relinked: int) -> LinkReport:
    row = con.execute(
        """
        SELECT COUNT(*), COUNT(DISTINCT network), COUNT(DISTINCT person),
               (SELECT COUNT(*) FROM link_hubs WHERE is_hub)
        FROM ad_links
        """
    ).fetchone()
    assert row is not None
    return LinkReport(int(row[0]), int(row[1]), int(row[2]), int(row[3]), round(seconds, 2), relinked)
