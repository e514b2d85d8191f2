"""Weak corroboration: the same uncommon name, age and city within a few days (splink).

The corpora are a background of independents under three common names, each with her own phone,
spread over 60 days and six cities, plus a few ads written for one case each. Numbers are
fictional (NXX-555-01xx).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_link import ALWAYS_INCREMENTAL, AREAS, CITIES, ingest_and_link, networks, phone, write_ads

from threadline.ingest import ingest_file
from threadline.link import DuckDBEngine, LinkParams, link
from threadline.link.corroboration import corroboration_pairs
from threadline.link.steps import build_inputs
from threadline.store import Store

COMMON = ["Mia", "Ruby", "Jade"]
OPENINGS = ["Hi, I'm {name}", "Hey guys, call me {name}", "Sweet {name} here", "Looking for fun? I'm {name}"]


def ad(ad_id: str, name: str, age: int, city: str, day: int, hour: int, number: str) -> dict[str, Any]:
    opening = OPENINGS[sum(map(ord, ad_id)) % len(OPENINGS)].format(name=name)
    return {
        "id": ad_id,
        "source": "site",
        "title": f"{name} in town",
        "body": f"{opening}, {age} years young. Call {number}.",
        "location": city,
        "posted_at": f"2026-08-{1 + day // 2:02d}T{hour + 12 * (day % 2):02d}:{len(ad_id) % 60:02d}:00Z",
    }


def background(n: int = 300) -> list[dict[str, Any]]:
    """Independents under common names: a name is a third of all ads, an age a fifteenth."""
    return [
        ad(
            f"bg-{i}",
            COMMON[i % 3],
            20 + (i * 7) % 15,
            CITIES[i % 6],
            (i * 13) % 60,
            i % 12,
            phone(i % 100, AREAS[i // 100]),
        )
        for i in range(n)
    ]


# One case each: the day is counted in half days (ad() posts day 2k in the morning and 2k+1 in the
# evening of August k+1), so "4 apart" is two days.
KIARA = [  # a rare name, re-posted two days later under a new number: corroborated
    ad("kiara-1", "Kiara", 23, "Dallas, TX", 20, 9, phone(1, 469)),
    ad("kiara-2", "Kiara", 23, "Dallas, TX", 24, 8, phone(2, 469)),
]
MIA = [  # the most common name, same age, city and day: not corroborated
    ad("mia-1", "Mia", 24, "Houston, TX", 30, 9, phone(3, 281)),
    ad("mia-2", "Mia", 24, "Houston, TX", 31, 8, phone(4, 281)),
]
NADIA = [  # a rare name in two cities
    ad("nadia-1", "Nadia", 30, "Denver, CO", 40, 9, phone(5, 720)),
    ad("nadia-2", "Nadia", 30, "Miami, FL", 41, 9, phone(6, 305)),
]
TALIA = [  # a rare name three weeks apart
    ad("talia-1", "Talia", 27, "Atlanta, GA", 4, 9, phone(7, 404)),
    ad("talia-2", "Talia", 27, "Atlanta, GA", 46, 9, phone(8, 404)),
]
IMANI = [  # one phone: one person already, whose ads corroborate one another (a birthday between)
    ad("imani-1", "Imani", 25, "Seattle, WA", 10, 9, phone(9, 206)),
    ad("imani-2", "Imani", 25, "Seattle, WA", 11, 10, phone(9, 206)),
    ad("imani-3", "Imani", 26, "Seattle, WA", 13, 6, phone(9, 206)),
]


def pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, float, str]]:
    """The run's corroboration pairs as (ad id, ad id, probability, reason)."""
    return con.execute(
        """
        SELECT a.id, b.id, c.match_probability, c.detail
        FROM corroboration_pairs c
        JOIN link_ads a ON a.ad_key = c.ad_a JOIN link_ads b ON b.ad_key = c.ad_b
        ORDER BY ALL
        """
    ).fetchall()


