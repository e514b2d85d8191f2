"""Analysts' decisions: merge, "these are not linked", split, revoke; kept across every run."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from test_link import (
    ALWAYS_INCREMENTAL,
    independents,
    ingest_and_link,
    networks,
    persons,
    phone,
    write_ads,
)

from threadline.ingest import ingest_file
from threadline.link import link
from threadline.link.constraints import min_cut
from threadline.link.decisions import (
    UnknownAd,
    UnknownNetwork,
    record_merge,
    record_separation,
    record_split,
    revoke,
)
from threadline.store import Store


def _two_women_one_phone(first: int = 0, n: int = 6) -> list[dict[str, Any]]:
    """Mia's and Ruby's ads, each with her own phone, plus one ad showing both phones.

    The bridging ad is what glues two advertisers: an analyst who knows they are unrelated says
    so, and the linker must cut the bridge, not split either woman's ads.
    """
    ads = []
    for i in range(first, first + n):
        who, own = ("Mia", 11) if i % 2 == 0 else ("Ruby", 12)
        ads.append(
            {
                "id": f"{who.lower()}-{i}",
                "source": "site",
                "body": f"I'm {who}. Call {phone(own, 504)}.",
                "location": "Houston, TX",
            }
        )
    return ads


BRIDGE = {
    "id": "bridge",
    "source": "site",
    "body": f"Two girls! Call {phone(11, 504)} or {phone(12, 504)}.",
    "location": "Houston, TX",
}


def _cut_rows(store: Store) -> list[tuple[Any, ...]]:
    return store.connection.execute("SELECT decision_id, kind, value FROM link_cuts ORDER BY ALL").fetchall()


def test_not_linked_cuts_the_fewest_links_and_survives_recomputation(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", [*_two_women_one_phone(), BRIDGE, *independents(10)])
    with ingest_and_link(tmp_path, "s", ads, params=ALWAYS_INCREMENTAL) as store:
        con = store.connection
        net = networks(store)
        assert net["mia-0"] == net["ruby-1"] == net["bridge"]  # glued by the ad with both phones
        decision = record_separation(con, [("site", "mia-0")], [("site", "ruby-1")], analyst="kim")
        for full in (False, True, False):
            link(con, ALWAYS_INCREMENTAL, full=full)
            net = networks(store)
            assert net["mia-0"] != net["ruby-1"]
            # Each woman's own ads stay together: only the bridge's link to one of them is cut.
            assert len({net[f"mia-{i}"] for i in (0, 2, 4)}) == 1
            assert len({net[f"ruby-{i}"] for i in (1, 3, 5)}) == 1
            cuts = _cut_rows(store)
            assert len(cuts) == 1 and cuts[0][0] == decision and cuts[0][1] == "phone"
        # The cut is evidence on both networks, with the decision and the analyst.
        shown = con.execute(
            "SELECT DISTINCT network FROM link_evidence WHERE kind = 'analyst_cut' AND detail LIKE '%by kim'"
        ).fetchall()
        assert {n for (n,) in shown} == {net["mia-0"], net["ruby-1"]}
        # Withdrawn, the data decides again.
        revoke(con, decision, analyst="lee", note="they share a driver after all")
        link(con, ALWAYS_INCREMENTAL)
        net = networks(store)
        assert net["mia-0"] == net["ruby-1"]
        assert _cut_rows(store) == []
        with pytest.raises(ValueError, match="already revoked by lee"):
            revoke(con, decision, analyst="kim")
        row = con.execute("SELECT analyst, revoked_by, revoke_note FROM analyst_decisions").fetchall()
        assert row == [("kim", "lee", "they share a driver after all")]


def test_a_cut_takes_one_ad_out_of_a_shared_value_and_keeps_each_side_whole(tmp_path: Path) -> None:
    # The bridging ad comes first: it is the hub of both numbers' stars. Cutting it from one
    # number must not scatter that number's other holders, as networks or as persons.
    ads = write_ads(tmp_path / "ads.jsonl", [BRIDGE, *_two_women_one_phone(0, 8), *independents(25)])
    with ingest_and_link(tmp_path, "s", ads, params=ALWAYS_INCREMENTAL) as store:
        record_separation(store.connection, [("site", "mia-0")], [("site", "ruby-1")], analyst="kim")
        for full in (False, True):
            link(store.connection, ALWAYS_INCREMENTAL, full=full)
            net, per = networks(store), persons(store)
            mia, ruby = [f"mia-{i}" for i in (0, 2, 4, 6)], [f"ruby-{i}" for i in (1, 3, 5, 7)]
            assert len({net[a] for a in mia}) == len({net[a] for a in ruby}) == 1
            assert net["mia-0"] != net["ruby-1"]
            assert len({per[a] for a in mia}) == len({per[a] for a in ruby}) == 1
            assert net["bridge"] in (net["mia-0"], net["ruby-1"])
            cuts = _cut_rows(store)
            assert len(cuts) == 1 and cuts[0][1] == "phone"  # one ad taken out of one number


def test_split_takes_ads_out_and_the_rest_keeps_its_id(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", [*_two_women_one_phone(), BRIDGE])
    with ingest_and_link(tmp_path, "s", ads) as store:
        con = store.connection
        network = networks(store)["mia-0"]
        ruby = [("site", f"ruby-{i}") for i in (1, 3, 5)]
        record_split(con, network, ruby, analyst="kim", note="Ruby is an independent")
        link(con)
        net = networks(store)
        assert net["mia-0"] == network == net["bridge"]  # the rest keeps the id of its first ad
        assert len({net[f"ruby-{i}"] for i in (1, 3, 5)}) == 1
        assert net["ruby-1"] != network
        # Persons never span networks.
        per = persons(store)
        by_person: dict[str, set[str]] = {}
        for ad, p in per.items():
            by_person.setdefault(p, set()).add(net[ad])
        assert all(len(nets) == 1 for nets in by_person.values())
        with pytest.raises(UnknownNetwork):
            record_split(con, "N99999999", ruby, analyst="kim")
        with pytest.raises(ValueError, match="not in network"):
            record_split(con, network, ruby, analyst="kim")  # Ruby's ads have left it
        with pytest.raises(ValueError, match="all of network"):
            record_split(con, net["ruby-1"], ruby, analyst="kim")


def test_new_ads_joining_a_separated_network_stay_separated(tmp_path: Path) -> None:
    # (25 independents: enough phones beside the site's footer number for it to be a hub)
    day1 = write_ads(tmp_path / "d1.jsonl", [*_two_women_one_phone(0, 6), BRIDGE, *independents(25)])
    # Day 2: more of both women, and a second ad showing both numbers.
    bridge2 = dict(BRIDGE, id="bridge-2")
    day2 = write_ads(
        tmp_path / "d2.jsonl", [*_two_women_one_phone(6, 6), bridge2, *independents(5, start=25)]
    )
    with Store.open(tmp_path / "daily.duckdb") as daily:
        ingest_file(day1, daily, workers=0)
        link(daily.connection, ALWAYS_INCREMENTAL)
        record_separation(daily.connection, [("site", "mia-0")], [("site", "ruby-1")], analyst="kim")
        link(daily.connection, ALWAYS_INCREMENTAL)
        ingest_file(day2, daily, workers=0)
        report = link(daily.connection, ALWAYS_INCREMENTAL)
        assert report.relinked < report.ads  # incremental: the independents were not clustered again
        incremental = sorted(daily.connection.execute("SELECT id, network, person FROM ad_links").fetchall())
        net = networks(daily)
        assert net["mia-6"] == net["mia-0"] != net["ruby-7"] == net["ruby-1"]
        assert len(_cut_rows(daily)) == 2  # both bridges cut from one side
    with ingest_and_link(tmp_path, "batch", day1, day2, params=ALWAYS_INCREMENTAL) as batch:
        record_separation(batch.connection, [("site", "mia-0")], [("site", "ruby-1")], analyst="kim")
        link(batch.connection, ALWAYS_INCREMENTAL, full=True)
        once = sorted(batch.connection.execute("SELECT id, network, person FROM ad_links").fetchall())
    assert incremental == once


def test_not_linked_wins_over_a_contradicting_merge_and_merges_take_many_ads(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", list(independents(25)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        con = store.connection
        record_merge(con, ("site", "ind-0"), ("site", "ind-1"), ("site", "ind-2"), analyst="kim")
        link(con)
        net = networks(store)
        assert net["ind-0"] == net["ind-1"] == net["ind-2"] != net["ind-3"]
        # A later "not linked" cuts the merge itself, only where it must.
        record_separation(con, [("site", "ind-0")], [("site", "ind-2")], analyst="lee")
        link(con)
        net = networks(store)
        assert net["ind-0"] != net["ind-2"]
        assert net["ind-1"] in (net["ind-0"], net["ind-2"])
        assert [k for _, k, _ in _cut_rows(store)] == ["analyst_merge"]
        # A merge that an active separation contradicts is refused, naming it.
        with pytest.raises(ValueError, match=r"decision D2 \(by lee\) keeps some of these ads apart"):
            record_merge(con, ("site", "ind-0"), ("site", "ind-2"), analyst="kim")
        with pytest.raises(ValueError, match="two different ads"):
            record_merge(con, ("site", "ind-0"), ("site", "ind-0"), analyst="kim")
        with pytest.raises(ValueError, match="both sides"):
            record_separation(con, [("site", "ind-0")], [("site", "ind-0")], analyst="kim")
        with pytest.raises(UnknownAd):
            record_separation(con, [("site", "ind-0")], [("site", "nobody")], analyst="kim")


def _connected(n: int, edges: list[tuple[int, int]], a: set[int], b: set[int]) -> bool:
    if not edges:
        return False
    rows, cols = zip(*edges, strict=True)
    graph = csr_matrix(([1] * len(edges), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return bool({labels[x] for x in a} & {labels[y] for y in b})


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 7),
    raw=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=9),
    data=st.data(),
)
def test_min_cut_is_minimal_and_separates(n: int, raw: list[tuple[int, int]], data: st.DataObject) -> None:
    edges = sorted({(min(u, v), max(u, v)) for u, v in raw if u != v and u < n and v < n})
    nodes = list(range(n))
    a = set(data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2)))
    b = set(data.draw(st.lists(st.sampled_from([x for x in nodes if x not in a] or [None]), max_size=2)))
    b.discard(None)  # type: ignore[arg-type]
    if not b:
        return
    cut = min_cut([(u, v, 1) for u, v in edges], a, b)
    assert cut <= set(edges)
    assert not _connected(n, [e for e in edges if e not in cut], a, b)
    # No smaller set of links separates the sides (brute force over all smaller subsets).
    for size in range(len(cut)):
        for removed in itertools.combinations(edges, size):
            assert _connected(n, [e for e in edges if e not in removed], a, b)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_decision_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    ads = write_ads(tmp_path / "ads.jsonl", [*_two_women_one_phone(), BRIDGE])
    assert _cli("ingest", str(ads), "--db", db, "-q").returncode == 0

    def export() -> dict[str, str]:
        out = _cli("export", "networks", "--db", db).stdout
        return {r["id"]: r["network"] for r in map(json.loads, out.splitlines())}

    net = export()
    done = _cli(
        "separate", "site:mia-0", "site:ruby-1", "--db", db, "--analyst", "kim", "--note", "unrelated"
    )
    assert done.returncode == 0, done.stderr
    assert "D1 recorded" in done.stdout
    assert export()["mia-0"] != export()["ruby-1"]
    explained = _cli("explain", export()["mia-0"], "--db", db)
    assert "analyst_cut" in explained.stdout, explained.stdout
    assert _cli("revoke", "D1", "--db", db, "--analyst", "lee").returncode == 0
    assert export()["mia-0"] == export()["ruby-1"]
    split = _cli(
        "split", net["mia-0"], "site:ruby-1", "site:ruby-3", "site:ruby-5", "--db", db, "--analyst", "kim"
    )
    assert split.returncode == 0, split.stderr
    listed = _cli("decisions", "--db", db).stdout
    assert "D1 separate by kim" in listed and "revoked by lee" in listed and ": unrelated" in listed
    assert "D2 split by kim" in listed and f"split out of {net['mia-0']}" in listed
    assert "not linked to its other ads then: site:bridge" in listed
    merged = _cli("merge", "site:mia-0", "site:ruby-1", "site:bridge", "--db", db, "--analyst", "kim")
    assert merged.returncode != 0 and "decision D2 (by kim) keeps some of these ads apart" in merged.stderr
    assert _cli("revoke", "D2", "--db", db, "--analyst", "kim").returncode == 0
    merged = _cli("merge", "site:mia-0", "site:ruby-1", "site:bridge", "--db", db, "--analyst", "kim")
    assert merged.returncode == 0 and "D3 recorded" in merged.stdout
    for bad in (
        ("separate", "site:mia-0", "site:nobody", "--db", db, "--analyst", "kim"),
        ("separate", "site:mia-0", "site:mia-0", "--db", db, "--analyst", "kim"),
        ("split", "N99999999", "site:mia-0", "--db", db, "--analyst", "kim"),
        ("revoke", "D99", "--db", db, "--analyst", "kim"),
        ("revoke", "3", "--db", db, "--analyst", "kim"),  # a bare number: a decision or a label?
        ("merge", "mia-0", "site:ruby-1", "--db", db, "--analyst", "kim"),
    ):
        result = _cli(*bad)
        assert result.returncode != 0
        assert result.stderr.startswith("threadline: ") and len(result.stderr.strip().splitlines()) == 1
