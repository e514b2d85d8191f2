"""Benchmarks of scoring (issue 4): ranking quality against ground truth, and what scoring costs.

    .venv/bin/python bench/score.py                     # quality on 20k fresh ads (with images)
    .venv/bin/python bench/score.py --ads 5000 --seed 3
    .venv/bin/python bench/score.py --popular-shares 0,0.1,0.3,0.5 --images both

Quality: average precision of ranking the ads and networks of operations (controlled and burner)
above independents' on a freshly generated corpus, with the prior weights, and again on the same
corpus with every indicator phrase deleted from the text (what structure alone gives). A network
is an operation's when most of its ads are. Cost: the score step's seconds and its share of the
ingest. Results go to bench/out/score-results.json.

Popular texts (issue 12, ``--popular-shares``): instead, the corpora of ``bench/link.py``'s sweep
(the same ones, shared under bench/out/), one per share of independents copying a popular text,
each ingested and ranked. Average precision of controlled operations over independents (ads, and
networks by their majority kind), and of all operations (controlled and burner) as above. A table
is printed; results go to bench/out/score-sweep-results.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from link import image_modes, parse_shares, sweep_corpus
from run import OUT, _corpus, _run_measured
from threadline.extract.lexicon import default_lexicon
from threadline.store import Store
from threadline.synth.vocab import INDICATOR_PHRASES

POSITIVE = {"controlled", "burner"}


def _kinds(corpus: Path) -> dict[tuple[str, str], str]:
    out = {}
    with (corpus / "truth.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            out[row["source"], row["id"]] = row["kind"]
    return out


def _phrase_patterns() -> list[re.Pattern[str]]:
    """The generator's own indicator phrases, placeholders standing for any words."""
    out = []
    for phrases in INDICATOR_PHRASES.values():
        for phrase in phrases:
            parts = re.split(r"\{[a-z0-9_]+\}", phrase)
            out.append(re.compile(r"[\w' -]{1,40}?".join(re.escape(p) for p in parts), re.IGNORECASE))
    return out


def strip_indicators(src: Path, dst: Path) -> int:
    """Copy a corpus with every indicator phrase deleted: each lexicon match and each of the
    generator's indicator phrases. Returns the number of deletions."""
    dst.mkdir(parents=True, exist_ok=True)
    lexicon = default_lexicon()
    patterns = _phrase_patterns()
    deleted = 0

    def clean(text: str) -> str:
        nonlocal deleted
        for pattern in patterns:
            text, n = pattern.subn(" ", text)
            deleted += n
        # Obscured contacts are the phone number itself, not a phrase: they stay.
        hits = sorted(
            (h for h in lexicon.match(text) if h.category != "obscured_contact"),
            key=lambda h: h.start,
            reverse=True,
        )
        last = len(text) + 1
        for hit in hits:
            if hit.end <= last:
                text = text[: hit.start] + " " + text[hit.end :]
                last = hit.start
                deleted += 1
        return text

    with (
        (src / "ads.jsonl").open(encoding="utf-8") as f,
        (dst / "ads.jsonl").open("w", encoding="utf-8") as out,
    ):
        for line in f:
            try:
                ad = json.loads(line)
            except json.JSONDecodeError:
                out.write(line)  # the corpus's malformed lines stay malformed
                continue
            if isinstance(ad, dict):
                for key in ("title", "body"):
                    if isinstance(ad.get(key), str):
                        ad[key] = clean(ad[key])
            out.write(json.dumps(ad, ensure_ascii=False) + "\n")
    for name in ("truth.jsonl", "truth_meta.json"):
        (dst / name).write_bytes((src / name).read_bytes())
    if (src / "images").exists():
        shutil.copytree(src / "images", dst / "images", dirs_exist_ok=True)
    return deleted


