"""Benchmark of weak corroboration (link/corroboration.py): what it would add to linking, and its time.

    .venv/bin/python bench/link_corroboration.py --quality-db STORE --corpus bench/out/link-quality
    .venv/bin/python bench/link_corroboration.py --scale-db bench/out/link-scale-1000000.duckdb

Both open the store read-only (every table made is TEMP), so a bench store is never modified; the
quality store must have been linked (``threadline ingest`` does) and schema-migrated by this
version. Quality: network and person B-cubed of the saved links, then of the same graphs with the
corroboration pairs of each threshold added as network and person edges, or as person edges only
between ads of one network, and how many of the pairs are one person by ground truth. Scale: the
seconds of the step on its own (inputs built first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from link import bcubed
from threadline.link import DuckDBEngine, LinkParams
from threadline.link.corroboration import corroboration_pairs, orphan_pairs
from threadline.link.steps import build_inputs, detect_hubs, image_pairs, link_components, phone_groups
from threadline.link.text import text_pairs

THRESHOLDS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def _components(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, int]:
    return dict(con.execute(f"SELECT node, component FROM {table}").fetchall())


def quality(db: Path, corpus: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    engine = DuckDBEngine(con)
    params = LinkParams()
    build_inputs(engine)
    detect_hubs(engine, params)
    image_pairs(engine, params)
    text_pairs(engine, params)
    phone_groups(engine)
    corroboration_pairs(engine, params)
    orphan_pairs(engine)
    link_components(engine, None, params)
    t0 = time.perf_counter()
    corroboration_pairs(engine, LinkParams(corroboration_min_probability=min(THRESHOLDS)))
    seconds = time.perf_counter() - t0
    con.execute(
        f"""
        CREATE TEMP TABLE _truth AS
        SELECT l.ad_key, t.person, t.network FROM link_ads l
        JOIN (SELECT DISTINCT source, id, person, network
              FROM read_json_auto('{corpus / "truth.jsonl"}')) t ON t.source = l.source AND t.id = l.id
        """
    )
    truth_person = _components_of(con, "person")
    truth_network = _components_of(con, "network")

    def scores(nets: str, persons: str) -> dict[str, Any]:
        return {
            "network_bcubed": bcubed(_components(con, nets), truth_network),
            "person_bcubed": bcubed(_components(con, persons), truth_person),
        }

    out: dict[str, Any] = {"ads": len(truth_person), "seconds": round(seconds, 2)}
    out["without"] = scores("networks", "persons")
    for threshold in THRESHOLDS:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _ce AS
            SELECT ad_a AS a, ad_b AS b FROM corroboration_pairs WHERE match_probability >= {threshold}
            """
        )
        [counts] = con.execute(
            """
            SELECT COUNT(*),
                   COUNT(*) FILTER (WHERE ta.person = tb.person),
                   COUNT(*) FILTER (WHERE na.component <> nb.component),
                   COUNT(*) FILTER (WHERE na.component <> nb.component AND ta.person = tb.person),
                   COUNT(*) FILTER (WHERE na.component = nb.component AND pa.component <> pb.component),
                   COUNT(*) FILTER (WHERE na.component = nb.component AND pa.component <> pb.component
                                    AND ta.person = tb.person)
            FROM _ce c
            JOIN _truth ta ON ta.ad_key = c.a JOIN _truth tb ON tb.ad_key = c.b
            JOIN networks na ON na.node = c.a JOIN networks nb ON nb.node = c.b
            JOIN persons pa ON pa.node = c.a JOIN persons pb ON pb.node = c.b
            """
        ).fetchall()
        engine.table("_ne", "SELECT a, b FROM net_edges UNION ALL SELECT a, b FROM _ce")
        engine.table("_pe", "SELECT a, b FROM person_edges UNION ALL SELECT a, b FROM _ce")
        engine.table(
            "_pe_inside",
            """
            SELECT a, b FROM person_edges
            UNION ALL
            SELECT c.a, c.b FROM _ce c
            JOIN networks na ON na.node = c.a JOIN networks nb ON nb.node = c.b
            WHERE na.component = nb.component
            """,
        )
        engine.connected_components("_ne", "_net_nodes", "_n_all")
        engine.connected_components("_pe", "_net_nodes", "_p_all")
        engine.connected_components("_pe_inside", "_net_nodes", "_p_inside")
        out[f"p>={threshold}"] = {
            "pairs": counts[0],
            "one_person": counts[1],
            "across_networks": counts[2],
            "across_networks_one_person": counts[3],
            "across_persons_in_a_network": counts[4],
            "across_persons_in_a_network_one_person": counts[5],
            "as_network_and_person_edges": scores("_n_all", "_p_all"),
            "as_person_edges_inside_networks": scores("networks", "_p_inside"),
        }
    con.close()
    return out


def _components_of(con: duckdb.DuckDBPyConnection, column: str) -> dict[int, str]:
    return dict(con.execute(f"SELECT ad_key, {column} FROM _truth").fetchall())


def scale(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    engine = DuckDBEngine(con, keep_tables=True)
    t0 = time.perf_counter()
    build_inputs(engine)
    t1 = time.perf_counter()
    corroboration_pairs(engine, LinkParams())
    t2 = time.perf_counter()
    [(ads, records, pairs)] = con.execute(
        "SELECT (SELECT COUNT(*) FROM link_ads), (SELECT COUNT(*) FROM _corr_records),"
        " (SELECT COUNT(*) FROM corroboration_pairs)"
    ).fetchall()
    con.close()
    return {
        "ads": ads,
        "records": records,
        "pairs": pairs,
        "inputs_seconds": round(t1 - t0, 1),
        "corroboration_seconds": round(t2 - t1, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality-db", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("bench/out/link-quality"))
    parser.add_argument("--scale-db", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.quality_db:
        results["quality"] = quality(args.quality_db, args.corpus)
    if args.scale_db:
        results["scale"] = scale(args.scale_db)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
