"""A network page's drawings: the data its static script draws (the graph, the map) and the
timeline of posting activity, laid out here and drawn by the template as SVG (no script needed).

The page's script reads the graph and the map from a ``<script type="application/json">`` block
(the CSP runs no inline script; a JSON block is data, never run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote, urlencode

from threadline.read.graph import Activity, Graph, graph_json
from threadline.read.networks import Circuit, Stay

__all__ = [
    "ROUTE_COLOURS",
    "ROUTE_DASHES",
    "TIMELINE_PERSONS",
    "Timeline",
    "drawing_data",
    "node_href",
    "timeline",
]

TIMELINE_PERSONS = 12  # rows of the timeline; the other persons' ads share one last row
_WIDTH = 760  # the timeline's drawing width (the SVG scales to its box)
_LEFT = 118  # room for the row's name
_ROW = 26


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # what a hover or a screen reader says


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    left: int
    rows: tuple[tuple[str, int, float], ...]  # (row name, ads, y of its baseline)
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (x, date) along the bottom
    bin_days: int  # days per bar
    first: date | None
    last: date | None


def timeline(activity: list[Activity], persons: list[str]) -> Timeline:
    """Ads per person per bin of days (1, 7 or 30 days: about 100 bins at most), one row per
    person in ``persons``' order (the first `TIMELINE_PERSONS`; the rest share a row)."""
    shown = persons[:TIMELINE_PERSONS]
    others = len(persons) - len(shown)
    names = [*shown, f"{others} others"] if others else shown
    row_of = {p: i for i, p in enumerate(shown)}
    if not activity:
        return Timeline(_WIDTH, 40, _LEFT, (), (), (), 1, None, None)
    first, last = activity[0].day, max(a.day for a in activity)
    span = (last - first).days + 1
    bin_days = 1 if span <= 100 else 7 if span <= 700 else 30
    bins = (span - 1) // bin_days + 1
    step = (_WIDTH - _LEFT - 8) / bins
    counts: dict[tuple[int, int], int] = {}
    totals = [0] * len(names)
    for a in activity:
        row = row_of.get(a.person, len(shown))
        b = (a.day - first).days // bin_days
        counts[(row, b)] = counts.get((row, b), 0) + a.ads
        totals[row] += a.ads
    peak = max(counts.values())
    bars = []
    for (row, b), n in sorted(counts.items()):
        height = max(2.0, (_ROW - 4) * n / peak)
        base = 6 + (row + 1) * _ROW
        start = first + timedelta(days=b * bin_days)
        when = start.isoformat() if bin_days == 1 else f"{bin_days} days from {start.isoformat()}"
        bars.append(
            Bar(
                round(_LEFT + b * step, 1),
                round(base - height, 1),
                round(max(1.0, step - 1), 1),
                round(height, 1),
                f"{names[row]}: {n} ad{'' if n == 1 else 's'}, {when}",
            )
        )
    bottom = 6 + len(names) * _ROW
    # Five dates at most (room for each); the last one ends where the last bar does.
    ticks = []
    count = min(5, bins)
    for i in range(count):
        b = round(i * (bins - 1) / max(1, count - 1))
        x = _LEFT + (b + 1) * step if i and i == count - 1 else _LEFT + b * step
        ticks.append((round(x, 1), (first + timedelta(days=b * bin_days)).isoformat()))
    rows = tuple((name, totals[i], 6 + (i + 1) * _ROW) for i, name in enumerate(names))
    return Timeline(_WIDTH, bottom + 22, _LEFT, rows, tuple(bars), tuple(ticks), bin_days, first, last)


def node_href(node: dict[str, Any]) -> str:
    """Where a graph node opens (Enter on it, or its link in the graph's list): a person, a
    phone, an e-mail or a handle in search (a person's ads, the ads carrying the value); a photo
    in the network's first ad that shows it ("" if none is known)."""
    kind, value = node["kind"], node["id"].partition(":")[2]
    if kind == "image":
        source, _, ad_id = str(node.get("ad") or "").partition(":")
        return f"/ads/{quote(source, safe='')}/{quote(ad_id, safe='')}" if ad_id else ""
    return "/search?" + urlencode({"q": node["id"] if kind == "person" else value})


# Each person's route on the map: a colour, then (past the colours) a dash, so that up to
# 24 routes differ; the legend names each. Dark enough to read on the map's pale land and sea.
ROUTE_COLOURS = ("#c2332b", "#1f5fa8", "#2e7d32", "#7b4fb0", "#b35c00", "#00796b", "#a3367a", "#4e5964")
ROUTE_DASHES = ("", "8 4", "2 3")
_ROUTE_STAYS = 6  # stays a legend names in a row; the rest counted


