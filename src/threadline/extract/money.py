"""Prices, normalised to an amount per hour.

Ads state rates in code ("150 roses", "80hh", "qv 60", "200 donation") and in rate tables whose
order varies ("hh 80 / hr 150" or "80 hh, 150 hr"). The per-hour rate is comparable across ads: an
unusually low one is a published indicator of coercion, and identical rate tables link ads.

How it works. Prices are anchored on numbers of two to four digits (rare in text; a fast scan).
Around each one, short bounded expressions read a currency or coded word and a duration after it
("$200/hr", "150 roses/hr", "100 for 30 min") or a duration before it ("hh 80", "30 min 100",
"1 hr - $200"). Rate tables are read left to right and a duration used after one amount is not
reused before the next, which settles "hh 80 hr 150" against "80 hh 150 hr". A number is a price
only with a currency, a coded word, or a duration; bare numbers, phone pieces ("713-555-0143"),
times ("10:30", "24/7"), ages ("24 yo") and heights are not.

Ranges ("150-200/hr", "$150 - $200 hh", "150 to 200 roses") are one price: ``amount`` the lower
and ``amount_max`` the higher, each per hour (``per_hour``, ``per_hour_max``), the value written
``"150-200"`` (per hour). The second amount must be higher and at most four times the first, and
the pair must not be a phone number's groups ("212-555-0143") or years ("2019-2021").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from threadline.extract.text import (
    Accumulator,
    Sighting,
    Sightings,
    lower_same_length,
    normalise,
    read_short_once,
)
from threadline.model import Found

__all__ = ["find_prices"]


_MIN_AMOUNT = 20  # with a currency or coded word
_MIN_BARE = 40  # with only a duration ("150 hr"); "24 hr" is opening hours
_MAX_AMOUNT = 5000
_NOT_BARE = frozenset({48, 72, 96})  # "48 hrs notice", "72 hours"

# A duration. Groups: half hour, quick visit, n hours, n minutes.
_DURATION = (
    r"(?:(?P<{p}half>hhr|hh|half[ \t-]{{0,2}}(?:an?[ \t]{{1,2}})?(?:hour|hr)s?"
    # "half" alone, as rate tables write it ("$80 qv / $120 half / $200 hr"), not "half day".
    r"|half(?![ \t-]{{0,2}}(?:day|night|price|off|of|the|an?|hour|hr)(?![a-z]))"
    r"|media[ \t]{{1,2}}hora|mezz['’]?[ \t]?ora"
    r"|(?:1/2|1⁄2)[ \t]{{0,2}}(?:hour|hr|h)s?)"
    r"|(?P<{p}qv>qv|qk|quick[ \t]{{0,2}}(?:visit|v)|quickie)"
    r"|(?:(?P<{p}hn>1[0-2]|[1-9]|one|two|three)[ \t]{{0,2}}|(?:an?|per|the)[ \t]{{1,2}})?"
    r"(?P<{p}hr>hours?|hrs?|h|hourly|horas?|ora)"
    r"|(?P<{p}mn>[1-9][0-9]{{0,2}})[ \t]{{0,2}}(?P<{p}min>minutes?|mins?|minutos?|minuti|m))(?![a-z])"
)
_CURRENCY_AFTER = (
    r"(?P<cur>\$|£|€|🌹|usd|gbp|euros?|eur|dollars?|bucks|quid|roses?|donations?|pesos?|mxn|ars|inr|rupees?"
    r"|r(?![a-z]))"
)
# What may follow an amount: cents, a currency or coded word, then a duration with a connector.
_AFTER = re.compile(
    r"(?P<cents>[.,]00(?![0-9]))?"
    rf"(?:[ \t]{{0,2}}+{_CURRENCY_AFTER})?"
    r"(?:[ \t]{0,2}+(?:/|per(?![a-z])|for(?![a-z])|each(?![a-z])|an?(?![a-z])|-|x(?![a-z])|por(?![a-z])"
    r"|(?:por[ \t]{1,2})?la(?![a-z])|all?['’])?[ \t]{0,2}+"
    rf"(?P<dur>{_DURATION.format(p='a_')}))?"
)
# What may precede an amount: a duration and separators, searched at the end of a short window.
_BEFORE = re.compile(
    rf"(?<![a-z0-9])(?P<dur>{_DURATION.format(p='b_')})[ \t]{{0,3}}(?:[:=@.–—-]|for|is)?[ \t]{{0,3}}"
    r"(?P<pre>[$£€🌹])?[ \t]{0,2}$"
)
_COUNT_WORDS = {"one": 1, "two": 2, "three": 3}
_PREFIX = frozenset("$£€🌹")
_CODED = frozenset({"🌹", "r", "rose", "roses", "donation", "donations"})
# First characters of anything `_AFTER` can read: cents, currencies and coded words, connectors,
# durations (with their counts).
_AFTER_FIRST = frozenset("$£€🌹.,ugedbqr/pfa-h1ot0123456789mxli")
_DURATION_WORDS = frozenset(
    "hh hhr half hour hours hr hrs h hourly qv qk visit v quickie min mins minute minutes m"
    " hora horas ora minutos minuti".split()
)
_GAP_CHARS = " \t:=@.–—-$£€🌹"
# Units that make the number an age, a size, a time or an ordinal, whatever stands before it.
_NOT_MONEY_AFTER = re.compile(
    r"[ \t]{0,2}+(?:y(?:ea)?rs?|y[ \t]?/[ \t]?o|y\.?o|lbs?|kg|cm|ft|feet|inch(?:es)?|pm|am|%|th|st|nd|rd|dd+)"
    r"(?![a-z])"
)
# Another group of digits glued on ("713-555", "10:30", "1/24") or three or more digits at most
# three symbols away with no letters between ("215🌹555"): the amount is a piece of a phone
# number, date or time. Cents ("$150.00") are not a piece.
_PIECE_AFTER = re.compile(r"(?![.,]00(?![0-9]))(?:[-.:/][0-9]|[^\w\n]{1,3}[0-9]{3})")
_PIECE_BEFORE = re.compile(r"(?:[0-9][-.:/]|[0-9]{3}[^\w\n]{1,3})$")
# Written as [0-9][0-9]{1,3}: a leading repeat would stop the engine's fast scan for a digit.
_AMOUNT = re.compile(r"[0-9][0-9]{1,3}+(?![0-9])")
# The second amount of a range, right after the first ("150-200", "$150 - $200", "150 to 200").
_RANGE = re.compile(
    r"(?P<sep>[ \t]{0,2}+(?:-|–|—|~|to(?![a-z]))[ \t]{0,2}+)"
    r"(?P<sign>[$£€])?[ \t]?(?P<high>[1-9][0-9]{1,3}+)(?![0-9])"
)
_RANGE_FIRST = frozenset("-–—~t")  # after at most two spaces ("" is not in it)
_RANGE_RATIO = 4  # "150-200", "100-400"; "20-2000" is not one rate
_LEAD = 12  # longest text before a duration's last word ("half an ", "quick ", "1/2 ")


def _currency(sign: str | None, default: str) -> str:
    if sign in ("£", "gbp", "quid"):
        return "GBP"
    if sign in ("€", "eur", "euro", "euros"):
        return "EUR"
    if sign == "usd":
        return "USD"
    if sign in ("mxn", "ars"):
        return sign.upper()
    if sign in ("inr", "rupee", "rupees"):
        return "INR"
    return default


def _minutes(m: re.Match[str], p: str) -> int | None:
    """Minutes of the duration matched with group prefix ``p``."""
    if m.group(f"{p}half"):
        return 30
    if m.group(f"{p}qv"):
        return 15
    if m.group(f"{p}hr"):
        n = m.group(f"{p}hn")
        if not n:
            return 60
        return 60 * (_COUNT_WORDS[n] if n in _COUNT_WORDS else int(n))
    if m.group(f"{p}min"):
        return int(m.group(f"{p}mn"))
    return None


def _per_duration(low: str, end: int) -> bool:
    """Whether the amount ending at ``end`` is followed by a slash and a duration ("120/30min",
    "200/1hr"): a rate, not a date's or phone number's first group."""
    if low[end : end + 1] != "/":
        return False
    after = _AFTER.match(low, end)
    return after is not None and after.group("dur") is not None


def _unspaced(sep: str) -> bool:
    """Whether a range's connector is a word ("to") or a dash without spaces around it."""
    core = sep.strip(" \t")
    return core == "to" or core == sep


