"""A network's graph, activity and places, read from what linking and scoring saved: every edge
says why it exists, hubs are flagged and are leaves, the cap keeps persons first and counts what it
left out. Expected answers come from the store's raw tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from threadline.link import link
from threadline.link.decisions import record_merge
from threadline.read import network_activity, network_graph, place_coordinates
from threadline.read.networks import network_itinerary, person_itineraries
from threadline.score.scorer import score_store
from threadline.store import Store


def _largest(con: duckdb.DuckDBPyConnection) -> str:
    [(network,)] = con.execute(
        "SELECT network FROM network_summary ORDER BY ads DESC, network LIMIT 1"
    ).fetchall()
    return str(network)


def _with_phone_hub(con: duckdb.DuckDBPyConnection) -> tuple[str, set[str]]:
    """A network whose ads carry a hub phone, and its hub phones (from the raw tables)."""
    rows = con.execute(
        """
        SELECT v.network, list(DISTINCT v.value ORDER BY v.value) FROM network_values v
        JOIN link_hubs h ON h.kind = 'phone' AND h.is_hub AND split_part(h.value, ' ', 1) = v.value
        WHERE v.kind = 'phone' GROUP BY v.network ORDER BY count(*) DESC, v.network LIMIT 1
        """
    ).fetchall()
    assert rows, "the corpus has a hub phone"
    return rows[0][0], set(rows[0][1])


def test_every_edge_says_why_and_hubs_are_flagged_leaves(con: duckdb.DuckDBPyConnection) -> None:
    network, hub_phones = _with_phone_hub(con)
    graph = network_graph(con, network, cap=10_000)
    assert graph is not None and graph.network == network and not graph.left_out
    nodes = {n.id: n for n in graph.nodes}
    assert {n.id for n in graph.nodes if n.kind == "phone" and n.hub} == {f"phone:{p}" for p in hub_phones}
    persons = con.execute("SELECT DISTINCT person FROM ad_links WHERE network = ?", [network]).fetchall()
    assert {n.id for n in graph.nodes if n.kind == "person"} == {p for (p,) in persons}
    for edge in graph.edges:
        assert edge.reason and edge.label
        assert edge.source in nodes and edge.target in nodes
        touches_hub = nodes[edge.target].hub or nodes[edge.source].hub
        assert edge.hub == touches_hub
        if edge.hub:
            assert "not used to link" in edge.reason and nodes[edge.source].kind == "person"
    # A hub is a leaf: only the persons carrying it reach it, nothing goes on from it.
    for node in graph.nodes:
        if node.hub:
            assert "not used to link" in node.detail
            assert all(nodes[e.source].kind == "person" for e in graph.edges if e.target == node.id)


def test_a_shared_phone_says_its_tenure_and_near_identical_photos_their_distance(
    con: duckdb.DuckDBPyConnection,
) -> None:
    network = _largest(con)
    graph = network_graph(con, network, cap=10_000)
    assert graph is not None
    tenures = con.execute(
        "SELECT value FROM link_evidence WHERE network = ? AND kind = 'phone'", [network]
    ).fetchall()
    assert tenures
    for (value,) in tenures:
        phone, _, since = value.partition(" from ")
        edges = [e for e in graph.edges if e.target == f"phone:{phone}"]
        assert edges and all(f"tenure from {since}" in e.reason for e in edges), (value, edges)
    similar = con.execute(
        "SELECT value, detail FROM link_evidence WHERE network = ? AND kind = 'similar_image'", [network]
    ).fetchall()
    assert similar
    drawn = {(e.source, e.target): e for e in graph.edges if e.kind == "similar_image"}
    for value, detail in similar:
        a, b = value.split(" ")
        assert detail in drawn[(f"image:{a}", f"image:{b}")].reason and "PDQ distance" in detail


def test_the_cap_keeps_persons_first_and_counts_what_it_left_out(con: duckdb.DuckDBPyConnection) -> None:
    network = _largest(con)
    whole = network_graph(con, network, cap=10_000)
    assert whole is not None and len(whole.nodes) > 6
    capped = network_graph(con, network, cap=5)
    assert capped is not None and len(capped.nodes) == 5
    persons = [n for n in whole.nodes if n.kind == "person"]
    assert [n.id for n in capped.nodes[: len(persons)]] == [n.id for n in persons]
    missing = Counter(n.kind for n in whole.nodes if n.id not in {m.id for m in capped.nodes})
    assert capped.left_out == dict(missing)
    kept = {n.id for n in capped.nodes}
    assert all(e.source in kept and e.target in kept for e in capped.edges)
    assert capped.edges_left_out == len(whole.edges) - len(capped.edges)
    # Numbers, then hubs, then photos: an investigator reads numbers and warnings first.
    order = [n for n in whole.nodes if n.kind != "person"]
    hubs = [i for i, n in enumerate(order) if n.hub]
    photos = [i for i, n in enumerate(order) if n.kind == "image" and not n.hub]
    assert hubs and photos and max(hubs) < min(photos)
    kinds = [n.kind for n in capped.nodes if n.kind != "person"]
    assert kinds == sorted(kinds, key=["phone", "email", "handle", "image"].index)
    with pytest.raises(ValueError):
        network_graph(con, network, cap=0)
    assert network_graph(con, "N99999999") is None


def test_an_analysts_merge_is_an_edge_between_the_persons_it_joined(copy: Path) -> None:
    with Store.open(copy) as store:
        con = store.connection
        [(n1, n2)] = con.execute(
            "SELECT MIN(network), MAX(network) FROM (SELECT network FROM network_summary"
            " WHERE persons = 1 ORDER BY ads DESC, network LIMIT 2)"
        ).fetchall()
        a = con.execute("SELECT source, id, person FROM ad_links WHERE network = ? LIMIT 1", [n1]).fetchone()
        b = con.execute("SELECT source, id, person FROM ad_links WHERE network = ? LIMIT 1", [n2]).fetchone()
        assert a and b
        decision = record_merge(con, (a[0], a[1]), (b[0], b[1]), analyst="ana", note="same photos")
        link(con)
        score_store(con, inputs_built=True, changed="_changed_networks")
        graph = network_graph(con, n1)
        assert graph is not None
        merges = [e for e in graph.edges if e.kind == "analyst_merge"]
        assert [(e.source, e.target) for e in merges] == [tuple(sorted((a[2], b[2])))]
        assert merges[0].reason == f"analyst merge D{decision} by ana"
        # asked by the id merged away, the graph is the network it went to
        other = network_graph(con, n2 if graph.network == n1 else n1)
        assert other is not None and other.network == graph.network


def test_activity_counts_every_dated_ad_and_places_have_coordinates(con: duckdb.DuckDBPyConnection) -> None:
    network = _largest(con)
    activity = network_activity(con, network)
    [(dated,)] = con.execute(
        """
        SELECT COUNT(*) FROM ad_links l
        JOIN ad_rows r ON r.source = l.source AND r.id = l.id AND r.version = l.version
        WHERE l.network = ? AND COALESCE(r.posted_at, r.captured_at) IS NOT NULL
        """,
        [network],
    ).fetchall()
    assert dated > 0 and sum(a.ads for a in activity) == dated
    assert [a.day for a in activity] == sorted(a.day for a in activity)
    stays = network_itinerary(con, network)
    places = place_coordinates(con, [*(s.place for s in stays), "Nowhere, ZZ"])
    assert stays and set(places) == {s.place for s in stays}  # a place no ad names is left out
    assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in places.values())
    # As extraction read them: the coordinates of each place's finds.
    for place, (lat, lon) in places.items():
        [(found_lat, found_lon)] = con.execute(
            "SELECT DISTINCT CAST(detail->>'$.lat' AS DOUBLE), CAST(detail->>'$.lon' AS DOUBLE)"
            " FROM extractions WHERE kind = 'place' AND value = ?",
            [place],
        ).fetchall()
        assert (lat, lon) == (found_lat, found_lon)


def test_near_duplicate_texts_link_two_persons_or_are_counted_on_one(con: duckdb.DuckDBPyConnection) -> None:
    from threadline.read.graph import _pairs

    [(network,)] = con.execute(
        "SELECT network FROM network_summary WHERE persons >= 2 ORDER BY ads DESC, network LIMIT 1"
    ).fetchall()
    ads = con.execute(
        "SELECT source || ':' || id, person FROM ad_links WHERE network = ? ORDER BY person, source, id",
        [network],
    ).fetchall()
    by_person: dict[str, list[str]] = {}
    for ad, person in ads:
        by_person.setdefault(person, []).append(ad)
    (p1, (a, a2, *_)), (p2, (b, *_)) = list(by_person.items())[:2]
    edges, within = _pairs(
        con,
        network,
        [
            ("text", f"{a} {b}", 2, "jaccard 0.81, 5 sentences"),
            ("text", f"{a} {a2}", 2, "jaccard 0.9, 6 sentences"),
        ],
    )
    texts = [e for e in edges if e.kind == "text"]
    assert [(e.source, e.target) for e in texts] == [tuple(sorted((p1, p2)))]
    assert a in texts[0].reason and b in texts[0].reason and "jaccard 0.81" in texts[0].reason
    assert dict(within) == {p1: 1}
    # In the saved evidence: each person says how many text pairs join its own ads.
    graph = network_graph(con, network)
    assert graph is not None
    person_of = dict(ads)
    counted: Counter[str] = Counter()
    for (value,) in con.execute(
        "SELECT value FROM link_evidence WHERE network = ? AND kind = 'text'", [network]
    ).fetchall():
        x, y = value.split(" ")
        if person_of[x] == person_of[y]:
            counted[person_of[x]] += 1
    assert counted
    for node in graph.nodes:
        if node.kind == "person" and counted[node.id]:
            assert f"{counted[node.id]} near-duplicate text pair" in node.detail


def test_each_person_has_its_itinerary_and_each_photo_an_ad_that_shows_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    network = _largest(con)
    found = person_itineraries(con, network)
    persons = {
        p
        for (p,) in con.execute(
            "SELECT DISTINCT person FROM ad_links WHERE network = ?", [network]
        ).fetchall()
    }
    assert found and set(found) <= persons
    for person, stays in found.items():
        assert stays == network_itinerary(con, person, "person")
    graph = network_graph(con, network, cap=10_000)
    assert graph is not None
    photos = [n for n in graph.nodes if n.kind == "image"]
    assert photos and all(n.ad for n in photos)
    for node in photos:
        source, _, ad_id = node.ad.partition(":")
        shows = con.execute(
            """
            SELECT COUNT(*) FROM ad_images i JOIN ad_links l ON l.source = i.source AND l.id = i.ad_id
            WHERE i.source = ? AND i.ad_id = ? AND i.sha256 = ? AND l.network = ?
            """,
            [source, ad_id, node.id.partition(":")[2], network],
        ).fetchall()[0][0]
        assert shows > 0, node
    assert all(n.ad == "" for n in graph.nodes if n.kind != "image")
