"""Fictional phone numbers, and who holds which one when.

docs/DESIGN.md section 4 allows only two fictional ranges: North American ``NXX-555-0100`` to ``-0199``
and London ``020 7946 0000`` to ``0999``. That is 100 numbers per US area code and 1,000 in London,
far fewer than a million-ad corpus has advertisers. So the allocator behaves like a carrier: a
number is handed out fresh while any are left in the wanted area codes (then anywhere), and after
that it is *recycled*, but only to a holder whose time of use is at least `RECYCLE_GAP` away from
every earlier holder's. Recycled numbers are listed in the truth so that an evaluation can tell a
linker's mistake from a number that really changed hands.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import phonenumbers

from .obfuscate import e164
from .vocab import CITIES, EXTRA_AREA_CODES

__all__ = [
    "HUB_NUMBERS",
    "RECYCLE_GAP",
    "Phone",
    "PhoneAllocator",
    "is_fictional",
    "sample_numbers",
    "us_area_codes",
]

RECYCLE_GAP = 60 * 86400  # seconds between two holders of the same number (carriers wait ~90 days)

_FICTIONAL_US = re.compile(r"^\+1[2-9]\d{2}5550(1\d{2})$")
_FICTIONAL_LONDON = re.compile(r"^\+442079460\d{3}$")


@dataclass(frozen=True, slots=True)
class Phone:
    national: str  # "7135550142" or "02079460123"
    country: str  # "US" or "GB"

    @property
    def e164(self) -> str:
        return e164(self.national, self.country)

    @property
    def area_code(self) -> str:
        return self.national[:3]


# Site boilerplate numbers ("customer service") that appear on thousands of unrelated ads. One is a
# toll-free number; the other looks like any New York cell, which is what makes it a trap. They are
# taken out of the pool so that no advertiser ever holds them.
HUB_NUMBERS: dict[str, Phone] = {
    "nightpages": Phone("8005550199", "US"),
    "lanternlist": Phone("6465550177", "US"),
}


def is_fictional(e164_number: str) -> bool:
    """True for numbers in the two ranges docs/DESIGN.md allows (NXX-555-01XX, 020 7946 0XXX)."""
    return bool(_FICTIONAL_US.match(e164_number) or _FICTIONAL_LONDON.match(e164_number))


def us_area_codes() -> tuple[str, ...]:
    """Every area code the generator may use, cities' first, without repeats."""
    seen: dict[str, None] = {}
    for city in CITIES:
        if city.country == "US":
            for code in city.area_codes:
                seen.setdefault(code, None)
    for code in EXTRA_AREA_CODES:
        seen.setdefault(code, None)
    return tuple(seen)


@dataclass(slots=True)
class _Number:
    phone: Phone
    holds: list[tuple[int, int]] = field(default_factory=list)  # (first use, last use), seconds

    def free_during(self, start: int, end: int) -> bool:
        return all(end + RECYCLE_GAP < s or start > e + RECYCLE_GAP for s, e in self.holds)