def evidence(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT * FROM link_evidence WHERE kind LIKE 'corroboration%' ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corroboration")
    return write_ads(folder / "ads.jsonl", background() + KIARA + MIA + NADIA + TALIA + IMANI)


def test_rare_name_age_and_city_within_days_corroborate(tmp_path: Path, corpus: Path) -> None:
    with ingest_and_link(tmp_path, "s", corpus) as store:
        con = store.connection
        found = {(a, b): (p, detail) for a, b, p, detail in pairs(con)}
        imani = {("imani-1", "imani-2"), ("imani-1", "imani-3"), ("imani-2", "imani-3")}
        assert set(found) == {("kiara-1", "kiara-2"), *imani}
        probability, detail = found["kiara-1", "kiara-2"]
        assert probability >= LinkParams().corroboration_min_probability
        assert detail == "name Kiara (1 in 156 ads), age 23, Dallas, TX, US, 2.0 days apart"
        assert found["imani-2", "imani-3"][1] == (
            "name Imani (1 in 104 ads), ages 25 and 26, Seattle, WA, US, 20 hours apart"
        )
        # Evidence only: the two numbers stay two networks, and each lists the other as a lead.
        net = networks(store)
        assert net["kiara-1"] != net["kiara-2"]
        leads = con.execute(
            "SELECT network, value, detail FROM link_evidence WHERE kind = 'corroboration_lead'"
        ).fetchall()
        assert sorted(n for n, _, _ in leads) == sorted([net["kiara-1"], net["kiara-2"]])
        assert all(value == "site:kiara-1 site:kiara-2" for _, value, _ in leads)
        assert all(d.startswith("p 0.996: name Kiara") for _, _, d in leads)
        # Inside one person: the name and city, with the ads that corroborate one another.
        [row] = con.execute(
            "SELECT network, value, ads, detail FROM link_evidence WHERE kind = 'corroboration'"
        ).fetchall()
        assert row == (
            net["imani-1"],
            "Imani in Seattle, WA, US",
            3,
            "3 pairs, strongest p 0.999: name Imani (1 in 104 ads), age 25, Seattle, WA, US, 13 hours apart",
        )


def test_common_name_other_city_or_far_in_time_do_not(tmp_path: Path, corpus: Path) -> None:
    with ingest_and_link(tmp_path, "s", corpus) as store:
        con = store.connection
        # Scored without a threshold: the common name's pair is there, but well short of it.
        engine = DuckDBEngine(con)
        build_inputs(engine)
        corroboration_pairs(engine, LinkParams(corroboration_min_probability=0.0))
        scored = {(a, b): p for a, b, p, _ in pairs(con)}
        assert scored[("mia-1", "mia-2")] < 0.99 < scored[("kiara-1", "kiara-2")]
        # Other city, or three weeks apart: never even compared.
        assert not {("nadia-1", "nadia-2"), ("talia-1", "talia-2")} & set(scored)
        # The background (a third of all ads share a name) gives no pair either.
        assert all(p < 0.99 for (a, b), p in scored.items() if a.startswith("bg-") or b.startswith("bg-"))


def test_same_data_same_pairs(tmp_path: Path, corpus: Path) -> None:
    results = []
    for name in ("one", "two"):
        with ingest_and_link(tmp_path, name, corpus) as store:
            results.append((pairs(store.connection), evidence(store.connection)))
            link(store.connection, full=True)  # again, on the same store
            results.append((pairs(store.connection), evidence(store.connection)))
    assert all(r == results[0] for r in results)
    assert results[0][0]


def test_incremental_runs_equal_one_full_run(tmp_path: Path, corpus: Path) -> None:
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    parts = []
    for k in range(3):
        part = tmp_path / f"part{k}.jsonl"
        part.write_text("".join(lines[k::3]), encoding="utf-8")
        parts.append(part)
    with Store.open(tmp_path / "daily.duckdb") as daily:
        for part in parts:
            ingest_file(part, daily, workers=0)
            report = link(daily.connection, ALWAYS_INCREMENTAL)
        assert report.relinked < report.ads
        incremental = (pairs(daily.connection), evidence(daily.connection))
        link(daily.connection, ALWAYS_INCREMENTAL, full=True)
        assert (pairs(daily.connection), evidence(daily.connection)) == incremental
    with ingest_and_link(tmp_path, "batch", *parts, params=ALWAYS_INCREMENTAL) as batch:
        assert (pairs(batch.connection), evidence(batch.connection)) == incremental
    assert ("kiara-1", "kiara-2") in {(a, b) for a, b, _, _ in incremental[0]}


def test_splink_leaves_nothing_in_the_store_and_runs_read_only(tmp_path: Path, corpus: Path) -> None:
    with ingest_and_link(tmp_path, "s", corpus) as store:
        con = store.connection
        assert not con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%splink%'"
        ).fetchall()
        expected = pairs(con)
    with Store.open(tmp_path / "s.duckdb", read_only=True) as store:
        engine = DuckDBEngine(store.connection)
        build_inputs(engine)
        corroboration_pairs(engine, LinkParams())
        assert pairs(store.connection) == expected


def test_tiny_stores(tmp_path: Path) -> None:
    # No dated ad, one, or just the two of a pair: nothing to estimate from, and no failure.
    undated = [dict(a, posted_at=None) for a in KIARA]
    for k, ads in enumerate([undated, KIARA[:1], KIARA, KIARA + MIA]):
        with ingest_and_link(tmp_path, f"t{k}", write_ads(tmp_path / f"t{k}.jsonl", ads)) as store:
            found = pairs(store.connection)
            assert all(a.split("-")[0] == b.split("-")[0] for a, b, _, _ in found)


def orphan(ad_id: str, name: str, age: int, city: str, day: int, hour: int) -> dict[str, Any]:
    """An ad with nothing to link it: no number, no handle ("text me on snap" without the name)."""
    found = ad(ad_id, name, age, city, day, hour, "")
    found["body"] = found["body"].replace("Call .", "Text me on snap only.")
    return found


