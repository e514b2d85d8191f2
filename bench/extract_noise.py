"""Cost of every extractor on random noisy text, in microseconds per character.

    .venv/bin/python bench/extract_noise.py                  # 100 KB and 1 MB of every mixture
    .venv/bin/python bench/extract_noise.py --sizes 20000 100000 --only phones
    .venv/bin/python bench/extract_noise.py --sizes 20000 1000000 --only --whole   # extract_ad only

Hostile ads are not uniform chains ("7" * 1e6) but mixtures: spelled digits among digits,
separators, address-like and handle-like junk and emoji. Each mixture is drawn from a seeded
generator, so the figures are repeatable. The slowest extractor's cost on the worst mixture is
what `extract.text.MAX_FIELD_CHARS` (the per-field budget) is chosen from. Single-threaded; run
it on a quiet machine.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable

from threadline.extract.contacts import find_emails, find_handles
from threadline.extract.emoji import find_emoji
from threadline.extract.indicators import find_indicators
from threadline.extract.money import find_prices
from threadline.extract.people import find_ages, find_names
from threadline.extract.phones import find_phones
from threadline.extract.places import find_places
from threadline.extract.sentences import find_sentences
from threadline.extract.text import normalise
from threadline.model import Ad, Found

_SPELLED = [
    *"zero one two three four five six seven eight nine niner oh o l i double triple".split(),
    *"cero uno dos tres cuatro cinco seis siete ocho nueve doble".split(),
]
_DIGITS = [*"0123456789", "713", "555", "0142", "44", "07", "1", "00"]
_SEPS = [" ", " ", "-", ".", "(", ")", "/", "+", ", ", "  ", "\n", "_", "*", "~", ":"]
_EMAILISH = ["at", "@", "[at]", "(at)", "dot", ".", "[dot]", "com", "gmail", "net", "ruby", "x", "a", "mail"]
_HANDLEISH = "ig sc snap snapchat insta tg x of kik : @ _ 👻 / & | instagram.com/ t.me/ onlyfans.com/".split()
_HANDLEISH += ["ruby_lane", "mia.x"]
_EMOJI = ["💋", "🌹", "👑", "7️⃣", "1️⃣", "３", "𝟕", "⑦", "\u200b", "\u200d", "👉", "📱", "❤️", "🔥", "💦"]
_WORDS = ["call", "text", "new", "in", "town", "Dallas", "Mia", "hh", "hr", "roses", "yo", "age", "I'm"]
_WORDS += ["$", "150", "24", "room", "suite", "TX", "Houston", "visiting", "incall", "outcall", "😘"]

_DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
_ONE_DIGITS = list("0123456789")
_ONE_SEPS = [" ", "-", ".", " - ", "  "]

# Every mixture: (tokens, weight) pools to draw each token from, and the chance of a space after a
# token (the separators are tokens too, so below 1 glued forms such as "seven1eight" occur). The
# first two are the worst case: random digits in one endless chain, each position the
# start of many candidate numbers that all need validating.
MIXTURES: dict[str, tuple[list[tuple[list[str], int]], float]] = {
    "spelled digits": ([(_DIGIT_WORDS, 1)], 1.0),
    "spaced digits": ([(_ONE_DIGITS, 4), (_ONE_SEPS, 1)], 1.0),
    "spelled+digits+seps": ([(_SPELLED, 5), (_DIGITS, 3), (_SEPS, 4)], 0.6),
    "digits+seps": ([(_DIGITS, 5), (_SEPS, 4)], 0.6),
    "email-like": ([(_EMAILISH, 5), (_SEPS, 3), (_DIGITS, 1)], 0.6),
    "handle-like": ([(_HANDLEISH, 5), (_SEPS, 3), (_SPELLED, 1)], 0.6),
    "emoji+digits": ([(_EMOJI, 5), (_DIGITS, 3), (_SEPS, 2), (_SPELLED, 1)], 0.6),
    "everything": (
        [(_SPELLED, 3), (_DIGITS, 3), (_SEPS, 4), (_EMAILISH, 2), (_HANDLEISH, 2), (_EMOJI, 2), (_WORDS, 2)],
        0.6,
    ),
}


def noise(mixture: str, size: int, seed: int = 20240611) -> str:
    """``size`` characters of ``mixture`` drawn with ``seed`` (the same text on any machine).

    Each size is its own draw: a longer text must not start with a shorter one, whose work the
    extractors' caches would remember."""
    rng = random.Random(f"{mixture}:{size}:{seed}")
    pools, spaced = MIXTURES[mixture]
    tokens = [pool for pool, _ in pools]
    weights = [w for _, w in pools]
    mixed_case = len(pools) > 1
    out: list[str] = []
    n = 0
    while n < size:
        pool = rng.choices(tokens, weights)[0]
        token = rng.choice(pool)
        if mixed_case and rng.random() < 0.5 and token.isalpha():
            token = token.upper() if rng.random() < 0.3 else token.capitalize()
        out.append(token)
        n += len(token)
        if rng.random() < spaced:
            out.append(" ")
            n += 1
    return "".join(out)[:size]


Texts = list[tuple[str, str]]
EXTRACTORS: dict[str, Callable[[Texts], list[Found]]] = {
    "phones": lambda t: find_phones(t, "US"),
    "emails": find_emails,
    "handles": find_handles,
    "names": find_names,
    "ages": find_ages,
    "prices": lambda t: find_prices(t, "USD"),
    "places": lambda t: find_places(t, "Houston, TX"),
    "emoji": find_emoji,
    "indicators": find_indicators,
    "sentences": lambda t: find_sentences(t, []),
}


def _timed(run: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--mixtures", nargs="+", default=list(MIXTURES), choices=list(MIXTURES))
    parser.add_argument("--only", nargs="*", default=list(EXTRACTORS), choices=list(EXTRACTORS))
    parser.add_argument("--whole", action="store_true", help="also time extract_ad (with its budget)")
    args = parser.parse_args()
    # Load the gazetteer, lexicon and emoji table before timing anything.
    for run in EXTRACTORS.values():
        run([("body", "warm up: call 713 555 0142, Mia 24yo in Dallas, TX 💋 ig: ruby")])
    names = ["normalise", *args.only]
    print("µs per character (seconds for the field in brackets)")
    print(f"{'mixture':<22}{'size':>9}  " + "".join(f"{n:>17}" for n in names), flush=True)
    for mixture in args.mixtures:
        for size in args.sizes:
            text = noise(mixture, size)
            fresh = text + " "  # a new string each time: no cache hit
            cells = [_timed(lambda t=fresh: normalise(t))]  # type: ignore[misc]
            for name in args.only:
                fresh = text + " "
                cells.append(_timed(lambda run=EXTRACTORS[name], t=fresh: run([("body", t)])))  # type: ignore[misc]
            row = "".join(f"{s / size * 1e6:>9.2f} ({s:>5.2f})" for s in cells)
            print(f"{mixture:<22}{size:>9}  {row}", flush=True)
            if args.whole:
                from threadline.extract import extract_ad

                ad = Ad(source="bench", id=mixture, body=text + "  ")
                s = _timed(lambda ad=ad: extract_ad(ad, images=False))  # type: ignore[misc]
                print(f"{'':<22}{'':>9}  extract_ad: {s:.2f} s ({s / size * 1e6:.2f} µs/char)", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
