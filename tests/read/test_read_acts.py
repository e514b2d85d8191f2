"""Hubs, decisions, labels and models, as the store holds them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

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


def test_decisions_and_labels_are_paged_together_in_sql(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with duckdb.connect(str(copy)) as con:
        emails = [
            v
            for (v,) in con.execute(
                "SELECT DISTINCT value FROM extractions WHERE kind = 'email' ORDER BY value LIMIT 7"
            ).fetchall()
        ]
        networks = [
            n
            for (n,) in con.execute("SELECT network FROM network_scores ORDER BY ads DESC LIMIT 4").fetchall()
        ]
        assert len(emails) == 7 and len(networks) == 4
        for i, value in enumerate(emails):
            mark_hub(con, "email", value, is_hub=i % 2 == 0, analyst="ana" if i % 3 else "bo")
        for i, network in enumerate(networks):
            label_network(con, network, "unsure", analyst="bo" if i % 2 else "cy")
        # Every act, newest first, decided here in Python from the raw tables.
        acts = sorted(
            [
                *((at, "D", n, who) for n, who, at in con.execute(
                    "SELECT decision_id, analyst, decided_at FROM analyst_decisions").fetchall()),
                *((at, "L", n, who) for n, who, at in con.execute(
                    "SELECT label_id, analyst, labelled_at FROM score_labels").fetchall()),
            ],
            reverse=True,
        )  # fmt: skip

        def refs(page: read.ActPage) -> list[tuple[str, int]]:
            return [
                ("D", i.decision.decision_id) if isinstance(i, read.ListedDecision) else ("L", i.label_id)
                for i in page.items
            ]

        whole = read.act_page(con, limit=100)
        assert refs(whole) == [(kind, n) for _, kind, n, _ in acts] and whole.total == 11
        assert whole.analysts == ("ana", "bo", "cy")
        # A page reads its own decisions and labels only.
        asked: list[list[int]] = []
        real = read.acts.decisions
        monkeypatch.setattr(
            read.acts, "decisions", lambda c, ids=None: asked.append(list(ids)) or real(c, ids=ids)
        )
        page = read.act_page(con, limit=3, offset=4)
        assert refs(page) == refs(whole)[4:7] and page.total == 11
        shown = sorted(n for k, n in refs(whole)[4:7] if k == "D")
        assert [sorted(ids) for ids in asked] == ([shown] if shown else [])
        bo = read.act_page(con, by="bo", limit=2, offset=1)
        mine = [(kind, n) for _, kind, n, who in acts if who == "bo"]
        assert refs(bo) == mine[1:3] and bo.total == len(mine)
        assert (
            read.act_page(con, limit=5, offset=50).items == () and read.act_page(con, by="nobody").total == 0
        )
