"""Benchmark of evidence packages (issue 17): the time and size of one network's package.

    .venv/bin/python bench/evidence.py                  # a network of at least 500 synthetic ads
    .venv/bin/python bench/evidence.py --network-ads 1000

A synthetic corpus with images is generated and ingested. Synthetic networks stay under ~250 ads,
so an analyst's merge (`threadline merge`, one ad of each of the largest networks) joins the
largest into one of at least --network-ads ads, as an analyst joining an operation's networks
would. Its package is built by the command line (`threadline evidence`, PDF included), timed
from start to exit.
Printed, and written to bench/out/evidence-results.json: the network's ads and images, seconds
with and without the PDF, and the package's files and bytes; then the same ads as a case
(`case new`, `case add`) packaged with `--mask-outside-case`, PDF included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _run(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"threadline {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--network-ads", type=int, default=500)
    args = parser.parse_args()
    work = OUT / "evidence"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "THREADLINE_KEY_DIR": str(work / "keys")}
    db = work / "store.duckdb"
    _run("synth", str(work / "corpus"), "--ads", str(args.ads), "--seed", str(args.seed), env=env)
    ingest = _run("ingest", str(work / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    _run("keys", "init", "--db", str(db), env=env)
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        sizes = con.execute(
            "SELECT network, count(*), min(source || ':' || id) FROM ad_links"
            " GROUP BY network ORDER BY 2 DESC, 1"
        ).fetchall()
    chosen: list[str] = []
    total = 0
    for _, n, ad in sizes:
        if total >= args.network_ads:
            break
        chosen.append(ad)
        total += n
    merge = 0.0
    if len(chosen) > 1:
        merge = _run(
            "merge", *chosen, "--db", str(db), "--analyst", "bench", "--note", "one operation", env=env
        )
    with duckdb.connect(str(db), read_only=True) as con:
        network, ads = con.execute(
            "SELECT network, count(*) FROM ad_links GROUP BY network ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        [(images,)] = con.execute(
            "SELECT count(DISTINCT i.sha256) FROM ad_images i JOIN ad_links l"
            " ON l.source = i.source AND l.id = i.ad_id WHERE l.network = ?",
            [network],
        ).fetchall()
    results: dict[str, object] = {
        "corpus": {"ads": args.ads, "seed": args.seed, "synthetic": True},
        "ingest_seconds": round(ingest, 1),
        "merge_seconds": round(merge, 1),
        "networks_merged": len(chosen),
        "network": network,
        "network_ads": ads,
        "network_images": images,
    }
    for label, extra in (("with_pdf", ()), ("without_pdf", ("--no-pdf",))):
        out = work / f"package-{label}"
        seconds = _run("evidence", network, "--db", str(db), "-o", str(out), *extra, env=env)
        files, size = _size(out)
        pdf = out / "report.pdf"
        results[label] = {
            "seconds": round(seconds, 1),
            "files": files,
            "bytes": size,
            "mb": round(size / 1e6, 1),
            "report_html_mb": round((out / "report.html").stat().st_size / 1e6, 2),
            **({"report_pdf_mb": round(pdf.stat().st_size / 1e6, 2)} if pdf.exists() else {}),
        }
    # The same ads as a case (issue 17: case packages), with identifiers outside the case masked.
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadline.cli",
            "case",
            "new",
            "bench case",
            "--db",
            str(db),
            "--analyst",
            "bench",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    case = made.stdout.strip().split()[0]
    _run("case", "add", case, network, "--db", str(db), "--analyst", "bench", env=env)
    out = work / "package-case-masked"
    seconds = _run("evidence", case, "--db", str(db), "-o", str(out), "--mask-outside-case", env=env)
    files, size = _size(out)
    results["case_masked_with_pdf"] = {
        "case": case,
        "seconds": round(seconds, 1),
        "files": files,
        "mb": round(size / 1e6, 1),
    }
    print(json.dumps(results, indent=2))
    (OUT / "evidence-results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