class PhoneAllocator:
    """Hands out fictional numbers, preferring given area codes, recycling only across time gaps."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        reserved = {p.national for p in HUB_NUMBERS.values()}
        self._fresh: dict[str, list[_Number]] = {}  # area code -> numbers never handed out
        self._all: dict[str, list[_Number]] = {}  # area code -> every number of that code
        for code in (*us_area_codes(), "020"):
            if code == "020":
                nationals = [f"0207946{n:04d}" for n in range(1000)]
                country = "GB"
            else:
                nationals = [f"{code}5550{n:03d}" for n in range(100, 200)]
                country = "US"
            numbers = [_Number(Phone(n, country)) for n in nationals if n not in reserved]
            rng.shuffle(numbers)
            self._all[code] = numbers
            self._fresh[code] = list(numbers)
        self._us_codes = [c for c in self._all if c != "020"]
        self._us_codes_with_fresh = list(self._us_codes)
        self.recycled: dict[str, int] = {}  # E.164 -> times handed to another holder
        self.overlapping = 0  # handed out while another holder still used it (pool exhausted)

    def take(
        self, area_codes: tuple[str, ...], country: str, start: int, end: int, *, nearby: tuple[str, ...] = ()
    ) -> Phone:
        """A number for use from ``start`` to ``end`` (seconds).

        Fresh numbers come from ``area_codes`` if any are left, then from ``nearby`` codes, then
        from anywhere in the country; only then is a number recycled.
        """
        if country == "GB":
            return self._claim(self._pick(("020",), (), start, end, fallback=False), start, end)
        return self._claim(self._pick(area_codes, nearby, start, end, fallback=True), start, end)

    def _pick(
        self, area_codes: tuple[str, ...], nearby: tuple[str, ...], start: int, end: int, *, fallback: bool
    ) -> _Number:
        codes = [c for c in area_codes if c in self._fresh]
        self._rng.shuffle(codes)
        for code in codes:
            if self._fresh[code]:
                return self._fresh[code].pop()
        near = [c for c in nearby if self._fresh.get(c)]
        if near:
            return self._fresh[self._rng.choice(near)].pop()
        if fallback:
            while self._us_codes_with_fresh:
                i = self._rng.randrange(len(self._us_codes_with_fresh))
                code = self._us_codes_with_fresh[i]
                if self._fresh[code]:
                    return self._fresh[code].pop()
                # Swap-remove the exhausted code so this stays O(1) per call.
                self._us_codes_with_fresh[i] = self._us_codes_with_fresh[-1]
                self._us_codes_with_fresh.pop()
        # No fresh number left: recycle one that nobody used near this time, wanted codes first.
        search = codes or (list(area_codes) if not fallback else self._us_codes)
        for attempt in range(300):
            if fallback and attempt == 50:
                search = self._us_codes
            numbers = self._all[self._rng.choice(search)]
            candidate = numbers[self._rng.randrange(len(numbers))]
            if candidate.free_during(start, end):
                return candidate
        # The pool is too small for this many concurrent holders: share a number, and count it.
        self.overlapping += 1
        numbers = self._all[self._rng.choice(search)]
        return numbers[self._rng.randrange(len(numbers))]

    def _claim(self, number: _Number, start: int, end: int) -> Phone:
        if number.holds:
            key = number.phone.e164
            self.recycled[key] = self.recycled.get(key, 0) + 1
        number.holds.append((start, end))
        return number.phone


# Numbers of every country `obfuscate.render_phone` writes, for benchmarks and demos of ads abroad
# (the corpus itself uses only the two ranges above). North America, London and Australia from the
# ranges their regulators reserve for fiction; the other countries reserve none that `phonenumbers`
# accepts, so theirs are the example numbers its metadata documents (one per number type).
_AU_FICTIONAL = (
    *(f"0{a}5550{n:04d}" for a in "2378" for n in (1234, 42, 9876)),
    *(f"0491570{n}" for n in (156, 157, 158, 159, 110)),
)


def sample_numbers(country: str) -> tuple[str, ...]:
    """National digits of numbers of ``country`` safe to print ("7135550142", "0111523456789")."""
    if country in ("US", "CA"):
        codes = us_area_codes()[:12] if country == "US" else ("416", "604", "514", "403")
        return tuple(f"{code}5550{n}" for code in codes for n in (100, 142, 177, 199))
    if country == "GB":
        return tuple(f"0207946{n:04d}" for n in (0, 311, 472, 999, 123, 650))
    if country == "AU":
        return _AU_FICTIONAL
    out: dict[str, None] = {}
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
        example = phonenumbers.example_number_for_type(country, kind)
        if example is not None and phonenumbers.is_valid_number(example):
            printed = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            out["".join(c for c in printed if c.isdigit())] = None
    if not out:
        raise ValueError(f"no sample numbers for {country!r}")
    return tuple(out)
