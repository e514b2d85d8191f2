"""Movement over time: where each network and person advertised, in what order, and whether they
go round a circuit of cities.

Being moved from city to city every few days, round the same circuit, under a phone from
somewhere else, is among the strongest signs that someone else runs the ads. This module turns
the linked ads into three tables (set-based SQL through the `Engine` seam, so a cluster engine
runs the same steps; the only Python runs once per phone prefix and once per network or person
with a chance of a circuit, never once per ad):

``itineraries(unit_kind, unit, stay_no, place, country, first_seen, last_seen, ads)``
    For every network and every person (``unit_kind`` ``'network'`` or ``'person'``), its stays
    in time order: a stay is a run of consecutive ads in one place (gaps and islands). A unit
    that comes back to a city starts a new stay there.

``movement(network, places, moves, median_stay_days, max_km_per_day, foreign_code_share, origin,
circuit, circuit_repeats)``
    One row per network of ``ad_links`` (see `build_movement` for each column).

``circuits(unit_kind, unit, circuit, cycle_len, laps, full_laps, start_stay, end_stay, missed,
extra, median_dwell_days, simultaneous)``
    The circuit `detect_circuit` finds in a network's or person's stays, if any, with the median
    days from arriving in one of its places to arriving in the next. Under `MIN_DWELL_DAYS` it
    is ``simultaneous``: the unit is in two places at once (see below), and ``movement``
    does not report it as the network's circuit.

Which place an ad is in
    The place the site's location field resolves to (`extract.places`, extractions of kind
    ``place`` with span field ``location``) wins: it is where the site lists the ad, the city a
    buyer searches. A city named in the text is often somewhere else: the next stop ("Dallas next
    week"), where she came from, or a city nearby. The text decides only when the location field
    is missing or does not resolve, and then only if the text names exactly one city; ads with
    neither have no place and are left out of the itineraries (they neither start nor end a stay).

When an ad was posted
    ``posted_at``; the capture time where the site gives none (an upper bound on it). Ads are
    ordered by that time, then by ``ad_key``.

The circuit rule
    See `detect_circuit`: a cycle of places that the stays follow past their first return to the
    cycle's start (the route is taken again), tolerating one noisy stay per lap after the first.

Other engines
    The SQL uses only what DuckDB and Spark SQL both spell alike, except four helpers switched
    on ``engine.dialect`` (epoch seconds, median, ordered list and ordered string aggregation).
    Python results go back as ``VALUES`` tables of numbers and literals built without quote
    doubling. `build_circuits` pulls the candidate units' place lists in batches through
    ``engine.query``; a Spark engine can run the same pure function in ``mapInPandas`` instead.

Two places at once
    A network that is in two places at once (two teams of one controller, or two advertisers
    merged by a linking error) interleaves their ads, and its stays alternate A B A B within
    hours or a day or two: a circuit of two places by the rule. Where the unit arrives somewhere
    new less than `MIN_DWELL_DAYS` after arriving in the last place (median over the circuit),
    the circuit is marked ``simultaneous``, and ``movement`` reports a circuit of one of the
    network's persons instead, if any (their own itineraries stay clean). ``max_km_per_day``
    (thousands of km a day) shows the same thing. Slower interleaving (advertisers who post
    every few days) still reads as a circuit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import duckdb

from threadline.engine import DuckDBEngine, Engine, write_rows

__all__ = [
    "FOREIGN_KM",
    "MAX_CYCLE",
    "MIN_DWELL_DAYS",
    "Circuit",
    "Home",
    "MovementReport",
    "build_circuits",
    "build_itineraries",
    "build_movement",
    "compute_movement",
    "detect_circuit",
    "movement_steps",
    "phone_home",
]

MAX_CYCLE = 10  # longest circuit looked for, in places per lap
# A phone whose home the geocoder knows to the city is local within this distance of the ad.
FOREIGN_KM = 150.0
# A move faster than this gap is timed as taking this long (an ad cross-posted with another
# city at the same minute would otherwise be an infinite speed).
MIN_MOVE_SECONDS = 3600
# No one travels faster than an airliner (about 1,000 km an hour): a faster move between two
# stays is two advertisers joined by a linking error, not a sign of anything, and
# ``max_km_per_day`` leaves it out (the fastest possible move counts, or none).
MAX_POSSIBLE_KM_PER_DAY = 24_000
# A unit that, on median over a circuit, arrives somewhere new less than this many days after
# arriving in the last place is not travelling a circuit but in two places at once.
MIN_DWELL_DAYS = 1.0
_BATCH = 5000  # units per query when circuits are detected


# ---------------------------------------------------------------------------------------------
# Circuits: a pure function over one sequence of places
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Circuit:
    """A recurring sequence of places found in a sequence of stays.

    ``cycle`` is one lap, written from the place of the circuit's first stay; ``start`` and
    ``end`` index the first and last stay of the input on the circuit. ``laps`` counts laps
    covered, partial ones included: (stays on the cycle + stops missed) / ``len(cycle)``, so
    Houston, Dallas, Austin, Houston, Dallas is 1.67 laps and ``full_laps`` 1. ``missed`` are
    stops of the cycle absent from a lap, ``extra`` stays inside the circuit that do not follow
    it. ``lap_at`` are input indices of one clean lap: ``places[lap_at[j]] == cycle[j]``.
    """

    cycle: tuple[str, ...]
    start: int
    end: int
    laps: float
    full_laps: int
    matched: int
    missed: int
    extra: int
    lap_at: tuple[int, ...]


def _walk(
    seq: Sequence[str], cycle: Sequence[str], pos: int, step: int, visited: set[tuple[int, int]] | None
) -> tuple[int, int, int, int, int]:
    """Follow ``cycle`` through ``seq`` from ``seq[pos] == cycle[0]``, forwards (``step`` 1) or
    backwards (-1). Returns (stays matched after ``pos``, stops missed, extra stays, index of the
    last stay matched, its phase in ``cycle``). ``visited`` collects (index, phase) of matches."""
    size = len(cycle)
    phase = 0
    matched = missed = extra = pending = 0
    last, last_phase = pos, 0
    i = pos + step
    while 0 <= i < len(seq):
        x = seq[i]
        if x == cycle[(phase + step) % size]:
            phase = (phase + step) % size
        elif size >= 3 and x == cycle[(phase + 2 * step) % size]:
            phase = (phase + 2 * step) % size  # one stop of this lap missing
            missed += 1
        else:
            pending += 1  # a stay off the circuit: tolerated if the next one is back on it
            if pending > 1:
                break
            i += step
            continue
        matched += 1
        extra += pending
        pending = 0
        last, last_phase = i, phase
        if visited is not None:
            visited.add((i, phase))
        i += step
    return matched, missed, extra, last, last_phase


def detect_circuit(places: Sequence[str], *, max_cycle: int = MAX_CYCLE) -> Circuit | None:
    """The circuit in a sequence of stays' places, or None.

    The rule:

    1. Consecutive equal places are one stay. A cycle is a run of 2 to ``max_cycle`` distinct
       places seen in a row and immediately followed by a return to its first place: one clean
       lap must be observed, and a lap visits each of its places once.
    2. From that lap the stays are followed forwards and backwards around the cycle. A stay
       that is the next stop matches; a stay that is the stop after next also matches and counts
       one stop *missed* (a lap that skipped a city; cycles of 3 or more); any other stay is
       *extra*, tolerated only if the next stay is back on the cycle. The circuit ends at two
       off-cycle stays in a row, or at the end of the data.
    3. Its evidence is the stays on it beyond the one lap that defines it, less the noise
       (missed + extra). It is a circuit with evidence 2 or more -- the unit came back to the
       start *and took the same road again* (Houston, Dallas, Austin, Houston, Dallas), which a
       trip and return (Houston, Dallas, Houston) or a tour ending where it began (Houston,
       Dallas, Austin, Houston) does not -- and noise of at most one stay per full lap after the
       first.
    4. The candidate with most evidence wins, then the shorter cycle, then the earlier start: a
       long cycle must explain more stays than a short one to be preferred. A B A B is a
       circuit of two places, two laps.

    Quadratic in the number of stays at worst, and near-linear for real itineraries: a cycle
    already followed through a stay at the same phase is not followed again from there.
    """
    seq: list[str] = []
    first: list[int] = []  # input index of each collapsed stay's first and last element
    last: list[int] = []
    for i, place in enumerate(places):
        if seq and seq[-1] == place:
            last[-1] = i
            continue
        seq.append(place)
        first.append(i)
        last.append(i)
    n = len(seq)
    if n < 4:
        return None
    best: tuple[tuple[int, int, int], Circuit] | None = None
    # (canonical cycle) -> {(index, canonical phase)} already followed forwards.
    visited: dict[tuple[str, ...], set[tuple[int, int]]] = {}
    for s in range(n):
        for size in range(2, min(max_cycle, n - s - 1) + 1):
            if seq[s + size] != seq[s]:
                continue
            window = seq[s : s + size]
            if len(set(window)) < size:
                continue  # a lap visits each of its places once
            rot = min(range(size), key=lambda r: window[r:] + window[:r])
            canon = tuple(window[rot:] + window[:rot])
            seen = visited.setdefault(canon, set())
            if (s, (0 - rot) % size) in seen:
                continue  # an earlier lap of this cycle was already followed through here
            forward: set[tuple[int, int]] = set()
            mf, xf, ef, end, _ = _walk(seq, window, s, 1, forward)
            seen.add((s, (0 - rot) % size))
            seen.update((i, (p - rot) % size) for i, p in forward)
            mb, xb, eb, begin, begin_phase = _walk(seq, window, s, -1, None)
            matched, missed, extra = 1 + mf + mb, xf + xb, ef + eb
            noise = missed + extra
            covered = matched + missed
            full_laps = covered // size
            # Evidence of a circuit: the stays it explains beyond the lap that defines it.
            score = matched - noise - size
            if score < 2 or noise > full_laps - 1:
                continue
            key = (score, -size, -begin)
            if best is not None and key <= best[0]:
                continue
            order = [(begin_phase + j) % size for j in range(size)]
            best = (
                key,
                Circuit(
                    cycle=tuple(window[j] for j in order),
                    start=first[begin],
                    end=last[end],
                    laps=round(covered / size, 4),
                    full_laps=full_laps,
                    matched=matched,
                    missed=missed,
                    extra=extra,
                    lap_at=tuple(first[s + j] for j in order),
                ),
            )
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------
# Phone homes: which place a number's area code belongs to (offline geocoder)
# ---------------------------------------------------------------------------------------------

# Countries whose place keys carry a state or province: a phone's home is told at that level.
_REGION_COUNTRIES = frozenset({"US", "CA", "AU"})


@dataclass(frozen=True, slots=True)
class Home:
    """Where a phone number's prefix is from, as precisely as the offline geocoder says.

    ``level`` is ``"city"`` (with coordinates), ``"region"`` (a state or province) or
    ``"country"``. ``label`` is the value origins are counted by: the region (``"TX, US"``) in
    countries whose places carry one, else the city key (``"London, ENG, GB"``), else the country.
    """

    country: str
    region: str | None
    lat: float | None
    lon: float | None
    level: str
    label: str


def _region_named(description: str, country: str) -> str | None:
    """The state or province code of ``country`` that ``description`` names ("Texas" -> "TX"),
    from the region names the places module holds (`places._regions`, without its cities)."""
    from threadline.extract.places import _fold, _regions

    for where, region in _regions().get(_fold(description), ()):
        if where == country and region is not None:
            return region
    return None


@cache
def phone_home(number: str) -> Home | None:
    """The home of an E.164 number by its prefix: ``+17135550142`` is ``TX, US`` (region level).

    The geocoder names a state ("Texas"), a city ("New York, NY", "London") or only the country
    (mobile and toll-free ranges). ``None`` for numbers it cannot place in any country.
    """
    import phonenumbers
    from phonenumbers import geocoder

    from threadline.extract.places import resolve_location

    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
    country = phonenumbers.region_code_for_number(parsed)
    if not country or country == "001":
        return None
    description = geocoder.description_for_number(parsed, "en")
    region = _region_named(description, country) if description else None
    if region is not None:
        return Home(country, region, None, None, "region", f"{region}, {country}")
    if description and description != geocoder.country_name_for_number(parsed, "en"):
        place = resolve_location(f"{description}, {country}")
        if place is not None and place.country == country:
            label = f"{place.region}, {country}" if country in _REGION_COUNTRIES else place.key
            return Home(country, place.region or None, place.lat, place.lon, "city", label)
    return Home(country, None, None, None, "country", country)


# ---------------------------------------------------------------------------------------------
# SQL helpers (the spellings that differ between engines are the Engine's: `threadline.engine`)
# ---------------------------------------------------------------------------------------------


def _km(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in km (haversine), in SQL every engine spells the same way."""
    return (
        f"(2 * 6371.0 * asin(sqrt(LEAST(1.0, pow(sin(radians({lat2} - {lat1}) / 2), 2)"
        f" + cos(radians({lat1})) * cos(radians({lat2})) * pow(sin(radians({lon2} - {lon1}) / 2), 2)))))"
    )


