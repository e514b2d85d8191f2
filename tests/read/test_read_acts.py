"""Hubs, decisions, labels and models, as the store holds them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from threadline import read
from threadline.link import link
from threadline.link.decisions import mark_hub, record_merge, record_separation, revoke
from threadline.score.learn import label_network, revoke_label


def test_hubs_list_hubs_first_then_marks(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT kind, value, ads, is_hub, marked_by FROM link_hubs WHERE is_hub OR marked_by IS NOT NULL"
    ).fetchall()
    listed = read.hubs(con, limit=None)
    assert sorted((h.kind, h.value, h.ads, h.is_hub, h.marked_by) for h in listed) == sorted(rows)
    assert [(-h.is_hub, -h.ads) for h in listed] == sorted((-h.is_hub, -h.ads) for h in listed)
    assert read.hubs(con, limit=3, offset=2) == listed[2:5]
    hub = listed[0]
    assert read.hub_value_seen(con, hub.kind, hub.value)
    query = "SELECT DISTINCT value FROM extractions WHERE kind = 'phone'"
    held = {v for (v,) in con.execute(query).fetchall()}
    absent = next(f"+1212555{n:04d}" for n in range(100, 200) if f"+1212555{n:04d}" not in held)
    assert not read.hub_value_seen(con, "phone", absent)


def test_decisions_labels_and_models_as_recorded(copy: Path) -> None:
    with duckdb.connect(str(copy)) as con:
        assert read.decision_list(con) == [] and read.label_list(con) == [] and read.models(con) == []
        (a, na), (b, nb) = con.execute(
            "SELECT source || ':' || id, network FROM ad_links WHERE network IN"
            " (SELECT network FROM network_scores ORDER BY ads DESC LIMIT 2) QUALIFY row_number() OVER"
            " (PARTITION BY network ORDER BY ad_key) = 1 ORDER BY network"
        ).fetchall()
        key = lambda ref: tuple(ref.split(":", 1))  # noqa: E731
        merged = record_merge(con, key(a), key(b), analyst="ana", note="same photos")
        apart = record_separation(con, [key(a)], [key(b)], analyst="bo")
        revoke(con, merged, analyst="cy", note="wrong")
        hub_value = con.execute("SELECT value FROM extractions WHERE kind = 'email' LIMIT 1").fetchall()[0][0]
        marked = mark_hub(con, "email", hub_value, is_hub=True, analyst="ana")
        link(con)
        decisions = read.decision_list(con)
        assert [(d.decision.decision_id, d.decision.kind, d.decision.analyst) for d in decisions] == [
            (merged, "merge", "ana"), (apart, "separate", "bo"), (marked, "hub", "ana"),
        ]  # fmt: skip
        assert decisions[0].decision.revoked_by == "cy" and not decisions[0].decision.active
        [(cut,)] = con.execute("SELECT COUNT(*) FROM link_cuts WHERE decision_id = ?", [apart]).fetchall()
        assert decisions[1].links_cut == cut
        assert any(h.value == hub_value and h.marked_by == "ana" for h in read.hubs(con, limit=None))
        first = label_network(con, na, "trafficking", analyst="ana", note="n1")
        second = label_network(con, nb, "unsure", analyst="bo")
        revoke_label(con, second, analyst="cy")
        labels = read.label_list(con)
        assert [(x.label_id, x.network, x.label, x.active) for x in labels] == [
            (first, na, "trafficking", True), (second, nb, "unsure", False),
        ]  # fmt: skip
        con.execute(
            "INSERT INTO score_models VALUES"
            " (1, TIMESTAMP '2026-10-01 12:00', 'ana', 12, -2.5, ?, 0.8, 0.7, true, '{}')",
            [json.dumps({"persons_per_phone": 0.9})],
        )
        [model] = read.models(con)
        assert (model.model_id, model.labels, model.bias, model.coefficients, model.adopted) == (
            1, 12, -2.5, {"persons_per_phone": 0.9}, True,
        )  # fmt: skip


def test_linked_and_scored(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    assert read.is_linked(con) and read.is_scored(con)
    assert len(list(read.ad_links(con))) == con.execute("SELECT COUNT(*) FROM ad_links").fetchall()[0][0]
    from threadline.store import Store

    with Store.open(tmp_path / "empty.duckdb") as store:
        assert not read.is_linked(store.connection) and not read.is_scored(store.connection)
