"""Linking ads into persons and networks: hubs, photos, stable ids, incremental runs, analysts."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from threadline.engine import drop_run_tables
from threadline.ingest import ingest_file
from threadline.link import DuckDBEngine, LinkParams, components_sql, link
from threadline.link.decisions import UnknownAd, clear_hub_mark, mark_hub, record_merge
from threadline.store import Store

# Tests of incremental runs on small stores: cluster only the affected ads even when they are
# most of the store (a real run would take one full pass instead, with the same result).
ALWAYS_INCREMENTAL = LinkParams(incremental_max_share=1.0)
FOOTER = "Site support: 1-800-555-0199. All advertisers are adults."
NAMES = ["Mia", "Ruby", "Jade", "Luna", "Nina", "Rose", "Gia", "Zoe", "Ivy", "Kim"]
AREAS = [213, 312, 415, 617]
CITIES = ["Houston, TX", "Dallas, TX", "Austin, TX", "Denver, CO", "Miami, FL", "Atlanta, GA"]


def phone(i: int, area: int = 713) -> str:
    return f"({area}) 555-01{i:02d}"


def write_ads(path: Path, ads: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


def photo(path: Path, seed: int, *, crop: int = 0, size: int = 240, quality: int = 90) -> str:
    """A generated picture (blobs and noise, never a person), optionally cropped/resized."""
    rng = np.random.default_rng(seed)
    base = (rng.random((24, 24, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(base).resize((320, 320), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = (int(v) for v in rng.integers(0, 260, 2))
        draw.ellipse((x, y, x + 50, y + 40), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    if crop:
        img = img.crop((crop, crop, 320 - crop, 320 - crop))
    img.resize((size, size)).save(path, quality=quality)
    return path.name


def independents(n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Independent advertisers: own phone, own name, a site footer with a support number."""
    for i in range(start, start + n):
        yield {
            "id": f"ind-{i}",
            "source": "site",
            "title": f"{NAMES[i % len(NAMES)]} in town",
            "body": f"Hi, I'm {NAMES[i % len(NAMES)]}. Call {phone(i % 100, AREAS[i // 100])}. {FOOTER}",
            "location": CITIES[i % len(CITIES)],
        }


def ingest_and_link(tmp_path: Path, name: str, *files: Path, params: LinkParams | None = None) -> Store:
    store = Store.open(tmp_path / f"{name}.duckdb")
    for f in files:
        ingest_file(f, store, workers=0)
    link(store.connection, params)
    return store


def networks(store: Store) -> dict[str, str]:
    rows = store.connection.execute("SELECT id, network FROM ad_links").fetchall()
    return {ad_id: network for ad_id, network in rows}


def persons(store: Store) -> dict[str, str]:
    rows = store.connection.execute("SELECT id, person FROM ad_links").fetchall()
    return {ad_id: person for ad_id, person in rows}


