"""Phone numbers, however the advertiser wrote them.

Ads must carry a working number, and filters look for digits, so advertisers write ``seven1eight
five5five``, ``7l3-555-Ol42``, ``７１３``, keycap emoji, ``five fifty five``, ``f1ve``, ``71 35 55 01 42``,
``713@555@0142``, or split the number with emoji and filler words; ads abroad add country codes,
``(0)`` trunks and ``00``/``011``/``0011`` prefixes. Published research (Lugo-Graulich & Meyer 2024)
found that an obscured number is itself predictive of trafficking, so each number records whether
and how it was obscured (``detail["styles"]``).

How it works, in linear passes over the normalised text (see `text.normalise`):

1. **Tokens.** One regular expression (`phone_grammar.CANDIDATE`) finds every word that may bear
   digits, and `phone_grammar.classify` (cached per word) reads it: digits, digits with look-alike
   letters, number words in English, Spanish, German or Italian (teens, tens, ``hundred``, run
   together), leet spellings, sound-alikes, ``double``/``triple``, or a quantity (``24yo``, ``34b``).
2. **Chains.** Consecutive tokens join a chain when the text between them is a short *gap* of any
   symbols, emoji or filler words (``-``, ``💋``, ``@``, ``dash``). Anything else (a word, a currency
   sign, a unit such as ``yo``/``hr``/``roses``, a date, a time, measurements) ends the chain, so
   prices, ages and dates stay out of numbers. A chain the site masked (``0254 123 … click to
   reveal``, ``713-555-01XX``) is dropped; sound-alikes count only inside a clearly spelled run.
3. **Numbers.** Inside a chain, runs of whole tokens with a plausible number of digits are read in
   the ad's region (a local's trunk 0 required where locals write it), as typed with a country code
   or dialling prefix, or as a US or UK number in the shape those are typed, and validated with
   ``phonenumbers``. A run is accepted where its token boundaries fall where a printed number has
   them (``713 555 0142``) or between single digits; grouped any other way (``713 5550 142``, style
   ``regrouped``) it needs at most two kinds of short symbol-only gaps, no room or id cue, and must
   not be a piece of a longer list. Of all readings of a chain the one covering the most digits
   wins, the ad's own country before another's, printed groupings before others. Each run is
   bounded to 19 digits, so the work per chain position is constant and the whole pass is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from threadline.extract.phone_grammar import (
    CANDIDATE,
    HUNDRED,
    MULTIPLIER,
    QUANTITY,
    SOUND,
    TENS,
    classify,
)
from threadline.extract.text import Normalised, lower_same_length, normalise
from threadline.model import Found, Span

__all__ = ["find_phones", "possible_lengths", "url_pieces"]

# Units after a number that make it a quantity. The "small" ones only after a number of at most
# three digits ("25 anni", "24 ore", "2 ragazze"); after a longer group ("347 1234567 ore 10-22")
# they are the next words.
_UNIT_SPACED = re.compile(
    r"(?:y/?o|yrs?|years?|hh|hrs?|hours?|h|mins?|minutes?|ft|feet|lbs?|kg|cm|roses?|usd|gbp|eur|"
    r"dollars?|bucks|donation|anos|años|hs|horas?|pesos|rs|rupees|"
    r"(?P<small>anni|ore|jahre|std|stunden|uhr|minuti|minuten|euro|girls?|ragazze|chicas))(?![^\W_])"
)
_CURRENCY = frozenset("$£€¥₹💰💵💲💸")
_UNIT_BEFORE = frozenset({"rs", "usd", "gbp", "eur", "h"})
_DIGIT_NEXT = re.compile(r"[ .:]{0,2}\d")
_PER_UNIT = re.compile(r"(?:hr|h|hour|hora|night|noche|nacht|notte|min|hh|visit|session)(?![^\W_])")
# What may stand between the pieces of one number: any symbol, space, bracket or emoji (not a
# currency sign other than "$", not "%"), and a few filler words ("area code 713 number 555 0142").
_GAP = re.compile(r"(?:[^\w£€¥₹%]|_|dash|dot|and|then|space|hyphen|y|guion|punto|number|num|is)*")
_PLAIN_GAP = re.compile(r"[ \-.()+]*")
# Symbols the old filters never expected between digits: the "symbols" style.
_ODD_SYMBOLS = frozenset("@$'\"`^!?&;=|#")
_MAX_GAP = 12
_MAX_DIGITS = 15  # E.164 maximum
_MIN_DIGITS = 7  # no region's numbers are shorter (see `possible_lengths`)

# Dates and times: their digits are never part of a number. A date is day, month and a year of
# this century or the last, in either order (a two-digit year only after "/" or ".": "3-05-55" is
# as likely a number's first groups), or a day/month pair with a slash; a time is hours
# and minutes with a colon. Neither may sit inside a longer run joined by the same symbols
# ("71:35:55:01:42", "71.35.55.01.42" are numbers written in pairs).
_DATE_TIME = re.compile(
    r"(?<![\d/.:\-])(?:"
    r"(?:19|20)\d\d([\-/.])[01]?\d\1[0-3]?\d"
    r"|[0-3]?\d-[0-3]?\d-(?:19|20)\d\d|[0-3]?\d([/.])[0-3]?\d\2(?:19|20)?\d\d"
    r"|[0-3]?\d/[0-3]?\d"
    r"|[2-5]\d[a-h]{0,3}-[2-5]\d-[2-5]\d"  # measurements: 36-26-38, 34dd-24-36
    r")(?![\d]|[\-/.:]\d)"
    # Times: "14:35", "10:30:00", and ranges "09.30-23.30", "08:00 - 20:00" (a dot only in a range).
    r"|(?<![\d/.:\-])(?:[0-2]?\d[:.][0-5]\d[ \t]*[\-–/][ \t]*[0-2]?\d[:.][0-5]\d"
    r"|[0-2]?\d:[0-5]\d(?::[0-5]\d)?)(?!\d|[:.]\d)"
)
# A number the site masked: digits followed by "XX", "**", "…" or "click to reveal". The marks
# and "click"/"tap" alone ("**", "##", "••", "xx", a spaced "xxx") are also how advertisers
# decorate a whole number ("**713-555-0142**", "07911 123456 xxx", "713-555-0142 tap to call"):
# after them a chain stands only as one whole number of the longest length its kind of number
# has (`_at_longest`), since a masked German or Italian number ("030 2345 67xx") can still be a
# valid shorter one. Words that say the number is hidden ("reveal", "show number", "ver número")
# mask always; "see", "view", "ver" only with what they would show: "253-555-0101 see you" is a
# whole number.
_MASK_MARK = (
    r"[\-.]?(?:x{2,}|\*{2,}|#{2,}|•{2,})|[ \t]+x{3,}(?![^\W_])"
    r"|[ \t\-.…]*\(?(?:click|tap|haz clic|clic)(?![^\W_])"
)
_MASK_WORDS = (
    r"[ \t\-.…]*\(?(?:(?:click|tap|haz clic|clic)(?:[ \t]{1,2}(?:here|aqu[ií]|ici))?[ \t]{1,2}"
    r"(?:to|para|pour|per|zum)[ \t]{1,2}(?:reveal|show|see|view|display|unhide|ver|mostrar|afficher|vedere)"
    r"|reveal|anzeigen|afficher"
    r"|(?:show|view|see|ver|mostrar|mostra|vedi)[ \t]{1,2}(?:(?:the|full|whole|my|el|il)[ \t]{1,2})?"
    r"(?:number|phone|no|num|digits|n[uú]mero|nummer|tel[eé]fono|tel)"
    r"|(?:nummer|n[uú]mero)[ \t]{1,2}(?:anzeigen|ver|mostrar|vedi|mostra|afficher|zeigen))(?![^\W_])"
)
# One expression, the words first: a chain is tested once.
_MASK = re.compile(f"(?P<words>{_MASK_WORDS})|(?P<mark>{_MASK_MARK})")
_MASK_NONE, _MASK_BY_MARK, _MASK_BY_WORDS = 0, 1, 2


class _Group:
    """One digit-bearing token: its digits and where it sits in the normalised text."""

    __slots__ = ("cued", "digits", "end", "start", "styles", "weak")

    def __init__(
        self, start: int, end: int, digits: str, weak: bool, styles: frozenset[str], cued: int = 0
    ) -> None:
        self.start = start
        self.end = end
        self.digits = digits
        self.weak = weak  # look-alike letters alone ("o", "I"): weaker than a digit, see below
        self.styles = styles
        # 1 after "zip", "size" ...: never starts a regrouped number; 2 after "id"; `_ROOM` after
        # "room", "apt" ...: starts one only with more digits than any room number has
        self.cued = cued


# The styles of a token as a small number in what the caches keep (a line's runs, a chain's
# groups): a tuple holding a frozenset stays tracked by the garbage collector for as long as it is
# cached, and every full collection walks all of them (most of the objects a pass over new ads
# leaves in the caches were these); a tuple of numbers and strings is untracked. Styles are sets of
# the grammar's few style names, so there are few distinct ones (a few dozen in practice); past
# `_MAX_STYLE_IDS` a set is kept as itself.
_STYLE_IDS: dict[frozenset[str], int] = {QUANTITY: 0}
_STYLE_SETS: list[frozenset[str]] = [QUANTITY]  # index: id; QUANTITY's is its own object's
_MAX_STYLE_IDS = 4096
_StyleKey = int | frozenset[str]
Token = tuple[int, int, str, bool, _StyleKey]  # a `Piece` with its styles as `_style_key` gives


def _style_key(styles: frozenset[str]) -> _StyleKey:
    key = _STYLE_IDS.get(styles)
    if key is None:
        if len(_STYLE_SETS) >= _MAX_STYLE_IDS:
            return styles
        key = _STYLE_IDS[styles] = len(_STYLE_SETS)
        _STYLE_SETS.append(styles)
    return key


def _styles_of(key: _StyleKey) -> frozenset[str]:
    return _STYLE_SETS[key] if isinstance(key, int) else key


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
    if region == "AR":
        lengths |= {n + 2 for n in national} | {n + 3 for n in national}  # "011 15 ...": trunk and 15
    if region == "MX":
        lengths |= {n + cc + 1 for n in national}  # "52 1 55 ...": the old mobile "1"
    return frozenset(n for n in lengths if n >= 7)


def _runs(low: str) -> tuple[list[list[_Group]], float]:
    """The runs of joined digit-bearing tokens with enough digits for a number, and the digits of
    the whole text (a weak token counting half).

    A line break ends every run (see `_joins`), so the runs of a text are those of its lines, read
    one at a time: a line that recurs across ads (a template's sentence, a site's footer) is read
    once (`_line_runs`)."""
    runs: list[list[_Group]] = []
    weight = 0.0
    offset = 0
    sets = _STYLE_SETS
    for line in low.split("\n"):
        line_runs, line_weight = _line_runs_cached(line) if len(line) <= _CACHED_LINE else _line_runs(line)
        weight += line_weight  # multiples of 0.5: the sum is exact in any order
        runs.extend(
            [
                _Group(start + offset, end + offset, digits, weak, sets[key] if isinstance(key, int) else key)
                for start, end, digits, weak, key in run
            ]
            for run in line_runs
        )
        offset += len(line) + 1
    return runs, weight


def _line_runs(low: str) -> tuple[tuple[tuple[Token, ...], ...], float]:
    """`_runs` of one line, its tokens as plain tuples (offsets in the line, styles as
    `_style_key` gives them).

    Runs with too few digits for any number (most of an ad: ages, prices, "I", "to") are dropped
    before the closer look, which only ever splits a run further."""
    runs: list[tuple[Token, ...]] = []
    run: list[Token] = []
    style_ids = _STYLE_IDS
    run_digits = 0
    run_end = 0  # where the last piece of `run` ends
    weight = 0.0
    for m in CANDIDATE.finditer(low):
        token = m.group()
        base = m.start()
        if token == "o" and low[base - 2 : base] == "y/":
            continue  # the "o" of "24 y/o"
        for start, end, digits, weak, styles in classify(token):
            start += base
            count = len(digits)
            weight += 0.5 if weak else count
            # `_joins_at`, inlined: this runs for every token of every ad.
            if run and (start - run_end > _MAX_GAP or not _joins(low[run_end:start])):
                if run_digits >= _MIN_DIGITS:
                    runs.append(tuple(run))
                run, run_digits = [], 0
            run_end = base + end
            key = style_ids.get(styles)
            run.append((start, run_end, digits, weak, _style_key(styles) if key is None else key))
            run_digits += count
    if run_digits >= _MIN_DIGITS:
        runs.append(tuple(run))
    return tuple(runs), weight


_CACHED_LINE = 200  # characters; longer lines seldom recur
_line_runs_cached = lru_cache(maxsize=16384)(_line_runs)


def _joins_at(low: str, end: int, start: int) -> bool:
    """Whether ``low[end:start]`` joins two groups. Most gaps between tokens are sentences: their
    length rules them out before they are sliced and looked up (where they would also push the
    short gaps that recur out of the cache)."""
    return start - end <= _MAX_GAP and _joins(low[end:start])


@lru_cache(maxsize=4096)
def _joins(gap: str) -> bool:
    # A line break ends a number: "near I-405" on one line and the phone on the next are two things.
    # An "x" glued between groups joins them ("713x555x0142"); spaced it is a times or a kiss.
    return gap == "x" or (len(gap) <= _MAX_GAP and "\n" not in gap and _GAP.fullmatch(gap) is not None)


# Words that make a short number after them a room, a size, an age or an id ("room 1208", "size 4",
# "5 ft 4", "ad id 4471 2203"); on the same line only, since "text for room #" often ends the line
# before the phone.
_CUE_BEFORE = re.compile(
    r"(?<![^\W_])(?:(?P<room>room|suite|rm|apt|unit|hab|habitacion)|size|zip|age|edad|ext|ft|feet|"
    r"i-|us-|hwy|highway|route|exit|no|nr|cp|postcode|near|(?P<id>id|ref|reference|listing|order|"
    r"post|ad|pin|(?<!area )code|sku|ticket|invoice|account|acct|tracking|anzeige|annuncio|anuncio|"
    r"license|licence|lic|permit|registration|serial|member|vat|abn))"
    r"[ \t:#.]{0,3}\Z"
)


_LETTER = re.compile(r"[^\W\d_]")
_ROOM = 3  # `_Group.cued` after a room word


def _is_quantity(low: str, g: _Group) -> bool:
    """A standalone number that the text marks as money or a measure ("$200", "24 yo", "80 hh")."""
    before = low[max(0, g.start - 6) : g.start].rstrip()
    if before[-1:] in _CURRENCY and not before[:-1].rstrip()[-1:].isdigit():
        return True  # "$200", but not "713$555$0142" or "713 $ 555 $ 0142"
    if before[-1:] in "'′" and before[-2:-1].isdigit() and not before[-3:-2].isdigit() and len(g.digits) <= 2:
        return True  # the inches of 5'0, 5'11
    after = low[g.end : g.end + 8].lstrip(" ")
    if not after or not (after[0].isalpha() or after[0] in "%'\"″′/"):
        return False  # the common case, decided without a regex
    if after[0] == "%":
        return True
    if after[0] == "/":
        return _PER_UNIT.match(after, 1) is not None  # "300/hr", "150/h"
    if after[0] in "'′":
        return len(g.digits) == 1 and not g.styles  # feet: 5'6 (but "'five five five'" is quoted)
    if after[0] in '"″':
        return len(g.digits) <= 2 and not g.styles  # inches: 34"
    unit = _UNIT_SPACED.match(after)
    if unit is not None and unit.group("small") and len(g.digits) > 3:
        return False
    # A currency or "h" before digits is the next amount's ("98765-43210 Rs.5000", "347 1234567
    # h 24"), not this number's unit.
    return unit is not None and not (unit.group() in _UNIT_BEFORE and _DIGIT_NEXT.match(after, unit.end()))


def _cue(low: str, g: _Group) -> int:
    """0, or the cue word before a number: 1 for a room, size or age ("room 301"), which makes it
    weak ("room # 7135550142" still has a phone), 2 for an ad, listing or order id, which no
    number starts at ("ID 3123456789")."""
    if _LETTER.search(low, max(0, g.start - 5), g.start) is None:
        return 0  # every cue ends in a letter at most three separators before the number
    m = _CUE_BEFORE.search(low, max(0, g.start - 14), g.start)
    if m is None:
        return 0
    if m.group("id"):
        return 2
    return _ROOM if m.group("room") else 1


def _veto_end(low: str, g: _Group) -> int:
    """Where the date or time starting at ``g`` ends, or 0 (only tried where a date or time
    separator follows the group, so the common case costs one character test)."""
    if low[g.end : g.end + 1] not in _DATE_SEPARATORS:
        return 0
    m = _DATE_TIME.match(low, g.start)
    if m is None:
        return 0
    text = m.group()
    measurements = text.count("-") == 2 and not text[:4].isdigit()
    if _AFTER_CODE.search(low, max(0, g.start - 10), g.start):
        return 0  # "+1 51-45-55 0123", "+ 54.(0)11.2.34 …": digits after a country code are a number's
    parts = [int(p) for p in _DIGIT_RUN.findall(text)]
    if ":" in text or measurements or len(parts) == 4 or _date_like(parts):
        return m.end()
    return 0


_DATE_SEPARATORS = frozenset("-/.:")
_AFTER_CODE = re.compile(r"\+[ \t]?\d{1,3}[ .\-]?(?:\(0\)[ .\-]?)?\Z")
_DIGIT_RUN = re.compile(r"[0-9]+")


def _date_like(parts: list[int]) -> bool:
    if len(parts) == 2:
        a, b = parts
        return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)
    if parts[0] >= 1900:
        return 1 <= parts[1] <= 12 and 1 <= parts[2] <= 31
    a, b = parts[0], parts[1]
    return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)


def _masked(low: str, end: int) -> int:
    """How the text after a chain says a site hid digits: `_MASK_NONE`, `_MASK_BY_MARK` or
    `_MASK_BY_WORDS`."""
    m = _MASK.match(low, end, min(len(low), end + 40))
    if m is None:
        return _MASK_NONE
    return _MASK_BY_WORDS if m.lastgroup == "words" else _MASK_BY_MARK


_TYPE_DESC = {
    PhoneNumberType.MOBILE: ("mobile",),
    PhoneNumberType.FIXED_LINE: ("fixed_line",),
    PhoneNumberType.FIXED_LINE_OR_MOBILE: ("fixed_line", "mobile"),
    PhoneNumberType.TOLL_FREE: ("toll_free",),
    PhoneNumberType.PREMIUM_RATE: ("premium_rate",),
    PhoneNumberType.VOIP: ("voip",),
    PhoneNumberType.PERSONAL_NUMBER: ("personal_number",),
    PhoneNumberType.PAGER: ("pager",),
    PhoneNumberType.UAN: ("uan",),
}


@lru_cache(maxsize=4096)
def _at_longest(e164: str) -> bool:
    """Whether ``e164`` has the most digits a number of its country and kind can have: no digit
    can have been hidden after it ("030 2345 67xx" is a valid Berlin number, and a masked one)."""
    num = phonenumbers.parse(e164)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_number(num) or "")
    if meta is None:
        return False
    lengths = [
        n
        for name in _TYPE_DESC.get(phonenumbers.number_type(num), ())
        if (desc := getattr(meta, name, None)) is not None
        for n in desc.possible_length or ()
    ]
    if not lengths and meta.general_desc is not None:
        lengths = list(meta.general_desc.possible_length or ())
    return bool(lengths) and len(phonenumbers.national_significant_number(num)) >= max(lengths)


def _split_soundalikes(low: str, chain: list[_Group]) -> list[list[_Group]]:
    """Sound-alikes ("to", "for", "won") are digits only inside a clearly spelled run: with at
    least three number words in the chain ("oh" counts) and never at its start. Elsewhere they
    are words, and end the chain."""
    if not any(SOUND in g.styles for g in chain):
        return [chain]
    spelled = sum(
        1
        for g in chain
        if SOUND not in g.styles
        and (g.styles & _SPELLED_STYLES or ("letters" in g.styles and low[g.start : g.end] == "oh"))
    )
    if spelled >= 3:
        k = 0
        while k < len(chain) and SOUND in chain[k].styles:
            k += 1
        return [chain[k:]]
    parts: list[list[_Group]] = [[]]
    for g in chain:
        if SOUND in g.styles:
            parts.append([])
        else:
            parts[-1].append(g)
    return [p for p in parts if p]


_SPELLED_STYLES = frozenset({"words_en", "words_es", "words_other", "words_tens", "words_hundreds", "leet"})


def _after_idd(low: str, groups: list[_Group], k: int) -> bool:
    """Whether the groups before ``k`` are a country code: "+44", "0044", "+49 ", "0049"."""
    prev = groups[k - 1]
    if low[max(0, prev.start - 2) : prev.start].rstrip().endswith("+"):
        return True
    if prev.digits.startswith("00") and 3 <= len(prev.digits) <= 5:
        return True
    return k >= 2 and groups[k - 2].digits in ("00", "011", "0011")


def _chains_of_run(low: str, groups: list[_Group]) -> list[tuple[list[_Group], bool]]:
    """The chains of one run, each with whether only a reading of the whole chain stands (a mark
    that may be a site's mask follows it: see `_MASK_MARK`)."""
    veto_end = 0
    chains: list[list[_Group]] = []
    current: list[_Group] = []
    for g in groups:
        if g.start >= veto_end:
            # `_veto_end`'s first test, inlined: most groups are followed by no date separator.
            veto_end = _veto_end(low, g) if low[g.end : g.end + 1] in _DATE_SEPARATORS else 0
        if g.start < veto_end or g.styles is QUANTITY or (g.digits and not g.weak and _is_quantity(low, g)):
            if current:
                chains.append(current)
            current = []
            continue
        if g.digits and not g.weak and (cue := _cue(low, g)):
            g = _Group(g.start, g.end, g.digits, True, g.styles, cued=cue)
        if current and not _joins_at(low, current[-1].end, g.start):
            chains.append(current)
            current = []
        current.append(g)
    if current:
        chains.append(current)
    result = []
    for whole in chains:
        # Too few digits for any number ("double", "forty two", "hundred" never add digits here).
        if len(whole) < 2 and len(whole[0].digits) < _MIN_DIGITS:
            continue
        if sum(len(g.digits) for g in whole) < _MIN_DIGITS:
            continue
        mask = _masked(low, whole[-1].end)
        if mask == _MASK_BY_WORDS:
            continue  # "0254 123 … click to reveal": the site hid the rest
        for chain in _split_soundalikes(low, whole):
            expanded = _expand(low, chain)
            if expanded and not all(g.weak and not g.cued for g in expanded):
                # "713-555-01XX" reads as no whole number, "**713-555-0142**" as one.
                result.append((expanded, bool(mask) and chain[-1] is whole[-1]))
    return result


def _expand(low: str, chain: list[_Group]) -> list[_Group]:
    """Apply "double"/"triple", join "forty two" into 42 and drop a bracketed trunk "(0)"."""
    expanded: list[_Group] = []
    factor = 1
    skip_next = False
    hundreds = False  # a Spanish hundreds word is among the groups (see `_join_hundreds`)
    for k, g in enumerate(chain):
        if skip_next:
            skip_next = False
            continue
        if g.digits.startswith(MULTIPLIER):
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
        if TENS in g.styles and k + 1 < len(chain):
            nxt = chain[k + 1]
            gap = low[g.end : nxt.start].strip(" -")
            if (
                len(nxt.digits) == 1
                and nxt.digits != "0"
                and (
                    nxt.styles & {"words_en", "words_es"}
                    # a numeral glued or hyphenated ("forty-2"), or spaced where it ends the chain
                    # and no word follows ("01 forty 2."): not "01twenty 4 u", "fifty 5 stars"
                    or (
                        not nxt.styles
                        and (
                            low[g.end : nxt.start] in ("", "-")
                            or (k + 2 == len(chain) and _WORD_NEXT.match(low, nxt.end) is None)
                        )
                    )
                )
                and gap in ("", "y")
                and nxt.start - g.end <= 3
            ):
                # "forty two" is 42, "treinta y dos" 32, "forty-2" 42.
                joined = g.digits[:-1] + nxt.digits  # the tens word's 0 becomes the unit
                expanded.append(_Group(g.start, nxt.end, joined, False, g.styles | nxt.styles))
                skip_next = True
                continue
        if (
            g.digits == "0"
            and k
            and low[g.start - 1 : g.start] == "("
            and low[g.end : g.end + 1] == ")"
            and _after_idd(low, chain, k)
            # Italy dials the 0 of its landlines: "+39 (0)2 …" is +39 02 (a mobile has none).
            and not (
                chain[k - 1].digits.lstrip("0") == "39"
                and chain[k + 1 : k + 2]
                and chain[k + 1].digits[0] != "3"
            )
        ):
            continue  # "+44 (0)20 7946 0041": the bracketed trunk 0 is not dialled
        expanded.append(g)
        if HUNDRED in g.styles:
            hundreds = True
    return _join_hundreds(low, expanded) if hundreds else expanded


def _join_hundreds(low: str, groups: list[_Group]) -> list[_Group]:
    """ "seiscientos doce" is 612, "seiscientos treinta y cuatro" 634, "ciento cinco" 105: a Spanish
    hundreds word takes the spelled number under a hundred after it (space only between them)."""
    out: list[_Group] = []
    for g in groups:
        prev = out[-1] if out else None
        if (
            prev is not None
            and HUNDRED in prev.styles
            and 1 <= len(g.digits) <= 2
            and g.digits != "0"
            and g.styles & {"words_es", "words_tens"}
            and g.start - prev.end <= 2
            and low[prev.end : g.start].isspace()
        ):
            digits = prev.digits[: 3 - len(g.digits)] + g.digits
            out[-1] = _Group(prev.start, g.end, digits, False, (prev.styles | g.styles) - {HUNDRED})
            continue
        out.append(g)
    return out


# Sized for the distinct numbers of many thousand ads (a few hundred bytes each, a few MB in all):
# the 20,000-ad benchmark corpus holds 5,119, which a smaller cache read in a cycle never keeps.
@lru_cache(maxsize=16384)
def _layout(number_digits: str, region: str) -> tuple[str, tuple[int, ...]] | None:
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
    nsn = phonenumbers.national_significant_number(num)
    if num.country_code == 49 and nsn.startswith("15") and len(nsn) == 11 and typed.endswith(nsn):
        breaks.add(len(typed) - len(nsn) + 3)  # "0157 84627939": 015x mobiles as Germans group them
    # A tuple, not a set: cached, it is then untracked by the garbage collector (see `_style_key`).
    return phonenumbers.format_number(num, PhoneNumberFormat.E164), tuple(sorted(breaks))


# A reading's "skip" that says the digit after Mexico's country code, the old mobile "1", is
# typed but not in the number (the other skips count international prefix digits before it).
_MX_ONE = -1


def _plausible_grouping(groups: list[_Group], breaks: tuple[int, ...], skip: int = 0) -> bool:
    """Whether the token boundaries fall where a printed form of the number has them, or between
    single digits (spelled or spaced styles). ``skip`` digits of international prefix ("00",
    "011") come before the digits the breaks count."""
    pos = -skip
    for a, b in pairwise(groups):
        pos += len(a.digits)
        # Single digits on both sides: spelled or spaced styles ("seven one three", "7 1 3").
        if pos <= 0 or pos in breaks or (len(a.digits) == 1 and len(b.digits) == 1):
            continue
        return False
    return True


def _regrouped_ok(low: str, chain: list[_Group], i: int, j: int, prefixed: bool) -> bool:
    """Digits grouped any way ("713 5550 142", ";71;35;55;01;42"): accepted only when the groups
    are joined by at most two kinds of short symbol-only gaps, none is a room or an id, and the
    run is not a piece of a longer list joined the same way. After a country code, an
    international prefix or a North American "1" (``prefixed``) the first gap is not counted."""
    gaps: set[str] = set()
    groups = chain[i : j + 1]
    # "text for room # 41555 5010 1": the phone after a room cue at the end of a line of text; a
    # room number has at most four digits.
    if groups[0].cued and not (groups[0].cued == _ROOM and len(groups[0].digits) >= 5):
        return False
    for k, (a, b) in enumerate(pairwise(groups)):
        if b.start <= a.end:
            continue  # the repeats of one "double"/"triple"
        gap = low[a.end : b.start].replace("(0)", "")
        if len(gap) > 3 or _LETTER.search(gap) is not None:
            return False
        if k == 0 and prefixed and len(a.digits) <= 4:
            continue
        if "," in gap and not a.styles and not b.styles:
            return False  # "1000, 3200, 40": a list of numbers, unless they are spelled
        gaps.add(gap)
    # Lists of prices and sizes mix at most two plain separators; a number hidden in symbol noise
    # ("*713~*555~01**42", "04 12...345.678") mixes more, one of them a run or an odd symbol.
    if len(gaps) > 2 and (len(gaps) > 4 or not any(_NOISY_GAP.search(g) for g in gaps)):
        return False
    for before, after in ((i - 1, i), (j, j + 1)):
        if before >= 0 and after < len(chain):
            a, b = chain[before], chain[after]
            if (
                low[a.end : b.start] in gaps
                and not a.weak
                and not b.weak
                and not _decimal(low, chain, before)
            ):
                return False
    return True


_NOISY_GAP = re.compile(r"[*~#^=|_!;:'\"@]|([^\w\s])\1")


def _decimal(low: str, chain: list[_Group], k: int) -> bool:
    """Whether group ``k`` is the fraction of a decimal before a number ("1,65 612 345 678": a
    height, not the last of a list of numbers)."""
    return (
        k > 0
        and len(chain[k].digits) == 2
        and len(chain[k - 1].digits) == 1
        and low[chain[k - 1].end : chain[k].start] in (",", ".")
    )


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
_INTL_LENGTHS = tuple(range(_MAX_DIGITS + 4, 8, -1))
_REGROUPED = 0.25  # doubt added to a reading whose groups are not where a printed form has them


class _Chain:
    """A chain's digits laid end to end, so any run of whole tokens is one slice."""

    __slots__ = ("digits", "groups", "index_at", "low", "offsets", "plus", "uniform", "weights", "words")

    def __init__(self, low: str, groups: list[_Group], words: tuple[bool, bool] = (False, False)) -> None:
        self.low = low
        self.groups = groups
        self.words = words
        self.uniform: tuple[list[bool], list[bool]] | None = None
        self.digits = "".join(g.digits for g in groups)
        offsets = [0]
        # weights[k]: the digits groups 0..k-1 count for, a weak group ("oh", "I", a room number)
        # half a digit (see `_numbers_in_chain`); multiples of 0.5 add up exactly in floats.
        weights = [0.0]
        for g in groups:
            offsets.append(offsets[-1] + len(g.digits))
            # A sound-alike ("for", "to") a quarter: "... oh zero for for" is a number and two
            # words, not a number one digit later that takes them.
            weights.append(weights[-1] + ((0.25 if SOUND in g.styles else 0.5) if g.weak else len(g.digits)))
        self.offsets = offsets
        self.weights = weights
        # Every group has at least one digit, so offsets are strictly increasing.
        self.index_at = {o: k for k, o in enumerate(offsets)}
        # Whether a "+" is typed before each group: asked twice per chain position otherwise.
        self.plus = [_after_plus(low, g) for g in groups]

    def stray_digits(self, i: int, j: int) -> bool:
        """Whether groups i..j are a piece of a longer run of single digits joined alike that
        leaves a few digits over at the chain's end or start ("seven one three five five five
        zero one four two three": a digit too many, no number to read). A word after or before
        the chain makes the digits over likely words ("... four two five star service")."""
        groups = self.groups
        n = len(groups)
        if self.uniform is None:
            self.uniform = self._uniform()
        to_end, from_start = self.uniform
        gap = self._gap
        if (
            i < j < n - 1
            and n - 1 - j < _MIN_DIGITS
            and not self.words[0]
            and to_end[j]
            and gap(j - 1) == gap(j)
        ):
            return True
        return 0 < i < min(j, _MIN_DIGITS) and not self.words[1] and from_start[i] and gap(i) == gap(i - 1)

    def _gap(self, k: int) -> str:
        """The text between groups k and k + 1."""
        return self.low[self.groups[k].end : self.groups[k + 1].start]

    def _uniform(self) -> tuple[list[bool], list[bool]]:
        """For each group: whether it and every group after it (before it) are single real
        digits joined by one and the same gap."""
        groups = self.groups
        n = len(groups)
        single = [len(g.digits) == 1 and not g.weak and g.digits.isdigit() for g in groups]
        to_end = [False] * n
        from_start = [False] * n
        to_end[n - 1] = single[n - 1]
        for k in range(n - 2, -1, -1):
            to_end[k] = single[k] and to_end[k + 1] and (k + 2 == n or self._gap(k) == self._gap(k + 1))
        from_start[0] = single[0]
        for k in range(1, n):
            from_start[k] = (
                single[k] and from_start[k - 1] and (k == 1 or self._gap(k - 1) == self._gap(k - 2))
            )
        return to_end, from_start

    def numbers_from(
        self, i: int, regions: tuple[str, ...], lengths: tuple[int, ...]
    ) -> list[tuple[int, str, bool, float, bool]]:
        """Every valid number read from groups i..j: (j, E.164, '+' typed?, doubt, regrouped?).

        ``doubt`` is 0 for a number typed as the ad's own region types it, and grows for readings
        that need another region, lack the trunk 0 a local would type ("7865550147" in a UK ad
        is more likely a US number than the UK mobile 07865 550147), or group the digits unlike
        any printed form of the number.
        """
        groups, low = self.groups, self.low
        start = self.offsets[i]
        if len(self.digits) - start < _MIN_DIGITS:
            return []
        if groups[i].cued == 2:
            return []  # "ID 3123456789", "order 612345678": an id, not a number
        if i and len(groups[i - 1].digits) <= 3 and self.plus[i - 1]:
            return []  # "+1 (555) 555-5555": what follows a country code is not a local number
        home = regions[0]
        plus = self.plus[i]
        idd = self.digits.startswith("00", start) or self.digits.startswith("011", start)
        found: list[tuple[int, str, bool, float, bool]] = []
        for length in _INTL_LENGTHS if plus or idd else lengths:
            k = self.index_at.get(start + length)
            if k is None:
                continue
            j = k - 1
            if i < j and (groups[i].weak or groups[j].weak) and _stray_letter(groups, i, j):
                continue
            if (len(groups[j].digits) == 1 or len(groups[i].digits) == 1) and self.stray_digits(i, j):
                continue
            digits = self.digits[start : start + length]
            # (typed, region, doubt, digits of international prefix before the country code)
            readings: list[tuple[str, str, float, int]] = []
            if plus:
                readings.append(("+" + digits, home, 0.0, 0))
                if length == 13 and digits.startswith("521"):
                    readings.append(("+52" + digits[3:], home, 0.0, _MX_ONE))  # Mexico's old mobile "1"
            else:
                edge_weak = _stray_edge(groups, i, j)
                for r in regions:
                    if length not in possible_lengths(r):
                        continue
                    # Another country's reading needs its shape and real digits at both ends: in
                    # "612 345 678 o WhatsApp" the Spanish "o" (or) is no US number's last 0.
                    if r != home and (edge_weak or not _fallback_fits(r, digits)):
                        continue
                    doubt = _doubt(r, home, digits)
                    if doubt is not None:
                        readings.append((digits, r, doubt, 0))
                for prefix in _idd(home):
                    if digits.startswith(prefix) and length - len(prefix) >= 8:
                        readings.append(("+" + digits[len(prefix) :], home, 0.0, len(prefix)))
                cc = _country_code(home)
                if cc and digits.startswith(cc) and length - len(cc) >= 7:
                    readings.append(("+" + digits, home, 0.25, 0))  # "91 98765 43210"
                    if cc == "52" and length == 13 and digits[2] == "1":
                        readings.append(("+52" + digits[3:], home, 0.25, _MX_ONE))  # "wa.me/5215512345678"
            best: tuple[float, str, bool] | None = None
            for typed, r, doubt, skip in readings:
                if best is not None and best[0] <= doubt:
                    continue
                layout = _layout(typed, r)
                if layout is None:
                    continue
                breaks = layout[1]
                if skip == _MX_ONE:  # the dropped "1" is typed after "52": "+52 1 (55) 1234 5678"
                    breaks, skip = (3, *(b if b <= 2 else b + 1 for b in breaks)), 0
                if _plausible_grouping(groups[i : j + 1], breaks, skip):
                    best = (doubt, layout[0], False)
                elif (
                    # Another country's number regrouped must start with a real group ("0207 946
                    # 0311") or North America's "1", not a stray digit: "5'0 ☎️ 773-555-0153" is no
                    # UK 07735 550153.
                    # Nor end in a stray printed digit: "612 345 678 9" in a Spanish ad is no US
                    # number (a spelled last digit is no stray: "... zero nineteen three"), unless
                    # it starts with North America's "1" ("1-416-55501-2 3").
                    (r == home or typed[0] == "+" or len(groups[i].digits) > 1 or groups[i].digits == "1")
                    and (
                        r == home
                        or typed[0] == "+"
                        or len(groups[j].digits) > 1
                        or groups[i].digits == "1"
                        or not low[groups[j].start].isdigit()
                    )
                    and (best is None or best[0] > doubt + _REGROUPED)
                    and _regrouped_ok(low, groups, i, j, typed[0] == "+" or digits[0] == "1")
                ):
                    best = (doubt + _REGROUPED, layout[0], True)
            if (
                best is not None
                and not _sham(digits, groups[i : j + 1])
                and not _round_list(low, groups, i, j)
            ):
                found.append((j, best[1], plus, best[0], best[2]))
        if len(found) > 1:
            found = self._no_tails(i, found)
        return found

    def _no_tails(
        self, i: int, found: list[tuple[int, str, bool, float, bool]]
    ) -> list[tuple[int, str, bool, float, bool]]:
        """Drop the regrouped readings that are a number printed as such plus one or two digits
        set apart by another symbol: "030 12345678 - 22", "347 1234567 - 22" are a number and an
        age, not a German or Italian number two digits longer (both valid). Joined alike
        ("030-12345-6") or by a space the digits are the number's."""
        printed = max((j for j, _, _, _, regrouped in found if not regrouped), default=-1)
        if printed < 0 or printed + 1 >= len(self.groups):
            return found
        inside = {self._gap(k) for k in range(i, printed)}
        tail = self._gap(printed)
        if tail in inside or not tail.strip():
            return found  # "0049-30-12345 6": a space before the last group is still the number's
        end = self.offsets[printed + 1]
        return [f for f in found if not (f[4] and f[0] > printed and self.offsets[f[0] + 1] - end <= 2)]


def _stray_edge(groups: list[_Group], i: int, j: int) -> bool:
    """Whether groups i..j begin or end with a weak group ("o", "I", "to") next to a group of
    plain digits: a word beside the number, not a spelled digit of it."""
    if i < j and groups[i].weak and not groups[i + 1].styles:
        return True
    return i < j and groups[j].weak and not groups[j - 1].styles


def _stray_letter(groups: list[_Group], i: int, j: int) -> bool:
    """Whether groups i..j begin or end with a lone look-alike letter or weak number word beside
    a block of plain digits: "347 1234567 o scrivimi", "11 2345 6789 o 11 6789 2345" (Italian and
    Spanish "o" is "or"), "347 1234567 sei bellissima" ("you are"). Spelled or spaced numbers keep
    theirs ("o two o seven ...", "O 1 4 7")."""
    first, second = groups[i], groups[i + 1]
    if _lone_letter(first) and not second.styles and len(second.digits) >= 2:
        return True
    last, before = groups[j], groups[j - 1]
    return _lone_letter(last) and not before.styles and len(before.digits) >= 2


def _lone_letter(g: _Group) -> bool:
    """A look-alike letter or a number word that is also a word ("o", "i", "tre", "sei", "un")."""
    return g.weak and len(g.digits) <= 2 and bool(g.styles)


def _after_plus(low: str, g: _Group) -> bool:
    return low[max(0, g.start - 2) : g.start].rstrip().endswith("+")


def _sham(digits: str, groups: list[_Group]) -> bool:
    """Digits no one advertises: one digit repeated ("555 555 5555" after its code, "000 000
    0000") or a count ("1 2 3 4 5 6 7 8 9 10", "one two three ... ten")."""
    if len(set(digits[-7:])) == 1:
        return True
    if len(groups) < 6:
        return False
    values = [int(g.digits) for g in groups if g.digits.isdigit() and len(g.digits) <= 2]
    if len(values) != len(groups):
        return False
    # Counting from the first group on: "1 2 3 4 5 6 …", "ten nine eight …". A count inside a
    # number ("0 1 1 2 3 4 5 6 7 8 9") is left alone.
    step = values[1] - values[0]
    return step in (1, -1) and all(b - a == step for a, b in pairwise(values[:6]))


def _round_list(low: str, groups: list[_Group], i: int, j: int) -> bool:
    """Whether groups i..j are round amounts of a price list ("rates 200 300 500 800 1200" is no
    +1 500 800 1200): three or more plain groups that all end in 0, and two of them in 00 or a
    round group beside them joined the same way."""
    if j - i < 2:
        return False
    hundreds = 0
    for g in groups[i : j + 1]:
        if g.styles or not g.digits.endswith("0") or len(g.digits) > 4:
            return False
        hundreds += g.digits.endswith("00")
    if hundreds >= 2:
        return True
    gap = low[groups[i].end : groups[i + 1].start]
    for a, b in ((i - 1, i), (j, j + 1)):
        if a >= 0 and b < len(groups):
            nxt = groups[b] if b != i else groups[a]
            if nxt.digits.endswith("0") and not nxt.styles and low[groups[a].end : groups[b].start] == gap:
                return True
    return False


@lru_cache(maxsize=256)
def _idd(region: str) -> tuple[str, ...]:
    """International dialling prefixes an ad of ``region`` may type before a country code: "00"
    anywhere (most of the world's), "011" where North America dials out and "0011" in Australia
    (elsewhere "011 15 …" is Buenos Aires with its trunk 0, not a call abroad)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is not None and meta.country_code == 1:
        return ("011", "00")
    if region == "AU":
        return ("0011", "00")
    return ("00",)


@lru_cache(maxsize=256)
def _country_code(region: str) -> str:
    """The region's country code, if ads write it without a "+" (not for North America, whose
    "1" is also its trunk prefix and is read as such)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.country_code == 1:
        return ""
    return str(meta.country_code)


