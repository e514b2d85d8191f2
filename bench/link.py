"""Benchmarks of linking (issue 3): network quality against ground truth, and link time at scale.

    .venv/bin/python bench/link.py                 # quality on 20k ads + scale on 1M text-only ads
    .venv/bin/python bench/link.py --scale-ads 100000

Quality: network and person B-cubed precision/recall on a fresh synthetic corpus with images,
beside the baseline the field starts from (union-find over phone numbers). Scale: link a store of
N text-only ads (ingested without linking first), then add 10k new ads with `ingest`, which links
again. Results go to bench/out/link-results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import OUT, _corpus, _run_measured
from threadline.store import Store


def bcubed(pred: dict[tuple[str, str], str], truth: dict[tuple[str, str], str]) -> dict[str, float]:
    """B-cubed precision and recall of a partition ``pred`` against ``truth`` (same keys)."""
    keys = [k for k in truth if k in pred]
    cells = Counter((pred[k], truth[k]) for k in keys)
    pred_sizes = Counter(pred[k] for k in keys)
    true_sizes = Counter(truth[k] for k in keys)
    n = len(keys)
    p = sum(c * c / pred_sizes[a] for (a, _), c in cells.items()) / n
    r = sum(c * c / true_sizes[b] for (_, b), c in cells.items()) / n
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4)}


def _truth(corpus: Path, key: str) -> dict[tuple[str, str], str]:
    out = {}
    with (corpus / "truth.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            out[row["source"], row["id"]] = row[key]
    return out


def _phone_union_find(store: Store) -> dict[tuple[str, str], str]:
    """The baseline: ads sharing any phone number are one network (no hubs, no images)."""
    rows = store.connection.execute(
        """
        SELECT l.source, l.id, e.value FROM ad_links l
        JOIN latest_ads a ON a.source = l.source AND a.id = l.id
        LEFT JOIN extractions e ON e.source = a.source AND e.ad_id = a.id AND e.version = a.version
             AND e.kind = 'phone'
        """
    ).fetchall()
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]  # type: ignore[index]
            x = parent[x]
        return x

    for source, ad_id, value in rows:
        if value is not None:
            parent[find((source, ad_id))] = find(value)
    return {(s, i): str(find((s, i))) for s, i, _ in rows}


def _partition_quality(store: Store, corpus: Path) -> dict[str, object]:
    """Network and person B-cubed of a linked store against its corpus's truth, and sizes."""
    nets, persons = _truth(corpus, "network"), _truth(corpus, "person")
    rows = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
    pred_net = {(s, i): net for s, i, net, _ in rows}
    pred_person = {(s, i): person for s, i, _, person in rows}
    keys = [k for k in pred_net if k in nets]
    return {
        "ads": len(rows),
        "network_bcubed": bcubed(pred_net, nets),
        "person_bcubed": bcubed(pred_person, persons),
        "networks": len(set(pred_net.values())),
        "true_networks": len({nets[k] for k in keys}),
        "largest_predicted_network": max(Counter(pred_net.values()).values()),
        "largest_true_network": max(Counter(nets[k] for k in keys).values()),
    }


def quality(n: int, seed: int) -> dict[str, object]:
    ads = _corpus("link-quality", n, seed, images=True)
    db = OUT / "link-quality.duckdb"
    db.unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("threadline"))
    seconds, _peak, report = _run_measured([exe, "ingest", str(ads), "--db", str(db), "-q"])
    nets = _truth(ads.parent, "network")
    with Store.open(db, read_only=True) as store:
        partition = _partition_quality(store, ads.parent)
        baseline = _phone_union_find(store)
        [(link_seconds,)] = store.connection.execute(
            "SELECT seconds FROM link_runs ORDER BY finished DESC LIMIT 1"
        ).fetchall()
    return {
        **partition,
        "baseline_phone_union_find_bcubed": bcubed(baseline, nets),
        "baseline_largest_network": max(Counter(baseline.values()).values()),
        "ingest_and_link_seconds": round(seconds, 1),
        "link_seconds": link_seconds,
        "ingest_report": report,
    }


