"""Benchmark of the Spark engine (issue 5): `threadline run` on Spark local[2] against the local
engine, on the same text-only synthetic corpus, with wall time and peak memory of each.

    .venv/bin/python bench/spark.py                 # 1M ads (the corpus of bench/link.py)
    .venv/bin/python bench/spark.py --ads 20000     # its first 20k ads

The corpus is split into files of 10,000 ads (a crawler's dumps; Spark reads each input file
whole, so files are its unit of reading). Both engines read the same files; the script then
checks that they agree (the same partition of ads into networks, scores within 1e-9).
Results go to bench/out/spark-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb

from run import OUT, _corpus, _run_measured

FILE_ADS = 10_000


def split_corpus(n: int, seed: int) -> Path:
    """The first ``n`` ads of the bench/link.py corpus, in files of FILE_ADS ads."""
    corpus = _corpus("link-scale", 1_010_000, seed, images=False)
    folder = OUT / f"spark-input-{n}"
    done = folder / ".done"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with corpus.open("rb") as f:
        for part in range((n + FILE_ADS - 1) // FILE_ADS):
            lines = [f.readline() for _ in range(min(FILE_ADS, n - part * FILE_ADS))]
            (folder / f"ads-{part:04d}.jsonl").write_bytes(b"".join(lines))
    done.touch()
    return folder


def agree(local: Path, spark: Path) -> dict[str, object]:
    """Do the two runs' outputs agree: partition of ads into networks and persons, and scores?"""
    con = duckdb.connect()

    def read(out: Path, table: str, cols: str) -> list[tuple[object, ...]]:
        return con.execute(
            f"SELECT {cols} FROM read_parquet('{out}/{table}/*.parquet') ORDER BY ALL"
        ).fetchall()

    links = read(local, "ad_links", "source, id, network, person") == read(
        spark, "ad_links", "source, id, network, person"
    )
    [(diff, missing)] = con.execute(
        f"""
        SELECT MAX(abs(l.score - s.score)), COUNT(*) FILTER (WHERE s.score IS NULL)
        FROM read_parquet('{local}/ad_scores/*.parquet') l
        LEFT JOIN read_parquet('{spark}/ad_scores/*.parquet') s ON s.source = l.source AND s.id = l.id
        """
    ).fetchall()
    return {
        "same_networks_and_persons": links,
        "max_score_difference": diff,
        "ads_without_spark_score": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=4243, help="the corpus of bench/link.py (its seed + 1)")
    parser.add_argument("--driver-memory", default="8g", help="Spark local mode: the JVM's heap")
    parser.add_argument("--skip-local", action="store_true", help="reuse the local run of an earlier call")
    args = parser.parse_args()
    folder = split_corpus(args.ads, args.seed)
    exe = str(Path(sys.executable).with_name("threadline"))
    results: dict[str, object] = {"ads": args.ads, "files": len(list(folder.glob("*.jsonl")))}
    out_local, out_spark = OUT / f"spark-out-local-{args.ads}", OUT / f"spark-out-spark-{args.ads}"
    if not args.skip_local:
        print(f"local engine on {args.ads:,} ads ...", flush=True)
        seconds, peak, report = _run_measured(
            [
                exe,
                "run",
                "--engine",
                "local",
                "--input",
                str(folder),
                "--output",
                str(out_local),
                "--workers",
                "2",
            ]
        )
        results["local"] = {
            "seconds": round(seconds, 1),
            "peak_rss_mib": round(peak),
            "report": report[-300:],
        }
        print(json.dumps(results["local"]), flush=True)
    print(f"spark engine (local[2]) on {args.ads:,} ads ...", flush=True)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    seconds, peak, report = _run_measured(
        [
            exe, "run", "--engine", "spark", "--master", "local[2]", "--input", str(folder),
            "--output", str(out_spark), "--conf", f"spark.driver.memory={args.driver_memory}",
        ]
    )  # fmt: skip
    results["spark_local2"] = {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak),
        "report": report[-300:],
        "manifest": {
            k: v for k, v in json.loads((out_spark / "run.json").read_text()).items() if k != "input"
        },
    }
    print(json.dumps({k: v for k, v in results["spark_local2"].items() if k != "manifest"}), flush=True)
    if out_local.exists():
        results["agreement"] = agree(out_local, out_spark)
        print(json.dumps(results["agreement"]), flush=True)
    (OUT / f"spark-results-{args.ads}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
