"""Benchmarks of linking (issue 3): network quality against ground truth, and link time at scale.

    .venv/bin/python bench/link.py                 # quality on 20k ads + scale on 1M text-only ads
    .venv/bin/python bench/link.py --scale-ads 100000
    .venv/bin/python bench/link.py --popular-shares 0,0.1,0.3,0.5 --images both --skip-scale

Quality: network and person B-cubed precision/recall on a fresh synthetic corpus with images,
beside the baseline the field starts from (union-find over phone numbers). Scale: link a store of
N text-only ads (ingested without linking first), then add 10k new ads with `ingest`, which links
again. Results go to bench/out/link-results.json.

Popular texts (issue 12, ``--popular-shares``): instead of the 20k quality corpus, one ~3,000-ad
corpus per share of independents copying a popular text (a quarter of independents touring,
``--touring-share``), with and/or without images (``--images``); each is ingested (so linked) and
compared with its truth: network and person B-cubed, the largest predicted network against the
true largest (and, since the true largest is usually an operation, the largest mostly-independent
predicted network against the largest independent), the most true networks one predicted network
mixes, and how many copiers of a popular text share a predicted network with another copier of
the same text, and two bounds of person recall without photos (`_person_bounds`: joining a true
person's ads only where they share an identifier, ``ids R``, or that or a name with an age or a
city, ``name R``). A table is printed; results go to bench/out/link-sweep-results.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from run import OUT, _corpus, _run_measured
from threadline.store import Store
from threadline.synth import generate


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
    parent: dict[Any, Any] = {}
    for source, ad_id, value in rows:
        if value is not None:
            parent[_find(parent, (source, ad_id))] = _find(parent, value)
    return {(s, i): str(_find(parent, (s, i))) for s, i, _ in rows}


def _find(parent: dict[Any, Any], x: Any) -> Any:
    """Union-find: the root of ``x`` (added as its own root if new), halving the path."""
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


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


def parse_shares(text: str) -> list[float]:
    """``"0,0.1,0.3,0.5"`` -> [0.0, 0.1, 0.3, 0.5] (each between 0 and 1)."""
    shares = [float(part) for part in text.split(",") if part.strip()]
    if not shares or any(not 0 <= share <= 1 for share in shares):
        raise argparse.ArgumentTypeError("shares are numbers between 0 and 1, comma-separated")
    return shares


def image_modes(text: str) -> list[bool]:
    """``--images``: "both" -> [True, False], "yes" -> [True], "no" -> [False]."""
    modes = {"both": [True, False], "yes": [True], "no": [False]}
    if text not in modes:
        raise argparse.ArgumentTypeError("--images is both, yes or no")
    return modes[text]


def sweep_corpus(n: int, seed: int, images: bool, popular: float, touring: float, plain: float = 0.0) -> Path:
    """A generated corpus for the issue 12 sweep, made once and kept under bench/out/ (the same
    arguments give the same files, so a kept corpus is reused)."""
    name = f"sweep-{n}-s{seed}-p{popular:g}-t{touring:g}-o{plain:g}-{'img' if images else 'txt'}"
    folder = OUT / name
    # Kept only while the generator is unchanged: the marker names a digest of its source.
    synth_dir = Path(generate.__code__.co_filename).parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(synth_dir.glob("*.py")))).hexdigest()
    marker = folder / f".done-{digest[:16]}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        generate(
            folder, n, seed, images=images, popular_share=popular, touring_share=touring, plain_share=plain
        )
        print(f"  generated {name} in {time.perf_counter() - t0:,.1f}s", flush=True)
        marker.touch()
    return folder / "ads.jsonl"


def _copiers_joined(pred: dict[tuple[str, str], str], corpus: Path) -> dict[str, int]:
    """Copiers of a popular text (true networks) whose predicted network also holds ads of another
    copier of the same text: the false joins the shared text causes."""
    text_of: dict[str, int] = {}
    nets_in: dict[str, set[str]] = defaultdict(set)  # predicted network -> true copier networks
    with (corpus / "truth.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            if "popular_text" in row and (row["source"], row["id"]) in pred:
                text_of[row["network"]] = row["popular_text"]
                nets_in[pred[row["source"], row["id"]]].add(row["network"])
    joined: set[str] = set()
    for members in nets_in.values():
        by_text = Counter(text_of[m] for m in members)
        joined.update(m for m in members if by_text[text_of[m]] > 1)
    return {"copiers": len(text_of), "copiers_joined_to_another_copier": len(joined)}


def _person_bounds(corpus: Path) -> dict[str, float]:
    """Person recall a linker could reach without photos, if it knew each ad's true person and
    joined two of its ads only on what they show: a number, e-mail or handle in common that is no
    site's hotline (``ids``); or that, or one self-stated name with a stated age or the city in
    common (``names``). Precision is 1 by construction; the figures bound what text can give."""
    rows = [json.loads(line) for line in (corpus / "truth.jsonl").open()]
    truth = {(r["source"], r["id"]): r["person"] for r in rows}
    out = {}
    for mode in ("ids", "names"):
        parent: dict[Any, Any] = {}
        first: dict[tuple[Any, ...], tuple[str, str]] = {}
        for r in rows:
            ad = (r["source"], r["id"])
            _find(parent, ad)
            keys: list[tuple[Any, ...]] = [("id", x) for x in r["phones"] if x not in r["hub_phones"]]
            keys += [("id", x) for x in r["emails"] + r["handles"]]
            if mode == "names":
                for name in r["names"]:
                    keys += [("age", name, age) for age in r["ages"]] + [("city", name, r["city"])]
            for key in keys:
                key = (r["person"], *key)
                if key in first:
                    parent[_find(parent, ad)] = _find(parent, first[key])
                else:
                    first[key] = ad
        pred = {ad: str(_find(parent, ad)) for ad in truth}
        out[mode] = bcubed(pred, truth)["recall"]
    return out


def sweep_one(ads: Path, name: str) -> dict[str, Any]:
    """Ingest (and so link) one sweep corpus into a fresh store and measure the partition."""
    db = OUT / f"{name}.duckdb"
    db.unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("threadline"))
    seconds, _peak, _report = _run_measured([exe, "ingest", str(ads), "--db", str(db), "-q"])
    with Store.open(db, read_only=True) as store:
        partition = _partition_quality(store, ads.parent)
        rows = store.connection.execute("SELECT source, id, network FROM ad_links").fetchall()
    db.unlink(missing_ok=True)
    pred = {(s, i): net for s, i, net in rows}
    return {
        **partition,
        **_mixing(pred, ads.parent),
        **_copiers_joined(pred, ads.parent),
        "person_recall_bound": _person_bounds(ads.parent),
        "ingest_and_link_seconds": round(seconds, 1),
    }


def _mixing(pred: dict[tuple[str, str], str], corpus: Path) -> dict[str, int]:
    """How far predicted networks chain unrelated advertisers: the most true networks one predicted
    network holds, and the largest predicted network made mostly of independents' ads against the
    largest independent (the true largest is often an operation, far bigger than any independent)."""
    truth: dict[tuple[str, str], tuple[str, str]] = {}
    with (corpus / "truth.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            truth[row["source"], row["id"]] = (row["network"], row["kind"])
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, network in pred.items():
        if key in truth:
            members[network].append(truth[key])
    true_sizes = Counter(net for net, kind in truth.values() if kind == "independent")
    independent_sizes = [
        len(m) for m in members.values() if sum(kind == "independent" for _, kind in m) * 2 > len(m)
    ]
    return {
        "most_true_networks_in_one": max((len({net for net, _ in m}) for m in members.values()), default=0),
        "largest_predicted_independent_network": max(independent_sizes, default=0),
        "largest_true_independent_network": max(true_sizes.values(), default=0),
    }


def sweep(
    shares: list[float], images: list[bool], n: int, seed: int, touring: float, plain: float
) -> list[dict[str, Any]]:
    """The issue 12 table: one row per (share of independents copying a popular text, images)."""
    rows = []
    for with_images in images:
        for share in shares:
            ads = sweep_corpus(n, seed, with_images, share, touring, plain)
            row = {"popular_share": share, "touring_share": touring, "plain_share": plain}
            row |= {"images": with_images, **sweep_one(ads, f"link-{ads.parent.name}")}
            rows.append(row)
            print(_row_line(row), flush=True)
    return rows


_HEADER = (
    f"{'popular':>7} {'images':>6} {'ads':>5} {'nets':>5} {'true':>5} {'net P':>6} {'net R':>6} "
    f"{'pers P':>6} {'pers R':>6} {'largest':>7} {'true':>5} {'mixed':>5} {'ind lg':>6} {'true':>5} "
    f"{'copiers':>7} {'joined':>6} {'ids R':>6} {'name R':>6} {'s':>5}"
)


def _row_line(row: dict[str, Any]) -> str:
    net, person = row["network_bcubed"], row["person_bcubed"]
    return (
        f"{row['popular_share']:>7.0%} {'yes' if row['images'] else 'no':>6} {row['ads']:>5} "
        f"{row['networks']:>5} {row['true_networks']:>5} {net['precision']:>6.3f} {net['recall']:>6.3f} "
        f"{person['precision']:>6.3f} {person['recall']:>6.3f} {row['largest_predicted_network']:>7} "
        f"{row['largest_true_network']:>5} {row['most_true_networks_in_one']:>5} "
        f"{row['largest_predicted_independent_network']:>6} {row['largest_true_independent_network']:>5} "
        f"{row['copiers']:>7} {row['copiers_joined_to_another_copier']:>6} "
        f"{row['person_recall_bound']['ids']:>6.3f} {row['person_recall_bound']['names']:>6.3f} "
        f"{row['ingest_and_link_seconds']:>5.1f}"
    )


def print_table(rows: list[dict[str, Any]]) -> None:
    print(_HEADER)
    for row in rows:
        print(_row_line(row))


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
            DELETE FROM ad_text_parts a USING gone g
            WHERE a.source = g.source AND a.id = g.id AND a.version = g.version
            """
        )
        con.execute(
            """
            DELETE FROM ad_rows a USING gone g
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
    parser.add_argument(
        "--popular-shares",
        type=parse_shares,
        default=None,
        help="run the issue 12 sweep instead of the 20k quality corpus: shares of independents "
        "copying a popular text, e.g. 0,0.1,0.3,0.5",
    )
    parser.add_argument("--images", type=image_modes, default=[True], help="sweep: both, yes or no")
    parser.add_argument(
        "--touring-share", type=float, default=0.25, help="sweep: share of independents touring"
    )
    parser.add_argument(
        "--plain-share",
        type=float,
        default=0.0,
        help="sweep: share of controlled operations without indicators",
    )
    parser.add_argument("--sweep-ads", type=int, default=3000)
    parser.add_argument("--sweep-seed", type=int, default=1212)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results: dict[str, object] = {}
    if args.popular_shares is not None:
        print(
            f"popular texts: {args.sweep_ads:,} ads per corpus (seed {args.sweep_seed}), "
            f"{args.touring_share:.0%} of independents touring:",
            flush=True,
        )
        print(_HEADER, flush=True)
        t0 = time.perf_counter()
        rows = sweep(
            args.popular_shares,
            args.images,
            args.sweep_ads,
            args.sweep_seed,
            args.touring_share,
            args.plain_share,
        )
        print()
        print_table(rows)
        results["sweep"] = rows
        results["sweep_seconds"] = round(time.perf_counter() - t0, 1)
    elif not args.skip_quality:
        print(f"network quality, {args.quality_ads:,} ads with images (seed {args.seed}):", flush=True)
        results["quality"] = q = quality(args.quality_ads, args.seed)
        print(json.dumps(q, indent=2), flush=True)
        figures.record(
            "linking",
            {
                "network_bcubed": q["network_bcubed"],
                "person_bcubed": q["person_bcubed"],
                "baseline_phone_union_find_bcubed": q["baseline_phone_union_find_bcubed"],
            },
            {"ads": q["ads"], "seed": args.seed, "images": True},
        )
    if not args.skip_scale:
        print(f"scale: link {args.scale_ads:,} text-only ads, then add {args.add_ads:,}:", flush=True)
        results["scale"] = s = scale(args.scale_ads, args.add_ads, args.seed + 1, args.workers, args.reuse)
        print(json.dumps(s, indent=2), flush=True)
    if args.popular_shares is not None:
        name = "link-sweep-results.json"
    else:
        name = "link-results.json" if not args.skip_quality else "link-scale-results.json"
    (OUT / name).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
