"""What watchlists cost ingest (issue 16: 1,000 entries add at most 20% to ingest time).

    .venv/bin/python bench/watchlists.py                    # 3,000 synthetic ads, 0 and 1,000 entries
    .venv/bin/python bench/watchlists.py --ads 10000 --entries 0,100,1000,5000 --repeat 3

A synthetic corpus (`threadline synth --no-images`) is ingested into a new store ``--repeat``
times for each number of entries (the entries made first, on the empty store), extraction in
``--workers`` processes; the median ingest time of each is printed with its ratio to the time with
no entry, and the alerts raised. The entries are a realistic mix: 60% identifiers (phones from
the fictional range, a share of them numbers the corpus uses, so alerts are raised), 15% missing
persons (a name and an age range), 15% saved searches (two words and a place), 10% photos
(random hashes: every batch's images are compared). Matching runs inside each batch's transaction
(`threadline.watch._match.match_batch`), so the difference is all it costs.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from threadline import watch
from threadline.ingest import ingest_file
from threadline.store import Store
from threadline.synth import generate

NAMES = ["Roz", "Lexi", "Mia", "Tamsin", "Jade", "Nova", "Kira", "Bella", "Ivy", "Skye"]
WORDS = ["new", "town", "girl", "sweet", "fun", "visiting", "special", "discreet", "young", "petite"]
AREAS = [212, 305, 312, 404, 602, 646, 713, 206, 303, 214]
PLACES = ["Houston", "Denver", "Miami", "Atlanta", "Phoenix", "Chicago", "Dallas", "Seattle"]


def entries(n: int, corpus: Path, seed: int) -> list[tuple[str, dict[str, object]]]:
    rng = random.Random(seed)
    phones = []
    with corpus.open() as f:
        for line in f:
            fields = json.loads(line).get("fields") or {}
            if isinstance(fields.get("phone"), str) and sum(c.isdigit() for c in fields["phone"]) >= 10:
                phones.append(fields["phone"])
    out: list[tuple[str, dict[str, object]]] = []
    for i in range(n):
        roll = i % 20
        if roll < 12:
            value = (
                rng.choice(phones) if phones and i % 10 == 0 else f"({rng.choice(AREAS)}) 555-01{i % 100:02d}"
            )
            out.append(("identifiers", {"values": [value]}))
        elif roll < 15:
            lo = rng.randint(15, 30)
            out.append(("missing", {"names": [rng.choice(NAMES)], "age_min": lo, "age_max": lo + 2}))
        elif roll < 18:
            words = " ".join(rng.sample(WORDS, 2))
            out.append(("search", {"words": words, "place": rng.choice(PLACES)}))
        else:
            pdq = "".join(rng.choice("0123456789abcdef") for _ in range(64))
            phash = "".join(rng.choice("0123456789abcdef") for _ in range(16))
            out.append(("photo", {"photo": {"pdq": pdq, "phash": phash}}))
    return out


def run(corpus: Path, n_entries: int, workers: int, seed: int) -> tuple[float, float, int]:
    """Ingest time, the part of it spent matching (timed around `_match.match_batch`, which the
    store looks up as it calls it: on a machine shared with other work the difference of two
    ingests is noisier than this), and the alerts raised."""
    from threadline.watch import _match

    folder = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    matching = [0.0]
    plain = _match.match_batch

    def timed(*args: Any, **kw: Any) -> list[int]:
        started = time.perf_counter()
        try:
            return plain(*args, **kw)
        finally:
            matching[0] += time.perf_counter() - started

    try:
        with Store.open(folder / "store.duckdb") as store:
            for kind, spec in entries(n_entries, corpus, seed):
                watch.add_entry(store.connection, kind, spec, owner="bench")
            _match.match_batch = timed  # type: ignore[assignment]
            started = time.perf_counter()
            ingest_file(corpus, store, workers=workers)
            seconds = time.perf_counter() - started
            [(alerts,)] = store.query("SELECT count(*) FROM alerts")
        return seconds, matching[0], int(alerts)
    finally:
        _match.match_batch = plain  # type: ignore[assignment]
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--ads", type=int, default=3000)
    parser.add_argument("--entries", default="0,1000", help="numbers of entries, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.entries.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-watch-corpus-") as tmp:
        generate(Path(tmp), args.ads, args.seed, images=False)
        corpus = Path(tmp) / "ads.jsonl"
        base = None
        print(
            f"ingest of {args.ads:,} synthetic ads (no images), {args.workers} workers,"
            f" median of {args.repeat}"
        )
        # Interleaved (0, 1000, 0, 1000, ...) so that a machine busy with other work slows both alike.
        times: dict[int, list[float]] = {n: [] for n in counts}
        shares: dict[int, list[float]] = {n: [] for n in counts}
        raised: dict[int, int] = {}
        for _ in range(args.repeat):
            for n in counts:
                seconds, matching, alerts = run(corpus, n, args.workers, args.seed)
                times[n].append(seconds)
                shares[n].append(matching / max(seconds - matching, 1e-9))
                raised[n] = alerts
        for n in counts:
            median = statistics.median(times[n])
            base = median if base is None else base
            print(
                f"  {n:>6,} entries: {median:6.2f} s ({args.ads / median:,.0f} ads/s), "
                f"{median / base:.2f}x the time with {counts[0]:,}; matching adds"
                f" {statistics.median(shares[n]):.0%} to the rest of that ingest; {raised[n]:,} alerts"
                f"  [runs: {', '.join(f'{t:.2f}' for t in times[n])}]"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
