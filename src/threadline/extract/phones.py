"""Phone numbers, however the advertiser hid them.

Ads must carry a working number, and filters look for digits, so advertisers write ``seven1eight
five5five``, ``7l3-555-Ol42``, ``７１３``, keycap emoji, single spaced digits, or split the number with
emoji and filler words. Published research (Lugo-Graulich & Meyer 2024) found that an obscured number
is itself predictive of trafficking, so each number records whether and how it was obscured.

How it works, in three linear passes over the normalised text (see `text.normalise`):

1. **Tokens.** One regular expression finds every *digit-bearing token*: a whole word made only of
   digits, number words (English and Spanish) and look-alike letters (``o``, ``l``, ``i``), a digit run
   glued to other letters (``call713``), or ``double``/``triple``. Its alternatives are prefix-distinct,
   so matching cannot backtrack catastrophically.
2. **Chains.** Consecutive tokens join a chain when the text between them is a short *gap* of
   separators, emoji or filler words (``-``, ``💋``, ``dash``). Anything else (a word, a currency sign,
   a unit such as ``yo``/``hr``/``roses``) ends the chain, so prices and ages stay out of numbers.
3. **Numbers.** Inside a chain, runs of whole tokens with a plausible number of digits are parsed and
   validated with ``phonenumbers``; a run is only accepted if its token boundaries fall where a
   printed number has them (``713 555 0142``) or between single digits (spelled or spaced styles),
   so ``2026-10-01 14:35`` never reads as a number. Each run is bounded to 15 digits, so the work per chain
   position is constant and the whole pass stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

import phonenumbers
from phonenumbers import PhoneNumberFormat

from threadline.extract.text import Normalised, lower_same_length, normalise
from threadline.model import Found, Span

__all__ = ["find_phones", "possible_lengths"]

_WORDS_EN = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
_WORDS_ES = {
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4",
    "cinco": "5", "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
}  # fmt: skip
# Letters that read as digits: "O" for zero, "l" and "I" for one. Alone they are weak evidence.
_LOOKALIKE = {"oh": "0", "o": "0", "l": "1", "i": "1"}
_MULTIPLIERS = {"double": 2, "doble": 2, "triple": 3}
_DIGIT_OF = {**_WORDS_EN, **_WORDS_ES, **_LOOKALIKE}

# Longest alternatives first so that "oh" wins over "o" and "niner" over "nine". The alternatives are
# prefix-distinct, so a failed match cannot backtrack more than one word.
_UNIT = "|".join(sorted((re.escape(w) for w in _DIGIT_OF), key=len, reverse=True))
_PIECE = re.compile(rf"[0-9]|{_UNIT}")
_SPELLED = re.compile(rf"(?:[0-9]|{_UNIT}){{1,80}}")
_WORDLIKE = re.compile(r"[^\W_]+")
_DIGIT_RUN = re.compile(r"[0-9]+")
# Units that make a number a quantity, not part of a phone number: 24yo, 150hh, 10pm, 5ft. Glued
# to the digits even a one-letter unit counts; after a space only unambiguous words do ("in", "am"
# and "m" are too common as ordinary words after a number).
_UNIT_GLUED = re.compile(
    r"(?:y/?o|yrs?|years?|hh|hrs?|h|mins?|m|pm|am|st|nd|rd|th|ft|in|lbs?|kg|cm|k|roses?|r|"
    r"usd|gbp|dollars?|bucks|x)(?![^\W_])"
)
_UNIT_SPACED = re.compile(
    r"(?:y/?o|yrs?|years?|hh|hrs?|hours?|mins?|minutes?|ft|feet|lbs?|kg|cm|roses?|usd|gbp|dollars?|"
    r"bucks|donation)(?![^\W_])"
)
_CURRENCY = frozenset("$£€¥")
# What may stand between the pieces of one number: separators, brackets, emoji and filler words.
_GAP = re.compile(
    r"(?:[\s\-.()\[\]{}/\\_*~|,:;+#=<>•·!^]|[^\w\s$£€¥%@&'\"`]|dash|dot|and|then|space|hyphen|y|guion|punto)*"
)
_PLAIN_GAP = re.compile(r"[ \-.()+]*")
_MAX_GAP = 12
_MAX_DIGITS = 15  # E.164 maximum
_MIN_DIGITS = 7  # no region's numbers are shorter (see `possible_lengths`)


class _Group:
    """One digit-bearing token: its digits and where it sits in the normalised text."""

    __slots__ = ("digits", "end", "start", "styles", "weak")

    def __init__(self, start: int, end: int, digits: str, weak: bool, styles: frozenset[str]) -> None:
        self.start = start
        self.end = end
        self.digits = digits
        self.weak = weak  # look-alike letters alone ("o", "I"): weaker than a digit, see below
        self.styles = styles


_NO_STYLE: frozenset[str] = frozenset()
_QUANTITY = frozenset({"quantity"})
_MULTIPLIER = "*"  # digits value of a "double"/"triple" token, followed by the factor


@lru_cache(maxsize=256)
def possible_lengths(region: str) -> frozenset[int]:
    """Digit counts a number of ``region`` can have as typed: national, with trunk 0, with country code."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return frozenset(range(7, _MAX_DIGITS + 1))
    desc = meta.general_desc
    national = set(desc.possible_length or ()) if desc is not None else set()
    cc = len(str(meta.country_code))
    lengths = set(national)
    if meta.national_prefix:
        lengths |= {n + len(meta.national_prefix) for n in national}
    lengths |= {n + cc for n in national}
    return frozenset(n for n in lengths if n >= 7)


