"""What a server keeps between requests (`serve._context`)."""

from __future__ import annotations

import duckdb

from threadline.serve._context import Coordinates


def _places(con: duckdb.DuckDBPyConnection, *rows: tuple[str, float, float]) -> None:
    for value, lat, lon in rows:
        con.execute(
            "INSERT INTO extractions VALUES ('place', ?, json_object('lat', ?, 'lon', ?))", [value, lat, lon]
        )


def test_coordinates_are_read_once_and_places_not_found_are_asked_again() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE extractions (kind VARCHAR, value VARCHAR, detail JSON)")
    _places(con, ("Houston, TX, US", 29.76, -95.36), ("Dallas, TX, US", 32.78, -96.8))
    kept = Coordinates()
    assert kept.of(con, ["Houston, TX, US", "Austin, TX, US"]) == {"Houston, TX, US": (29.76, -95.36)}
    # Kept: read again, the store is not asked (its rows are gone); a place not found is asked.
    con.execute("DELETE FROM extractions WHERE value = 'Houston, TX, US'")
    _places(con, ("Austin, TX, US", 30.27, -97.74))
    assert kept.of(con, ["Houston, TX, US", "Austin, TX, US", "Dallas, TX, US"]) == {
        "Houston, TX, US": (29.76, -95.36),
        "Austin, TX, US": (30.27, -97.74),
        "Dallas, TX, US": (32.78, -96.8),
    }
    assert kept.of(con, []) == {}


def test_past_its_limit_every_kept_place_is_forgotten() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE extractions (kind VARCHAR, value VARCHAR, detail JSON)")
    _places(con, ("A", 1.0, 1.0), ("B", 2.0, 2.0), ("C", 3.0, 3.0))
    kept = Coordinates(limit=2)
    assert set(kept.of(con, ["A", "B"])) == {"A", "B"}
    con.execute("DELETE FROM extractions WHERE value = 'A'")
    assert kept.of(con, ["A"]) == {"A": (1.0, 1.0)}  # still kept
    assert kept.of(con, ["C"]) == {"C": (3.0, 3.0)}  # a third: the two kept are forgotten
    assert kept.of(con, ["A", "C"]) == {"C": (3.0, 3.0)}
