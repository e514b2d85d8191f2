"""Linking and scoring on the corpus written apart from the project's generator.

    .venv/bin/python bench/link_independent.py
    .venv/bin/python bench/link_independent.py --popular-shares 0,0.5 --scale 0.5 --seed 3

The corpus is tests/corpora/independent.py's (not `threadline.synth`: its authors' model of ads,
not the linker's): independents, some of them copying one of five popular texts, operations of
three kinds (one rotating booking line with or without an overlap, or a number per woman and a
manager's), and three planted hub numbers. One corpus per share of independents copying a popular
text (about 3,000 ads at scale 1), each ingested with `threadline ingest` (so linked and scored,
the default workers) into a fresh store and compared with its truth: network and person B-cubed,
the largest predicted network against the largest true one, how many predicted networks mix two
true networks or more, and the average precision of ranking operations' ads above independents'
by `ad_scores.score`. A table is printed; results go to bench/out/link-independent-results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpora.independent import generate, read_truth
from link import bcubed, parse_shares
from run import OUT, _run_measured
from score import _ap
from threadline.store import Store


def measure(share: float, scale: float, seed: int) -> dict[str, Any]:
    """Generate one corpus, ingest it into a fresh store and compare the store with the truth."""
    name = f"independent-{scale:g}-s{seed}-p{share:g}"
    corpus = generate(OUT / name, scale=scale, popular_share=share, seed=seed)
    db = OUT / f"{name}.duckdb"
    db.unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("threadline"))
    seconds, peak, report = _run_measured([exe, "ingest", str(corpus.ads), "--db", str(db), "-q"])
    with Store.open(db, read_only=True) as store:
        links = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        scores = store.connection.execute("SELECT source, id, score FROM ad_scores").fetchall()
    db.unlink(missing_ok=True)
    truth = read_truth(corpus)
    true_net = {key: row["network"] for key, row in truth.items()}
    pred_net = {(s, i): network for s, i, network, _ in links}
    pred_person = {(s, i): person for s, i, _, person in links}
    members: dict[str, set[str]] = defaultdict(set)
    for key, network in pred_net.items():
        if key in true_net:
            members[network].add(true_net[key])
    ranked = [(truth[s, i]["kind"] != "independent", score) for s, i, score in scores if (s, i) in truth]
    return {
        "popular_share": share,
        "ads": corpus.ad_count,
        "linked": len(pred_net),
        "network_bcubed": bcubed(pred_net, true_net),
        "person_bcubed": bcubed(pred_person, {key: row["person"] for key, row in truth.items()}),
        "networks": len(set(pred_net.values())),
        "true_networks": len(set(true_net.values())),
        "largest_predicted_network": max(Counter(pred_net.values()).values()),
        "largest_true_network": max(Counter(true_net.values()).values()),
        "mixed_networks": sum(len(nets) > 1 for nets in members.values()),
        "ads_in_mixed_networks": sum(
            n for network, n in Counter(pred_net.values()).items() if len(members[network]) > 1
        ),
        "operations_ad_ap": _ap([y for y, _ in ranked], [x for _, x in ranked]),
        "operations_ad_share": round(sum(y for y, _ in ranked) / len(ranked), 4),
        "ingest_seconds": round(seconds, 1),
        "ingest_peak_rss_mib": round(peak),
        "ingest_report": report,
    }


_HEADER = (
    f"{'popular':>7} {'ads':>5} {'nets':>5} {'true':>5} {'net P':>6} {'net R':>6} {'pers P':>6} "
    f"{'pers R':>6} {'largest':>7} {'true':>5} {'mixed':>5} {'in mix':>6} {'ops AP':>6} {'s':>5}"
)


def _row_line(row: dict[str, Any]) -> str:
    net, person = row["network_bcubed"], row["person_bcubed"]
    return (
        f"{row['popular_share']:>7.0%} {row['ads']:>5} {row['networks']:>5} {row['true_networks']:>5} "
        f"{net['precision']:>6.3f} {net['recall']:>6.3f} {person['precision']:>6.3f} "
        f"{person['recall']:>6.3f} {row['largest_predicted_network']:>7} {row['largest_true_network']:>5} "
        f"{row['mixed_networks']:>5} {row['ads_in_mixed_networks']:>6} {row['operations_ad_ap']:>6.3f} "
        f"{row['ingest_seconds']:>5.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--popular-shares", type=parse_shares, default=[0.0, 0.3, 0.5])
    parser.add_argument("--scale", type=float, default=1.0, help="1: about 3,000 ads per corpus")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    print(
        f"the independent corpus (tests/corpora/independent.py), scale {args.scale:g}, seed {args.seed}; "
        "s: `threadline ingest` (extract, store, link, score):",
        flush=True,
    )
    print(_HEADER, flush=True)
    t0 = time.perf_counter()
    rows = []
    for share in args.popular_shares:
        rows.append(measure(share, args.scale, args.seed))
        print(_row_line(rows[-1]), flush=True)
    results = {
        "scale": args.scale,
        "seed": args.seed,
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = OUT / "link-independent-results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