@lru_cache(maxsize=16384)
def _classify(token: str) -> tuple[tuple[int, int, str, bool, frozenset[str]], ...]:
    """Digit-bearing pieces of one word: (offset, end, digits, weak, styles) each.

    Cached per distinct word: ad text repeats its words, and hostile text repeats them a lot.
    """
    if token.isdigit():
        return ((0, len(token), token, False, _NO_STYLE),)
    if token in _MULTIPLIERS:
        return ((0, len(token), _MULTIPLIER + str(_MULTIPLIERS[token]), False, _NO_STYLE),)
    if _SPELLED.fullmatch(token):
        digits = []
        styles = set()
        for piece in _PIECE.findall(token):
            digits.append(_DIGIT_OF.get(piece, piece))
            if piece in _WORDS_EN:
                styles.add("words_en")
            elif piece in _WORDS_ES:
                styles.add("words_es")
            elif piece in _LOOKALIKE:
                styles.add("letters")
        # "I", "o", "oh" alone are ordinary words; they count as digits only next to digits.
        weak = len(token) <= 2 and styles == {"letters"}
        return ((0, len(token), "".join(digits), weak, frozenset(styles)),)
    pieces = []
    # Digit runs glued to other letters: "call713" is part of a number, "24yo" a quantity.
    for m in _DIGIT_RUN.finditer(token):
        if _UNIT_GLUED.match(token, m.end()):
            pieces.append((m.start(), m.end(), "", True, _QUANTITY))
        else:
            pieces.append((m.start(), m.end(), m.group(), False, _NO_STYLE))
    return tuple(pieces)


def _tokens(low: str) -> list[_Group]:
    groups: list[_Group] = []
    for m in _WORDLIKE.finditer(low):
        pieces = _classify(m.group())
        if pieces:
            base = m.start()
            for start, end, digits, weak, styles in pieces:
                groups.append(_Group(base + start, base + end, digits, weak, styles))
    return groups


@lru_cache(maxsize=4096)
def _joins(gap: str) -> bool:
    # A line break ends a number: "near I-405" on one line and the phone on the next are two things.
    return len(gap) <= _MAX_GAP and "\n" not in gap and _GAP.fullmatch(gap) is not None


# Words that make a short number after them a room, a size or an age ("room 1208", "size 4",
# "5 ft 4"); on the same line only, since "text for room #" often ends the line before the phone.
_CUE_BEFORE = re.compile(
    r"(?<![^\W_])(?:room|suite|rm|apt|unit|size|zip|age|edad|hab|habitacion|ext|ft|feet|"
    r"i-|us-|hwy|highway|route|exit)[ \t:#.]{0,3}\Z"
)


