"""Analysts' separations: keep two sets of ads in different networks by cutting the fewest links.

An analyst who says "these ads are not linked" (or splits ads out of a network) is right about the
outcome, but rarely says which piece of evidence misled the linker. So the step finds it: in the
network the linker built, it removes a minimum set of links whose removal puts the two sides in
different networks (a minimum s-t cut, with every ad of one side joined to a super-source and
every ad of the other to a super-sink). Every removed link is saved with the decision it serves
(``link_cuts``) and shown as evidence, so the cut is as explainable as a link.

Costs: each link costs 1 to cut, a link of the decision's own ads 100, and an analyst's merge
1,000,000 (times 100 for its own ads), which is so cut only when nothing else
separates the sides (a later "not linked" wins over an earlier "same network" that contradicts
it; a merge that contradicts an active separation is refused when it is recorded). Separations
apply in the order they were made, each to the graph the earlier ones left.

Only networks holding both sides of a decision are cut; their links (a few thousand at most in a
real archive) are fetched and cut on one machine by scipy's maximum flow. A cluster engine runs
the same step: the constrained networks are few and small next to the archive.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from threadline.engine import Engine, sql_literal, write_rows

__all__ = ["ANCHOR_COST", "MERGE_COST", "PAIRWISE", "min_cut", "separate"]

# Link kinds that join two ads (each its own evidence); every other kind is a value shared by a
# group of ads, linked as a star to its first holder.
PAIRWISE = ("text", "similar_image")

# The cost of cutting one analyst merge: more than any number of evidence links a network has.
MERGE_COST = 1_000_000
# ... and of cutting a link of one of the decision's own ads: the analyst named those ads because
# each is rightly where it is (Mia's ad under Mia's number); what misled the linker is usually
# elsewhere (an ad showing both women's numbers). Cut them only when nothing else separates.
ANCHOR_COST = 100
_INFINITE = 2**31 - 1 - 1  # scipy's flows are int32


def min_cut(edges: list[tuple[int, int, int]], side_a: set[int], side_b: set[int]) -> set[tuple[int, int]]:
    """The node pairs ``(u, v)`` (u < v) of a minimum cut separating ``side_a`` from ``side_b``.

    ``edges`` are undirected ``(u, v, cost)``; pairs given more than once add their costs. An empty
    set when the sides are not connected.
    """
    nodes = sorted({u for u, _, _ in edges} | {v for _, v, _ in edges} | side_a | side_b)
    index = {n: i for i, n in enumerate(nodes)}
    source, sink = len(nodes), len(nodes) + 1
    cost: dict[tuple[int, int], int] = defaultdict(int)
    for u, v, c in edges:
        if u != v:
            cost[min(u, v), max(u, v)] += c
    rows, cols, caps = [], [], []
    for (u, v), c in sorted(cost.items()):
        c = min(c, _INFINITE)
        rows += [index[u], index[v]]
        cols += [index[v], index[u]]
        caps += [c, c]
    for n in sorted(side_a):
        rows.append(source)
        cols.append(index[n])
        caps.append(_INFINITE)
    for n in sorted(side_b):
        rows.append(index[n])
        cols.append(sink)
        caps.append(_INFINITE)
    size = len(nodes) + 2
    graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(size, size))
    flow = maximum_flow(graph, source, sink, method="dinic")
    if flow.flow_value == 0:
        return set()
    # The source side of the cut: what the source still reaches through unsaturated capacity.
    residual = graph - flow.flow
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reached = set(breadth_first_order(residual, source, directed=True, return_predecessors=False).tolist())
    return {(u, v) for (u, v) in cost if (index[u] in reached) != (index[v] in reached)}


def separate(engine: Engine) -> bool:
    """Cut the links that join the sides of analysts' separations; True if any was cut.

    Reads ``networks``, ``net_edges`` and ``_decision_ads``; writes ``link_cut_edges`` (the links
    removed, with their decision), and when something was cut, replaces ``net_edges`` without
    those links and recomputes ``networks``.
    """
    constrained = engine.query(
        """
        SELECT d.decision_id, d.side, d.ad_key, n.component
        FROM _decision_ads d JOIN networks n ON n.node = d.ad_key
        WHERE d.decision = 'separate'
          AND n.component IN (
              SELECT n2.component FROM _decision_ads d2 JOIN networks n2 ON n2.node = d2.ad_key
              WHERE d2.decision = 'separate'
              GROUP BY n2.component, d2.decision_id HAVING COUNT(DISTINCT d2.side) = 2
          )
        ORDER BY d.decision_id, d.side, d.ad_key
        """
    )
    cuts: list[tuple[int, int, int, str, str]] = []
    if constrained:
        components = sorted({row[3] for row in constrained})
        in_list = ", ".join(str(int(c)) for c in components)
        edge_rows = engine.query(
            f"""
            SELECT n.component, e.a, e.b, e.kind, e.value
            FROM net_edges e JOIN networks n ON n.node = e.a
            WHERE n.component IN ({in_list})
            ORDER BY n.component, e.a, e.b, e.kind, e.value
            """
        )
        by_component: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
        for component, a, b, kind, value in edge_rows:
            by_component[component].append((a, b, kind, value))
        sides: dict[tuple[int, int], dict[str, set[int]]] = defaultdict(lambda: {"a": set(), "b": set()})
        for decision_id, side, ad_key, component in constrained:
            sides[component, decision_id][side].add(ad_key)
        for component in components:
            decisions = sorted(d for c, d in sides if c == component)
            cuts += _cut_component(by_component[component], [(d, sides[component, d]) for d in decisions])
    write_rows(
        engine,
        "link_cut_edges",
        [
            ("decision_id", "BIGINT"),
            ("a", "BIGINT"),
            ("b", "BIGINT"),
            ("kind", "STRING"),
            ("value", "STRING"),
        ],
        cuts,
    )
    if not cuts:
        return False
    pairwise = ", ".join(sql_literal(k) for k in PAIRWISE)
    # Shared values: every holder that was not cut from the value, joined again as a star.
    engine.table(
        "_cut_members",
        f"""
        SELECT m.ad, m.kind, m.value FROM (
            SELECT a AS ad, kind, value FROM net_edges WHERE kind NOT IN ({pairwise})
            UNION SELECT b AS ad, kind, value FROM net_edges WHERE kind NOT IN ({pairwise})
        ) m
        LEFT JOIN link_cut_edges c ON c.a = m.ad AND c.kind = m.kind AND c.value = m.value
        WHERE c.a IS NULL
        """,
    )
    engine.table(
        "_net_edges_kept",
        f"""
        SELECT ad AS a, MIN(ad) OVER (PARTITION BY kind, value) AS b, kind, value FROM _cut_members
        UNION ALL
        SELECT e.* FROM net_edges e
        LEFT JOIN link_cut_edges c ON c.a = e.a AND c.b = e.b AND c.kind = e.kind AND c.value = e.value
        WHERE e.kind IN ({pairwise}) AND c.a IS NULL
        """,
    )
    engine.table("net_edges", "SELECT * FROM _net_edges_kept")
    engine.connected_components("net_edges", "_net_nodes", "networks")
    return True


def _cut_component(
    edges: list[tuple[int, int, str, str]], decisions: list[tuple[int, dict[str, set[int]]]]
) -> list[tuple[int, int, int, str, str]]:
    """The cuts separating each decision's sides in one network, in decision order.

    A shared value (a phone, an image, an analyst's merge) is a node that its holders join, so the
    cheapest cut takes one ad out of one value's group ("this ad's use of this number is not
    evidence against the other side"), and the value's other holders stay joined. Pairwise links
    (near-duplicate text, similar images) are cut as links. Returns ``(decision, a, b, kind,
    value)``: for a value, ``a`` is the ad taken out and ``b`` the value's first other holder; for
    a pairwise link, its two ads.
    """
    members: dict[tuple[str, str], set[int]] = defaultdict(set)
    pairs: list[tuple[int, int, str, str]] = []
    for a, b, kind, value in edges:
        if kind in PAIRWISE:
            if a != b:
                pairs.append((a, b, kind, value))
        else:
            members[kind, value] |= {a, b}
    node = {key: -(i + 1) for i, key in enumerate(sorted(members))}
    out: list[tuple[int, int, int, str, str]] = []
    for decision_id, sides in decisions:
        if not sides["a"] or not sides["b"]:
            continue
        anchors = sides["a"] | sides["b"]
        graph = [
            (ad, node[key], _cost(key[0], anchors, ad))
            for key in sorted(members)
            for ad in sorted(members[key])
        ]
        graph += [(a, b, _cost(kind, anchors, a, b)) for a, b, kind, _ in pairs]
        cut = min_cut(graph, sides["a"], sides["b"])
        if not cut:
            continue
        value_of = {v: k for k, v in node.items()}
        for u, v in sorted(cut):
            if u < 0 or v < 0:
                value_node, ad = (u, v) if u < 0 else (v, u)
                key = value_of[value_node]
                members[key].discard(ad)
                others = sorted(members[key])
                out.append((decision_id, ad, others[0] if others else ad, *key))
        kept = []
        for a, b, kind, value in pairs:
            if (min(a, b), max(a, b)) in cut:
                out.append((decision_id, a, b, kind, value))
            else:
                kept.append((a, b, kind, value))
        pairs = kept
    return out


def _cost(kind: str, anchors: set[int], *ads: int) -> int:
    base = MERGE_COST if kind == "analyst_merge" else 1
    return base * (ANCHOR_COST if anchors.intersection(ads) else 1)
