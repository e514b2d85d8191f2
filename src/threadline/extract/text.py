"""Text normalisation that remembers where every character came from.

Advertisers write digits as fullwidth ``７１３``, mathematical bold ``𝟕``, circled ``⑦`` or ``❼``,
keycap emoji ``7️⃣`` or other scripts' digits, and hide zero-width characters between them.
Extractors work on the normalised text (NFKC, every decimal digit as ASCII, invisible characters
removed) and map what they find back to offsets in the text as posted, so evidence spans always
point at the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, wraps
from itertools import starmap
from typing import Any, TypeVar, TypeVarTuple

from threadline.model import Found, Span

__all__ = [
    "MAX_AD_CHARS",
    "MAX_FIELD_CHARS",
    "Accumulator",
    "Normalised",
    "Sighting",
    "Sightings",
    "lower_same_length",
    "normalise",
    "read_short_once",
    "within_budget",
]

# Characters that carry no visible content and are used to break up identifiers for filters:
# variation selectors, the keycap combining mark, zero-width spaces/joiners, soft hyphen, BOM, and
# the combining strokes of "fancy text" (underline, strikethrough, slash: "7̶1̶3̶", "7̲1̲3̲").
_INVISIBLE = frozenset(
    "\ufe0e\ufe0f\u20e3\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f"
    "\u0332\u0333\u0335\u0336\u0337\u0338"
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


# The work budget of extraction, in characters read, so that it is the same on every machine.
# Every extractor is linear, but their constants differ widely: on random noise
# made to look like phone numbers (random spelled or spaced digits, one endless chain in which
# every position starts many candidate numbers to validate) phones cost 19-45 µs per character,
# every other extractor under 2 µs (bench/extract_noise.py, 2 loaded cores: one 1 MB field took
# 32-38 s through `extract_ad`). Real ads are a few hundred to a few thousand characters (the
# synthetic corpus: body at most 615, title 86, any other field 54). 20,000 characters is several
# times the longest real ad and costs at most about 0.9 s per field on the worst noise measured;
# it is also the longest text `normalise` caches, so a field at the limit is normalised once for all
# extractors. Fields are read in the order `Ad.texts` gives them (title, body, the others), and an ad
# is read up to `MAX_AD_CHARS` in all: a record of a thousand fields each under the field limit
# must not stall a file either.
MAX_FIELD_CHARS = 20_000
MAX_AD_CHARS = 2 * MAX_FIELD_CHARS
# A cut falls after the last space or line break in this many characters before the limit, so that
# no word, number or emoji sequence is split; with none there it falls at the limit.
_CUT_WINDOW = 64


def _cut_at(text: str, limit: int) -> int:
    """How many leading characters of ``text`` to read, at most ``limit``."""
    if len(text) <= limit:
        return len(text)
    for i in range(limit, max(limit - _CUT_WINDOW, 0), -1):
        if text[i].isspace():
            return i
    return limit


def within_budget(
    texts: Iterable[tuple[str, str]], field_chars: int = MAX_FIELD_CHARS, ad_chars: int = MAX_AD_CHARS
) -> tuple[list[tuple[str, str]], list[Found]]:
    """The texts of one ad as extractors may read them, and a ``"notice"`` for each one cut.

    Each text is its own leading characters, so every offset into it is an offset into the text
    as posted. A field over ``field_chars`` (or over what is left of ``ad_chars``) is cut, and the
    cut is told in the evidence: a `Found` of kind ``"notice"``, value ``"field_cut"``, whose span
    is the part not read and whose detail gives the field, the characters read, its length and why.
    A number or word that straddles the cut is read short or not at all.
    """
    read: list[tuple[str, str]] = []
    notices: list[Found] = []
    left = ad_chars
    for field, text in texts:
        limit = min(field_chars, left)
        n = _cut_at(text, limit)
        if n < len(text):
            why = (
                f"{field_chars:,} characters per field"
                if limit == field_chars
                else f"{ad_chars:,} characters per ad, {left:,} left for this field"
            )
            detail = {
                "field": field,
                "read": n,
                "length": len(text),
                "reason": f"field cut for extraction at {n:,} characters of {len(text):,} (limit {why})",
            }
            notices.append(Found("notice", "field_cut", (Span(field, n, len(text)),), detail))
        if n:
            read.append((field, text if n == len(text) else text[:n]))
        left -= n
    return read, notices


@lru_cache(maxsize=65536)
def _map_char(ch: str) -> str:
    if ch in _INVISIBLE:
        return ""
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    mapped = unicodedata.normalize("NFKC", ch)
    if mapped == ch and (digit := unicodedata.digit(ch, None)) is not None:
        return str(digit)  # dingbat digits NFKC keeps: "❼❶❸", "➐➊➌", "⓿"
    # NFKC can turn one character into several ("½" -> "1⁄2"); any digits it yields in another
    # script are mapped too.
    if mapped != ch and not mapped.isascii():
        mapped = "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in mapped)
    return mapped


@dataclass(frozen=True, slots=True)
class Normalised:
    """A normalised text and, unless it is the original unchanged, the origin of each character."""

    original: str
    text: str
    origin: tuple[int, ...] | None  # origin[k] = index in `original` of text[k]; None = identity

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of the normalised text to ``[start, end)`` of the original."""
        if self.origin is None:
            return start, end
        n = len(self.text)
        o_start = self.origin[start] if start < n else len(self.original)
        if end <= start:
            return o_start, o_start
        last = self.origin[end - 1]
        # The end runs to the next kept character, so a keycap's combining marks stay in the span.
        o_end = self.origin[end] if end < n else len(self.original)
        return o_start, max(o_end, last + 1)


