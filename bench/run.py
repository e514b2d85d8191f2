"""Benchmarks of the core (issue 2): phone quality, extraction speed, ingest speed, peak memory.

    make bench                       # the figures the README quotes
    .venv/bin/python bench/run.py --quick

Every figure is measured on a synthetic corpus generated here with a seed the extractor was not
developed against (``--seed``). Results are printed and written to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import phonenumbers
import psutil

from threadline.extract import extract_ad
from threadline.ingest import read_ads
from threadline.synth import generate
from threadline.synth.evaluate import load_truth, phone_scores

OUT = Path(__file__).resolve().parent / "out"


def _corpus(name: str, n: int, seed: int, images: bool) -> Path:
    folder = OUT / name
    marker = folder / f".done-{n}-{seed}-{images}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        generate(folder, n, seed, images=images)
        print(f"  generated {name}: {n:,} ads in {time.perf_counter() - t0:,.1f}s", flush=True)
        marker.touch()
    return folder / "ads.jsonl"


def phone_quality(ads: Path) -> dict[str, object]:
    """Precision/recall per (ad, number) of our extractor and of PhoneNumberMatcher alone."""
    truth = load_truth(ads.parent)
    ours: dict[tuple[str, str], set[str]] = {}
    matcher: dict[tuple[str, str], set[str]] = {}
    t_ours = t_matcher = 0.0
    n = 0
    for item, *_ in read_ads(ads):
        if isinstance(item, str):
            continue
        n += 1
        t0 = time.perf_counter()
        ex = extract_ad(item, images=False)
        t_ours += time.perf_counter() - t0
        ours[item.source, item.id] = set(ex.values("phone"))
        t0 = time.perf_counter()
        found = set()
        for _, text in item.texts():
            for m in phonenumbers.PhoneNumberMatcher(text, ex.region):
                found.add(phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164))
        t_matcher += time.perf_counter() - t0
        matcher[item.source, item.id] = found
    return {
        "ads": n,
        "threadline": phone_scores(ours, truth),
        "phonenumbers.PhoneNumberMatcher": phone_scores(matcher, truth),
        "threadline_full_extract_ads_per_s_1core": round(n / t_ours),
        "matcher_ads_per_s": round(n / t_matcher),
    }


def text_extraction_speed(ads: Path) -> dict[str, object]:
    items = [item for item, *_ in read_ads(ads) if not isinstance(item, str)]
    t0 = time.perf_counter()
    for ad in items:
        extract_ad(ad, images=False)
    seconds = time.perf_counter() - t0
    return {"ads": len(items), "seconds": round(seconds, 2), "ads_per_s_1core": round(len(items) / seconds)}


def hostile_bodies() -> dict[str, float]:
    """Seconds for `extract_ad` (every extractor) on one 1 MB adversarial body of each kind."""
    from threadline.model import Ad

    bodies = {
        "digit run": "7" * 1_000_000,
        "digit groups": "713 555 " * 125_000,
        "separators": "-.-( )" * 170_000,
        "100k emoji": "💋🌹" * 50_000 + "x" * 600_000,
        "spelled digits": "seven one " * 100_000,
        "at/dot words": "a at b dot " * 90_000,
        "one letter": "a" * 1_000_000,
    }
    out = {}
    for name, body in bodies.items():
        t0 = time.perf_counter()
        extract_ad(Ad(source="bench", id=name, body=body), images=False)
        out[name] = round(time.perf_counter() - t0, 3)
    return out


def _run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS of its whole process tree in MiB, its output lines
    joined by " | ": ingest, link and score each print one)."""
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                total = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            except psutil.Error:
                total = 0
            peak = max(peak, total)
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    stop.set()
    watcher.join()
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{cmd} failed:\n{out}")
    return seconds, peak / 2**20, " | ".join(out.strip().splitlines())


def ingest_speed(ads: Path, workers: int, *, link: bool = False) -> dict[str, object]:
    """`threadline ingest` of a file into a new store: extract and store (and link, if asked)."""
    db = OUT / f"ingest-{ads.parent.name}.duckdb"
    db.unlink(missing_ok=True)
    n = sum(1 for _ in ads.open("rb"))
    exe = str(Path(sys.executable).with_name("threadline"))
    cmd = [exe, "ingest", str(ads), "--db", str(db), "--workers", str(workers), "-q"]
    if not link:
        cmd.append("--no-link")
    seconds, peak_mib, line = _run_measured(cmd)
    again, _, line2 = _run_measured(cmd)
    return {
        "records": n,
        "workers": workers,
        "linked": link,
        "seconds": round(seconds, 1),
        "records_per_s": round(n / seconds),
        "peak_rss_mib": round(peak_mib),
        "report": line,
        "reingest_seconds": round(again, 1),
        "reingest_report": line2,
    }