def test_footer_number_is_a_hub_and_does_not_glue_strangers(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", list(independents(60)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        net = networks(store)
        assert len(set(net.values())) == 60  # every independent alone
        hubs = store.connection.execute(
            "SELECT kind, value, co_phones FROM link_hubs WHERE is_hub"
        ).fetchall()
        assert [(k, v) for k, v, _ in hubs] == [("phone", "+18005550199")]
        assert hubs[0][2] == 60
    # Without hub detection the number is still a weak link: its 60 numbers share nothing else
    # (`steps.phone_groups`). Trusted anyway, it merges everything: the failure the field reports
    # most.
    naive = LinkParams(hub_co_phones=10_000)
    with ingest_and_link(tmp_path, "naive", ads, params=naive) as store:
        assert len(set(networks(store).values())) == 60
        mark_hub(store.connection, "phone", "+18005550199", analyst="test", is_hub=False)
        link(store.connection, naive)
        assert len(set(networks(store).values())) == 1


def test_controller_phone_joins_several_persons_into_one_network(tmp_path: Path) -> None:
    ads = list(independents(40))
    for k in range(12):
        name = ["Mia", "Ruby", "Jade"][k % 3]
        ads.append(
            {
                "id": f"op-{k}",
                "source": "site",
                "title": f"{name} new in town",
                "body": f"I'm {name}. Ask for the manager, call {phone(77, 832)}. {FOOTER}",
                "location": CITIES[k % 4],
            }
        )
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        net, per = networks(store), persons(store)
        assert len({net[f"op-{k}"] for k in range(12)}) == 1
        assert len({per[f"op-{k}"] for k in range(12)}) == 3  # Mia, Ruby and Jade
        assert net["op-0"] not in {net[f"ind-{i}"] for i in range(40)}
        evidence = store.connection.execute(
            "SELECT kind, value, ads FROM link_evidence WHERE network = ?", [net["op-0"]]
        ).fetchall()
        assert ("phone", "+18325550177", 12) in evidence


@pytest.mark.parametrize("photos", [2, 1])
def test_burner_operation_linked_only_by_photos(tmp_path: Path, photos: int) -> None:
    # A new phone in every city: only re-uploaded (resized, cropped, re-compressed) photos tie
    # the posts together. Two photos each matching are a re-uploaded set; one near-identical
    # photo alone is what two strangers' pictures can share by chance, and joins nothing.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    ads = list(independents(30))
    variants = [
        dict(crop=0, size=240, quality=90),
        dict(crop=0, size=180, quality=60),
        dict(crop=5, size=240, quality=85),
        dict(crop=0, size=300, quality=40),
    ]
    for k, variant in enumerate(variants):
        imgs = [
            photo(corpus / f"burner-{k}-{n}.jpg", seed=99 + n, **variant)  # type: ignore[arg-type]
            for n in range(photos)
        ]
        ads.append(
            {
                "id": f"burner-{k}",
                "source": "site",
                "body": f"Sweet girl visiting. Text {phone(k, [404, 305, 702, 206][k])}",
                "location": CITIES[k],
                "images": imgs,
            }
        )
    ads.append(
        {
            "id": "other",
            "source": "site",
            "body": f"Call {phone(50, 305)}",
            "images": [photo(corpus / "o.jpg", 5)],
        }
    )
    with ingest_and_link(tmp_path, "s", write_ads(corpus / "ads.jsonl", ads)) as store:
        net = networks(store)
        assert len({net[f"burner-{k}"] for k in range(4)}) == (1 if photos == 2 else 4)
        assert net["other"] != net["burner-0"]
        similar = store.connection.execute("SELECT COUNT(*) FROM link_evidence WHERE kind = 'similar_image'")
        assert (similar.fetchall()[0][0] >= 1) == (photos == 2)
        # A similar photo that did not join two networks does not join their persons either.
        spanning = store.connection.execute(
            "SELECT COUNT(*) FROM (SELECT person FROM ad_links GROUP BY person"
            " HAVING COUNT(DISTINCT network) > 1)"
        )
        assert spanning.fetchall()[0][0] == 0


def test_stock_image_is_a_hub(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    stock = photo(corpus / "stock.jpg", seed=1)
    ads = [dict(ad, images=[stock]) for ad in independents(30)]
    with ingest_and_link(tmp_path, "s", write_ads(corpus / "ads.jsonl", ads)) as store:
        assert len(set(networks(store).values())) == 30
        [(kind,)] = store.connection.execute(
            "SELECT kind FROM link_hubs WHERE is_hub AND kind = 'image'"
        ).fetchall()
        assert kind == "image"


def _operation(k: int, first: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"op{k}-{i}",
            "source": "site",
            "body": f"I'm {NAMES[i % 3]}. Text {phone(k, 903)} {FOOTER}",
            "location": CITIES[i % 5],
        }
        for i in range(first, first + n)
    ]


def test_network_ids_are_stable_while_a_network_grows(tmp_path: Path) -> None:
    first = write_ads(tmp_path / "day1.jsonl", _operation(1, 0, 5) + list(independents(20)))
    second = write_ads(tmp_path / "day2.jsonl", _operation(1, 5, 5) + list(independents(20, start=20)))
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(first, store, workers=0)
        link(store.connection, ALWAYS_INCREMENTAL)
        before = networks(store)
        ingest_file(second, store, workers=0)
        link(store.connection, ALWAYS_INCREMENTAL)
        after = networks(store)
    assert all(after[ad] == network for ad, network in before.items())
    assert after["op1-9"] == before["op1-0"]


def test_incremental_runs_equal_one_batch_run(tmp_path: Path) -> None:
    rng = random.Random(7)
    days = []
    for d in range(3):
        ads = _operation(d, 0, 4) + _operation(5, d * 4, 4) + list(independents(15, start=d * 15))
        rng.shuffle(ads)
        days.append(write_ads(tmp_path / f"day{d}.jsonl", ads))
    relinked = []
    with Store.open(tmp_path / "daily.duckdb") as daily:
        for f in days:
            ingest_file(f, daily, workers=0)
            relinked.append(link(daily.connection, ALWAYS_INCREMENTAL).relinked)
        incremental = daily.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        # A full relink of the same store gives the same ids (they follow the store's history).
        link(daily.connection, ALWAYS_INCREMENTAL, full=True)
        relinked_ids = daily.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        assert sorted(relinked_ids) == sorted(incremental)
    with ingest_and_link(tmp_path, "batch", *days, params=ALWAYS_INCREMENTAL) as batch:
        once = batch.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
    # ... and one run over everything gives the same groups.
    assert _groups(incremental) == _groups(once)
    assert relinked[-1] < len(once)  # the last day clustered only what it touched


def _groups(rows: list[tuple[Any, ...]]) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """The networks and persons of ``(source, id, network, person)`` rows, as sets of ads."""
    networks: dict[str, set[str]] = {}
    persons: dict[str, set[str]] = {}
    for source, ad_id, network, person in rows:
        networks.setdefault(network, set()).add(f"{source}:{ad_id}")
        persons.setdefault(person, set()).add(f"{source}:{ad_id}")
    return {frozenset(g) for g in networks.values()}, {frozenset(g) for g in persons.values()}


def test_incremental_run_clusters_only_what_changed(tmp_path: Path) -> None:
    first = write_ads(tmp_path / "a.jsonl", list(independents(50)) + _operation(2, 0, 5))
    with ingest_and_link(tmp_path, "s", first, params=ALWAYS_INCREMENTAL) as store:
        # A new post of the operation and one new independent: the operation's network and the
        # new ad are clustered again, the 50 independents are not.
        more = write_ads(tmp_path / "b.jsonl", _operation(2, 5, 1) + list(independents(1, start=50)))
        ingest_file(more, store, workers=0)
        report = link(store.connection, ALWAYS_INCREMENTAL)
        assert report.relinked == 7
        # An edited version of an independent's ad that now shows the operation's phone moves her
        # into the operation's network.
        edited = dict(next(independents(1, start=3)), body=f"New number {phone(2, 903)}")
        ingest_file(write_ads(tmp_path / "c.jsonl", [edited]), store, workers=0)
        report = link(store.connection, ALWAYS_INCREMENTAL)
        net = networks(store)
        assert net["ind-3"] == net["op2-0"]
        full = link(store.connection, ALWAYS_INCREMENTAL, full=True)
        assert full.relinked == full.ads
        assert networks(store) == net


def test_analyst_decisions_survive_recomputation(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", list(independents(30)) + _operation(3, 0, 6))
    with ingest_and_link(tmp_path, "s", ads) as store:
        con = store.connection
        # The analyst knows the operation's phone is an agency switchboard: not evidence.
        mark_hub(con, "phone", "+19035550103", is_hub=True, analyst="analyst1")
        # ... and that two independents are the same woman.
        record_merge(con, ("site", "ind-1"), ("site", "ind-2"), analyst="analyst1")
        with pytest.raises(UnknownAd):
            record_merge(con, ("site", "ind-1"), ("site", "nobody"), analyst="analyst1")
        # ... and that the footer number, hub or not, stays a hub by decision.
        mark_hub(con, "phone", "+18005550199", is_hub=True, analyst="analyst2")
        for _ in range(2):  # a decision holds on every recomputation
            link(con)
            net = networks(store)
            assert len({net[f"op3-{i}"] for i in range(6)}) == 6
            assert net["ind-1"] == net["ind-2"]
            marked = con.execute(
                "SELECT value, marked_by FROM link_hubs WHERE marked_by IS NOT NULL"
            ).fetchall()
            assert sorted(marked) == [("+18005550199", "analyst2"), ("+19035550103", "analyst1")]
        # Unmarking gives the decision back to the data.
        clear_hub_mark(con, "phone", "+19035550103")
        link(con)
        net = networks(store)
        assert len({net[f"op3-{i}"] for i in range(6)}) == 1


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=120),
)
def test_sql_components_equal_the_vectorised_ones(n: int, edges: list[tuple[int, int]]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE nodes AS SELECT range * 3 + 1 AS node FROM range(?)", [n])
    pairs = [(a * 3 + 1, b * 3 + 1) for a, b in edges if a < n and b < n]
    con.execute("CREATE TABLE edges (a BIGINT, b BIGINT)")
    if pairs:
        con.executemany("INSERT INTO edges VALUES (?, ?)", pairs)
    DuckDBEngine(con).connected_components("edges", "nodes", "fast")
    components_sql(DuckDBEngine(con), "edges", "nodes", "slow")
    fast = con.execute("SELECT node, component FROM fast ORDER BY node").fetchall()
    slow = con.execute("SELECT node, component FROM slow ORDER BY node").fetchall()
    assert fast == slow
    assert len(fast) == n
    # Labels are the smallest node of the component.
    assert all(component <= node for node, component in fast)


def test_exported_network_ids_name_the_first_ad(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", _operation(4, 0, 3) + list(independents(5)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        rows = store.connection.execute(
            "SELECT l.network, MIN(k.ad_key) FROM ad_links l JOIN ad_keys k USING (ad_key) GROUP BY l.network"
        ).fetchall()
    assert all(network == f"N{first:08d}" for network, first in rows)


@pytest.mark.parametrize("co_phones", [2, 5])
def test_hub_threshold_is_a_parameter(tmp_path: Path, co_phones: int) -> None:
    # One number printed beside three different personal numbers.
    ads = [
        {"id": f"a{i}", "source": "s", "body": f"Call {phone(i, 214)} or the desk {phone(99, 972)}"}
        for i in range(3)
    ]
    with ingest_and_link(
        tmp_path, "s", write_ads(tmp_path / "a.jsonl", ads), params=LinkParams(co_phones)
    ) as store:
        is_hub = store.connection.execute(
            "SELECT is_hub FROM link_hubs WHERE value = '+19725550199'"
        ).fetchall()
        assert is_hub == [(co_phones <= 3,)]


def test_incremental_equals_full_on_a_synthetic_corpus(tmp_path: Path) -> None:
    # Everything at once (hubs, photos, near-duplicate texts, new versions) on a generated corpus
    # fed in three parts, against one full run over the same store.
    from threadline.synth import generate

    generate(tmp_path / "corpus", 1500, seed=11, images=True)
    lines = (tmp_path / "corpus" / "ads.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    parts = []
    for k in range(3):
        part = tmp_path / "corpus" / f"part{k}.jsonl"
        part.write_text("".join(lines[k * 500 : (k + 1) * 500]), encoding="utf-8")
        parts.append(part)
    with Store.open(tmp_path / "s.duckdb") as store:
        for part in parts:
            ingest_file(part, store, workers=0)
            report = link(store.connection, ALWAYS_INCREMENTAL)
            # A long-running process drops each run's tables: the next run needs none of them.
            assert drop_run_tables(store.connection) > 0
            assert drop_run_tables(store.connection) == 0
        assert report.relinked < report.ads
        incremental = sorted(
            store.connection.execute("SELECT ad_key, network, person FROM ad_links").fetchall()
        )
        evidence = sorted(store.connection.execute("SELECT * FROM link_evidence").fetchall())
        link(store.connection, ALWAYS_INCREMENTAL, full=True)
        assert sorted(
            store.connection.execute("SELECT ad_key, network, person FROM ad_links").fetchall()
        ) == (incremental)
        assert sorted(store.connection.execute("SELECT * FROM link_evidence").fetchall()) == evidence


def test_a_run_affecting_most_of_the_store_takes_one_full_pass(tmp_path: Path) -> None:
    first = write_ads(tmp_path / "a.jsonl", _operation(6, 0, 8) + list(independents(2)))
    with ingest_and_link(tmp_path, "s", first) as store:
        ingest_file(write_ads(tmp_path / "b.jsonl", _operation(6, 8, 1)), store, workers=0)
        report = link(store.connection)  # the operation is 9 of 11 ads: over the 30% cap
        assert report.relinked == report.ads == 11


def _rotating_booker() -> list[list[dict[str, Any]]]:
    """An operation's booking line rotates from A to B (one ad shows both, under Skye's name);
    Mia, 22, works under both numbers and never beside the change; Jade only under B. Then an
    independent Mia, 22, elsewhere. Two batches: before and after the rotation."""
    a, b = phone(60, 469), phone(61, 469)

    def ad(i: str, who: str, age: int, line: str, day: int) -> dict[str, Any]:
        return {
            "id": f"op-{i}",
            "source": "site",
            "title": f"{who} new in town",
            "body": f"Meet {who}, {age}, pretty and sweet. Ask the manager, call {line}.",
            "location": CITIES[day % 3],
            "posted_at": f"2026-03-{day:02d}T20:00:00Z",
        }

    before = [ad("s1", "Skye", 24, a, 1), ad("s2", "Skye", 24, a, 3), ad("m1", "Mia", 22, a, 2)]
    before.append(ad("m2", "Mia", 22, a, 4))
    after = [ad("s3", "Skye", 24, f"{b}, new number (old {a})", 8), ad("s4", "Skye", 24, b, 10)]
    after += [ad("m3", "Mia", 22, b, 11), ad("m4", "Mia", 22, b, 12), ad("x1", "Jade", 25, b, 13)]
    after.append(
        {
            "id": "ind-mia",
            "source": "site",
            "title": "Mia here",
            "body": f"Meet Mia, 22. Independent, call me at {phone(62, 305)}.",
            "location": "Miami, FL",
            "posted_at": "2026-03-11T20:00:00Z",
        }
    )
    return [before, after]


def test_one_name_and_age_is_one_person_across_a_rotated_line(tmp_path: Path) -> None:
    batches = _rotating_booker()
    files = [write_ads(tmp_path / f"b{n}.jsonl", batch) for n, batch in enumerate(batches)]
    with ingest_and_link(tmp_path, "once", *files) as store:
        net, per = networks(store), persons(store)
        op = [ad["id"] for batch in batches for ad in batch if ad["id"].startswith("op-")]
        assert len({net[i] for i in op}) == 1
        assert net["ind-mia"] != net["op-m1"]
        # Mia, 22, under A and under B: one person; Skye: one; Jade: another.
        assert len({per[f"op-m{k}"] for k in range(1, 5)}) == 1
        assert len({per[f"op-s{k}"] for k in range(1, 5)}) == 1
        assert len({per["op-m1"], per["op-s1"], per["op-x1"]}) == 3
        assert per["ind-mia"] != per["op-m1"]
        rows = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        once = _groups(rows)
    # Incremental runs, batch by batch, give the same networks and persons.
    store = Store.open(tmp_path / "inc.duckdb")
    with store:
        for f in files:
            ingest_file(f, store, workers=0)
            link(store.connection, ALWAYS_INCREMENTAL)
        rows = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        assert _groups(rows) == once