def normalise(text: str) -> Normalised:
    """NFKC-normalise ``text``, map all decimal digits to ASCII and drop invisible characters.

    Linear in the length of the text; ASCII text is returned as is without an offset table.
    The most recent short texts are cached, since every extractor normalises the same texts of an
    ad; long ones are not, as the offset table of a hostile megabyte is tens of megabytes.
    """
    if len(text) <= _CACHE_MAX_CHARS:
        return _normalise_cached(text)
    return _normalise(text)


_CACHE_MAX_CHARS = 20_000
_MAX_CACHED_RUN = 64  # longer runs of other scripts are mapped without keeping them


@lru_cache(maxsize=64)
def _normalise_cached(text: str) -> Normalised:
    return _normalise(text)


@lru_cache(maxsize=8192)
def _map_run(run: str) -> tuple[str, tuple[int, ...] | None]:
    """One run of non-ASCII characters mapped: its text, and for each of its characters the index
    in ``run`` it came from (None when every character maps to itself, as most emoji do).

    Cached per run: ads repeat the same few emoji ("💋", "✉️") and look-alike words endlessly, so
    the characters of a run are mapped once, not once per sighting."""
    pieces: list[str] = []
    rel: list[int] = []
    for i, ch in enumerate(run):
        mapped = _map_char(ch)
        pieces.append(mapped)
        rel.extend([i] * len(mapped))
    text = "".join(pieces)
    return text, None if text == run else tuple(rel)


def _mapped_run(run: str) -> tuple[str, tuple[int, ...] | None]:
    return _map_run(run) if len(run) <= _MAX_CACHED_RUN else _map_run.__wrapped__(run)


def _normalise(text: str) -> Normalised:
    if text.isascii():
        return Normalised(text, text, None)
    runs = [(m.start(), m.end(), _mapped_run(m.group())) for m in _NON_ASCII.finditer(text)]
    if all(rel is None for _, _, (_, rel) in runs):
        return Normalised(text, text, None)  # every character maps to itself (emoji, most scripts)
    pieces: list[str] = []
    origin: list[int] = []
    done = 0
    # ASCII runs are copied whole; the other characters are mapped a run at a time.
    for start, end, (mapped, rel) in runs:
        if start > done:
            pieces.append(text[done:start])
            origin.extend(range(done, start))
        pieces.append(mapped)
        origin.extend(range(start, end) if rel is None else [start + i for i in rel])
        done = end
    if done < len(text):
        pieces.append(text[done:])
        origin.extend(range(done, len(text)))
    return Normalised(text, "".join(pieces), tuple(origin))