_LETTER = re.compile(r"[^\W\d_]")


def _is_quantity(low: str, g: _Group) -> bool:
    """A standalone number that the text marks as money or a measure ("$200", "24 yo", "80 hh")."""
    if low[max(0, g.start - 2) : g.start].rstrip()[-1:] in _CURRENCY:
        return True
    after = low[g.end : g.end + 8].lstrip(" ")
    if not after or not (after[0].isalpha() or after[0] in "%'\""):
        return False  # the common case, decided without a regex
    return after[0] in "%'\"" or _UNIT_SPACED.match(after) is not None


def _is_cued(low: str, g: _Group) -> bool:
    """A number after a cue word ("room 301"): weak, since "room # 7135550142" still has a phone."""
    if _LETTER.search(low, max(0, g.start - 5), g.start) is None:
        return False  # every cue ends in a letter at most three separators before the number
    return _CUE_BEFORE.search(low, max(0, g.start - 14), g.start) is not None


def _chains(low: str, groups: list[_Group]) -> list[list[_Group]]:
    chains: list[list[_Group]] = []
    current: list[_Group] = []
    for g in groups:
        if g.styles is _QUANTITY or (g.digits and not g.weak and _is_quantity(low, g)):
            if current:
                chains.append(current)
            current = []
            continue
        if g.digits and not g.weak and _is_cued(low, g):
            g = _Group(g.start, g.end, g.digits, True, g.styles)
        if current and not _joins(low[current[-1].end : g.start]):
            chains.append(current)
            current = []
        current.append(g)
    if current:
        chains.append(current)
    result = []
    for chain in chains:
        if all(g.weak and "letters" in g.styles for g in chain):
            continue  # "o i l": look-alike letters alone are words, not a number
        expanded: list[_Group] = []
        factor = 1
        for k, g in enumerate(chain):
            if g.digits.startswith(_MULTIPLIER):
                factor = int(g.digits[1:])
                continue
            if factor > 1 and g.digits:
                # "triple five" is 5 5 5: single spelled digits, as if each had been written out.
                styles = g.styles | {"words_mult"}
                expanded.extend(_Group(g.start, g.end, g.digits[0], False, styles) for _ in range(factor))
                if len(g.digits) > 1:
                    expanded.append(_Group(g.start, g.end, g.digits[1:], False, styles))
                factor = 1
                continue
            factor = 1
            if (
                g.digits == "0"
                and k
                and low[g.start - 1 : g.start] == "("
                and low[g.end : g.end + 1] == ")"
                and low[max(0, chain[k - 1].start - 2) : chain[k - 1].start].rstrip().endswith("+")
            ):
                continue  # "+44 (0)20 7946 0041": the bracketed trunk 0 is not dialled
            expanded.append(g)
        if expanded:
            result.append(expanded)
    return result