ZARA = [  # one woman, three ads under her number, and one with no number between them
    ad("zara-1", "Zara", 26, "Austin, TX", 20, 9, phone(11, 512)),
    ad("zara-2", "Zara", 26, "Austin, TX", 21, 8, phone(11, 512)),
    ad("zara-3", "Zara", 26, "Austin, TX", 23, 7, phone(11, 512)),
]
ZARA_ORPHAN = [orphan("zara-x", "Zara", 26, "Austin, TX", 22, 6)]
NOOR = [  # one ad under her number corroborates the ad without one: too little
    ad("noor-1", "Noor", 29, "Denver, CO", 30, 9, phone(12, 720)),
    orphan("noor-x", "Noor", 29, "Denver, CO", 31, 9),
]
# A second Zara of 26 in Austin, under her own number, posting in the same days: the ad with no
# number is corroborated by two groups now, and joins neither.
ZARA_TWO = [
    ad("zara2-1", "Zara", 26, "Austin, TX", 21, 11, phone(13, 737)),
    ad("zara2-2", "Zara", 26, "Austin, TX", 23, 10, phone(13, 737)),
]


def persons_of(store: Store) -> dict[str, str]:
    return dict(store.connection.execute("SELECT id, person FROM ad_links").fetchall())


def test_an_ad_with_nothing_else_joins_the_one_group_that_corroborates_it(tmp_path: Path) -> None:
    corpus = write_ads(tmp_path / "ads.jsonl", background() + ZARA + ZARA_ORPHAN + NOOR)
    with ingest_and_link(tmp_path, "s", corpus) as store:
        net, per = networks(store), persons_of(store)
        assert net["zara-x"] == net["zara-1"] and per["zara-x"] == per["zara-1"]
        assert net["noor-x"] != net["noor-1"]
        [(network, value, detail)] = store.connection.execute(
            "SELECT network, value, detail FROM link_evidence WHERE kind = 'corroborated'"
        ).fetchall()
        assert network == net["zara-1"]
        assert value.startswith("site:zara-x site:zara-")
        assert detail.startswith("p 0.99") and "name Zara" in detail and "age 26, Austin, TX, US" in detail
        assert detail.endswith("; the first shows nothing else another ad shows")
    # Two groups corroborate it: it joins neither, and the two groups stay apart.
    corpus = write_ads(tmp_path / "two.jsonl", background() + ZARA + ZARA_ORPHAN + ZARA_TWO)
    with ingest_and_link(tmp_path, "two", corpus) as store:
        net = networks(store)
        assert len({net["zara-x"], net["zara-1"], net["zara2-1"]}) == 3


def test_corroborated_orphans_incrementally_as_in_one_full_run(tmp_path: Path) -> None:
    batches = [background() + ZARA, ZARA_ORPHAN + NOOR, ZARA_TWO]
    with Store.open(tmp_path / "daily.duckdb") as daily:
        seen = []
        for k, batch in enumerate(batches):
            ingest_file(write_ads(tmp_path / f"b{k}.jsonl", batch), daily, workers=0)
            report = link(daily.connection, ALWAYS_INCREMENTAL)
            assert k == 0 or report.relinked < report.ads
            net = networks(daily)
            seen.append(net["zara-x"] == net["zara-1"] if "zara-x" in net else None)
            rows = daily.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()
            ev = evidence_rows(daily.connection)
            link(daily.connection, ALWAYS_INCREMENTAL, full=True)
            assert (
                daily.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()
                == rows
            )
            assert evidence_rows(daily.connection) == ev
        # joined when it came, apart again when the second Zara made it ambiguous
        assert seen == [None, True, False]


def evidence_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT * FROM link_evidence ORDER BY ALL").fetchall()


def test_an_orphan_reached_through_another_orphans_group_sees_all_its_groups(tmp_path: Path) -> None:
    # zara-x is between two Zaras (ambiguous: alone). A week later the first Zara posts again, and
    # an ad with no number comes beside those posts: it joins her. Linking it incrementally
    # reaches the first Zara's group, from there zara-x, and from zara-x the second Zara's group,
    # which must be judged too, or zara-x would see one group only and join it.
    late = [
        ad("zara-4", "Zara", 26, "Austin, TX", 34, 9, phone(11, 512)),
        ad("zara-5", "Zara", 26, "Austin, TX", 35, 6, phone(11, 512)),
    ]
    later = [orphan("zara-y", "Zara", 26, "Austin, TX", 35, 9)]
    batches = [background() + ZARA + late + ZARA_TWO + ZARA_ORPHAN, later]
    with Store.open(tmp_path / "daily.duckdb") as daily:
        for k, batch in enumerate(batches):
            ingest_file(write_ads(tmp_path / f"b{k}.jsonl", batch), daily, workers=0)
            report = link(daily.connection, ALWAYS_INCREMENTAL)
            assert k == 0 or report.relinked < report.ads
            rows = daily.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()
            link(daily.connection, ALWAYS_INCREMENTAL, full=True)
            assert (
                daily.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()
                == rows
            )
        net = networks(daily)
        assert net["zara-y"] == net["zara-4"] == net["zara-1"]
        assert len({net["zara-x"], net["zara-1"], net["zara2-1"]}) == 3