@lru_cache(maxsize=256)
def _trunk_zero(region: str) -> bool:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return meta is not None and meta.national_prefix == "0"


# Where a national number is commonly written without its trunk 0 (mobiles: "98765 43210",
# "11 2345 6789"); elsewhere a local writes the 0, and a run without it is not read as local.
_TRUNK_OPTIONAL = frozenset({"IN", "AR"})


_FOREIGN = 0.6  # the doubt of a reading in another country than the ad's


def _doubt(region: str, home: str, digits: str) -> float | None:
    if region != home:
        return _FOREIGN  # more than a weak group is worth: a reading at home never loses to it
    if _trunk_zero(region) and digits[0] != "0":
        return 0.25 if region in _TRUNK_OPTIONAL else None
    return 0.0


def _skip_cost(low: str, groups: list[_Group], i: int) -> float:
    """What leaving group ``i`` out of every number costs: nothing, except for a look-alike
    letter that begins a spelled run ("o two o seven …") or an "oh" that ends an English one
    ("… one five oh"), which are digits of it. A trailing "o" costs nothing: in Spanish it is
    "or" ("… setenta y ocho o WhatsApp")."""
    g = groups[i]
    if not g.weak or "letters" not in g.styles:
        return 0.0
    if i + 1 < len(groups) and groups[i + 1].styles & _SPELLED_STYLES:
        return 0.5
    if i and "words_en" in groups[i - 1].styles and low[g.start : g.end] == "oh":
        return 0.5
    return 0.0