@lru_cache(maxsize=4096)
def _layout(number_digits: str, region: str) -> tuple[str, frozenset[int]] | None:
    """Validate; return (E.164, digit positions where a printed form of the number breaks)."""
    try:
        num = phonenumbers.parse(number_digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    breaks: set[int] = set()
    typed = number_digits.lstrip("+")
    for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
        printed = phonenumbers.format_number(num, fmt)
        digits_only = "".join(c for c in printed if c.isdigit())
        # Align the printed digits with the typed ones from the right: the typed form may lack
        # the country code or the trunk prefix.
        if not typed.endswith(digits_only) and not digits_only.endswith(typed):
            continue
        offset = len(typed) - len(digits_only)
        count = 0
        prev_digit = False
        for c in printed:
            if c.isdigit():
                if not prev_digit and count:
                    breaks.add(count + offset)
                count += 1
                prev_digit = True
            else:
                prev_digit = False
        if offset > 0:
            breaks.add(offset)  # between a typed country code / trunk prefix and the rest
    return phonenumbers.format_number(num, PhoneNumberFormat.E164), frozenset(breaks)


def _plausible_grouping(groups: list[_Group], breaks: frozenset[int]) -> bool:
    pos = 0
    for a, b in pairwise(groups):
        pos += len(a.digits)
        # Single digits on both sides: spelled or spaced styles ("seven one three", "7 1 3").
        if pos in breaks or (len(a.digits) == 1 and len(b.digits) == 1):
            continue
        return False
    return True


def _fallback_fits(region: str, digits: str) -> bool:
    """Numbers invalid in the ad's region are retried as US or UK numbers, but only in the shape
    those are typed (10 digits / 1 + 10; 0 + 10), never as short national numbers, which would
    make any stray run of digits valid somewhere."""
    if region == "US":
        return len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")
    if region == "GB":
        return len(digits) == 11 and digits[0] == "0"
    return False


_FALLBACK_REGIONS = ("US", "GB")


class _Chain:
    """A chain's digits laid end to end, so any run of whole tokens is one slice."""

    __slots__ = ("digits", "groups", "index_at", "low", "offsets")

    def __init__(self, low: str, groups: list[_Group]) -> None:
        self.low = low
        self.groups = groups
        self.digits = "".join(g.digits for g in groups)
        offsets = [0]
        for g in groups:
            offsets.append(offsets[-1] + len(g.digits))
        self.offsets = offsets
        # Every group has at least one digit, so offsets are strictly increasing.
        self.index_at = {o: k for k, o in enumerate(offsets)}

    def numbers_from(
        self, i: int, regions: tuple[str, ...], lengths: tuple[int, ...]
    ) -> list[tuple[int, str, bool, float]]:
        """Every valid number read from groups i..j: (j, E.164, international prefix?, doubt).

        ``doubt`` is 0 for a number typed as the ad's own region types it, and grows for readings
        that need another region or lack the trunk 0 a local would type ("7865550147" in a UK ad
        is more likely a US number than the UK mobile 07865 550147).
        """
        groups, low = self.groups, self.low
        start = self.offsets[i]
        if len(self.digits) - start < _MIN_DIGITS:
            return []
        plus = low[max(0, groups[i].start - 2) : groups[i].start].rstrip().endswith("+")
        intl_lengths = range(_MAX_DIGITS + 2, 8, -1)
        found: list[tuple[int, str, bool, float]] = []
        for length in intl_lengths if plus or self.digits.startswith("00", start) else lengths:
            k = self.index_at.get(start + length)
            if k is None:
                continue
            j = k - 1
            digits = self.digits[start : start + length]
            intl = plus or digits.startswith("00")
            typed = "+" + digits.removeprefix("00") if intl else digits
            best: tuple[float, str] | None = None
            for r in regions if not intl else regions[:1]:
                if not intl and length not in possible_lengths(r):
                    continue
                if r != regions[0] and not _fallback_fits(r, digits):
                    continue
                doubt = 0.0 if intl else _doubt(r, regions[0], digits)
                if best is not None and best[0] <= doubt:
                    continue
                layout = _layout(typed, r)
                if layout and _plausible_grouping(groups[i : j + 1], layout[1]):
                    best = (doubt, layout[0])
            if best is not None:
                found.append((j, best[1], intl, best[0]))
        return found


@lru_cache(maxsize=256)
def _trunk_zero(region: str) -> bool:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return meta is not None and meta.national_prefix == "0"


def _doubt(region: str, home: str, digits: str) -> float:
    if region != home:
        return 0.5
    if _trunk_zero(region) and digits[0] != "0":
        return 0.75
    return 0.0


def _numbers_in_chain(low: str, groups: list[_Group], region: str) -> list[tuple[str, list[_Group], bool]]:
    """(E.164, groups it was read from, whether a '+' or '00' prefix made it international).

    A chain may hold several numbers and stray digits ("suite 301 📱 6 0 9 5 5 5 0 1 8 6"); of
    all ways to read it as numbers, take the one covering the most real digits, and on a tie the
    one starting later, since rooms, sizes and ages precede phones far more often than follow them.
    """
    regions = (region, *(r for r in _FALLBACK_REGIONS if r != region))
    lengths = tuple(sorted(possible_lengths(region) | {10, 11}, reverse=True))
    chain = _Chain(low, groups)
    n = len(groups)
    # best[i] = (digits covered from group i on, chosen reading as (j, E.164, intl) or None to skip i)
    best: list[tuple[float, tuple[int, str, bool] | None]] = [(0.0, None)] * (n + 1)
    for i in range(n - 1, -1, -1):
        choice: tuple[float, tuple[int, str, bool] | None] = (best[i + 1][0], None)
        for j, e164, intl, doubt in chain.numbers_from(i, regions, lengths):
            # A weak group ("oh", "I", a room number) counts half a digit: enough to prefer
            # "oh two oh 7946 0311" whole, never enough to outweigh a real digit. A reading in
            # the ad's own region beats one that only makes sense in another.
            covered = sum(0.5 if g.weak else len(g.digits) for g in groups[i : j + 1]) + best[j + 1][0]
            covered -= doubt
            if covered > choice[0]:
                choice = (covered, (j, e164, intl))
        best[i] = choice
    found = []
    i = 0
    while i < n:
        taken = best[i][1]
        if taken is None:
            i += 1
            continue
        j, e164, intl = taken
        found.append((e164, groups[i : j + 1], intl))
        i = j + 1
    return found


def _styles(norm: Normalised, low: str, groups: list[_Group], span: tuple[int, int]) -> list[str]:
    styles: set[str] = set()
    for g in groups:
        styles |= g.styles - {"quantity"}
    original = norm.original[span[0] : span[1]]
    if "\u20e3" in original:
        styles.add("keycap")
    if not original.isascii() and any(unicode_digit(c) for c in original):
        styles.add("unicode")  # fullwidth, circled, bold, Arabic-Indic ... digits
    if sum(1 for g in groups if len(g.digits) == 1 and low[g.start : g.end].isdigit()) >= 5:
        styles.add("spaced")
    for a, b in pairwise(groups):
        gap = low[a.end : b.start]
        if not _PLAIN_GAP.fullmatch(gap):
            styles.add("filler" if any(c.isalpha() or not c.isascii() for c in gap) else "separators")
    return sorted(styles)


def unicode_digit(c: str) -> bool:
    """A character that stands for a digit but is not an ASCII digit (and not a keycap mark)."""
    if c.isascii():
        return False
    if c.isdecimal():
        return True
    return any(ch.isdigit() for ch in normalise(c).text)


def find_phones(texts: Iterable[tuple[str, str]], region: str = "US") -> list[Found]:
    """Every phone number in ``texts`` ((field, text) pairs), as E.164 with its spans.

    ``region`` (ISO country code) is how numbers without a country code are read; numbers that are
    invalid there are also tried as US and UK numbers, which advertisers post across borders.
    """
    by_number: dict[str, tuple[list[Span], set[str]]] = {}
    for field_name, text in texts:
        norm = normalise(text)
        low = lower_same_length(norm.text)
        groups = _tokens(low)
        if not groups:
            continue
        for chain in _chains(low, groups):
            if sum(len(g.digits) for g in chain) < _MIN_DIGITS:
                continue  # an age, a time, a price: too few digits for any number
            for e164, used, intl in _numbers_in_chain(low, chain, region):
                first = used[0].start
                if first and low[first - 1] == "(" and low.startswith(")", used[0].end):
                    first -= 1  # "(713) 555-0142": the bracket belongs to the evidence
                start, end = norm.span(first, used[-1].end)
                if intl:  # keep the "+" in the evidence
                    plus_at = norm.text.rfind("+", max(0, used[0].start - 2), used[0].start)
                    if plus_at >= 0:
                        start = norm.span(plus_at, plus_at + 1)[0]
                spans, styles = by_number.setdefault(e164, ([], set()))
                spans.append(Span(field_name, start, end))
                styles.update(_styles(norm, low, used, (start, end)))
    return [
        Found("phone", e164, tuple(spans), {"obfuscated": bool(styles), "styles": sorted(styles)})
        for e164, (spans, styles) in by_number.items()
    ]
