"""A network drawn: its graph (persons and what their ads carry, every edge with its reason), its
posting activity per person over time, and where its places are.

Nothing is linked again here: the graph is read from what linking saved (``link_evidence``,
``link_hubs`` through `networks.network_hubs`, the network's values), so every edge says the
reason linking had. A person is one node however many ads it posted (a network can hold hundreds
of ads: they are counted on their person, not drawn). An identifier linking does not trust (a hub)
is drawn as a leaf and flagged: it is where a network would be glued to strangers, so it is shown
and never followed to the other networks that carry it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import duckdb

from threadline.link.lineage import resolve
from threadline.read.networks import NetworkView, _values, network_hubs, network_persons
from threadline.refs import format_ref

__all__ = [
    "DEFAULT_GRAPH_CAP",
    "Activity",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "graph_json",
    "network_activity",
    "network_graph",
    "place_coordinates",
]

DEFAULT_GRAPH_CAP = 150  # nodes drawn: beyond that a browser's layout is slow and nobody reads it
_IDENTIFIER_KINDS = ("phone", "email", "handle", "image")


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str  # a person's id, else "kind:value"
    kind: str  # person, phone, email, handle, image
    label: str  # short, for the drawing
    ads: int  # the network's ads it is in (a person: its ads)
    hub: bool = False  # an identifier linking does not trust: drawn, not followed
    detail: str = ""  # the longer description (names of a person; why a hub is one)
    hidden: str | None = None  # a photo hidden, and why (`threadline.store.hashlists`)
    ad: str = ""  # a photo: the network's first ad that shows it (SOURCE:ID), where it is opened


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    kind: str  # phone, email, handle, image (a person's ads carry it), similar_image, text, analyst_merge
    reason: str  # why the edge exists, as an analyst reads it
    label: str  # the reason, short, for the drawing
    hub: bool = False  # to a hub: shown, but linking did not use it


@dataclass(frozen=True, slots=True)
class Graph:
    network: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    cap: int
    left_out: dict[str, int] = field(default_factory=dict)  # nodes not drawn, by kind
    edges_left_out: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    """Ads a person posted (posted, else captured) on one day."""

    person: str
    day: date
    ads: int


def _short(kind: str, value: str) -> str:
    if kind == "image":
        return "photo " + value[:8]
    return value if len(value) <= 28 else value[:27] + "…"


def network_graph(
    con: duckdb.DuckDBPyConnection,
    network: str,
    cap: int = DEFAULT_GRAPH_CAP,
    *,
    view: NetworkView | None = None,
) -> Graph | None:
    """The graph of ``network`` (an id merged away or split names the group it went to, as in
    `networks.network`), at most ``cap`` nodes: persons first (largest first), then the phones,
    e-mails and handles that link, then their hubs, then the other phones, e-mails and handles,
    then photos (hubs, linking ones, the rest; most ads first within each). ``left_out`` counts
    by kind what did not fit. ``view``: the network's view read already (its persons and hubs
    are not read again). None: no such network."""
    if cap < 1:
        raise ValueError("cap must be at least 1")
    if view is not None:  # read already: its persons and hubs are the graph's
        network = view.network
    else:
        network, _ = resolve(con, "network", network.strip().upper())
    values = _values(con, network)
    persons = (
        [(p, n, list(names)) for p, n, names in view.persons]
        if view is not None
        else network_persons(con, network, values=values)
    )
    if not persons:
        return None
    relation, params = values
    carried = con.execute(
        f"""
        SELECT person, kind, value, SUM(ads) FROM ({relation}) AS v
        WHERE kind IN ('phone', 'email', 'handle', 'image') GROUP BY ALL
        """,
        params,
    ).fetchall()
    evidence = con.execute(
        "SELECT kind, value, ads, detail FROM link_evidence WHERE network = ? ORDER BY kind, value", [network]
    ).fetchall()
    hub_rows = view.hubs if view is not None else network_hubs(con, network, values=values)
    hubs = {(k, v.split(" ")[0]): (v, n, co, by) for k, v, n, co, by in hub_rows}

    # What links, by identifier: a phone's tenures ("+1… from 2026-08-01"), else the value itself.
    linking: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    cuts: dict[tuple[str, str], str] = {}
    for kind, value, n, detail in evidence:
        if kind in _IDENTIFIER_KINDS:
            plain, _, tenure = value.partition(" from ")
            linking[(kind, plain)].append((tenure, int(n)))
        elif kind == "analyst_cut" and detail:
            cut_kind, _, cut_value = value.partition(" ")
            cuts[(cut_kind, cut_value.split(" ")[0])] = detail

    # Nodes: persons, then identifiers ranked (linking ones, then hubs, then the rest; most ads first).
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for _, kind, value, n in carried:
        totals[(kind, value)] += int(n)
    pair_edges, within = _pairs(con, network, evidence)
    person_nodes = [
        GraphNode(p, "person", f"{p} · {n} ad{'' if n == 1 else 's'}", n, detail=_about(names, within[p]))
        for p, n, names in persons
    ]

    # Photos last: a network can hold hundreds, and a number or a hub says more at a glance.
    def rank(key: tuple[str, str]) -> tuple[int, int, int, str]:
        photo = key[0] == "image"
        if photo:  # hubs (stock photos beside many numbers), linking ones, the rest
            group = 3 if key in hubs else 4 if key in linking else 5
        else:
            group = 1 if key in hubs else 0 if key in linking else 2
        return (group, _IDENTIFIER_KINDS.index(key[0]), -totals[key], key[1])

    from threadline.store.hashlists import HASH_LIST, hidden_images

    hidden = hidden_images(con, [value for kind, value in totals if kind == "image"])
    identifier_nodes = []
    for key in sorted(totals, key=rank):
        kind, value = key
        hub = hubs.get(key)
        detail = ""
        why_hidden = hidden.get(value) if kind == "image" else None
        if why_hidden is not None:  # a node says so; its image is never sent (`serve._images`)
            detail = (
                "hidden: matches a hash list of known abuse material; never shown; to report"
                if why_hidden == HASH_LIST
                else "hidden: an ad showing it states an age under 18 (possible minor)"
            )
        if hub is not None:
            _, n, co, by = hub
            detail = (
                f"hub: in {n} ads across the store, beside {co} other phone{'' if co == 1 else 's'};"
                f" {'marked by ' + by if by else 'detected'}; not used to link"
            ) + (f"; {detail}" if detail else "")
        label = _short(kind, value) + (" (hidden)" if why_hidden is not None else "")
        identifier_nodes.append(
            GraphNode(f"{kind}:{value}", kind, label, totals[key], hub is not None, detail, why_hidden)
        )

    drawn = (person_nodes + identifier_nodes)[:cap]
    photos = [node.id.partition(":")[2] for node in drawn if node.kind == "image"]
    if photos:  # where each photo drawn is seen: the network's first ad that shows it
        first_ad = dict(
            con.execute(
                """
                SELECT e.value, arg_min(l.source, l.ad_key) || ':' || arg_min(l.id, l.ad_key)
                FROM extractions e JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id
                WHERE l.network = ? AND e.kind = 'image' AND e.value IN (SELECT UNNEST(?::VARCHAR[]))
                GROUP BY e.value
                """,
                [network, photos],
            ).fetchall()
        )
        drawn = [
            replace(node, ad=first_ad.get(node.id.partition(":")[2], "")) if node.kind == "image" else node
            for node in drawn
        ]
    left_out: dict[str, int] = defaultdict(int)
    for node in (person_nodes + identifier_nodes)[cap:]:
        left_out[node.kind] += 1
    ids = {node.id for node in drawn}

    edges: list[GraphEdge] = []
    for person, kind, value, n in sorted(carried, key=lambda r: (r[0], r[1], r[2])):
        edges.append(
            _carries(
                person,
                kind,
                value,
                int(n),
                linking.get((kind, value)),
                hubs.get((kind, value)),
                cuts.get((kind, value)),
            )
        )
    edges += pair_edges
    kept = [e for e in edges if e.source in ids and e.target in ids]
    return Graph(network, tuple(drawn), tuple(kept), cap, dict(left_out), len(edges) - len(kept))


def _carries(
    person: str,
    kind: str,
    value: str,
    n: int,
    links: list[tuple[str, int]] | None,
    hub: tuple[str, int, int, str | None] | None,
    cut: str | None,
) -> GraphEdge:
    """The edge from a person to a value its ads carry, saying what linking made of the value."""
    ads = f"{n} of its ads" if n != 1 else "1 of its ads"
    noun = "photo" if kind == "image" else kind
    if hub is not None:
        reason, label = f"hub {noun} in {ads}: not used to link", "hub: not followed"
    elif cut is not None:
        reason, label = f"{noun} in {ads}: {cut}", "cut by an analyst"
    elif links:
        if kind == "phone":
            tenures = "; ".join(f"tenure from {t or '?'} ({m} ads of the network)" for t, m in links)
            reason, label = (
                f"shared phone in {ads}, {tenures}",
                "shared · " + ", ".join(f"from {t}" for t, _ in links),
            )
        elif kind == "image":
            reason, label = f"the same photo (SHA-256) in {ads}", f"same photo · {n} ads"
        else:
            reason, label = f"shared {kind} in {ads}", f"shared {kind} · {n} ads"
    else:
        reason = f"{noun} in {ads}; no other ad of the network carries it"
        label = f"{n} ad{'' if n == 1 else 's'}"
    return GraphEdge(person, f"{kind}:{value}", kind, reason, label, hub is not None)


def _pairs(
    con: duckdb.DuckDBPyConnection, network: str, evidence: list[tuple[str, str, int, str | None]]
) -> tuple[list[GraphEdge], Counter[str]]:
    """Edges between two values or two persons: near-identical photos, near-duplicate texts (between
    persons: a text pair within one person is that person's own, counted for it), analysts'
    merges; and the count of text pairs within each person."""
    edges: list[GraphEdge] = []
    texts = [(v, d) for k, v, _, d in evidence if k == "text"]
    merges = [v for k, v, _, _ in evidence if k == "analyst_merge"]
    for kind, value, _, detail in evidence:
        if kind == "similar_image":
            a, _, b = value.partition(" ")
            reason = f"near-identical photos: {detail}" if detail else "near-identical photos"
            label = re.sub(r"(PDQ|pHash) distance ", r"\1 ", detail or "near-identical")
            edges.append(GraphEdge(f"image:{a}", f"image:{b}", kind, reason, label))
    person_of = dict(
        (f"{s}:{i}", p)
        for s, i, p in con.execute(
            "SELECT source, id, person FROM ad_links WHERE network = ?", [network]
        ).fetchall()
    )
    # An ad id may hold a space (an ad is SOURCE:ID): a text pair is split where both halves are ads.
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    within: Counter[str] = Counter()  # text pairs between two ads of one person
    for value, detail in texts:
        for at in (m.start() for m in re.finditer(" ", value)):
            a, b = value[:at], value[at + 1 :]
            if a in person_of and b in person_of:
                pa, pb = sorted((person_of[a], person_of[b]))
                if pa != pb:
                    pairs[(pa, pb)].append(f"{a} ~ {b} ({detail})" if detail else f"{a} ~ {b}")
                else:
                    within[pa] += 1
                break
    for (pa, pb), shown in sorted(pairs.items()):
        more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
        reason = "near-duplicate text: " + "; ".join(shown[:3]) + more
        label = f"similar text · {len(shown)} pair{'' if len(shown) == 1 else 's'}"
        edges.append(GraphEdge(pa, pb, "text", reason, label))
    for value in merges:
        found = re.fullmatch(r"decision (\d+) by (.*)", value, re.S)
        if not found:
            continue
        decision, analyst = int(found.group(1)), found.group(2)
        rows = con.execute(
            """
            SELECT DISTINCT l.person FROM analyst_decision_ads d
            JOIN ad_links l ON l.source = d.source AND l.id = d.id
            WHERE d.decision_id = ? AND l.network = ? ORDER BY l.person
            """,
            [decision, network],
        ).fetchall()
        merged = [p for (p,) in rows]
        ref = format_ref("decision", decision)
        for other in merged[1:]:
            edges.append(
                GraphEdge(
                    merged[0], other, "analyst_merge", f"analyst merge {ref} by {analyst}", f"merged {ref}"
                )
            )
    return edges, within


def _about(names: list[str], texts: int) -> str:
    """A person node's description: the names its ads give, and the near-duplicate texts among
    its own ads (they join it, and are not drawn: a person is one node)."""
    said = [f"names: {', '.join(names)}"] if names else []
    if texts:
        said.append(f"{texts} near-duplicate text pair{'' if texts == 1 else 's'} among its ads")
    return "; ".join(said)


def network_activity(con: duckdb.DuckDBPyConnection, network: str) -> list[Activity]:
    """Ads per person per day (posted, else captured) of ``network``, in time order; undated ads
    are not counted."""
    rows = con.execute(
        """
        SELECT l.person, CAST(COALESCE(r.posted_at, r.captured_at) AS DATE) AS day, COUNT(*) AS ads
        FROM ad_links l JOIN ad_rows r ON r.source = l.source AND r.id = l.id AND r.version = l.version
        WHERE l.network = ? AND COALESCE(r.posted_at, r.captured_at) IS NOT NULL
        GROUP BY ALL ORDER BY day, l.person
        """,
        [network],
    ).fetchall()
    return [Activity(p, d, int(n)) for p, d, n in rows]


def place_coordinates(
    con: duckdb.DuckDBPyConnection, places: Iterable[str]
) -> dict[str, tuple[float, float]]:
    """(latitude, longitude) of each of ``places`` (place values, ``"Houston, TX, US"``) as
    extraction read it from its gazetteer; a place no ad names is left out."""
    wanted = sorted(set(places))
    if not wanted:
        return {}
    rows = con.execute(
        """
        SELECT value, MIN(CAST(json_extract(detail, '$.lat') AS DOUBLE)),
               MIN(CAST(json_extract(detail, '$.lon') AS DOUBLE))
        FROM extractions
        WHERE kind = 'place' AND value IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY value
        """,
        [wanted],
    ).fetchall()
    return {
        place: (float(lat), float(lon)) for place, lat, lon in rows if lat is not None and lon is not None
    }


def graph_json(graph: Graph) -> dict[str, Any]:
    """The graph as cytoscape.js reads its elements, with what was left out."""
    return {
        "network": graph.network,
        "cap": graph.cap,
        "left_out": graph.left_out,
        "edges_left_out": graph.edges_left_out,
        "nodes": [
            {
                "data": {
                    "id": n.id,
                    "kind": n.kind,
                    "label": n.label,
                    "ads": n.ads,
                    "hub": n.hub,
                    "detail": n.detail,
                    "hidden": n.hidden,
                    "ad": n.ad,
                }
            }
            for n in graph.nodes
        ],
        "edges": [
            {
                "data": {
                    "id": f"e{i}",
                    "source": e.source,
                    "target": e.target,
                    "kind": e.kind,
                    "reason": e.reason,
                    "label": e.label,
                    "hub": e.hub,
                }
            }
            for i, e in enumerate(graph.edges)
        ],
    }
