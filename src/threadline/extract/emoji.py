"""Emoji, by their CLDR short names (``:rose:``, ``:cherries:``, ``:crown:``).

Emoji carry meaning in these ads: some are coded (a rose for money, cherries, a crown, a "new"
sign), and a sequence of emoji is a signature that survives phone and name changes. Keycap digits
(``7️⃣``) are excluded: they spell phone numbers and belong to the phone extractor.

The `emoji` package supplies the data (every fully-, minimally- and un-qualified sequence and its
name), but its own ``emoji_list`` costs ~300 µs per ad and half a second per megabyte of plain
letters. Here one expression finds candidate clusters instead: an emoji character, optionally
followed by presentation selectors / skin tones / tag characters, optionally joined to more of the
same with zero-width joiners, or a pair of regional indicators (a flag). Every repetition is bounded
and possessive, and the pieces it alternates between are disjoint character sets, so the scan is
linear; a cluster is then looked up whole (one dict lookup), falling back to its known parts for
sequences the data does not list (a few lookups per pictograph).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from itertools import accumulate

import emoji as emoji_data

from threadline.model import Found, Span

__all__ = ["emoji_in", "emoji_name", "find_emoji"]

_ZWJ = "\u200d"
_SKIN = "\U0001f3fb-\U0001f3ff"
# Presentation selectors, the keycap mark, skin tones and tag characters (subdivision flags).
_MODIFIERS = f"\ufe0e\ufe0f\u20e3{_SKIN}\U000e0020-\U000e007f"
_REGIONAL = "\U0001f1e6-\U0001f1ff"
# Every emoji (keycaps aside) starts in one of these ranges (checked when the table is built).
_COARSE = "\xa9\xae\u203c-\u3299\U0001f000-\U0001faff"
_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))
_MAX_ATOMS = 4  # the longest listed sequences join four pictographs (families)


def _char_class(chars: Iterable[str]) -> str:
    """A compact character class (runs of consecutive code points become ranges)."""
    codes = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(parts)


@cache
def _table() -> tuple[dict[str, str], re.Pattern[str]]:
    """Emoji sequence -> ``:name:`` (keycaps left out), and the cluster expression."""
    names: dict[str, str] = {}
    for seq, data in emoji_data.EMOJI_DATA.items():
        # Every keycap sequence starts with its ASCII key ("7", "#", "*"); those are digits in
        # disguise. "🔟" is a single pictograph and stays.
        if seq[0].isascii():
            continue
        names[seq] = str(data["en"])
    starters = {seq[0] for seq in names} - _SKIN_TONES
    starters = {c for c in starters if not 0x1F1E6 <= ord(c) <= 0x1F1FF}
    start = f"[{_char_class(starters)}]"
    mods = f"[{_MODIFIERS}]{{0,8}}+"
    # The leading look-ahead is a cheap coarse test (four ranges) that fails fast on ordinary
    # letters; without it every character is tested against the ~150 ranges of the full class,
    # which costs 45 µs instead of 6 µs on a typical ad.
    pattern = re.compile(
        rf"(?=[{_COARSE}])([{_REGIONAL}]{{2}}"  # a flag
        rf"|{start}{mods}(?:{_ZWJ}{start}{mods}){{0,7}}+"  # a pictograph and its joined sequence
        rf"|[{_SKIN}])"  # a lone skin tone (the data names them)
    )
    if not all(re.match(f"[{_COARSE}]", seq) for seq in names):
        raise RuntimeError("emoji data has a sequence outside the coarse ranges; widen _COARSE")
    return names, pattern


def emoji_name(seq: str) -> str | None:
    """The CLDR short name of one emoji sequence, ``None`` if it is not one (or is a keycap)."""
    return _table()[0].get(seq)


def _split(cluster: str, names: dict[str, str]) -> Iterable[tuple[int, int, str]]:
    """(start, end, name) of known emoji inside a cluster the data does not list whole.

    The cluster is cut at its joiners into atoms (a pictograph with its modifiers); runs of up to
    four atoms are tried longest first (the longest listed sequences join four), and an atom
    nothing starts with is read as its longest known prefix ("🌹" of a rose with a stray
    selector). At most a handful of lookups per atom, so a megabyte of joined emoji stays linear.
    """
    atoms = cluster.split(_ZWJ)
    offsets: list[int] = []
    pos = 0
    for atom in atoms:
        offsets.append(pos)
        pos += len(atom) + 1
    i = 0
    while i < len(atoms):
        for k in range(min(len(atoms), i + _MAX_ATOMS), i, -1):
            seq = _ZWJ.join(atoms[i:k])
            name = names.get(seq)
            if name is not None:
                yield offsets[i], offsets[i] + len(seq), name
                i = k
                break
        else:
            atom = atoms[i]
            for j in range(len(atom) - 1, 0, -1):
                name = names.get(atom[:j])
                if name is not None:
                    yield offsets[i], offsets[i] + j, name
                    break
            i += 1


def find_emoji(texts: Iterable[tuple[str, str]]) -> list[Found]:
    """Every emoji in the texts, one `Found` per name (``:rose:``) with a span per occurrence.

    Spans index the original text directly (no normalisation: it would drop the selectors that
    are part of an emoji). ``detail["emoji"]`` is the sequence as first written.

    >>> [f.value for f in find_emoji([("body", "new 🌹🌹 7️⃣ 👑")])]
    [':rose:', ':crown:']
    """
    found: dict[str, tuple[list[str], list[int], list[int]]] = {}
    first: dict[str, str] = {}
    for field, text in texts:
        if text.isascii():
            continue
        for name, cluster, starts, ends in _emoji_of(text):
            got = found.get(name)
            if got is None:
                got = found[name] = ([], [], [])
                first[name] = cluster
            got[0].extend([field] * len(starts))
            got[1].extend(starts)
            got[2].extend(ends)
    # One pass per field yields each position once, so no de-duplication is needed.
    return [
        Found("emoji", nm, tuple(map(Span, fields, starts, ends)), {"emoji": first[nm]})
        for nm, (fields, starts, ends) in found.items()
    ]


# The emoji of the most recent texts are kept: the indicator matcher reads the emoji of the same
# texts of an ad again (its lexicon names some). Short ones (titles, a site's fields) recur across
# ads, and more of them are kept.
_CACHE_MAX_CHARS = 20_000
_SHORT_TEXT = 120

_Emoji = tuple[str, str, tuple[int, ...], tuple[int, ...]]


def emoji_in(text: str) -> tuple[tuple[str, str, tuple[int, ...], tuple[int, ...]], ...]:
    """(name, sequence as first written, starts, ends) of every emoji in one text, in order of
    first appearance: what `find_emoji` reads, without making its `Found` objects (shared with a
    cache)."""
    return _emoji_of(text)


def _emoji_of(text: str) -> tuple[_Emoji, ...]:
    if len(text) <= _SHORT_TEXT:
        return _emoji_in_short(text)
    return _emoji_in(text) if len(text) <= _CACHE_MAX_CHARS else _scan(text)


@lru_cache(maxsize=64)
def _emoji_in(text: str) -> tuple[_Emoji, ...]:
    return _scan(text)


@lru_cache(maxsize=16384)
def _emoji_in_short(text: str) -> tuple[_Emoji, ...]:
    return _scan(text)


def _scan(text: str) -> tuple[_Emoji, ...]:
    """(name, sequence as first written, starts, ends) of every emoji in ``text``, in order of
    first appearance (cached: tuples, which the garbage collector then stops tracking, where
    lists would stay tracked for as long as the cache keeps them)."""
    names, pattern = _table()
    # Per occurrence, only list appends run in Python: `split` with one capturing group returns
    # text and clusters alternately, and their offsets are running sums of lengths (computed in C).
    # A hostile body with 500,000 emoji then costs ~0.3 s instead of ~1 s with match objects.
    parts = pattern.split(text)
    if len(parts) == 1:
        return ()
    found: dict[str, tuple[str, str, list[int], list[int]]] = {}
    bounds = list(accumulate(map(len, parts)))
    clusters = parts[1::2]
    for cluster, name, start, end in zip(
        clusters, map(names.get, clusters), bounds[0::2], bounds[1::2], strict=False
    ):
        if name is not None:
            got = found.get(name)
            if got is None:
                got = found[name] = (name, cluster, [], [])
            got[2].append(start)
            got[3].append(end)
            continue
        for i, j, nm in _split(cluster, names):
            got = found.get(nm)
            if got is None:
                got = found[nm] = (nm, cluster[i:j], [], [])
            got[2].append(start + i)
            got[3].append(start + j)
    return tuple(
        (name, cluster, tuple(starts), tuple(ends)) for name, cluster, starts, ends in found.values()
    )