def evaluate(db: Path, kinds: dict[tuple[str, str], str]) -> dict[str, Any]:
    with Store.open(db, read_only=True) as store:
        con = store.connection
        ads = con.execute("SELECT source, id, network, score FROM ad_scores").fetchall()
        nets = dict(con.execute("SELECT network, score FROM network_scores").fetchall())
        with_reasons = con.execute(
            """
            SELECT COUNT(*) FILTER (WHERE n > 0), COUNT(*) FROM (
                SELECT s.ad_key, (SELECT COUNT(*) FROM score_parts p
                                  WHERE (p.level = 'ad' AND p.unit = CAST(s.ad_key AS VARCHAR))
                                     OR (p.level = 'network' AND p.unit = s.network)) AS n
                FROM ad_scores s)
            """
        ).fetchone()
    y_ad = [kinds[s, i] in POSITIVE for s, i, _, _ in ads]
    members: dict[str, list[str]] = defaultdict(list)
    for s, i, network, _ in ads:
        members[network].append(kinds[s, i])
    y_net, s_net = [], []
    y_cnet, s_cnet = [], []  # controlled-majority networks against independent-majority ones
    for network, score in nets.items():
        kind_counts = Counter(members[network])
        y_net.append(sum(kind_counts[k] for k in POSITIVE) * 2 > len(members[network]))
        s_net.append(score)
        majority = kind_counts.most_common(1)[0][0] if kind_counts else "independent"
        if majority in ("controlled", "independent"):
            y_cnet.append(majority == "controlled")
            s_cnet.append(score)
    # Controlled operations over independents: burners' ads left out.
    controlled = [(kinds[s, i] == "controlled", score) for s, i, _, score in ads if kinds[s, i] != "burner"]
    return {
        "controlled_ad_ap": _ap([y for y, _ in controlled], [x for _, x in controlled]),
        "controlled_network_ap": _ap(y_cnet, s_cnet),
        "ads": len(ads),
        "networks": len(nets),
        "ad_ap": round(float(average_precision_score(y_ad, [a[3] for a in ads])), 4),
        "ad_positive_share": round(sum(y_ad) / len(y_ad), 4),
        "network_ap": round(float(average_precision_score(y_net, s_net)), 4),
        "network_positive_share": round(sum(y_net) / len(y_net), 4),
        "ads_with_a_reason": with_reasons[0] if with_reasons else None,
    }


def _ap(labels: list[bool], scores: list[float]) -> float | None:
    """Average precision, or None when there is no positive to rank."""
    if not any(labels):
        return None
    return round(float(average_precision_score(labels, scores)), 4)


def run(ads_path: Path, name: str) -> dict[str, Any]:
    db = OUT / f"score-{name}.duckdb"
    db.unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("threadline"))
    seconds, peak, _ = _run_measured([exe, "ingest", str(ads_path), "--db", str(db), "-q"])
    with Store.open(db, read_only=True) as store:
        [(score_seconds,)] = store.connection.execute("SELECT seconds FROM score_runs").fetchall()
    result = evaluate(db, _kinds(ads_path.parent))
    result.update(
        ingest_seconds=round(seconds, 1),
        score_seconds=round(score_seconds, 2),
        score_share_of_ingest=round(score_seconds / seconds, 3),
        peak_rss_mib=round(peak),
    )
    return result


def indicator_cost(ads_path: Path, n: int = 5000) -> dict[str, Any]:
    """What matching the lexicon adds to extraction: µs per ad, alone and of all extraction."""
    from threadline.extract import extract_ad
    from threadline.extract.indicators import find_indicators
    from threadline.ingest import read_ads

    ads = [item for item, *_ in read_ads(ads_path) if not isinstance(item, str)][:n]
    default_lexicon()  # loaded once per process, as in a worker
    t0 = time.perf_counter()
    for ad in ads:
        extract_ad(ad, images=False)
    everything = time.perf_counter() - t0
    texts = [list(ad.texts()) for ad in ads]
    t0 = time.perf_counter()
    for t in texts:
        find_indicators(t)
    alone = time.perf_counter() - t0
    return {
        "ads": len(ads),
        "extract_us_per_ad": round(everything / len(ads) * 1e6, 1),
        "indicators_us_per_ad_alone": round(alone / len(ads) * 1e6, 1),
        "indicators_share_of_extraction": round(alone / everything, 3),
    }