def find_prices(texts: Iterable[tuple[str, str]], currency: str = "USD") -> list[Found]:
    """Prices as the per-hour amount (``"160"`` for 80 per half hour).

    ``detail``: ``amount`` as written, ``minutes`` it buys (``None`` when not stated: the rate is then
    taken as hourly), ``currency`` (``£``/``€`` recognised; ``$``, coded words and bare numbers
    take ``currency``), ``per_hour`` and ``coded`` (roses, donation, hh or qv wording).

    >>> [(f.value, f.detail["minutes"]) for f in find_prices([("body", "hh 80 roses, hr 150")])]
    [('160', 30), ('150', 60)]
    """
    acc = Accumulator("price")
    for field, text in texts:
        acc.add_sightings(field, _prices_of(text, currency))
    return acc.found()


@read_short_once
def _prices_of(text: str, currency: str) -> tuple[Sighting, ...]:
    norm = normalise(text)
    low = lower_same_length(norm.text)
    seen = Sightings()
    claimed = 0  # end of the last duration read after an amount (not to be reused before)
    read_to = 0  # end of the last range read (its second amount is not read again)
    for m in _AMOUNT.finditer(low):
        start, end = m.span()
        if start < read_to or (start and low[start - 1].isdigit()):
            continue
        if low[start] == "0":
            continue  # "0143": no price starts with a zero
        amount = int(m.group())
        if not _MIN_AMOUNT <= amount <= _MAX_AMOUNT:
            continue
        if _PIECE_BEFORE.search(low, start - 6 if start > 6 else 0, start) is not None:
            continue  # the second or third group of a phone number, date or time
        high = amount
        range_sign: str | None = None
        c = low[end : end + 1]
        if c in _RANGE_FIRST or (
            (c == " " or c == "\t") and low[end : end + 3].lstrip(" \t")[:1] in _RANGE_FIRST
        ):
            rng = _RANGE.match(low, end)
            # A range: a higher second amount, not far off, that is not a phone number's
            # groups, nor a span of years ("2019-2021"). Without a currency before the first
            # amount, the second has none either and the dash has no spaces: in "27 - $100/hr"
            # and "29 - 100hh" the dash separates the items of a list.
            signed = start > 0 and (
                low[start - 1] in _PREFIX
                or (start > 1 and low[start - 1] == " " and low[start - 2] in _PREFIX)
            )
            if (
                rng is not None
                and (
                    signed or (not rng.group("sign") and amount >= _MIN_BARE and _unspaced(rng.group("sep")))
                )
                and amount < int(rng.group("high")) <= min(_RANGE_RATIO * amount, _MAX_AMOUNT)
                and not 1900 <= amount <= 2100
                and not _PIECE_AFTER.match(low, rng.end())
            ):
                high = int(rng.group("high"))
                range_sign = rng.group("sign")
                end = read_to = rng.end()
        if high == amount and _PIECE_AFTER.match(low, end) and not _per_duration(low, end):
            continue  # a phone number's first group, a date or time
        if _NOT_MONEY_AFTER.match(low, end):
            continue  # "🌹 24yo", "$ 5ft", "10pm": a unit of something else
        # Cheap character tests decide whether the bounded expressions need to run at all:
        # most numbers in an ad (ages, counts, phone pieces) have nothing price-like around.
        after = None
        nxt = low[end : end + 3].lstrip(" \t")[:1]
        if nxt and nxt in _AFTER_FIRST:
            after = _AFTER.match(low, end)
            if after is not None and after.end() == end:
                after = None
        before = None
        # Only when the word before the amount ends a duration is the window searched.
        tail_start = start - 10 if start > 10 else 0
        tail = low[tail_start:start].rstrip(_GAP_CHARS)
        if tail.endswith(("for", " is")):
            tail = tail[:-3].rstrip(_GAP_CHARS)
        i = len(tail)
        while i and tail[i - 1].isalpha():
            i -= 1
        if tail[i:] in _DURATION_WORDS:
            # The duration ends with that word; its count or "half an" comes at most
            # _LEAD characters earlier, which bounds the window searched.
            lo = tail_start + i - _LEAD
            before = _BEFORE.search(low, lo if lo > claimed else claimed, start)
        prev = low[start - 1] if start else ""
        if before is None and (prev.isalpha() or prev == "_"):
            continue  # glued to a word ("mia_rose22"); "hh80" has a duration before it
        sign: str | None = None
        span_start, span_end = start, end
        if before is not None and before.group("pre"):
            sign = before.group("pre")
            span_start = before.start("pre")
        elif prev in _PREFIX:
            sign = prev
            span_start = start - 1
        elif prev == " " and start > 1 and low[start - 2] in _PREFIX:
            sign = low[start - 2]
            span_start = start - 2
        if sign is None and range_sign is not None:
            sign = range_sign
        if before is None and after is None and sign is None:
            continue
        if after is not None and after.group("cents"):
            span_end = after.end("cents")
        if after is not None and after.group("cur"):
            sign = sign if sign in ("£", "€") else after.group("cur")
            span_end = after.end("cur")
        minutes: int | None = None
        if before is not None:
            minutes = _minutes(before, "b_")
            span_start = min(span_start, before.start())
        elif after is not None and after.group("dur"):
            minutes = _minutes(after, "a_")
            span_end = after.end()
            claimed = after.end()
        if minutes is None and sign is None:
            continue  # a bare number
        if sign is None and (amount < _MIN_BARE or amount in _NOT_BARE):
            continue  # "24 hr", "48 hrs": hours, not money
        if minutes is not None and not 5 <= minutes <= 24 * 60:
            continue
        coded = sign in _CODED or bool(
            (before is not None and (before.group("b_half") or before.group("b_qv")))
            or (after is not None and (after.group("a_half") or after.group("a_qv")))
        )
        per_hour = amount * 60 / minutes if minutes else float(amount)
        per_hour_max = high * 60 / minutes if minutes else float(high)
        detail: dict[str, Any] = {
            "amount": amount,
            "minutes": minutes,
            "currency": _currency(sign, currency),
            "per_hour": round(per_hour, 2),
            "coded": coded,
            "amount_max": high,
            "per_hour_max": round(per_hour_max, 2),
        }
        value = str(round(per_hour)) if high == amount else f"{round(per_hour)}-{round(per_hour_max)}"
        seen.add(value, norm, span_start, span_end, detail)
    return tuple(seen.items)