def _person_route(
    index: int,
    person: str,
    stays: list[Stay],
    places: dict[str, tuple[float, float]],
    circuit: Circuit | None,
) -> dict[str, Any] | None:
    """One person's route: its moves between the places it stayed in (places without coordinates
    left out, the route going on from the last placed stay), its circuit's moves marked; None
    for a person in fewer than two places the map can draw."""
    placed = [stay.place for stay in stays if stay.place in places]
    if len(set(placed)) < 2:
        return None
    moves: dict[tuple[str, str], int] = {}
    for a, b in pairwise(placed):
        if a != b:
            moves[(a, b)] = moves.get((a, b), 0) + 1
    legs: set[tuple[str, str]] = set()
    if circuit is not None:
        ring = [p.strip() for p in circuit.circuit.split("->")]
        legs = {(a, b) for a, b in pairwise([*ring, ring[0]]) if a != b}
    path = [placed[0], *[b for a, b in pairwise(placed) if a != b]]
    shown = " → ".join(path[:_ROUTE_STAYS]) + (f" … ({len(path)} stays)" if len(path) > _ROUTE_STAYS else "")
    return {
        "person": person,
        "colour": ROUTE_COLOURS[index % len(ROUTE_COLOURS)],
        "dash": ROUTE_DASHES[(index // len(ROUTE_COLOURS)) % len(ROUTE_DASHES)],
        "moves": [
            {"from": a, "to": b, "times": n, "circuit": (a, b) in legs} for (a, b), n in sorted(moves.items())
        ],
        "path": shown,
        "circuit": circuit.circuit if circuit is not None else None,
        "laps": round(circuit.laps, 1) if circuit is not None else None,
        "unplaced": sum(1 for stay in stays if stay.place not in places),
    }


def drawing_data(
    graph: Graph,
    itinerary: tuple[Stay, ...],
    circuits: tuple[Circuit, ...],
    places: dict[str, tuple[float, float]],
    network: str,
    person_stays: dict[str, list[Stay]] | None = None,
) -> dict[str, Any]:
    """What the page's script draws: the graph's elements, and the map's places (where, how many
    stays and ads), each person's route between them (its own colour and dash, its circuit's
    moves marked; persons in the graph's order, largest first) and the network's circuit
    places."""
    seen: dict[str, dict[str, Any]] = {}
    moves: dict[tuple[str, str], int] = {}
    previous = None
    for stay in itinerary:
        at = places.get(stay.place)
        if at is None:
            previous = None
            continue
        place = seen.setdefault(
            stay.place, {"name": stay.place, "lat": at[0], "lon": at[1], "stays": 0, "ads": 0}
        )
        place["stays"] += 1
        place["ads"] += stay.ads
        if previous is not None and previous != stay.place:
            moves[(previous, stay.place)] = moves.get((previous, stay.place), 0) + 1
        previous = stay.place
    own = [c for c in circuits if c.unit_kind == "network" and c.unit == network and not c.simultaneous]
    circuit_places = sorted({p.strip() for c in own for p in c.circuit.split("->")})
    # A person's places the network's itinerary missed (it is the network's, stay by stay) are
    # still its places on the map.
    stays_of = person_stays or {}
    for stays in stays_of.values():
        for stay in stays:
            at = places.get(stay.place)
            if at is not None and stay.place not in seen:
                seen[stay.place] = {"name": stay.place, "lat": at[0], "lon": at[1], "stays": 0, "ads": 0}
    circuit_of: dict[str, Circuit] = {}
    for c in circuits:  # most laps first: a person's first is its circuit
        if c.unit_kind == "person" and not c.simultaneous:
            circuit_of.setdefault(c.unit, c)
    order = [n.id for n in graph.nodes if n.kind == "person"]
    order += sorted(set(stays_of) - set(order))
    routes: list[dict[str, Any]] = []
    for person in order:
        route = _person_route(len(routes), person, stays_of.get(person, []), places, circuit_of.get(person))
        if route is not None:
            routes.append(route)
    drawn = graph_json(graph)
    for node in drawn["nodes"]:
        node["data"]["href"] = node_href(node["data"])
    return {
        "graph": drawn,
        "map": {
            "places": list(seen.values()),
            "moves": [{"from": a, "to": b, "times": n} for (a, b), n in sorted(moves.items())],
            "routes": routes,
            "circuit": circuit_places,
            "unplaced": sum(1 for s in itinerary if s.place not in places),
        },
    }
