"""A network page's timeline layout and map data, from plain records."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from threadline.read import Activity, Graph, GraphNode
from threadline.read.networks import Circuit, Stay
from threadline.serve._drawings import TIMELINE_PERSONS, drawing_data, timeline


def _days(start: date, n: int, person: str, every: int = 1) -> list[Activity]:
    return [Activity(person, start + timedelta(days=i * every), 1 + i % 3) for i in range(n)]


def test_the_timeline_has_a_row_per_person_and_one_for_the_others() -> None:
    persons = [f"P{i:08d}" for i in range(TIMELINE_PERSONS + 2)]
    activity = sorted(
        (a for i, p in enumerate(persons) for a in _days(date(2026, 9, 1) + timedelta(days=i), 20, p)),
        key=lambda a: a.day,
    )
    drawn = timeline(activity, persons)
    names = [name for name, _, _ in drawn.rows]
    assert names == [*persons[:TIMELINE_PERSONS], "2 others"]
    totals = {name: ads for name, ads, _ in drawn.rows}
    assert totals["2 others"] == sum(a.ads for a in activity if a.person in persons[TIMELINE_PERSONS:])
    assert sum(totals.values()) == sum(a.ads for a in activity)
    assert drawn.bin_days == 1 and drawn.first == date(2026, 9, 1)
    assert all(drawn.left <= b.x and b.x + b.width <= drawn.width for b in drawn.bars)
    assert all(b.height > 0 and b.y + b.height <= drawn.height for b in drawn.bars)
    assert all(x <= drawn.width for x, _ in drawn.ticks) and drawn.ticks[0][1] == "2026-09-01"


def test_a_long_timeline_is_drawn_by_week_or_month() -> None:
    weekly = timeline(_days(date(2025, 1, 1), 60, "P1", every=5), ["P1"])
    monthly = timeline(_days(date(2023, 1, 1), 80, "P1", every=12), ["P1"])
    assert weekly.bin_days == 7 and monthly.bin_days == 30
    assert len(monthly.bars) <= 40 and "30 days from" in monthly.bars[0].title
    assert timeline([], ["P1"]).bars == ()


def test_the_map_counts_stays_and_moves_and_rings_the_circuit() -> None:
    at = datetime(2026, 9, 1)
    stays = tuple(
        Stay(i + 1, place, None, at + timedelta(days=i), at + timedelta(days=i, hours=5), 2)
        for i, place in enumerate(
            ["Houston, TX, US", "Dallas, TX, US", "Houston, TX, US", "Nowhere", "Dallas, TX, US"]
        )
    )
    places = {"Houston, TX, US": (29.76, -95.36), "Dallas, TX, US": (32.78, -96.81)}
    circuit = Circuit("network", "N1", "Houston, TX, US -> Dallas, TX, US", 1.5, 1, 1, 3, 0, 0, 1.0, False)
    data = drawing_data(Graph("N1", (), (), 150), stays, (circuit,), places, "N1")
    found = {p["name"]: p for p in data["map"]["places"]}
    assert found["Houston, TX, US"]["stays"] == 2 and found["Houston, TX, US"]["ads"] == 4
    assert found["Houston, TX, US"]["lat"] == 29.76
    # a stay without coordinates breaks the chain: no move is drawn through it
    assert data["map"]["moves"] == [
        {"from": "Dallas, TX, US", "to": "Houston, TX, US", "times": 1},
        {"from": "Houston, TX, US", "to": "Dallas, TX, US", "times": 1},
    ]
    assert data["map"]["unplaced"] == 1
    assert data["map"]["circuit"] == ["Dallas, TX, US", "Houston, TX, US"]
    assert data["graph"]["nodes"] == [] and data["graph"]["cap"] == 150


def test_the_timeline_ends_on_the_last_day() -> None:
    drawn = timeline(_days(date(2026, 9, 1), 10, "P1"), ["P1"])
    assert drawn.ticks[0][1] == "2026-09-01" and drawn.ticks[-1][1] == "2026-09-10"
    assert drawn.last == date(2026, 9, 10)
    assert max(b.x + b.width for b in drawn.bars) <= drawn.ticks[-1][0]


def _stays(*places: str) -> list[Stay]:
    at = datetime(2026, 9, 1)
    return [
        Stay(i + 1, place, None, at + timedelta(days=3 * i), at + timedelta(days=3 * i + 1), 1)
        for i, place in enumerate(places)
    ]


def test_each_person_in_two_places_or_more_has_a_route_of_its_own() -> None:
    places = {
        "Houston, TX, US": (29.76, -95.36),
        "Dallas, TX, US": (32.78, -96.81),
        "Austin, TX, US": (30.27, -97.74),
    }
    h, d, a = places
    persons = {
        "P1": _stays(h, d, a, h, d, a, h),  # a circuit
        "P2": _stays(d, "Nowhere", h),  # a place without coordinates: the route goes on past it
        "P3": _stays(a, a),  # one place: no route
        "P4": _stays("Nowhere", a),  # one place the map can draw: no route
    }
    graph = Graph("N1", (GraphNode("P2", "person", "P2", 3), GraphNode("P1", "person", "P1", 7)), (), 150)
    circuit = Circuit("person", "P1", f"{h} -> {d} -> {a}", 2.0, 2, 1, 7, 0, 0, 3.0, False)
    ring = Circuit("person", "P2", f"{d} -> {h}", 1.0, 1, 1, 3, 0, 0, 3.0, True)  # in two places at once
    data = drawing_data(graph, tuple(_stays(h, d)), (circuit, ring), places, "N1", persons)
    routes = data["map"]["routes"]
    # the graph's order first (largest first there), then the persons it did not draw
    assert [r["person"] for r in routes] == ["P2", "P1"]
    p2, p1 = routes
    assert p2["moves"] == [{"from": d, "to": h, "times": 1, "circuit": False}]
    assert p2["circuit"] is None and p2["unplaced"] == 1 and p2["path"] == f"{d} → {h}"
    assert {(m["from"], m["to"]): m["times"] for m in p1["moves"]} == {(h, d): 2, (d, a): 2, (a, h): 2}
    assert all(m["circuit"] for m in p1["moves"]) and p1["circuit"] == circuit.circuit and p1["laps"] == 2.0
    assert len({(r["colour"], r["dash"]) for r in routes}) == 2
    # every place of a route is on the map, the network's itinerary or not
    assert {p["name"] for p in data["map"]["places"]} == {h, d, a}


def test_routes_differ_by_colour_then_by_dash() -> None:
    places = {"A": (10.0, 10.0), "B": (11.0, 11.0)}
    persons = {f"P{i:02d}": _stays("A", "B") for i in range(30)}
    data = drawing_data(Graph("N1", (), (), 150), (), (), places, "N1", persons)
    looks = [(r["colour"], r["dash"]) for r in data["map"]["routes"]]
    assert len(looks) == 30 and len(set(looks[:24])) == 24


def test_a_graph_node_opens_its_page() -> None:
    from threadline.serve._drawings import node_href

    assert node_href({"id": "P12", "kind": "person"}) == "/search?q=P12"
    assert node_href({"id": "phone:+17135550142", "kind": "phone"}) == "/search?q=%2B17135550142"
    assert node_href({"id": "image:ab", "kind": "image", "ad": "site:a/1 b"}) == "/ads/site/a%2F1%20b"
    assert node_href({"id": "image:ab", "kind": "image", "ad": ""}) == ""