@lru_cache(maxsize=256)
def _readings_of(region: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The regions a chain of an ad in ``region`` is read in (its own, then the fallbacks) and the
    digit counts tried, longest first."""
    regions = (region, *(r for r in _FALLBACK_REGIONS if r != region))
    return regions, tuple(sorted(possible_lengths(region) | {10, 11}, reverse=True))


def _numbers_in_chain(
    low: str, groups: list[_Group], region: str
) -> list[tuple[str, list[_Group], bool, bool]]:
    """(E.164, groups it was read from, '+' typed before it, regrouped) for each number.

    A chain may hold several numbers and stray digits ("suite 301 📱 6 0 9 5 5 5 0 1 8 6"); of
    all ways to read it as numbers, take the one covering the most real digits, and on a tie the
    one starting later, since rooms, sizes and ages precede phones far more often than follow them.

    The readings depend on the groups, the text from two characters before the first group (a
    "+" typed before it) to the end of the last (the gaps) and the region, nothing else: a chain
    that recurs in those (a number reposted as written) is read once (`_chain_readings`).
    """
    base = max(0, groups[0].start - 2)
    end = groups[-1].end
    shape = tuple(
        (g.start - base, g.end - base, g.digits, g.weak, _style_key(g.styles), g.cued) for g in groups
    )
    read = _chain_readings if end - base <= _CACHED_CHAIN else _chain_readings.__wrapped__
    # Whether a word follows the chain (or precedes it): a spelled digit beside it is then as
    # likely a word of the sentence ("... zero one four two five star service").
    # Only a run of single digits at an end can have digits over (see `_Chain.stray_digits`).
    first = groups[0]
    words = _NO_WORDS
    if len(groups) > 2 and (
        (len(groups[-1].digits) == 1 and len(groups[-2].digits) == 1)
        or (len(first.digits) == 1 and len(groups[1].digits) == 1)
    ):
        words = (
            _WORD_NEXT.match(low, end) is not None,
            _WORD_BEFORE.search(low, max(0, first.start - 3), first.start) is not None,
        )
    return [
        (e164, groups[i : j + 1], plus, regrouped)
        for e164, i, j, plus, regrouped in read(low[base:end], shape, region, words)
    ]


_NO_WORDS = (False, False)
_WORD_NEXT = re.compile(r"[ \t]*[^\W\d_]")
_WORD_BEFORE = re.compile(r"[^\W\d_][ \t]*\Z")


_CACHED_CHAIN = 120  # characters; a longer chain (hostile noise, mostly) is read every time


@lru_cache(maxsize=16384)
def _chain_readings(
    low: str,
    shape: tuple[tuple[int, int, str, bool, _StyleKey, int], ...],
    region: str,
    words: tuple[bool, bool] = (False, False),
) -> tuple[tuple[str, int, int, bool, bool], ...]:
    """(E.164, first and last group, '+' typed, regrouped) of each number of the chain of groups
    ``shape`` (`_Group` fields, offsets in ``low``, styles as `_style_key` gives them); ``words``:
    whether a word follows and precedes the chain."""
    groups = [
        _Group(start, end, digits, weak, _styles_of(key), cued)
        for start, end, digits, weak, key, cued in shape
    ]
    regions, lengths = _readings_of(region)
    chain = _Chain(low, groups, words)
    weights = chain.weights
    n = len(groups)
    # best[i] = (digits covered from group i on, chosen reading (j, E.164, plus, regrouped) or None)
    best: list[tuple[float, tuple[int, str, bool, bool] | None]] = [(0.0, None)] * (n + 1)
    for i in range(n - 1, -1, -1):
        skip = best[i + 1][0]
        if groups[i].weak:  # only a weak group can cost anything to leave out
            skip -= _skip_cost(low, groups, i)
        choice: tuple[float, tuple[int, str, bool, bool] | None] = (skip, None)
        for j, e164, plus, doubt, regrouped in chain.numbers_from(i, regions, lengths):
            # A weak group ("oh", "I", a room number) counts half a digit: enough to prefer
            # "oh two oh 7946 0311" whole, never enough to outweigh a real digit. A reading in
            # the ad's own region beats one that only makes sense in another.
            covered = weights[j + 1] - weights[i] + best[j + 1][0]
            covered -= doubt
            if covered > choice[0]:
                choice = (covered, (j, e164, plus, regrouped))
        best[i] = choice
    found = []
    i = 0
    while i < n:
        taken = best[i][1]
        if taken is None:
            i += 1
            continue
        j, e164, plus, regrouped = taken
        found.append((e164, i, j, plus, regrouped))
        i = j + 1
    return tuple(found)


_TWO_SYMBOLS = re.compile(r"[^\w\s.()\-]{2}")
_STROKES = frozenset("\u0332\u0333\u0335\u0336\u0337\u0338")
_MULTIPLIER_WORD = re.compile(r"double|triple|doble")


def _styles(norm: Normalised, low: str, groups: list[_Group], span: tuple[int, int]) -> set[str]:
    styles: set[str] = set()
    for g in groups:
        styles |= g.styles
    styles -= {"quantity", TENS, SOUND, HUNDRED}
    original = norm.original[span[0] : span[1]]
    if "\u20e3" in original:
        styles.add("keycap")
    if not original.isascii():
        if any(unicode_digit(c) for c in original):
            styles.add("unicode")  # fullwidth, circled, bold, Arabic-Indic ... digits
        if any(c in _STROKES for c in original):
            styles.add("strokes")  # struck through or underlined: "7̶1̶3̶", "7̲1̲3̲"
    if sum(1 for g in groups if len(g.digits) == 1 and low[g.start : g.end].isdigit()) >= 5:
        styles.add("spaced")
    first = True
    for a, b in pairwise(groups):
        gap = low[a.end : b.start].replace("(0)", "")
        if _PLAIN_GAP.fullmatch(gap):
            first = False
            continue
        if first and gap.strip(" ") == "/" and not a.styles and not b.styles:
            first = False
            continue  # "0157/84627939", "347 / 1234567": the area code's slash, printed so there
        first = False
        if _MULTIPLIER_WORD.search(gap):
            gap = _MULTIPLIER_WORD.sub("", gap)  # "four double oh": the words are the digits'
        if not _PLAIN_GAP.fullmatch(gap):
            styles.add("filler" if any(c.isalpha() or not c.isascii() for c in gap) else "separators")
            if any(c in _ODD_SYMBOLS for c in gap) or _TWO_SYMBOLS.search(gap):
                styles.add("symbols")
    return styles


def unicode_digit(c: str) -> bool:
    """A character that stands for a digit but is not an ASCII digit (and not a keycap mark)."""
    if c.isascii():
        return False
    if c.isdecimal():
        return True
    return any(ch.isdigit() for ch in normalise(c).text)


def find_phones(texts: Iterable[tuple[str, str]], region: str = "US", url: str | None = None) -> list[Found]:
    """Every phone number in ``texts`` ((field, text) pairs), as E.164 with its spans.

    ``region`` (ISO country code) is how numbers without a country code are read; numbers that are
    invalid there are also tried as US and UK numbers, which advertisers post across borders. A
    number typed with a country code ("+49 …", "0049 …", "011 44 …") is read as written.

    ``url``, the ad's address, is read for numbers written plainly in it (see `url_pieces`), with
    spans in the field ``"url"``.
    """
    by_number: dict[str, tuple[list[Span], set[str]]] = {}
    for field_name, text in texts:
        numbers = _phones_in_short(text, region) if len(text) <= _SHORT_TEXT else _phones_in(text, region)
        for e164, start, end, styles in numbers:
            spans, all_styles = by_number.setdefault(e164, ([], set()))
            spans.append(Span(field_name, start, end))
            all_styles.update(styles)
    for offset, piece in url_pieces(url) if url else ():
        for e164, start, end, styles in _phones_in_short(piece, region):
            # An address holds a number as typed, the whole piece, in its printed groups: not
            # spelled, not an id's "91234-5678", not the tail of "2026-212-456-7890".
            if (
                not styles
                and start == 0
                and end == len(piece)
                and e164.startswith(_calling_code(region))
                and _printed_as(e164, piece)
            ):
                by_number.setdefault(e164, ([], set()))[0].append(Span("url", offset + start, offset + end))
    return [
        Found("phone", e164, tuple(spans), {"obfuscated": bool(styles), "styles": sorted(styles)})
        for e164, (spans, styles) in by_number.items()
    ]


# A number broken over lines, as a scraped "<br>" leaves it: a line ending in a digit and a
# dangling separator, continued by digits ("713-555-\n0142"), or a group of digits ending one
# line and another starting the next after a word that gives a number ("Call me\n713\n555\n0142";
# not "Rates:\n250\n350\n1000", "room 312\n555 Main St"). A reading over a joined break must be
# in the ad's own country and groups (`_phones_in`): a wrapped date is not one.
_BREAK_DIGIT = re.compile(r"\n[ \t]*\d")  # led by a literal: found by a fast scan


def _digit_at_break(low: str) -> bool:
    """Whether a line of ``low`` ends in a digit (and separators) and the next starts with one."""
    for m in _BREAK_DIGIT.finditer(low):
        before = low[max(0, m.start() - 8) : m.start()].rstrip(" \t.-")
        if before[-1:].isdigit():
            return True
    return False


_DANGLING = re.compile(r"\d[\-.][ \t]*(\n)[ \t]*\d")
# A word that gives a number, then the text up to the group: the rest of its line and lines of
# groups alone.
_CONTACT_CUE = re.compile(
    r"(?<![^\W_])(?:call|text|txt|phone|ph|tel|telf|telefono|teléfono|cell|mobile|mob|whatsapp|whats|wsp|wa|"
    r"sms|ring|contact|contacto|dial|hmu|llama|llámame|llamame|chiama|chiamami|anrufen|ruf|handy)"
    r"(?![^\W_])[^\n]*(?:\n[ \t]*\d{2,6}[ \t]*)*\n?[ \t]*\Z"
)
_GROUP_BREAK = re.compile(r"(?<!\w)\d{2,6}[ \t]*(\n)(?=[ \t]*(\d{2,6})(?!\w))")


def _join_broken_lines(low: str) -> tuple[str, list[int]]:
    """``low`` with the line breaks inside a broken number made spaces (same length, so every
    offset stands), and where they were."""
    breaks = [m.start(1) for m in _DANGLING.finditer(low)]
    for m in _GROUP_BREAK.finditer(low):
        # Groups ending and starting lines are a number only after a word that gives one ("call
        # me\n713\n555\n0142"), not in a list ("Rates:\n250\n350\n1000", "Suite\n212\n456").
        if _CONTACT_CUE.search(low, max(0, m.start() - 60), m.start()) is not None:
            breaks.append(m.start(1))
    if not breaks:
        return low, breaks
    chars = list(low)
    for i in breaks:
        chars[i] = " "
    return "".join(chars), breaks


def _sizes(groups: list[_Group]) -> tuple[int, ...]:
    return tuple(len(g.digits) for g in groups)


def _round_amounts(groups: list[_Group]) -> bool:
    """Three or more groups of plain digits, each a round amount ending in 00 or 50 ("250 350
    1000", "150/250/500"): a list of prices or sizes, not a subscriber's number ("310 550 1200"
    stays one)."""
    return len(groups) >= 3 and all(not g.styles and g.digits[-2:] in ("00", "50") for g in groups)


@lru_cache(maxsize=256)
def _calling_code(region: str) -> str:
    """ "+" and ``region``'s calling code ("US" -> "+1"); "+" for a region without one."""
    code = phonenumbers.country_code_for_region(region)
    return f"+{code}" if code else "+"


# Where an ad's address holds a phone: a host label of digits alone ("7135550142.site.com"), or
# digits in groups joined by "-" or "." in the path or the query ("/houston/713-555-0142/…").
# A path segment of digits alone is the site's ad id, never read.
_URL_GROUPED = re.compile(r"(?<![0-9a-z])\+?\d{1,6}(?:[\-.]\d{1,6}){1,4}(?![0-9a-z])", re.IGNORECASE)
_URL_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_MEDIA_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|mp4|webm|mov)(?:[?#]|\Z)", re.IGNORECASE)
_URL_HINT = re.compile(r"\d[\-.]\d|\d{7}")
_HOST_DIGITS = re.compile(r"(?:^|(?<=[/.@]))(\d{7,15})(?=\.)")


@lru_cache(maxsize=1024)
def _printed_as(e164: str, piece: str) -> bool:
    """Whether ``piece`` is ``e164`` in one block of digits or in the groups its country prints it
    in (nationally, or internationally with or without the country code)."""
    sizes = [len(g) for g in _DIGIT_RUN.findall(piece)]
    if len(sizes) == 1:
        return True
    num = phonenumbers.parse(e164)
    for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
        printed = [len(g) for g in _DIGIT_RUN.findall(phonenumbers.format_number(num, fmt))]
        if sizes in (printed, printed[1:]):
            return True
    return False


def url_pieces(url: str) -> list[tuple[int, str]]:
    """(offset, text) of each piece of ``url`` that may be a phone number written plainly."""
    if _URL_HINT.search(url) is None or _MEDIA_FILE.search(url) is not None:
        return []  # most addresses: no digits joined by "-" or ".", no long run of digits; a photo's
    pieces: list[tuple[int, str]] = []
    scheme_end = url.find("//")
    host_end = url.find("/", scheme_end + 2) if scheme_end >= 0 else -1
    if scheme_end >= 0:
        host_stop = len(url) if host_end < 0 else host_end
        pieces.extend((m.start(1), m.group(1)) for m in _HOST_DIGITS.finditer(url, scheme_end + 2, host_stop))
    rest = 0 if host_end < 0 else host_end
    for m in _URL_GROUPED.finditer(url, rest):
        # At least 9 digits, and no year among the groups: "/roma/06-2026-0528" is a dated id.
        if sum(c.isdigit() for c in m.group()) >= 9 and _URL_YEAR.search(m.group()) is None:
            pieces.append((m.start(), m.group()))
    return pieces


def _phones_in(text: str, region: str) -> tuple[tuple[str, int, int, tuple[str, ...]], ...]:
    """(E.164, start, end in ``text``, styles) of each number read in one text, in order."""
    norm = normalise(text)
    low = lower_same_length(norm.text)
    joined: list[int] = []
    if "\n" in low and _digit_at_break(low):
        low, joined = _join_broken_lines(low)
    runs, weight = _runs(low)
    if weight < _MIN_DIGITS - 1:
        return ()  # too few digits for a number, counting weak ones ("i", "to", "for") as half
    found: list[tuple[str, int, int, tuple[str, ...]]] = []
    chains = [chain for run in runs for chain in _chains_of_run(low, run)]
    for chain, whole_only in chains:
        if sum(len(g.digits) for g in chain) < _MIN_DIGITS:
            continue  # an age, a time, a price: too few digits for any number
        for e164, used, plus, regrouped in _numbers_in_chain(low, chain, region):
            if whole_only and (used[0] is not chain[0] or used[-1] is not chain[-1] or not _at_longest(e164)):
                continue
            if (
                joined
                and any(used[0].start < i < used[-1].end for i in joined)
                and (
                    (regrouped and not _customary(e164, _sizes(used)))
                    or not e164.startswith(_calling_code(region))
                )
            ):
                continue  # over a line break only in its country's own groups (not a date)
            if used[0].digits[-1:] == "0" and _round_amounts(used):
                continue  # "250 350 1000", "350x450x1500": a price list or sizes
            first = used[0].start
            if first and low[first - 1] == "(" and any(low.startswith(")", g.end) for g in used):
                first -= 1  # "(713) 555-0142", "(seven one three) ...": the bracket is evidence
            start, end = norm.span(first, used[-1].end)
            if plus:  # keep the "+" in the evidence
                plus_at = norm.text.rfind("+", max(0, used[0].start - 2), used[0].start)
                if plus_at >= 0:
                    start = norm.span(plus_at, plus_at + 1)[0]
            styles = _styles(norm, low, used, (start, end))
            if regrouped and not _customary(e164, _sizes(used)):
                styles.add("regrouped")
            # A tuple, not a set: cached for short texts, it is then untracked by the garbage
            # collector (see `_style_key`).
            found.append((e164, start, end, tuple(sorted(styles))))
    return tuple(found)


@lru_cache(maxsize=4096)
def _customary(e164: str, sizes: tuple[int, ...]) -> bool:
    """Whether digit groups of ``sizes`` (country code and trunk included, as typed) are how the
    number's own country groups it, though `phonenumbers` prints it otherwise: the area code or
    mobile prefix whole, the rest in groups of two to four ("030 1234 5678", "07911 123 456",
    "339 123 45 67", "612 345 678", "55 12 34 56 78"; Madrid's "91 123 45 67", London's "0207
    946 0123"). North America groups its numbers one way only: "832 5550 166" is regrouped."""
    num = phonenumbers.parse(e164)
    if num.country_code == 1:
        return False
    nsn = phonenumbers.national_significant_number(num)
    offset = sum(sizes) - len(nsn)
    bounds = []
    pos = -offset
    for size in sizes[:-1]:
        pos += size
        if pos > 0:
            bounds.append(pos)
    printed = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL).split(" ", 1)[1]
    area = len("".join(c for c in re.split(r"[ \-]", printed, maxsplit=1)[0] if c.isdigit()))
    areas = {area}
    if num.country_code == 34 and nsn[:2] in ("91", "93"):
        areas.add(2)
    if num.country_code == 44 and nsn.startswith("20"):
        areas.add(3)
    if num.country_code == 49 and nsn.startswith("15"):
        areas.add(3)  # "0157 8462 7939"
    if not bounds or bounds[0] not in areas:
        return False
    ends = [*bounds, len(nsn)]
    return all(2 <= b - a <= 4 for a, b in pairwise(ends))


# Short texts (titles, a site's phone or age field) recur across ads far more than bodies do:
# their numbers are read once per distinct text and region.
_SHORT_TEXT = 120
_phones_in_short = lru_cache(maxsize=16384)(_phones_in)
