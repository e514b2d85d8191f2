"""Memory over many small ingests in one process (issue 14): what a long-running server does all day.

    .venv/bin/python bench/repeat.py                      # 20,000 ads, then 100 ingests of 100 ads
    .venv/bin/python bench/repeat.py --base 5000 --rounds 30 --batch 50

One process opens a store of ``--base`` synthetic ads and then, ``--rounds`` times, ingests a
file of ``--batch`` new ads and links and scores incrementally, as `threadline ingest` does (and
as the service's writer will). After each round it reads the process's resident memory and the
temporary tables left on the store's connection. The goal is no growth beyond 10% between the
first rounds (once caches are warm) and the last; temporary tables a run leaves behind are the
usual cause of growth, so their count is printed too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import psutil

from threadline.engine import drop_run_tables
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.score.scorer import score_store
from threadline.store import Store
from threadline.synth import generate

OUT = Path(__file__).resolve().parent / "out"


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--base", type=int, default=20_000, help="ads in the store before the rounds")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100, help="new ads per round")
    parser.add_argument("--seed", type=int, default=5151)
    parser.add_argument(
        "--keep", dest="drop", action="store_false", help="keep each run's temporary tables (as before)"
    )
    parser.add_argument("--warm", type=int, default=10, help="rounds before the reference reading")
    args = parser.parse_args(argv)

    folder = OUT / f"repeat-{args.base}-{args.rounds}-{args.batch}-{args.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    total = args.base + args.rounds * args.batch
    t0 = time.perf_counter()
    generate(folder / "corpus", total, args.seed, images=False)
    lines = (folder / "corpus" / "ads.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    print(f"corpus: {len(lines):,} ads in {time.perf_counter() - t0:.1f}s", flush=True)
    base, rest = lines[: args.base], lines[args.base :]
    (folder / "base.jsonl").write_text("".join(base), encoding="utf-8")

    readings: list[dict[str, float]] = []
    with Store.open(folder / "store.duckdb") as store:
        con = store.connection
        t0 = time.perf_counter()
        ingest_file(folder / "base.jsonl", store, workers=2)
        link(con)
        score_store(con, inputs_built=True)
        took = time.perf_counter() - t0
        print(f"base: {args.base:,} ads stored, linked and scored in {took:.1f}s", flush=True)
        print(f"start: RSS {_rss_mib():,.0f} MiB", flush=True)
        for r in range(args.rounds):
            batch = rest[r * args.batch : (r + 1) * args.batch]
            path = folder / "round.jsonl"
            path.write_text("".join(batch), encoding="utf-8")
            t = time.perf_counter()
            ingest_file(path, store, workers=0)
            link(con)
            score_store(con, inputs_built=True, changed="_changed_networks")
            if args.drop:
                drop_run_tables(con)
            seconds = time.perf_counter() - t
            [(temps,)] = con.execute("SELECT COUNT(*) FROM duckdb_tables() WHERE temporary").fetchall()
            readings.append({"round": r + 1, "rss_mib": _rss_mib(), "temp_tables": temps, "seconds": seconds})
            if (r + 1) % 10 == 0 or r == 0:
                print(
                    f"round {r + 1:>4}: RSS {readings[-1]['rss_mib']:,.0f} MiB, "
                    f"{temps} temporary tables, {seconds:.2f}s",
                    flush=True,
                )
    ref = readings[min(args.warm, len(readings)) - 1]
    last = readings[-1]
    growth = last["rss_mib"] / ref["rss_mib"] - 1
    peak = max(x["rss_mib"] for x in readings)
    print(
        f"RSS after round {ref['round']:.0f}: {ref['rss_mib']:,.0f} MiB; after round {last['round']:.0f}: "
        f"{last['rss_mib']:,.0f} MiB ({growth:+.1%}; goal within +10%); peak {peak:,.0f} MiB; "
        f"temporary tables {ref['temp_tables']:.0f} -> {last['temp_tables']:.0f}; "
        f"median round {sorted(x['seconds'] for x in readings)[len(readings) // 2]:.2f}s"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "repeat-results.json").write_text(json.dumps({"args": vars(args), "readings": readings}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
