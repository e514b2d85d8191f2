"""Ids that survive change: a split or a merge leaves an id with the bulk of what it named, the
lineage says what happened, old ids still resolve, labels stay with the id, and an incremental
run and a full relink of the same store give the same ids and lineage."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from test_link import ALWAYS_INCREMENTAL, independents, ingest_and_link, networks, persons, phone, write_ads

from threadline.cli import cli
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.link.decisions import record_merge, record_split
from threadline.link.lineage import resolve
from threadline.score.learn import _labelled, label_network
from threadline.store import Store


def _one_phone(prefix: str, n: int, number: int) -> list[dict[str, object]]:
    return [
        {"id": f"{prefix}-{i}", "source": "site", "body": f"Kim here, text {phone(number)} now"}
        for i in range(n)
    ]


def _lineage(store: Store) -> list[tuple[object, ...]]:
    return store.connection.execute(
        "SELECT kind, old_id, new_id, relation, decision_id FROM link_lineage ORDER BY ALL"
    ).fetchall()


def test_splitting_the_first_ad_out_leaves_id_and_label_with_the_bulk(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", _one_phone("op", 12, 50) + list(independents(25)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        con = store.connection
        before = networks(store)
        old = before["op-0"]  # named by its first ad
        label_network(con, old, "trafficking", analyst="kim")
        decision = record_split(con, old, [("site", "op-0")], analyst="kim")
        link(con)
        after = networks(store)
        # The eleven ads keep the id (and with it the label); the split-off ad gets a new one.
        assert all(after[f"op-{i}"] == old for i in range(1, 12))
        assert after["op-0"] != old and after["op-0"] not in before.values()
        assert _labelled(con)[old][1] == "trafficking" and after["op-0"] not in _labelled(con)
        assert ("network", old, after["op-0"], "split", decision) in _lineage(store)
        # The person is split alike: the bulk keeps the person id.
        assert persons(store)["op-1"] == before["op-0"].replace("N", "P")
        # A full relink of the same store changes nothing.
        snapshot = sorted(con.execute("SELECT ad_key, network, person FROM ad_links").fetchall())
        lineage = _lineage(store)
        link(con, full=True)
        assert sorted(con.execute("SELECT ad_key, network, person FROM ad_links").fetchall()) == snapshot
        assert _lineage(store) == lineage
    result = CliRunner().invoke(cli, ["explain", after["op-0"], "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    assert f"{after['op-0']} split from {old} (labelled trafficking: review this part)" in result.output
    assert f"(decision D{decision})" in result.output


def test_a_merge_keeps_the_bigger_networks_id_and_the_other_resolves_to_it(tmp_path: Path) -> None:
    small = _one_phone("small", 3, 60)  # first in the file: the smaller network has the lower id
    big = _one_phone("big", 9, 61)
    ads = write_ads(tmp_path / "ads.jsonl", small + big + list(independents(25)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        con = store.connection
        before = networks(store)
        small_id, big_id = before["small-0"], before["big-0"]
        assert small_id < big_id
        label_network(con, small_id, "unsure", analyst="kim")
        record_merge(con, ("site", "small-0"), ("site", "big-0"), analyst="kim")
        link(con)
        after = networks(store)
        assert {after[f"small-{i}"] for i in range(3)} == {after[f"big-{i}"] for i in range(9)} == {big_id}
        assert ("network", small_id, big_id, "merged", None) in _lineage(store)
        assert resolve(con, "network", small_id)[0] == big_id
        # The label given to the small network follows its id into the merged one.
        assert _labelled(con)[big_id][1] == "unsure"
    db = str(tmp_path / "s.duckdb")
    explained = CliRunner().invoke(cli, ["explain", small_id, "--db", db])
    assert explained.exit_code == 0 and f"{small_id} merged into {big_id}" in explained.output
    assert f"network {big_id}: 12 ads" in explained.output
    found = CliRunner().invoke(cli, ["find", small_id, "--db", db])
    assert found.exit_code == 0 and f"merged into {big_id}" in found.output


def test_incremental_runs_and_a_full_relink_give_the_same_ids_through_a_merge(tmp_path: Path) -> None:
    # Day 1: two groups. Day 2: an ad showing both numbers merges them, and the younger group,
    # now the bigger, keeps its id; a fresh store would name the merged network by its first ad.
    day1 = write_ads(
        tmp_path / "d1.jsonl", _one_phone("a", 2, 70) + _one_phone("b", 6, 71) + list(independents(25))
    )
    bridge = {"id": "bridge", "source": "site", "body": f"Kim: {phone(70)} or {phone(71)}"}
    day2 = write_ads(tmp_path / "d2.jsonl", [bridge, *_one_phone("b", 9, 71)[6:]])
    with Store.open(tmp_path / "daily.duckdb") as daily:
        ingest_file(day1, daily, workers=0)
        link(daily.connection, ALWAYS_INCREMENTAL)
        b_id = networks(daily)["b-0"]
        ingest_file(day2, daily, workers=0)
        report = link(daily.connection, ALWAYS_INCREMENTAL)
        assert report.relinked < report.ads
        incremental = sorted(
            daily.connection.execute("SELECT ad_key, network, person FROM ad_links").fetchall()
        )
        assert networks(daily)["a-0"] == networks(daily)["bridge"] == b_id
        lineage = _lineage(daily)
        link(daily.connection, ALWAYS_INCREMENTAL, full=True)
        assert (
            sorted(daily.connection.execute("SELECT ad_key, network, person FROM ad_links").fetchall())
            == incremental
        )
        assert _lineage(daily) == lineage