def _photo_corpus(n: int, seed: int) -> Path:
    """Ads each carrying one unique 640x480 JPEG (shapes and noise): the cost of hashing photos
    of the size sites serve, which the synthetic corpus's small images understate."""
    import numpy as np
    from PIL import Image, ImageDraw

    folder = OUT / "photos"
    marker = folder / f".done-{n}-{seed}"
    if marker.exists():
        return folder / "ads.jsonl"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    with (folder / "ads.jsonl").open("w") as out:
        for i in range(n):
            small = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
            img = Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC)
            draw = ImageDraw.Draw(img)
            for _ in range(5):
                x, y = (int(v) for v in rng.integers(0, 560, 2))
                draw.rectangle(
                    (x, y % 400, x + 80, y % 400 + 60), fill=tuple(int(c) for c in rng.integers(0, 255, 3))
                )
            img.save(folder / "images" / f"{i}.jpg", quality=85)
            ad = {
                "id": str(i),
                "source": "photos",
                "body": f"Call 713-555-01{i % 100:02d}",
                "images": [f"images/{i}.jpg"],
            }
            out.write(json.dumps(ad) + "\n")
    marker.touch()
    return folder / "ads.jsonl"


def _hostile_files() -> dict[str, Path]:
    """Two legal but hostile files (issue 10): 300 records with a 1 MB unknown field each, and
    one record with 100,000 references to one image beside ordinary ads."""
    folder = OUT / "hostile"
    folder.mkdir(parents=True, exist_ok=True)
    wide = folder / "wide.jsonl"
    if not wide.exists():
        blob = "x" * (1024 * 1024 - 1024)
        with open(wide, "w") as f:
            for i in range(300):
                body = f"New in town, call 713-555-01{i % 100:02d}"
                f.write(json.dumps({"id": f"w{i}", "body": body, "crawler_dump": blob}) + "\n")
    refs = folder / "refs" / "ads.jsonl"
    if not refs.exists():
        refs.parent.mkdir(exist_ok=True)
        from PIL import Image

        Image.effect_noise((256, 256), 64).convert("RGB").save(refs.parent / "photo.png")
        with open(refs, "w") as f:
            f.write(
                json.dumps({"id": "many", "body": "call 713-555-0100", "images": ["photo.png"] * 100_000})
            )
            f.write("\n")
            for i in range(100):
                ad = {"id": f"r{i}", "body": f"call 713-555-01{i:02d}", "images": ["photo.png"] * 20}
                f.write(json.dumps(ad) + "\n")
    return {"300 records with a 1 MB unknown field": wide, "100k image references in one record": refs}


def hostile_ingest(workers: int) -> dict[str, object]:
    """Time and peak RSS (the whole process tree) of `threadline ingest` on the hostile files."""
    out: dict[str, object] = {}
    for name, path in _hostile_files().items():
        out[name] = r = ingest_speed(path, workers, link=True)
        r["input_mib"] = round(path.stat().st_size / 2**20)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=20261128, help="corpus seed (not one developed against)")
    parser.add_argument("--quality-ads", type=int, default=20_000)
    parser.add_argument("--ingest-ads", type=int, default=20_000, help="ads with images for ingest speed")
    parser.add_argument("--rss-ads", type=int, default=100_000, help="ads with images for peak memory")
    parser.add_argument("--photo-ads", type=int, default=5000, help="ads with a 640x480 photo each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small corpora, for checking the script")
    parser.add_argument("--hostile-only", action="store_true", help="only the hostile files' time and memory")
    args = parser.parse_args()
    if args.quick:
        args.quality_ads, args.ingest_ads, args.rss_ads, args.photo_ads = 2000, 2000, 5000, 500
    OUT.mkdir(exist_ok=True)
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    print("hostile files: time and peak memory of the process tree (goal <= 1.5 GB):", flush=True)
    results["hostile_ingest"] = hostile = hostile_ingest(args.workers)
    print(json.dumps(hostile, indent=2), flush=True)
    if args.hostile_only:
        return

    print(f"phone quality on a fresh corpus (seed {args.seed}, {args.quality_ads:,} ads):", flush=True)
    quality_ads = _corpus("quality", args.quality_ads, args.seed, images=False)
    results["phone_quality"] = q = phone_quality(quality_ads)
    print(json.dumps(q, indent=2), flush=True)

    print("one 1 MB adversarial body through every extractor (seconds):", flush=True)
    results["hostile_1mb_seconds"] = h = hostile_bodies()
    print(json.dumps(h, indent=2), flush=True)

    print("text-only extraction, one core:", flush=True)
    results["text_extraction"] = t = text_extraction_speed(quality_ads)
    print(json.dumps(t, indent=2), flush=True)

    print(f"full ingest with images, {args.workers} workers, {args.ingest_ads:,} ads:", flush=True)
    ingest_ads = _corpus("ingest", args.ingest_ads, args.seed + 1, images=True)
    results["ingest"] = i = ingest_speed(ingest_ads, args.workers)
    print(json.dumps(i, indent=2), flush=True)

    print(f"peak memory, ingesting {args.rss_ads:,} ads with images:", flush=True)
    rss_ads = _corpus("rss", args.rss_ads, args.seed + 2, images=True)
    results["ingest_large"] = r = ingest_speed(rss_ads, args.workers)
    print(json.dumps(r, indent=2), flush=True)
    print("the same, linking too (as `threadline ingest` does by default):", flush=True)
    results["ingest_large_linked"] = r = ingest_speed(rss_ads, args.workers, link=True)
    print(json.dumps(r, indent=2), flush=True)

    print(f"ingest of ads with one unique 640x480 photo each, {args.photo_ads:,} ads:", flush=True)
    results["ingest_photos"] = p = ingest_speed(_photo_corpus(args.photo_ads, args.seed), args.workers)
    print(json.dumps(p, indent=2), flush=True)

    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["bench_process_peak_rss_mib"] = round(self_peak)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"written {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
