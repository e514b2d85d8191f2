"""Text normalisation that remembers where every character came from.

Advertisers write digits as fullwidth ``７１３``, mathematical bold ``𝟕``, circled ``⑦``, keycap emoji
``7️⃣`` or other scripts' digits, and hide zero-width characters between them. Extractors work on the
normalised text (NFKC, every decimal digit as ASCII, invisible characters removed) and map what they
find back to offsets in the text as posted, so evidence spans always point at the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from threadline.model import Found, Span

__all__ = ["Accumulator", "Normalised", "lower_same_length", "normalise"]

# Characters that carry no visible content and are used to break up identifiers for filters:
# variation selectors, the keycap combining mark, zero-width spaces/joiners, soft hyphen, BOM.
_INVISIBLE = frozenset("\ufe0e\ufe0f\u20e3\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f")


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=65536)
def _map_char(ch: str) -> str:
    if ch in _INVISIBLE:
        return ""
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    mapped = unicodedata.normalize("NFKC", ch)
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


@lru_cache(maxsize=64)
def _normalise_cached(text: str) -> Normalised:
    return _normalise(text)


def _normalise(text: str) -> Normalised:
    if text.isascii():
        return Normalised(text, text, None)
    pieces: list[str] = []
    origin: list[int] = []
    done = 0
    # ASCII runs are copied whole; only the other characters are mapped one by one.
    for m in _NON_ASCII.finditer(text):
        start = m.start()
        if start > done:
            pieces.append(text[done:start])
            origin.extend(range(done, start))
        for i in range(start, m.end()):
            mapped = _map_char(text[i])
            if mapped:
                pieces.append(mapped)
                origin.extend([i] * len(mapped))
        done = m.end()
    if done < len(text):
        pieces.append(text[done:])
        origin.extend(range(done, len(text)))
    return Normalised(text, "".join(pieces), tuple(origin))


def lower_same_length(text: str) -> str:
    """Lower-case ``text`` without moving any offset (a few characters, e.g. "İ", grow otherwise)."""
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
        self._spans: dict[str, dict[Span, None]] = {}
        self._detail: dict[str, dict[str, Any]] = {}

    def add(
        self, value: str, field: str, norm: Normalised, start: int, end: int, detail: dict[str, Any]
    ) -> None:
        """A sighting at ``[start, end)`` of the normalised text ``norm`` of ``field``."""
        self.add_span(value, Span(field, *norm.span(start, end)), detail)

    def add_span(self, value: str, span: Span, detail: dict[str, Any]) -> None:
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
        return [Found(self.kind, v, tuple(s), self._detail[v]) for v, s in self._spans.items()]
