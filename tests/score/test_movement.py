"""Movement: itineraries (gaps and islands), circuits, foreign area codes and origins."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_link import ingest_and_link, phone, write_ads

from threadline.engine import sql_literal
from threadline.link import DuckDBEngine
from threadline.score.movement import (
    Circuit,
    build_circuits,
    build_itineraries,
    compute_movement,
    detect_circuit,
    phone_home,
)

T0 = datetime(2026, 8, 1, 10, 0)


def posts(
    prefix: str,
    stops: list[tuple[str, int]],
    *,
    number: str,
    names: tuple[str, ...] = ("Mia",),
    start: datetime = T0,
    every: timedelta = timedelta(hours=12),
) -> list[dict[str, Any]]:
    """Ads of one advertiser (or operation, with several names) moving through ``stops``:
    (location, ads there), one ad every ``every``, names taking turns."""
    ads = []
    t = start
    k = 0
    for location, count in stops:
        for _ in range(count):
            name = names[k % len(names)]
            ads.append(
                {
                    "id": f"{prefix}-{k}",
                    "source": "site",
                    "posted_at": t.isoformat() + "Z",
                    "title": f"{name} available",
                    "body": f"Hi, I'm {name}. Call {number}.",
                    "location": location,
                }
            )
            t += every
            k += 1
    return ads


def movement_store(tmp_path: Path, ads: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    store = ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads))
    compute_movement(store.connection)
    return store.connection


def stays(con: duckdb.DuckDBPyConnection, unit_kind: str, ad_id: str) -> list[tuple[Any, ...]]:
    column = "network" if unit_kind == "network" else "person"
    return con.execute(
        f"""
        SELECT i.stay_no, i.place, i.country, i.first_seen, i.last_seen, i.ads
        FROM itineraries i
        WHERE i.unit_kind = ? AND i.unit = (SELECT {column} FROM ad_links WHERE id = ?)
        ORDER BY i.stay_no
        """,
        [unit_kind, ad_id],
    ).fetchall()


def movement_of(con: duckdb.DuckDBPyConnection, ad_id: str) -> dict[str, Any]:
    cur = con.execute(
        "SELECT * FROM movement WHERE network = (SELECT network FROM ad_links WHERE id = ?)", [ad_id]
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


# --- itineraries ------------------------------------------------------------------------------


def test_itinerary_of_an_operation_that_returns_to_a_city(tmp_path: Path) -> None:
    # Two persons under one controller's phone: Houston, Dallas, Austin, then Houston again.
    op = posts(
        "op",
        [("Houston, TX", 3), ("Dallas, TX", 2), ("Austin", 2), ("Houston Texas", 2)],
        number=phone(42, 832),
        names=("Mia", "Ruby"),
    )
    alone = posts("ind", [("Miami, FL", 3)], number=phone(7, 305))
    con = movement_store(tmp_path, op + alone)
    got = stays(con, "network", "op-0")
    assert [(s[0], s[1], s[2], s[5]) for s in got] == [
        (1, "Houston, TX, US", "US", 3),
        (2, "Dallas, TX, US", "US", 2),
        (3, "Austin, TX, US", "US", 2),
        (4, "Houston, TX, US", "US", 2),  # a return is a new stay, not more of the first
    ]
    assert got[0][3] == T0 and got[0][4] == T0 + timedelta(hours=24)
    assert got[3][3] == T0 + timedelta(hours=12 * 7) and got[3][4] == T0 + timedelta(hours=12 * 8)
    # Each person's own itinerary: Mia posted ads 0, 2, 4, 6, 8; Ruby 1, 3, 5, 7.
    mia = stays(con, "person", "op-0")
    assert [(s[1], s[5]) for s in mia] == [
        ("Houston, TX, US", 2),
        ("Dallas, TX, US", 1),
        ("Austin, TX, US", 1),
        ("Houston, TX, US", 1),
    ]
    ruby = stays(con, "person", "op-1")
    assert [s[1] for s in ruby] == ["Houston, TX, US", "Dallas, TX, US", "Austin, TX, US", "Houston, TX, US"]
    assert [(s[1], s[5]) for s in stays(con, "network", "ind-0")] == [("Miami, FL, US", 3)]
    m = movement_of(con, "op-0")
    assert (m["places"], m["moves"]) == (3, 3)
    assert m["circuit"] is None  # a tour back to the start is not yet a circuit
    assert m["circuit_repeats"] == 0
    assert m["median_stay_days"] == pytest.approx(0.5)  # stays of 1.0, 0.5, 0.5, 0.5 days
    # Houston -> Dallas is ~360 km, done in 12 hours: ~720 km a day, the fastest of the moves.
    assert m["max_km_per_day"] == pytest.approx(2 * 362, rel=0.05)
    ind = movement_of(con, "ind-0")
    assert (ind["places"], ind["moves"], ind["max_km_per_day"]) == (1, 0, None)


def test_unordered_input_and_interleaved_returns_are_islands_by_time(tmp_path: Path) -> None:
    ads = posts(
        "op",
        [("Houston, TX", 2), ("Dallas, TX", 1), ("Houston, TX", 1), ("Dallas, TX", 2)],
        number=phone(3),
        every=timedelta(days=1),
    )
    con = movement_store(tmp_path, list(reversed(ads)))  # ingest order must not matter
    assert [(s[1], s[5]) for s in stays(con, "network", "op-0")] == [
        ("Houston, TX, US", 2),
        ("Dallas, TX, US", 1),
        ("Houston, TX, US", 1),
        ("Dallas, TX, US", 2),
    ]
    m = movement_of(con, "op-0")
    assert m["circuit"] == "Houston, TX, US -> Dallas, TX, US"  # A B A B: a circuit of two
    assert m["circuit_repeats"] == 2.0


def test_two_places_at_once_is_no_circuit(tmp_path: Path) -> None:
    # One network whose ads alternate between Houston and Miami every few hours: two teams (or
    # two advertisers linked by mistake), not a unit travelling 1,550 km back and forth.
    ads = posts(
        "op",
        [("Houston, TX", 1), ("Miami, FL", 1)] * 4,
        number=phone(5, 832),
        every=timedelta(hours=5),
    )
    con = movement_store(tmp_path, ads)
    network = con.execute("SELECT network FROM ad_links WHERE id = 'op-0'").fetchone()
    assert network is not None
    row = con.execute(
        "SELECT circuit, laps, median_dwell_days, simultaneous FROM circuits WHERE unit = ?", network
    ).fetchone()
    assert row == ("Houston, TX, US -> Miami, FL, US", 4.0, pytest.approx(5 / 24), True)
    m = movement_of(con, "op-0")
    assert (m["circuit"], m["circuit_repeats"]) == (None, 0.0)
    assert m["max_km_per_day"] > 5000  # what also gives it away


def test_a_move_faster_than_an_airliner_is_no_speed_at_all(tmp_path: Path) -> None:
    # Houston and Seattle (3,000 km) an hour apart, back and forth: two advertisers joined by a
    # linking error, not someone flying at 72,000 km a day. No speed is reported for it.
    ads = posts(
        "op", [("Houston, TX", 1), ("Seattle, WA", 1)] * 2, number=phone(6, 832), every=timedelta(hours=1)
    )
    con = movement_store(tmp_path, ads)
    assert movement_of(con, "op-0")["max_km_per_day"] is None
    # Two days apart the same moves are possible (1,500 km a day) and count.
    ads = posts(
        "op", [("Houston, TX", 1), ("Seattle, WA", 1)] * 2, number=phone(6, 832), every=timedelta(days=2)
    )
    (tmp_path / "slow").mkdir()
    con = movement_store(tmp_path / "slow", ads)
    assert 1000 < movement_of(con, "op-0")["max_km_per_day"] < 2000


def test_location_field_wins_over_the_text_and_the_text_fills_in(tmp_path: Path) -> None:
    number = phone(9)
    ads = [
        # The location field says Houston; the text names the next stop. Houston wins.
        {"id": "a", "source": "site", "posted_at": "2026-08-01T10:00:00Z", "location": "Houston, TX",
         "body": f"Mia here. Leaving soon, next week in Dallas. Call {number}."},
        # No location field: the one city the text names is the place.
        {"id": "b", "source": "site", "posted_at": "2026-08-02T10:00:00Z",
         "body": f"Mia, new in Austin this week. Call {number}."},
        # No location field and two cities named: no place, left out of the itinerary.
        {"id": "c", "source": "site", "posted_at": "2026-08-03T10:00:00Z",
         "body": f"Mia. In Dallas today, tomorrow in Houston. Call {number}."},
        # No posting time: the capture time stands in.
        {"id": "d", "source": "site", "captured_at": "2026-08-04T10:00:00Z", "location": "Austin, TX",
         "body": f"Mia. Call {number}."},
    ]  # fmt: skip
    con = movement_store(tmp_path, ads)
    got = stays(con, "network", "a")
    assert [(s[1], s[5]) for s in got] == [("Houston, TX, US", 1), ("Austin, TX, US", 2)]
    assert got[1][4] == datetime(2026, 8, 4, 10, 0)


# --- circuits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("places", "cycle", "laps", "missed"),
    [
        ("HDAHDA", "HDA", 2.0, 0),  # clean repeat
        ("HDAHDAHD", "HDA", 8 / 3, 0),  # partial last lap
        ("HDAHDAH", "HDA", 7 / 3, 0),
        ("HDAHAHDA", "HDA", 3.0, 1),  # Dallas missing from the second lap
        ("XHDAHDAHY", "HDA", 7 / 3, 0),  # before and after the circuit: not part of it
        ("DAHDAHD", "DAH", 7 / 3, 0),  # it starts where the data starts
        ("ABAB", "AB", 2.0, 0),  # a circuit of two places
        ("ABABABA", "AB", 3.5, 0),
        ("HDAHD", "HDA", 5 / 3, 0),  # back at the start and the same road again
    ],
)
def test_circuits(places: str, cycle: str, laps: float, missed: int) -> None:
    got = detect_circuit(list(places))
    assert got is not None
    assert "".join(got.cycle) == cycle
    assert got.laps == pytest.approx(laps, abs=1e-3)
    assert got.full_laps == int(laps + 1e-9)
    assert got.missed == missed
    assert places[got.start] == got.cycle[0]
    assert [places[i] for i in got.lap_at] == list(got.cycle)


@pytest.mark.parametrize(
    "places",
    [
        "",
        "H",
        "HHHH",  # a single city
        "HD",
        "HDH",  # a trip and back
        "HDAH",  # a tour ending where it began
        "HDASPM",  # never back anywhere
        "HDHAHSH",  # a home base with trips elsewhere (hub and spokes)
        "ABCDBADCA",  # places revisited in no fixed order
    ],
)
def test_no_circuit(places: str) -> None:
    assert detect_circuit(list(places)) is None


def test_consecutive_repeats_are_one_stay_and_indices_refer_to_the_input() -> None:
    got = detect_circuit(["X", "H", "H", "D", "A", "A", "H", "D", "D", "A"])
    assert got is not None
    assert got.cycle == ("H", "D", "A")
    assert (got.start, got.end) == (1, 9)
    assert got.laps == 2.0


def test_one_detour_per_lap_is_tolerated_but_a_mess_is_not() -> None:
    got = detect_circuit(list("HDAHDXAHDA"))  # a detour to X in the second lap
    assert got is not None and got.cycle == ("H", "D", "A") and got.extra == 1
    # Two off-cycle stays in a row end it: the later lap is not part of this circuit.
    got = detect_circuit(list("HDAHDAXYHDA"))
    assert got is not None and got.cycle == ("H", "D", "A") and (got.end, got.laps) == (5, 2.0)


def test_a_long_itinerary_is_fast() -> None:
    import random
    import time

    rng = random.Random(1)
    noise = [rng.choice("ABCDEFGHIJKLMNOP") for _ in range(3000)]
    t = time.perf_counter()
    detect_circuit(noise)
    detect_circuit(list("ABCDEF") * 500)
    assert time.perf_counter() - t < 5


places_alphabet = st.sampled_from(["Houston", "Dallas", "Austin", "Miami", "Tampa", "Reno", "Ohio"])


@settings(max_examples=300, deadline=None)
@given(st.lists(places_alphabet, max_size=40))
def test_detect_circuit_never_crashes_and_its_cycle_is_in_the_input(places: list[str]) -> None:
    got = detect_circuit(places)
    if got is None:
        return
    assert isinstance(got, Circuit)
    size = len(got.cycle)
    assert 2 <= size == len(set(got.cycle))
    assert 0 <= got.start <= got.end < len(places)
    assert places[got.start] == got.cycle[0]
    assert got.laps >= (size + 2) / size - 1e-3
    # The cycle, up to rotation, was seen as a run of consecutive stays of the input...
    collapsed = [p for i, p in enumerate(places) if i == 0 or places[i - 1] != p]
    rotations = {got.cycle[r:] + got.cycle[:r] for r in range(size)}
    runs = {tuple(collapsed[i : i + size]) for i in range(len(collapsed) - size + 1)}
    assert rotations & runs
    # ... and lap_at shows where.
    assert [places[i] for i in got.lap_at] == list(got.cycle)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(places_alphabet, min_size=2, max_size=7, unique=True),
    st.integers(2, 5),
    st.integers(0, 6),
    st.integers(0, 6),
)
def test_a_repeated_cycle_is_found(cycle: list[str], k: int, tail: int, rotate: int) -> None:
    shift = rotate % len(cycle)
    cycle = cycle[shift:] + cycle[:shift]  # (the same cycle, from anywhere in its lap)
    places = cycle * k + cycle[: tail % len(cycle)]
    got = detect_circuit(places)
    assert got is not None
    assert got.cycle in {tuple(cycle[r:] + cycle[:r]) for r in range(len(cycle))}
    assert got.laps == pytest.approx(len(places) / len(cycle), abs=1e-3)
    assert (got.start, got.end) == (0, len(places) - 1)
    assert got.missed == got.extra == 0


def test_circuits_through_the_engine_in_batches(tmp_path: Path) -> None:
    route = [("Houston, TX", 2), ("Dallas, TX", 2), ("Austin, TX", 2)]
    every = timedelta(hours=18)
    ads = posts(
        "op", route * 2 + [("Houston, TX", 1)], number=phone(11, 832), names=("Mia", "Ruby"), every=every
    )
    ads += posts(
        "ind", [("Miami, FL", 2), ("Tampa, FL", 1), ("Miami, FL", 2)], number=phone(12, 305), every=every
    )
    store = ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads))
    con = store.connection
    compute_movement(con)
    query = "SELECT * FROM circuits ORDER BY unit_kind, unit"
    whole = con.execute(query).fetchall()
    engine = DuckDBEngine(con)
    build_itineraries(engine)
    build_circuits(engine, batch=1)  # one unit per query: the same result
    cur = con.execute(query)
    assert cur.fetchall() == whole
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, row, strict=True)) for row in whole]
    [network] = [r for r in rows if r["unit_kind"] == "network"]
    assert network["unit"] == movement_of(con, "op-0")["network"]
    assert network["circuit"] == "Houston, TX, US -> Dallas, TX, US -> Austin, TX, US"
    assert (network["cycle_len"], network["full_laps"], network["missed"], network["extra"]) == (3, 2, 0, 0)
    assert network["laps"] == pytest.approx(7 / 3, abs=1e-3)
    assert (network["start_stay"], network["end_stay"]) == (1, 7)  # first and last stay on it
    assert network["median_dwell_days"] == pytest.approx(1.5) and not network["simultaneous"]
    # Both persons went round too; the independent's trip and return is no circuit.
    assert len([r for r in rows if r["unit_kind"] == "person"]) == 2
    m = movement_of(con, "op-0")
    assert m["circuit"] == network["circuit"] and m["circuit_repeats"] == pytest.approx(7 / 3, abs=1e-3)
    assert movement_of(con, "ind-0")["circuit"] is None


def test_literals_survive_quotes() -> None:
    con = duckdb.connect()
    for text in ["St. John's, NL, CA", "back\\slash", "plain", "''", "'"]:
        assert con.execute(f"SELECT {sql_literal(text)}").fetchone() == (text,)
    assert con.execute(f"SELECT {sql_literal(None)}, {sql_literal(2)}, {sql_literal(1.5)}").fetchone() == (
        None,
        2,
        1.5,
    )


# --- phones: foreign area codes and origin ------------------------------------------------------


def test_phone_homes() -> None:
    tx = phone_home("+17135550142")
    assert tx is not None and (tx.level, tx.region, tx.label) == ("region", "TX", "TX, US")
    ny = phone_home("+12125550100")  # the geocoder names the city: New York, NY
    assert ny is not None and ny.level == "city" and ny.label == "NY, US" and ny.lat is not None
    london = phone_home("+442079460123")
    assert london is not None and london.level == "city" and london.label == "London, ENG, GB"
    toll_free = phone_home("+18005550199")
    assert toll_free is not None and (toll_free.level, toll_free.label) == ("country", "US")
    ontario = phone_home("+14165550100")  # a province, not Ontario, California
    assert ontario is not None and (ontario.country, ontario.region) == ("CA", "ON")
    assert phone_home("+999") is None


def test_foreign_area_codes_and_origin(tmp_path: Path) -> None:
    # An operation from New York (212) working Texas; two ads show a local Houston number too.
    op = posts("op", [("Houston, TX", 4), ("Dallas, TX", 4)], number=phone(20, 212), names=("Mia", "Ruby"))
    for ad in op[:2]:
        ad["body"] += f" Or text {phone(21, 713)}."
    # A local independent; a Londoner in Manchester and one at home; a toll-free number only.
    local = posts("local", [("Houston, TX", 3)], number=phone(22, 713))
    away = posts("uk", [("Manchester, UK", 2)], number="020 7946 0123")
    home = posts("ldn", [("London, UK", 2)], number="020 7946 0456")
    free = posts("free", [("Austin, TX", 2)], number=phone(23, 888))
    con = movement_store(tmp_path, op + local + away + home + free)
    m = movement_of(con, "op-0")
    assert m["foreign_code_share"] == pytest.approx(6 / 8)  # the ads with a local number are local
    assert m["origin"] == "NY, US"
    loc = movement_of(con, "local-0")
    assert (loc["foreign_code_share"], loc["origin"]) == (0.0, "TX, US")
    uk = movement_of(con, "uk-0")
    assert (uk["foreign_code_share"], uk["origin"]) == (1.0, "London, ENG, GB")  # 260 km away
    assert movement_of(con, "ldn-0")["foreign_code_share"] == 0.0
    toll = movement_of(con, "free-0")  # a toll-free number has no home region: no reading
    assert (toll["foreign_code_share"], toll["origin"]) == (None, None)


def test_a_prefix_is_geocoded_once_and_its_home_kept_in_the_store(tmp_path: Path) -> None:
    op = posts("op", [("Houston, TX", 3)], number=phone(20, 212))
    free = posts("free", [("Austin, TX", 2)], number=phone(23, 888))
    con = movement_store(tmp_path, op + free)
    kept = con.execute("SELECT prefix, level, label FROM phone_homes ORDER BY prefix").fetchall()
    assert kept == [("+1212555", "city", "NY, US"), ("+1888555", "country", "US")]
    assert movement_of(con, "op-0")["origin"] == "NY, US"
    # What the store keeps is what the next run reads (no second geocoding): a home changed in the
    # store changes the origin.
    con.execute("UPDATE phone_homes SET region = 'FL', label = 'FL, US' WHERE prefix = '+1212555'")
    compute_movement(con)
    assert movement_of(con, "op-0")["origin"] == "FL, US"
    # A prefix the geocoder places in no country is kept as such, and still gives no home.
    con.execute("UPDATE phone_homes SET country = NULL WHERE prefix = '+1212555'")
    compute_movement(con)
    assert movement_of(con, "op-0")["origin"] is None
    assert con.execute("SELECT COUNT(*) FROM phone_homes").fetchone() == (2,)


def test_origin_ties_are_alphabetical_and_hub_numbers_do_not_count(tmp_path: Path) -> None:
    # Florida on two ads, Nevada on two, both on the fifth (which joins them): a tie.
    ads = posts("op", [("Houston, TX", 5)], number=phone(30, 305))
    for ad in ads[2:4]:
        ad["body"] = ad["body"].replace(phone(30, 305), phone(31, 702))
    ads[4]["body"] += f" Or {phone(31, 702)}."
    # Many independents whose site footer shows a Nevada support number: a hub, not theirs.
    footer = f"Site support {phone(50, 702)}."
    for i in range(30):
        for ad in posts(f"ind{i}", [("Houston, TX", 1)], number=phone(i, 713), names=(f"N{i}",)):
            ad["body"] += " " + footer
            ads.append(ad)
    con = movement_store(tmp_path, ads)
    assert movement_of(con, "op-0")["origin"] == "FL, US"
    hub = "SELECT bool_or(is_hub) FROM link_hubs WHERE kind = 'phone' AND value LIKE '+17025550150%'"
    assert con.execute(hub).fetchone() == (True,)  # (per number, or per tenure of it)
    ind = movement_of(con, "ind0-0")
    assert (ind["foreign_code_share"], ind["origin"]) == (0.0, "TX, US")