def sweep(
    shares: list[float], images: list[bool], n: int, seed: int, touring: float, plain: float
) -> list[dict[str, Any]]:
    """The issue 12 table: average precision per (share of independents copying a popular text,
    images), on the corpora of bench/link.py's sweep."""
    rows = []
    for with_images in images:
        for share in shares:
            ads = sweep_corpus(n, seed, with_images, share, touring, plain)
            result = run(ads, ads.parent.name)
            (OUT / f"score-{ads.parent.name}.duckdb").unlink(missing_ok=True)
            row = {"popular_share": share, "touring_share": touring, "plain_share": plain}
            row |= {"images": with_images, **result}
            rows.append(row)
            print(_row_line(row), flush=True)
    return rows


_HEADER = (
    f"{'popular':>7} {'images':>6} {'ads':>5} {'nets':>5} {'ctl ad AP':>9} {'ctl net AP':>10} "
    f"{'ops ad AP':>9} {'ops net AP':>10} {'s':>5}"
)


def _fmt(value: float | None, width: int) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _row_line(row: dict[str, Any]) -> str:
    return (
        f"{row['popular_share']:>7.0%} {'yes' if row['images'] else 'no':>6} {row['ads']:>5} "
        f"{row['networks']:>5} {_fmt(row['controlled_ad_ap'], 9)} {_fmt(row['controlled_network_ap'], 10)} "
        f"{_fmt(row['ad_ap'], 9)} {_fmt(row['network_ap'], 10)} {row['ingest_seconds']:>5.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=8080)
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument(
        "--popular-shares",
        type=parse_shares,
        default=None,
        help="run the issue 12 sweep instead: shares of independents copying a popular text, "
        "e.g. 0,0.1,0.3,0.5 (the corpora of bench/link.py's sweep)",
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
    t0 = time.perf_counter()
    if args.popular_shares is not None:
        print(
            f"popular texts: {args.sweep_ads:,} ads per corpus (seed {args.sweep_seed}), "
            f"{args.touring_share:.0%} of independents touring:",
            flush=True,
        )
        print(_HEADER, flush=True)
        rows = sweep(
            args.popular_shares,
            args.images,
            args.sweep_ads,
            args.sweep_seed,
            args.touring_share,
            args.plain_share,
        )
        print()
        print(_HEADER)
        for row in rows:
            print(_row_line(row))
        sweep_results = {"sweep": rows, "seconds": round(time.perf_counter() - t0, 1)}
        (OUT / "score-sweep-results.json").write_text(json.dumps(sweep_results, indent=2) + "\n")
        return
    ads = _corpus("score-quality", args.ads, args.seed, images=not args.no_images)
    results: dict[str, Any] = {"corpus": {"ads": args.ads, "seed": args.seed, "images": not args.no_images}}
    results["indicator_cost"] = indicator_cost(ads)
    print("indicator matching:", json.dumps(results["indicator_cost"]), flush=True)
    results["with_text"] = run(ads, "text")
    print("with indicator text:", json.dumps(results["with_text"]), flush=True)
    stripped = OUT / "score-stripped"
    deleted = strip_indicators(ads.parent, stripped)
    results["structure_only"] = run(stripped / "ads.jsonl", "stripped") | {"phrases_deleted": deleted}
    print("indicator phrases deleted:", json.dumps(results["structure_only"]), flush=True)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    (OUT / "score-results.json").write_text(json.dumps(results, indent=2) + "\n")
    keys = ("ad_ap", "ad_positive_share", "network_ap", "network_positive_share")
    figures.record(
        "scoring",
        {
            "with_indicator_text": {k: results["with_text"][k] for k in keys},
            "structure_only": {k: results["structure_only"][k] for k in keys},
        },
        results["corpus"],
    )


if __name__ == "__main__":
    main()