def _forget(db: Path, file: Path) -> None:
    """Take the ads of one ingested file out of a store again (for --reuse)."""
    with Store.open(db) as store:
        con = store.connection
        con.execute(
            "CREATE TEMP TABLE gone AS SELECT source, id, version FROM ads WHERE file = ?", [str(file)]
        )
        con.execute(
            """
            DELETE FROM extractions e USING gone g
            WHERE e.source = g.source AND e.ad_id = g.id AND e.version = g.version
            """
        )
        con.execute(
            """
            DELETE FROM ad_images e USING gone g
            WHERE e.source = g.source AND e.ad_id = g.id AND e.version = g.version
            """
        )
        con.execute(
            """
            DELETE FROM ads a USING gone g
            WHERE a.source = g.source AND a.id = g.id AND a.version = g.version
            """
        )
        con.execute(
            """
            DELETE FROM ad_keys
            WHERE NOT EXISTS (SELECT 1 FROM ads a WHERE a.source = ad_keys.source AND a.id = ad_keys.id)
            """
        )
        con.execute("DELETE FROM ad_links WHERE ad_key NOT IN (SELECT ad_key FROM ad_keys)")
        con.execute("DELETE FROM ad_scores WHERE ad_key NOT IN (SELECT ad_key FROM ad_keys)")


def scale(n: int, added: int, seed: int, workers: int, reuse: bool = False) -> dict[str, object]:
    """Link N text-only ads, then ingest and link `added` more."""
    corpus = _corpus("link-scale", n + added, seed, images=False)
    lines = corpus.read_bytes().splitlines(keepends=True)
    base, extra = corpus.parent / f"base-{n}.jsonl", corpus.parent / f"extra-{added}.jsonl"
    base.write_bytes(b"".join(lines[:n]))
    extra.write_bytes(b"".join(lines[n : n + added]))
    del lines
    db = OUT / f"link-scale-{n}.duckdb"
    exe = str(Path(sys.executable).with_name("threadline"))
    t0 = time.perf_counter()
    if reuse and db.exists():
        # The N ads of an earlier run are stored already: take the added ones out again.
        _forget(db, extra)
        ingest_s, ingest_peak, ingest_report = 0.0, 0.0, "reused"
    else:
        db.unlink(missing_ok=True)
        ingest_s, ingest_peak, ingest_report = _run_measured(
            [exe, "ingest", str(base), "--db", str(db), "--no-link", "--workers", str(workers), "-q"]
        )
    link_s, link_peak, link_report = _run_measured([exe, "link", "--db", str(db), "--full"])
    add_s, add_peak, add_report = _run_measured(
        [exe, "ingest", str(extra), "--db", str(db), "--workers", str(workers), "-q"]
    )
    size_mib = db.stat().st_size / 2**20
    # Quality at this scale, where the generator has to recycle its fictional numbers (the truth
    # lists them): the linker must tell a number's holders apart by time.
    with Store.open(db, read_only=True) as store:
        quality = _partition_quality(store, base.parent)
    return {
        "ads": n,
        "ingest_seconds": round(ingest_s, 1),
        "ingest_peak_rss_mib": round(ingest_peak),
        "ingest_report": ingest_report,
        "link_seconds": round(link_s, 1),
        "link_peak_rss_mib": round(link_peak),
        "link_report": link_report,
        "add_ads": added,
        "add_ingest_and_link_seconds": round(add_s, 1),
        "add_peak_rss_mib": round(add_peak),
        "add_report": add_report,
        "store_mib": round(size_mib),
        "quality_after_add": quality,
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--quality-ads", type=int, default=20_000)
    parser.add_argument("--scale-ads", type=int, default=1_000_000)
    parser.add_argument("--add-ads", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="reuse the scale store of an earlier run")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results: dict[str, object] = {}
    if not args.skip_quality:
        print(f"network quality, {args.quality_ads:,} ads with images (seed {args.seed}):", flush=True)
        results["quality"] = q = quality(args.quality_ads, args.seed)
        print(json.dumps(q, indent=2), flush=True)
    if not args.skip_scale:
        print(f"scale: link {args.scale_ads:,} text-only ads, then add {args.add_ads:,}:", flush=True)
        results["scale"] = s = scale(args.scale_ads, args.add_ads, args.seed + 1, args.workers, args.reuse)
        print(json.dumps(s, indent=2), flush=True)
    name = "link-results.json" if not args.skip_quality else "link-scale-results.json"
    (OUT / name).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
