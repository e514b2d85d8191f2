"""Writes a synthetic corpus: ``ads.jsonl``, ``images/``, ``truth.jsonl`` and ``truth_meta.json``.

Networks are planned and written one at a time, so memory stays flat however many ads are asked
for. A crawl file is ordered by capture time, not by advertiser, so every rendered ad goes first to
one of a few time-bucket files; at the end each bucket is sorted on its own and appended to the
output. Everything random comes from one ``random.Random(seed)`` consumed in a fixed order (and
images from hashes of the seed), so the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .compose import SOURCES, ad_id, compose, edit, render
from .images import STOCK_IMAGE, ImageStore
from .obfuscate import ALL_STYLES
from .phones import HUB_NUMBERS, PhoneAllocator
from .population import DAY, KIND_SHARES, Network, Planner
from .vocab import POPULAR_TEXTS

__all__ = ["MALFORMED_KINDS", "SynthSummary", "generate"]

# Fixed start so that dates in the corpus do not depend on when it was generated.
START = 1_785_542_400  # 2026-08-01T00:00:00Z
VERSION_RATE = 0.02  # share of ads edited later (a new version with the same source and id)
ADS_PER_90_DAYS = 150_000  # beyond this the corpus covers more time, as a long archive would

MALFORMED_KINDS: tuple[str, ...] = (
    "bad_json",
    "missing_id",
    "no_text",
    "wrong_types",
    "huge_field",
    "path_escape",
    "missing_image",
    "not_object",
    "invalid_utf8",
    "bad_timestamp",
    "absolute_path_outside",
    "images_not_list",
    "fields_not_object",
)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """Counts of what `generate` wrote."""

    out_dir: Path
    ads: int  # valid ad records in ads.jsonl, versions included
    versions: int  # of which later versions of an ad that appeared earlier
    malformed: int  # broken records appended at the end of ads.jsonl
    networks: dict[str, int] = field(default_factory=dict)  # by kind
    persons: int = 0
    phones: int = 0  # distinct advertiser numbers printed (site support numbers not included)
    images: int = 0  # image files written
    recycled_phones: int = 0  # numbers held by more than one network, at different times
    copiers: int = 0  # independents who copied a popular text
    touring: int = 0  # independents touring several cities
    plain_operations: int = 0  # controlled operations writing no indicator phrase


@dataclass(slots=True)
class _NetworkSeen:
    """What of a network really made it into the corpus (the last network may be cut short)."""

    persons: dict[str, None] = field(default_factory=dict)
    phones: dict[str, None] = field(default_factory=dict)
    circuit: list[str] = field(default_factory=list)


class _Buckets:
    """Rendered lines spread over time-bucket files, read back in capture order."""

    def __init__(self, folder: Path, start: int, end: int, count: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._start = start
        self._width = max(1, (end - start) // count + 1)
        # Buckets of a few thousand rows keep the sort in memory small; 256 open files at most.
        self._paths = [folder / f"bucket-{i:04d}.tsv" for i in range(count)]
        self._files: list[IO[str]] = [p.open("w", encoding="utf-8") for p in self._paths]
        self._seq = 0

    def add(self, captured_at: int, ad: dict[str, Any], truth: dict[str, Any]) -> None:
        index = min(len(self._files) - 1, max(0, (captured_at - self._start) // self._width))
        # json.dumps escapes tabs and newlines, so one record stays on one line with 4 columns.
        ad_line = json.dumps(ad, ensure_ascii=False)
        truth_line = json.dumps(truth, ensure_ascii=False)
        self._files[index].write(f"{captured_at}\t{self._seq}\t{ad_line}\t{truth_line}\n")
        self._seq += 1

    def drain(self, ads_out: IO[bytes], truth_out: IO[bytes]) -> None:
        for f in self._files:
            f.close()
        for path in self._paths:
            rows = []
            with path.open(encoding="utf-8") as f:
                for line in f:
                    captured, seq, ad_line, truth_line = line.rstrip("\n").split("\t")
                    rows.append((int(captured), int(seq), ad_line, truth_line))
            rows.sort()
            for row in rows:
                ads_out.write(row[2].encode("utf-8") + b"\n")
                truth_out.write(row[3].encode("utf-8") + b"\n")
            path.unlink()


def _next_kind(counts: dict[str, int], emitted: int) -> str:
    """The kind furthest behind its share of ads so far (deterministic, no randomness needed)."""
    return max(KIND_SHARES, key=lambda k: KIND_SHARES[k] * (emitted + 1) - counts[k])


def generate(
    out_dir: Path,
    n_ads: int,
    seed: int,
    *,
    images: bool = True,
    malformed: int = 0,
    popular_share: float = 0.0,
    touring_share: float = 0.0,
    plain_share: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Write a synthetic corpus of ``n_ads`` valid ads (plus ``malformed`` broken ones) to ``out_dir``.

    Files written (see docs/DESIGN.md section 2 for the ad format):

    - ``ads.jsonl``: the ads in capture order, then the malformed records;
    - ``truth.jsonl``: one line per valid ad line, in the same order (phones, person, network, ...);
    - ``truth_meta.json``: seed, hub numbers, stock image, networks, malformed line numbers;
    - ``images/``: generated JPEGs (unless ``images`` is false, when ads carry no images).

    Issue 12's harder corpora: ``popular_share`` of independents copy one of a few popular texts
    (truth lines and network entries then say which, as ``popular_text``; the copiers stay
    separate persons and networks), ``touring_share`` of independents tour several cities
    (``touring``), ``plain_share`` of controlled operations write no indicator phrase (``plain``).
    At 0, the default, the corpus is exactly what the same seed always gave.

    ``progress(done, total)`` is called now and then while ads are rendered.
    """
    if n_ads < 0 or malformed < 0:
        raise ValueError("n_ads and malformed must be >= 0")
    options = {"popular_share": popular_share, "touring_share": touring_share, "plain_share": plain_share}
    for name, share in options.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    span_days = max(90, math.ceil(90 * n_ads / ADS_PER_90_DAYS))
    end = START + span_days * DAY
    allocator = PhoneAllocator(rng)
    planner = Planner(
        rng,
        allocator,
        START,
        span_days,
        popular_share=popular_share,
        touring_share=touring_share,
        plain_share=plain_share,
    )
    store = ImageStore(out_dir, seed) if images else None

    tmp = out_dir / ".synth-tmp"
    buckets = _Buckets(tmp, START, end + 10 * DAY, max(1, min(256, n_ads // 5_000)))
    networks_file = (tmp / "networks.jsonl").open("w", encoding="utf-8")

    counters = dict.fromkeys(SOURCES, 0)
    ads_by_kind = dict.fromkeys(KIND_SHARES, 0)
    networks_by_kind = dict.fromkeys(KIND_SHARES, 0)
    persons: set[str] = set()
    phones: set[str] = set()
    flagged = {"copiers": 0, "touring": 0, "plain_operations": 0}
    emitted = versions = 0
    report_every = max(1000, n_ads // 100)

    while emitted < n_ads:
        kind = _next_kind(ads_by_kind, emitted)
        network: Network = getattr(planner, kind)()
        seen = _NetworkSeen()
        for post in network.posts:
            if emitted >= n_ads:
                break
            content = compose(post, network, rng)
            for k, source_name in enumerate(post.sources):
                if emitted >= n_ads:
                    break
                source = SOURCES[source_name]
                counters[source_name] += 1
                identifier = ad_id(source, counters[source_name])
                posted = post.posted_at + (rng.randrange(600, 4 * 3600) if k else 0)
                captured = posted + rng.randrange(300, 6 * 3600)
                # Drawn whether or not images are written, so that the text of a corpus does not
                # depend on ``images``.
                stock_only = post.stock_image and (not post.images or rng.random() < 0.5)
                paths: list[str] = []
                stock = post.stock_image and store is not None
                if store is not None:
                    # A cross-post is a re-upload: the next variant of each photo.
                    if not stock_only:
                        paths = [store.person_image(post.person.index, b, v + k) for b, v in post.images]
                    if post.stock_image:
                        paths.append(store.stock_image())
                ad, truth = render(
                    post, network, content, source, identifier, posted, captured, paths, stock, rng
                )
                buckets.add(captured, ad, truth)
                emitted += 1
                ads_by_kind[kind] += 1
                _note(seen, post.city.key, truth)

                if emitted < n_ads and rng.random() < VERSION_RATE:
                    recaptured = captured + rng.randrange(DAY, 5 * DAY)
                    new_ad, new_truth = edit(ad, truth, recaptured, rng, plain=post.person.voice.plain)
                    buckets.add(recaptured, new_ad, new_truth)
                    emitted += 1
                    versions += 1
                    ads_by_kind[kind] += 1
                if progress is not None and emitted % report_every == 0:
                    progress(emitted, n_ads)
        if seen.persons:
            networks_by_kind[kind] += 1
            persons.update(seen.persons)
            phones.update(seen.phones)
            meta: dict[str, Any] = {
                "network": network.id,
                "kind": network.kind,
                "country": network.country,
                "persons": list(seen.persons),
                "phones": list(seen.phones),
                "circuit": seen.circuit,
            }
            # Issue 12's options, only where they apply (so a default corpus reads as it did).
            voice = network.persons[0].voice
            if voice.copied_text is not None:
                meta["popular_text"] = voice.copied_text
                flagged["copiers"] += 1
            if network.touring:
                meta["touring"] = True
                flagged["touring"] += 1
            if voice.plain:
                meta["plain"] = True
                flagged["plain_operations"] += 1
            networks_file.write(json.dumps(meta, ensure_ascii=False) + "\n")
    networks_file.close()
    if progress is not None:
        progress(emitted, n_ads)

    malformed_meta: list[dict[str, Any]] = []
    with (out_dir / "ads.jsonl").open("wb") as ads_out, (out_dir / "truth.jsonl").open("wb") as truth_out:
        buckets.drain(ads_out, truth_out)
        for i in range(malformed):
            kind = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
            ads_out.write(_malformed_line(kind, i) + b"\n")
            malformed_meta.append({"line": emitted + i + 1, "kind": kind})

    recycled = {p: n for p, n in allocator.recycled.items() if p in phones}
    summary = SynthSummary(
        out_dir=out_dir,
        ads=emitted,
        versions=versions,
        malformed=malformed,
        networks=networks_by_kind,
        persons=len(persons),
        phones=len(phones),
        images=store.files_written if store is not None else 0,
        recycled_phones=len(recycled),
        **flagged,
    )
    _write_meta(
        out_dir,
        tmp / "networks.jsonl",
        seed,
        n_ads,
        span_days,
        store,
        recycled,
        allocator,
        malformed_meta,
        summary,
        options,
    )
    shutil.rmtree(tmp)
    return summary


def _note(seen: _NetworkSeen, city: str, truth: dict[str, Any]) -> None:
    seen.persons[truth["person"]] = None
    hubs = set(truth["hub_phones"])
    for phone in truth["phones"]:
        if phone not in hubs:
            seen.phones[phone] = None
    if not seen.circuit or seen.circuit[-1] != city:
        seen.circuit.append(city)


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _write_meta(
    out_dir: Path,
    networks_path: Path,
    seed: int,
    n_ads: int,
    span_days: int,
    store: ImageStore | None,
    recycled: dict[str, int],
    allocator: PhoneAllocator,
    malformed: list[dict[str, Any]],
    summary: SynthSummary,
    options: dict[str, float],
) -> None:
    head: dict[str, Any] = {
        "generator": "threadline.synth",
        "format": 1,
        "seed": seed,
        "n_ads": n_ads,
        "start": _iso(START),
        "end": _iso(START + span_days * DAY),
        "images": store is not None,
        "styles": list(ALL_STYLES),
        "sources": [
            {
                "name": s.name,
                "domain": s.domain,
                "country": s.country,
                "fields": list(s.fields),
                "hub_phones": [HUB_NUMBERS[s.name].e164] if s.name in HUB_NUMBERS else [],
            }
            for s in SOURCES.values()
        ],
        "hub_phones": [
            {"phone": phone.e164, "source": source, "role": "site customer service"}
            for source, phone in HUB_NUMBERS.items()
        ],
        "stock_images": [STOCK_IMAGE] if store is not None and store.has_written(STOCK_IMAGE) else [],
        "recycled_phones": recycled,
        "overlapping_phone_holders": allocator.overlapping,
        "malformed": malformed,
        "counts": {
            "ads": summary.ads,
            "versions": summary.versions,
            "malformed": summary.malformed,
            "networks": summary.networks,
            "persons": summary.persons,
            "phones": summary.phones,
            "images": summary.images,
        },
    }
    if any(options.values()):  # only then, so that a default corpus's meta stays as it was
        head["options"] = options
        head["popular_texts"] = [list(t) for t in POPULAR_TEXTS]
        head["counts"].update(
            copiers=summary.copiers, touring=summary.touring, plain_operations=summary.plain_operations
        )
    # The network list can hold a hundred thousand entries: stream it in rather than build it.
    head_text = json.dumps(head, ensure_ascii=False, indent=1)
    with (
        (out_dir / "truth_meta.json").open("w", encoding="utf-8") as out,
        networks_path.open(encoding="utf-8") as f,
    ):
        out.write(head_text[:-2] + ',\n "networks": [\n')
        first = True
        for line in f:
            out.write(("" if first else ",\n") + "  " + line.rstrip("\n"))
            first = False
        out.write("\n ]\n}\n")


def _malformed_line(kind: str, index: int) -> bytes:
    """One broken record of the given kind, for ingest's quarantine tests."""
    ident = f"bad-{index:04d}"
    base: dict[str, Any] = {"id": ident, "source": "nightpages", "title": "Broken record", "body": "text"}
    record: Any
    if kind == "bad_json":
        return f'{{"id": "{ident}", "source": "nightpages", "title": "cut off'.encode()
    if kind == "invalid_utf8":
        return f'{{"id": "{ident}", "source": "nightpages", "body": "bad bytes '.encode() + b'\xff\xfe\xc3"}'
    if kind == "missing_id":
        record = {k: v for k, v in base.items() if k != "id"}
    elif kind == "no_text":
        record = {"id": ident, "source": "nightpages", "location": "Houston, TX"}
    elif kind == "wrong_types":
        record = {**base, "id": 12345, "title": ["not", "a", "string"], "posted_at": 20261001}
    elif kind == "huge_field":
        record = {**base, "body": "Long ad text. " * 80_000}  # 1.1 MB
    elif kind == "path_escape":
        record = {**base, "images": ["../../etc/passwd"]}
    elif kind == "missing_image":
        record = {**base, "images": ["images/00/does-not-exist.jpg"]}
    elif kind == "not_object":
        record = ["an", "array", "not", "an", "object"]
    elif kind == "bad_timestamp":
        record = {**base, "posted_at": "last tuesday-ish"}
    elif kind == "absolute_path_outside":
        record = {**base, "images": ["/etc/passwd"]}
    elif kind == "images_not_list":
        record = {**base, "images": "images/00/x.jpg"}
    elif kind == "fields_not_object":
        record = {**base, "fields": ["phone", "7135550100"]}
    else:
        raise ValueError(kind)
    return json.dumps(record, ensure_ascii=False).encode("utf-8")