# ---------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------


def build_itineraries(engine: Engine) -> None:
    """Tables ``_mv_ads`` (linked ads with a place and a time), ``_mv_stays`` and ``itineraries``.

    Needs ``score_links`` and ``score_link_ads``: the linked ads to score (all of ``ad_links``,
    or the networks a link run changed) and their link inputs (`link.steps.build_inputs`'s
    ``link_ads``); and the store's ``extractions`` and ``ads``.
    """
    jt = engine.json_text
    engine.table(
        "_mv_places",
        f"""
        SELECT l.ad_key, e.value AS place, e.field = 'location' AS from_location,
               {jt("e.detail", "country")} AS country, {jt("e.detail", "region")} AS region,
               CAST({jt("e.detail", "lat")} AS DOUBLE) AS lat, CAST({jt("e.detail", "lon")} AS DOUBLE) AS lon
        FROM extractions e
        JOIN score_link_ads l ON e.source = l.source AND e.ad_id = l.id AND e.version = l.version
        WHERE e.kind = 'place'
        """,
    )
    # The location field wins; else the one city the text names (none if it names several).
    engine.table(
        "_mv_place_of_ad",
        """
        WITH located AS (
            SELECT ad_key, MIN(place) AS place, MIN(country) AS country, MIN(region) AS region,
                   MIN(lat) AS lat, MIN(lon) AS lon
            FROM _mv_places WHERE from_location GROUP BY ad_key
        ), named AS (
            SELECT ad_key, MIN(place) AS place, MIN(country) AS country, MIN(region) AS region,
                   MIN(lat) AS lat, MIN(lon) AS lon
            FROM _mv_places WHERE NOT from_location GROUP BY ad_key HAVING COUNT(DISTINCT place) = 1
        )
        SELECT * FROM located
        UNION ALL
        SELECT n.* FROM named n WHERE NOT EXISTS (SELECT 1 FROM located o WHERE o.ad_key = n.ad_key)
        """,
    )
    engine.table(
        "_mv_ads",
        f"""
        SELECT l.ad_key, k.network, k.person, COALESCE(l.posted_at, a.captured_at) AS seen,
               {engine.epoch("COALESCE(l.posted_at, a.captured_at)")} AS t,
               p.place, p.country, p.region, p.lat, p.lon
        FROM score_link_ads l
        JOIN score_links k ON k.ad_key = l.ad_key
        JOIN _mv_place_of_ad p ON p.ad_key = l.ad_key
        JOIN ads a ON a.source = l.source AND a.id = l.id AND a.version = l.version
        WHERE COALESCE(l.posted_at, a.captured_at) IS NOT NULL
        """,
    )
    # Gaps and islands: a new stay starts wherever the place differs from the previous ad's.
    engine.table(
        "_mv_stays",
        """
        WITH units AS (
            SELECT 'network' AS unit_kind, network AS unit, ad_key, seen, t, place, country, region, lat, lon
            FROM _mv_ads
            UNION ALL
            SELECT 'person' AS unit_kind, person AS unit, ad_key, seen, t, place, country, region, lat, lon
            FROM _mv_ads
        ), flagged AS (
            SELECT *, CASE WHEN place = LAG(place) OVER (PARTITION BY unit_kind, unit ORDER BY t, ad_key)
                           THEN 0 ELSE 1 END AS new_stay
            FROM units
        ), numbered AS (
            SELECT *, SUM(new_stay) OVER (
                PARTITION BY unit_kind, unit ORDER BY t, ad_key
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS stay_no
            FROM flagged
        )
        SELECT unit_kind, unit, CAST(stay_no AS BIGINT) AS stay_no, MIN(place) AS place,
               MIN(country) AS country, MIN(region) AS region, MIN(lat) AS lat, MIN(lon) AS lon,
               MIN(seen) AS first_seen, MAX(seen) AS last_seen, MIN(t) AS first_t, MAX(t) AS last_t,
               COUNT(*) AS ads
        FROM numbered
        GROUP BY unit_kind, unit, stay_no
        """,
    )
    engine.table(
        "itineraries",
        """
        SELECT unit_kind, unit, stay_no, place, country, first_seen, last_seen, ads
        FROM _mv_stays
        """,
    )


