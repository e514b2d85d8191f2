"""A small archive of networks kept apart (each its own phone and its own words, nothing in
common), for tests that need a link run to touch one network and leave the others: synthetic
corpora of a few hundred ads are so entangled (shared sentences, hubs) that any new ad relinks
most of them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["AREAS", "HUB_PHONE", "ads_apart", "phone_of", "write_jsonl"]

AREAS = ["713", "214", "512", "602", "303", "305", "404", "617", "212", "415"]
HUB_PHONE = "(720) 555-0199"  # a booking line some test ads share (`ads_apart(hub=...)`)
_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "vo", "ri", "pa", "de", "zu", "fe", "go", "hi", "ju", "be"]
_CITIES = ["Houston", "Austin", "Dallas", "Phoenix", "Denver", "Miami", "Atlanta", "Boston"]


def phone_of(network: int) -> str:
    """The phone of the ``network``-th network of `ads_apart`, as its ads write it."""
    return f"({AREAS[network % len(AREAS)]}) 555-{100 + network:04d}"


def ads_apart(networks: int = 30, per: int = 5, seed: int = 3, hub: int = 0) -> list[dict[str, Any]]:
    """``networks`` groups of ``per`` ads (``n{k}a{j}``), each group its own phone and words; the
    first ad of each of the first ``hub`` groups also gives `HUB_PHONE`."""
    rng = random.Random(seed)
    ads = []
    for k in range(networks):
        words = ["".join(rng.choice(_SYLLABLES) for _ in range(3)) for _ in range(12)]
        for j in range(per):
            body = " ".join(rng.sample(words, 8)).capitalize() + f". Call {phone_of(k)}."
            if j == 0 and k < hub:
                body += f" Bookings {HUB_PHONE}."
            ads.append(
                {
                    "id": f"n{k}a{j}",
                    "source": f"site{k % 3}",
                    "title": words[j].title(),
                    "body": body,
                    "location": _CITIES[k % len(_CITIES)],
                    "posted_at": f"2026-0{1 + j % 9}-1{k % 10}T12:00:00Z",
                }
            )
    return ads


def write_jsonl(path: Path, ads: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path