def lower_same_length(text: str) -> str:
    """Lower-case ``text`` without moving any offset (a few characters, e.g. "İ", grow otherwise).

    Cached like `normalise`: most extractors lower-case the same normalised texts of an ad."""
    if len(text) <= _CACHE_MAX_CHARS:
        return _lower_cached(text)
    return _lower(text)


@lru_cache(maxsize=64)
def _lower_cached(text: str) -> str:
    return _lower(text)


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class Accumulator:
    """Collects values in order of first appearance; one `Found` per value, one span per place.

    Spans are kept in insertion-ordered dicts so that a value repeated 100,000 times in a hostile
    text does not cost a list scan per repeat. The detail of a value is that of its first sighting.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        # Spans as (field, start, end) tuples until `found`: a tuple hashes in C, a `Span` in Python.
        self._spans: dict[str, dict[tuple[str, int, int], None]] = {}
        self._detail: dict[str, dict[str, Any]] = {}

    def add(
        self, value: str, field: str, norm: Normalised, start: int, end: int, detail: dict[str, Any]
    ) -> None:
        """A sighting at ``[start, end)`` of the normalised text ``norm`` of ``field``."""
        self._add(value, (field, *norm.span(start, end)), detail)

    def add_span(self, value: str, span: Span, detail: dict[str, Any]) -> None:
        self._add(value, (span.field, span.start, span.end), detail)

    def add_sightings(self, field: str, sightings: Iterable[Sighting]) -> None:
        """What `Sightings` recorded in one text of ``field``, in the order it was seen."""
        for value, start, end, detail in sightings:
            # A copy: the sightings of a short text are kept and replayed for every ad holding it,
            # and no two ads' evidence may share a mutable detail.
            self._add(value, (field, start, end), dict(detail))

    def _add(self, value: str, span: tuple[str, int, int], detail: dict[str, Any]) -> None:
        spans = self._spans.get(value)
        if spans is None:
            self._spans[value] = {span: None}
            self._detail[value] = detail
        else:
            spans[span] = None

    def empty(self) -> bool:
        return not self._spans

    def has(self, value: str) -> bool:
        return value in self._spans

    def found(self) -> list[Found]:
        return [Found(self.kind, v, tuple(starmap(Span, s)), self._detail[v]) for v, s in self._spans.items()]


# What an extractor read in one text: (value, start, end, detail), offsets in the text as posted.
# The detail as its items, not a dict: sightings are cached, and a tuple holding a dict stays
# tracked by the garbage collector for as long as the cache keeps it (one of pairs is untracked);
# `Accumulator.add_sightings` makes each its own dict.
Sighting = tuple[str, int, int, tuple[tuple[str, Any], ...]]


class Sightings:
    """The sightings of one text, in order, as an extractor reads it (`Accumulator.add` without the
    field): read once per distinct short text (`read_short_once`), replayed with
    `Accumulator.add_sightings` under the field of each text that holds it."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Sighting] = []

    def add(self, value: str, norm: Normalised, start: int, end: int, detail: dict[str, Any]) -> None:
        """A sighting at ``[start, end)`` of the normalised text ``norm``."""
        self.items.append((value, *norm.span(start, end), tuple(detail.items())))


_Args = TypeVarTuple("_Args")
_R = TypeVar("_R")
# Titles and a site's fields ("24", "Mia", "(916) 555-0110") recur across ads far more than bodies
# do: 20,000 ads of the benchmark corpus hold 13,000 distinct ones among 47,000.
_SHORT_TEXT = 120
_SHORT_CACHED = 16384


def read_short_once(read: Callable[[str, *_Args], _R]) -> Callable[[str, *_Args], _R]:
    """``read(text, ...)``, remembered for the most recent distinct short texts (and arguments).

    ``read`` must be a pure function of its arguments and return an immutable result (its detail
    dicts are copied when replayed); longer texts are read every time."""
    cached: Callable[..., _R] = lru_cache(maxsize=_SHORT_CACHED)(read)

    @wraps(read)
    def reader(text: str, *args: *_Args) -> _R:
        return cached(text, *args) if len(text) <= _SHORT_TEXT else read(text, *args)

    return reader