def _circuit_rows(max_cycle: int, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`detect_circuit` over ``(unit_no, places)`` rows: for each circuit found a row of kind 0
    ``(unit_no, 0, laps, start_stay, end_stay, cycle_len, full_laps, missed, extra)`` and a row of
    kind 1 ``(unit_no, 1, NULL, pos, stay_no, NULL...)`` per lap position."""
    out: list[tuple[Any, ...]] = []
    for unit_no, unit_places in rows:
        circuit = detect_circuit(list(unit_places), max_cycle=max_cycle)
        if circuit is None:
            continue
        # Stays are consecutive-distinct and numbered from 1: input index i is stay i + 1.
        out.append(
            (
                int(unit_no),
                0,
                float(circuit.laps),
                circuit.start + 1,
                circuit.end + 1,
                len(circuit.cycle),
                circuit.full_laps,
                circuit.missed,
                circuit.extra,
            )
        )
        out.extend(
            (int(unit_no), 1, None, j, i + 1, None, None, None, None) for j, i in enumerate(circuit.lap_at)
        )
    return out


def build_circuits(engine: Engine, *, batch: int = _BATCH, max_cycle: int = MAX_CYCLE) -> int:
    """Table ``circuits``: `detect_circuit` over every network's and person's stays.

    SQL keeps the units that could hold a circuit (four stays or more, one place at least twice),
    numbers them, and hands their ordered place lists to `Engine.map_rows` in batches of
    ``batch`` units; the function runs once per unit, where the engine runs Python, and only what
    it finds (integers: stay numbers) comes back. Returns the number of units examined.
    """
    engine.table(
        "_mv_candidates",
        """
        SELECT unit_kind, unit, row_number() OVER (ORDER BY unit_kind, unit) AS unit_no
        FROM _mv_stays
        GROUP BY unit_kind, unit
        HAVING COUNT(*) >= 4 AND COUNT(DISTINCT place) < COUNT(*)
        """,
    )
    [(count,)] = engine.query("SELECT COUNT(*) FROM _mv_candidates")
    places = engine.ordered_list("s.place", "s.stay_no")
    # One pure function per unit, where the engine runs Python (a cluster's executors): what it
    # finds comes back as rows of two kinds, 0 a circuit and 1 one of its laps.
    engine.map_rows(
        "_mv_detected",
        f"""
        SELECT c.unit_no, {places} AS places
        FROM _mv_candidates c
        JOIN _mv_stays s ON s.unit_kind = c.unit_kind AND s.unit = c.unit
        GROUP BY c.unit_no
        """,
        partial(_circuit_rows, max_cycle),
        [("unit_no", "BIGINT"), ("row_kind", "BIGINT"), ("laps", "DOUBLE")]
        + [(f"i{k}", "BIGINT") for k in range(1, 7)],
        batch,
    )
    engine.table(
        "_mv_found",
        """
        SELECT unit_no, i1 AS start_stay, i2 AS end_stay, i3 AS cycle_len, laps, i4 AS full_laps,
               i5 AS missed, i6 AS extra
        FROM _mv_detected WHERE row_kind = 0
        """,
    )
    engine.table("_mv_laps", "SELECT unit_no, i1 AS pos, i2 AS stay_no FROM _mv_detected WHERE row_kind = 1")
    cycle = engine.ordered_join("s.place", "l.pos", " -> ")
    engine.table(
        "circuits",
        f"""
        WITH cycles AS (
            SELECT l.unit_no, {cycle} AS circuit
            FROM _mv_laps l
            JOIN _mv_candidates c ON c.unit_no = l.unit_no
            JOIN _mv_stays s ON s.unit_kind = c.unit_kind AND s.unit = c.unit AND s.stay_no = l.stay_no
            GROUP BY l.unit_no
        ), arrivals AS (
            SELECT f.unit_no, s.stay_no, f.end_stay,
                   LEAD(s.first_t) OVER (PARTITION BY f.unit_no ORDER BY s.stay_no) - s.first_t AS dwell
            FROM _mv_found f
            JOIN _mv_candidates c ON c.unit_no = f.unit_no
            JOIN _mv_stays s ON s.unit_kind = c.unit_kind AND s.unit = c.unit
                            AND s.stay_no BETWEEN f.start_stay AND f.end_stay
        ), dwell AS (
            SELECT unit_no, {engine.median("dwell / 86400.0")} AS median_dwell_days
            FROM arrivals WHERE stay_no < end_stay
            GROUP BY unit_no
        )
        SELECT c.unit_kind, c.unit, y.circuit, f.cycle_len, f.laps, f.full_laps, f.start_stay,
               f.end_stay, f.missed, f.extra, d.median_dwell_days,
               d.median_dwell_days < {MIN_DWELL_DAYS} AS simultaneous
        FROM _mv_found f
        JOIN _mv_candidates c ON c.unit_no = f.unit_no
        JOIN cycles y ON y.unit_no = f.unit_no
        JOIN dwell d ON d.unit_no = f.unit_no
        """,
    )
    return int(count)


def _build_homes(engine: Engine) -> None:
    """Table ``_mv_homes``: the home of every phone prefix (the number less its last four digits)
    seen on a non-hub phone of a placed ad; the geocoder runs once per prefix.

    Phones are read as extracted (``link_sightings``, not as linking renames them into tenures),
    less the hub numbers of ``score_hub_phones`` (`structure.scope_tables`).
    """
    engine.table(
        "_mv_phones",
        """
        SELECT DISTINCT a.ad_key, a.network, p.plain AS phone,
               substr(p.plain, 1, length(p.plain) - 4) AS prefix
        FROM _mv_ads a JOIN link_sightings p ON p.ad_key = a.ad_key AND p.kind = 'phone'
        WHERE p.plain NOT IN (SELECT phone FROM score_hub_phones)
        """,
    )
    kept = _kept_homes(engine)
    missing = "WHERE prefix NOT IN (SELECT prefix FROM phone_homes)" if kept else ""
    rows = engine.query(f"SELECT prefix, MIN(phone) FROM _mv_phones {missing} GROUP BY prefix")
    homes: list[tuple[Any, ...]] = []
    for prefix, sample in rows:
        home = phone_home(str(sample))
        if home is not None:
            homes.append((prefix, home.country, home.region, home.lat, home.lon, home.level, home.label))
        elif kept:
            homes.append((prefix, None, None, None, None, None, None))
    write_rows(engine, "_mv_homes", _HOME_COLUMNS, homes)
    if kept:
        assert isinstance(engine, DuckDBEngine)
        engine.con.execute("INSERT INTO phone_homes SELECT * FROM _mv_homes")
        engine.table(
            "_mv_homes",
            """
            SELECT h.* FROM phone_homes h
            WHERE h.country IS NOT NULL AND h.prefix IN (SELECT prefix FROM _mv_phones)
            """,
        )


_HOME_COLUMNS = [
    ("prefix", "STRING"),
    ("country", "STRING"),
    ("region", "STRING"),
    ("lat", "DOUBLE"),
    ("lon", "DOUBLE"),
    ("level", "STRING"),
    ("label", "STRING"),
]


def _kept_homes(engine: Engine) -> bool:
    """Whether the engine runs on a store that keeps the homes of the prefixes met before
    (``phone_homes``): a prefix's home is the geocoder's, by its prefix, whenever it is asked."""
    if not isinstance(engine, DuckDBEngine):
        return False
    [(found,)] = engine.query(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE table_name = 'phone_homes' AND NOT temporary"
    )
    return bool(found)


def build_movement(engine: Engine) -> None:
    """Table ``movement``, one row per network of ``ad_links`` (after `build_itineraries` and
    `build_circuits`; also reads phone ``extractions`` and the last run's ``link_hubs``).

    * ``places``: distinct places of its ads; ``moves``: stays - 1 (0 without a placed ad).
    * ``median_stay_days``: median over its stays of the days from the first to the last ad of
      the stay (what was seen: a stay of one ad is 0 days).
    * ``max_km_per_day``: the fastest move between consecutive stays, great-circle km over the
      days from the last ad in one place to the first in the next (at least an hour); a move
      faster than an airliner (`MAX_POSSIBLE_KM_PER_DAY`) is a linking error and left out.
    * ``foreign_code_share``: of its placed ads with a trusted (non-hub) phone whose home the
      geocoder knows, the share where no such phone is local to the ad's place. A phone is
      foreign when its country differs; else, when the geocoder names its city, when that is more
      than `FOREIGN_KM` away; else, when it names its state or province, when that differs.
      Numbers known only to their own country (toll-free, mobile ranges) say nothing.
    * ``origin``: the most common home (`Home.label`) of those phones over its ads (ties:
      alphabetical), counting country-level homes only when abroad.
    * ``circuit``: the network's circuit (`detect_circuit`) as ``"A -> B -> C"``, and
      ``circuit_repeats`` its laps, partial ones included (0 without a circuit). A
      ``simultaneous`` one (see ``circuits``) is not reported; where the network has no other,
      the most lapped circuit of one of its persons is (an operation's persons move together).
    """
    _build_homes(engine)
    local_km = _km("h.lat", "h.lon", "a.lat", "a.lon")
    engine.table(
        "_mv_ad_codes",
        f"""
        SELECT p.ad_key, p.network, h.label, h.level, h.country <> a.country AS abroad,
               CASE WHEN h.country <> a.country THEN 1
                    WHEN h.level = 'city' THEN CASE WHEN {local_km} > {FOREIGN_KM} THEN 1 ELSE 0 END
                    WHEN h.level = 'region' THEN CASE WHEN h.region <> a.region THEN 1 ELSE 0 END
               END AS foreign_code
        FROM _mv_phones p
        JOIN _mv_homes h ON h.prefix = p.prefix
        JOIN _mv_ads a ON a.ad_key = p.ad_key
        """,
    )
    engine.table(
        "_mv_foreign",
        """
        WITH per_ad AS (
            SELECT network, ad_key, MIN(foreign_code) AS foreign_code
            FROM _mv_ad_codes WHERE foreign_code IS NOT NULL
            GROUP BY network, ad_key
        )
        SELECT network, AVG(CAST(foreign_code AS DOUBLE)) AS foreign_code_share
        FROM per_ad GROUP BY network
        """,
    )
    engine.table(
        "_mv_origin",
        """
        WITH counted AS (
            SELECT network, label, COUNT(DISTINCT ad_key) AS ads
            FROM _mv_ad_codes WHERE level <> 'country' OR abroad
            GROUP BY network, label
        ), ranked AS (
            SELECT network, label, row_number() OVER (PARTITION BY network ORDER BY ads DESC, label) AS rank
            FROM counted
        )
        SELECT network, label AS origin FROM ranked WHERE rank = 1
        """,
    )
    gap = f"GREATEST(first_t - prev_last_t, {MIN_MOVE_SECONDS})"
    engine.table(
        "_mv_legs",
        f"""
        WITH legs AS (
            SELECT unit, lat, lon, first_t,
                   LAG(lat) OVER (PARTITION BY unit ORDER BY stay_no) AS prev_lat,
                   LAG(lon) OVER (PARTITION BY unit ORDER BY stay_no) AS prev_lon,
                   LAG(last_t) OVER (PARTITION BY unit ORDER BY stay_no) AS prev_last_t
            FROM _mv_stays WHERE unit_kind = 'network'
        )
        SELECT unit AS network,
               MAX(CASE WHEN speed <= {MAX_POSSIBLE_KM_PER_DAY} THEN speed END) AS max_km_per_day
        FROM (
            SELECT unit, {_km("prev_lat", "prev_lon", "lat", "lon")} / ({gap} / 86400.0) AS speed
            FROM legs WHERE prev_last_t IS NOT NULL
        ) v
        GROUP BY unit
        """,
    )
    engine.table(
        "_mv_net_stays",
        f"""
        SELECT unit AS network, COUNT(DISTINCT place) AS places, COUNT(*) - 1 AS moves,
               {engine.median("(last_t - first_t) / 86400.0")} AS median_stay_days
        FROM _mv_stays WHERE unit_kind = 'network'
        GROUP BY unit
        """,
    )
    # The network's own circuit; where it has none (or only a simultaneous one), the most lapped
    # circuit of one of its persons: persons of an operation move together, and a person's
    # itinerary stays clean when the network's interleaves (two teams, or a linking error).
    engine.table(
        "_mv_net_circuits",
        """
        WITH own AS (
            SELECT unit AS network, circuit, laps, 0 AS rank_source
            FROM circuits WHERE unit_kind = 'network' AND NOT simultaneous
        ), members AS (
            SELECT DISTINCT network, person FROM score_links
        ), persons AS (
            SELECT m.network, c.circuit, c.laps, 1 AS rank_source
            FROM circuits c JOIN members m ON m.person = c.unit
            WHERE c.unit_kind = 'person' AND NOT c.simultaneous
        ), ranked AS (
            SELECT network, circuit, laps,
                   row_number() OVER (PARTITION BY network ORDER BY rank_source, laps DESC, circuit) AS rank
            FROM (SELECT * FROM own UNION ALL SELECT * FROM persons) AS both_sources
        )
        SELECT network, circuit, laps FROM ranked WHERE rank = 1
        """,
    )
    engine.table(
        "movement",
        """
        WITH nets AS (SELECT DISTINCT network FROM score_links)
        SELECT n.network, COALESCE(s.places, 0) AS places, COALESCE(s.moves, 0) AS moves,
               s.median_stay_days, l.max_km_per_day, f.foreign_code_share, o.origin,
               c.circuit, COALESCE(c.laps, 0.0) AS circuit_repeats
        FROM nets n
        LEFT JOIN _mv_net_stays s ON s.network = n.network
        LEFT JOIN _mv_legs l ON l.network = n.network
        LEFT JOIN _mv_foreign f ON f.network = n.network
        LEFT JOIN _mv_origin o ON o.network = n.network
        LEFT JOIN _mv_net_circuits c ON c.network = n.network
        """,
    )


def movement_steps(engine: Engine) -> int:
    """Itineraries, circuits and movement features (needs this session's link inputs)."""
    build_itineraries(engine)
    examined = build_circuits(engine)
    build_movement(engine)
    return examined


@dataclass(frozen=True, slots=True)
class MovementReport:
    networks: int
    stays: int  # network stays
    circuits: int  # networks with a circuit
    person_circuits: int
    examined: int  # networks and persons handed to detect_circuit
    seconds: float


def compute_movement(con: duckdb.DuckDBPyConnection) -> MovementReport:
    """The movement tables (temporary) on a linked store's own connection."""
    from threadline.link.steps import build_inputs
    from threadline.score.structure import scope_tables

    t0 = time.perf_counter()
    engine = DuckDBEngine(con)
    build_inputs(engine)
    scope_tables(engine)
    examined = movement_steps(engine)
    [(networks, stays, circuits, person_circuits)] = engine.query(
        """
        SELECT (SELECT COUNT(*) FROM movement),
               (SELECT COUNT(*) FROM itineraries WHERE unit_kind = 'network'),
               (SELECT COUNT(*) FROM circuits WHERE unit_kind = 'network'),
               (SELECT COUNT(*) FROM circuits WHERE unit_kind = 'person')
        """
    )
    return MovementReport(
        int(networks),
        int(stays),
        int(circuits),
        int(person_circuits),
        examined,
        round(time.perf_counter() - t0, 3),
    )
