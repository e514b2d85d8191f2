"""The triage queue and one network's view, checked against the store's raw tables."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import build, extraction_values, hub_values, raw_ads

from threadline import read
from threadline.read.networks import network_itinerary
from threadline.score.learn import label_network
from threadline.score.movement import compute_movement
from threadline.synth import generate


def _expected(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    """Per scored network, what the queue should say, computed in Python."""
    ads = raw_ads(con)
    scores = {
        n: (logit, score)
        for n, logit, score in con.execute("SELECT network, logit, score FROM network_scores").fetchall()
    }
    latest = {(a.source, a.id, a.version) for a in ads.values()}
    phones: dict[str, set[str]] = defaultdict(set)
    hubs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    hub_set = hub_values(con)
    for source, ad_id, version, kind, value in extraction_values(con, ("phone", "email", "handle", "image")):
        network = ads[(source, ad_id)].network
        if network is None:
            continue
        if kind == "phone" and (source, ad_id, version) in latest:
            phones[network].add(value)
        if (kind, value) in hub_set:
            hubs[network].add((kind, value))
    out: dict[str, dict[str, object]] = {}
    for network, (logit, score) in scores.items():
        own = [a for a in ads.values() if a.network == network]
        dated = [a for a in own if a.date is not None]
        out[network] = {
            "logit": logit,
            "score": score,
            "ads": len(own),
            "persons": len({a.person for a in own}),
            "phones": len(phones[network]),
            "first_date": min((a.date for a in dated), default=None),
            "last_date": max((a.date for a in dated), default=None),
            "places": sorted({a.place for a in own if a.place}),
            "sources": sorted({a.source for a in own}),
            "hubs": len(hubs[network]),
            "last_ingested": max(a.ingested_at for a in own),
        }
    return out


def _order(expected: dict[str, dict[str, object]], sort: str) -> list[str]:
    def key(n: str) -> tuple[object, ...]:
        e = expected[n]
        last = -e["last_date"].timestamp() if e["last_date"] else float("inf")  # type: ignore[attr-defined]
        if sort == "priority":
            return (-e["logit"], last, -e["ads"], n)  # type: ignore[operator]
        if sort == "latest":
            return (last, -e["logit"], -e["ads"], n)  # type: ignore[operator]
        return (-e["ads"], -e["logit"], last, n)  # type: ignore[operator]

    return sorted(expected, key=key)


@pytest.mark.parametrize("sort", read.SORTS)
def test_the_queue_lists_every_scored_network_in_order_with_its_size(
    con: duckdb.DuckDBPyConnection, sort: str
) -> None:
    expected = _expected(con)
    page = read.queue(con, sort=sort, limit=None)  # type: ignore[arg-type]
    assert page.total == len(expected) > 20
    assert [r.network for r in page.items] == _order(expected, sort)
    for row in page.items:
        e = expected[row.network]
        assert (row.ads, row.persons, row.phones, row.hubs) == (
            e["ads"],
            e["persons"],
            e["phones"],
            e["hubs"],
        )
        assert (row.first_date, row.last_date, row.last_ingested) == (
            e["first_date"],
            e["last_date"],
            e["last_ingested"],
        )
        assert list(row.sources) == e["sources"]
        assert row.score == pytest.approx(e["score"]) and row.logit == pytest.approx(e["logit"])
        assert len(row.reasons) == min(3, len(row.parts))
        assert [r.contribution for r in row.reasons] == sorted(
            (r.contribution for r in row.reasons), reverse=True
        )
    assert any(r.hubs for r in page.items) and any(not r.hubs for r in page.items)


def test_the_queue_pages_add_up_to_the_whole_list(con: duckdb.DuckDBPyConnection) -> None:
    whole = [r.network for r in read.queue(con, limit=None).items]
    pages = [read.queue(con, limit=7, offset=o) for o in range(0, len(whole) + 7, 7)]
    assert [n for p in pages for n in (r.network for r in p.items)] == whole
    assert {p.total for p in pages} == {len(whole)}  # the last page is empty and still counts
    assert pages[-1].items == ()
    with pytest.raises(ValueError):
        read.queue(con, sort="random")  # type: ignore[arg-type]


def test_the_queue_filters(con: duckdb.DuckDBPyConnection) -> None:
    expected = _expected(con)

    def listed(**filters: object) -> set[str]:
        return {r.network for r in read.queue(con, limit=None, **filters).items}  # type: ignore[arg-type]

    dates = sorted(e["last_date"] for e in expected.values() if e["last_date"])  # type: ignore[type-var]
    cut = dates[len(dates) // 2]
    assert listed(date_from=cut) == {
        n for n, e in expected.items() if e["last_date"] and e["last_date"] >= cut
    }  # type: ignore[operator]
    early = dates[len(dates) // 4]
    assert listed(date_to=early) == {
        n for n, e in expected.items() if e["first_date"] and e["first_date"] <= early
    }  # type: ignore[operator]
    place = max(
        (p for e in expected.values() for p in e["places"]),
        key=lambda p: sum(p in e["places"] for e in expected.values()),
    )  # type: ignore[attr-defined,operator]
    city = place.split(",")[0].upper()
    by_place = listed(place=city)
    assert by_place == {
        n for n, e in expected.items() if any(p.lower().startswith(city.lower()) for p in e["places"])
    }  # type: ignore[attr-defined]
    assert 0 < len(by_place) < len(expected)
    source = expected[next(iter(expected))]["sources"][0]  # type: ignore[index]
    assert listed(source=source) == {n for n, e in expected.items() if source in e["sources"]}  # type: ignore[operator]
    scores = sorted(e["score"] for e in expected.values())  # type: ignore[type-var]
    low, high = scores[len(scores) // 4], scores[3 * len(scores) // 4]
    assert listed(min_score=low, max_score=high) == {
        n for n, e in expected.items() if low <= e["score"] <= high
    }  # type: ignore[operator]
    assert listed(has_hub=True) == {n for n, e in expected.items() if e["hubs"]}
    assert listed(has_hub=False) == {n for n, e in expected.items() if not e["hubs"]}
    newest = max(e["last_ingested"] for e in expected.values())  # type: ignore[type-var]
    assert listed(new_since=newest) == {n for n, e in expected.items() if e["last_ingested"] == newest}
    assert listed(new_since=newest + timedelta(seconds=1)) == set()
    assert listed(place=city, has_hub=False) == by_place & listed(has_hub=False)


def test_the_queue_filters_by_label_through_merges(copy: Path) -> None:
    with duckdb.connect(str(copy)) as con:
        networks = [r.network for r in read.queue(con, limit=3).items]
        label_network(con, networks[1], "trafficking", analyst="ana")
        label_network(con, networks[2], "independent", analyst="ana")
        assert [r.network for r in read.queue(con, label="trafficking", limit=None).items] == [networks[1]]
        row = read.queue(con, label="independent", limit=None).items[0]
        assert (row.network, row.labels) == (networks[2], ("independent",))


def test_rows_are_plain_data(con: duckdb.DuckDBPyConnection) -> None:
    page = read.queue(con, limit=2)
    as_json = json.loads(json.dumps(dataclasses.asdict(page), default=str))
    assert as_json["total"] == page.total and len(as_json["items"]) == 2
    assert as_json["items"][0]["reasons"][0]["text"]


def test_a_network_shows_persons_identifiers_ads_and_evidence(con: duckdb.DuckDBPyConnection) -> None:
    ads = raw_ads(con)
    top = read.queue(con, sort="size", limit=1).items[0].network
    uses: set[str] = set()
    view = read.network(con, top.lower(), ads_limit=5, ads_offset=2, uses=uses)
    assert view is not None and view.network == top and view.summary is not None
    assert "ads" not in uses  # scored since linked: read from the rows scoring saved, not the ads
    own = {k: a for k, a in ads.items() if a.network == top}
    persons: dict[str, int] = defaultdict(int)
    for a in own.values():
        persons[a.person] += 1  # type: ignore[index]
    assert {p: n for p, n, _ in view.persons} == persons
    assert [n for _, n, _ in view.persons] == sorted(persons.values(), reverse=True)
    # Identifiers: every phone, e-mail and handle of any version, with its ads and dates.
    dates = {
        (s, i, v): d
        for s, i, v, d in con.execute(
            "SELECT source, id, version, COALESCE(posted_at, captured_at) FROM ads"
        ).fetchall()
    }
    seen: dict[tuple[str, str], list[object]] = defaultdict(list)
    carriers: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for source, ad_id, version, kind, value in extraction_values(con, ("phone", "email", "handle")):
        if (source, ad_id) in own:
            carriers[(kind, value)].add((source, ad_id))
            if dates[(source, ad_id, version)] is not None:
                seen[(kind, value)].append(dates[(source, ad_id, version)])
    assert {(i.kind, i.value): i.ads for i in view.identifiers} == {k: len(v) for k, v in carriers.items()}
    for i in view.identifiers:
        assert (i.first_seen, i.last_seen) == (min(seen[(i.kind, i.value)]), max(seen[(i.kind, i.value)]))  # type: ignore[type-var]
    # Ads: latest first, the asked page of them.
    order = sorted(
        own.values(), key=lambda a: (-(a.date.timestamp() if a.date else float("-inf")), a.source, a.id)
    )
    assert view.ads.total == len(own) and view.ads.offset == 2
    assert [(a.ref, a.place, a.person) for a in view.ads.items] == [
        (f"{a.source}:{a.id}", a.place, a.person) for a in order[2:7]
    ]
    evidence = con.execute("SELECT kind, ads FROM link_evidence WHERE network = ?", [top]).fetchall()
    assert sorted((k, n) for k, _, n, _ in view.evidence) == sorted(evidence)
    hubs = hub_values(con)
    carried = {(k, v) for (k, v), held in carriers.items() if (k, v) in hubs}
    assert {(k, v.split(" ")[0]) for k, v, _, _, _ in view.hubs} >= carried
    # The queue counts identifier and image hubs; the view also lists copied texts (text hubs)
    # and photos beside more numbers than one owner's (weak links, not hubs).
    listed = {(k, v) for k, v, _, _, _ in view.hubs if k != "text" and (k, v.split(" ")[0]) in hubs}
    assert view.summary.hubs == len(listed)
    assert read.network(con, "N99999999") is None


def _touring(path: Path) -> Path:
    """One independent going round Houston, Dallas and Austin, three days in each, twice and back
    to Houston: a circuit of her own (the synthetic corpus has none once nothing false joins it)."""
    cities = ["Houston, TX", "Dallas, TX", "Austin, TX"] * 2 + ["Houston, TX"]
    ads = [
        {
            "id": f"tour-{k}",
            "source": "site",
            "title": "Odessa on tour",
            "body": f"Odessa here, visiting {city.split(',')[0]} this week. Call (832) 555-0166.",
            "location": city,
            "posted_at": f"2026-03-{1 + 3 * k:02d}T20:00:00Z",
        }
        for k, city in enumerate(cities)
    ]
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


def test_a_network_reads_its_saved_movement_as_a_fresh_computation_gives_it(
    copy: Path, tmp_path: Path
) -> None:
    build(copy, _touring(tmp_path / "tour.jsonl"))
    with duckdb.connect(str(copy)) as con:
        saved = {
            r.network: read.network(con, r.network, ads_limit=0) for r in read.queue(con, limit=None).items
        }
        compute_movement(con)  # every network's movement again, in temporary tables
        stays = con.execute(
            "SELECT unit_kind, unit, stay_no, place, first_seen, last_seen, ads FROM itineraries"
        ).fetchall()
        circuits = con.execute("SELECT unit_kind, unit, circuit, laps FROM circuits").fetchall()
        movement = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT network, places, moves, circuit, circuit_repeats FROM movement"
            ).fetchall()
        }
        by_unit: dict[tuple[str, str], list[tuple[object, ...]]] = defaultdict(list)
        for kind, unit, *rest in sorted(stays):
            by_unit[(kind, unit)].append(tuple(rest))
        moved = 0
        for network, view in saved.items():
            assert view is not None and view.movement is not None
            assert [
                (s.stay_no, s.place, s.first_seen, s.last_seen, s.ads) for s in view.itinerary
            ] == by_unit[("network", network)]
            m = view.movement
            assert (m.places, m.moves, m.circuit, m.circuit_repeats) == movement[network]
            persons = {p for p, _, _ in view.persons}
            assert sorted((c.unit_kind, c.unit, c.circuit, c.laps) for c in view.circuits) == sorted(
                c
                for c in circuits
                if (c[0] == "network" and c[1] == network) or (c[0] == "person" and c[1] in persons)
            )
            for person in persons:
                assert [
                    (s.stay_no, s.place, s.first_seen, s.last_seen, s.ads)
                    for s in network_itinerary(con, person, "person")
                ] == by_unit[("person", person)]
            moved += len(view.itinerary) > 1
        assert moved and any(v.circuits for v in saved.values() if v)


def test_saved_movement_follows_new_ads(corpus: Path, tmp_path: Path) -> None:
    """A store grown by a third file (new ads of known networks, a new city): the saved tables
    of the networks that changed are replaced, the others kept, and all equal a fresh run."""
    more = tmp_path / "more"
    generate(more, 200, 4, images=False)
    db = build(tmp_path / "g.duckdb", corpus / "first.jsonl", more / "ads.jsonl", corpus / "second.jsonl")
    with duckdb.connect(str(db)) as con:
        saved = con.execute(
            "SELECT unit_kind, unit, stay_no, place, first_seen, last_seen, ads FROM score_itineraries"
        ).fetchall()
        saved_circuits = con.execute("SELECT unit_kind, unit, circuit, laps FROM score_circuits").fetchall()
        compute_movement(con)
        fresh = con.execute(
            "SELECT unit_kind, unit, stay_no, place, first_seen, last_seen, ads FROM itineraries"
        ).fetchall()
        assert sorted(saved) == sorted(fresh) and len(fresh) > 100
        assert sorted(saved_circuits) == sorted(
            con.execute("SELECT unit_kind, unit, circuit, laps FROM circuits").fetchall()
        )
        [(networks, summaries)] = con.execute(
            "SELECT (SELECT COUNT(*) FROM network_scores), (SELECT COUNT(*) FROM network_summary)"
        ).fetchall()
        assert networks == summaries


def test_the_migration_fills_what_scoring_runs_save(copy: Path) -> None:
    """Migration 14 fills the network summaries, ad rows and persons' values of a store scored
    before it, in its own SQL (migrations never change): the same rows a scoring run saves, but
    the texts linking lists (kind 'text', saved since; until a store's next scoring run the
    network view reads them from the sentences)."""
    from threadline.store.schema import MIGRATIONS

    [migration] = [m for m in MIGRATIONS if m.description.startswith("linked ads and each person")]
    tables = ("ad_summary", "network_values", "network_summary")
    with duckdb.connect(str(copy)) as con:
        assert con.execute("SELECT COUNT(*) FROM network_values WHERE kind = 'text'").fetchall()[0][0] > 0
        con.execute("DELETE FROM network_values WHERE kind = 'text'")
        saved = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
        for table in tables:
            con.execute(f"DELETE FROM {table}")
        for statement in migration.statements:
            if not statement.lstrip().startswith("CREATE TABLE"):
                con.execute(statement)
        for table in tables:
            assert sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) == saved[table], table
        assert len(saved["network_values"]) > 300 and len(saved["ad_summary"]) > 400


def test_summaries_saved_run_by_run_are_those_of_one_full_pass(copy: Path) -> None:
    """The store was scored in two runs, the second only over the networks it changed (and the
    networks linked no more dropped): its saved summaries are what one pass over every network
    computes."""
    from click.testing import CliRunner

    from threadline.cli import cli
    from threadline.score.saved import refresh_network_summary

    # An analyst merges two networks: one of the two ids is linked no more.
    with duckdb.connect(str(copy), read_only=True) as con:
        (a, b) = con.execute(
            "SELECT arg_min(source || ':' || id, id), network FROM ad_links GROUP BY network"
            " ORDER BY network LIMIT 2"
        ).fetchall()
    result = CliRunner().invoke(cli, ["merge", "--db", str(copy), "--analyst", "t", a[0], b[0]])
    assert result.exit_code == 0, result.output
    tables = ("ad_summary", "network_values", "network_summary")
    with duckdb.connect(str(copy)) as con:
        gone = {a[1], b[1]} - {n for (n,) in con.execute("SELECT DISTINCT network FROM ad_links").fetchall()}
        assert len(gone) == 1
        saved = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
        refresh_network_summary(con)
        for table in tables:
            assert sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) == saved[table], table
        assert len(saved["network_summary"]) >= 40


def test_the_networks_command_filters_and_sorts_as_the_queue(store: Path) -> None:
    import re

    from click.testing import CliRunner

    from threadline.cli import cli

    with duckdb.connect(str(store), read_only=True) as con:
        expected = _expected(con)

    def kept(city: str) -> list[str]:
        return [
            n
            for n in _order(expected, "size")
            if expected[n]["hubs"] and any(p.lower().startswith(city.lower()) for p in expected[n]["places"])  # type: ignore[attr-defined]
        ]

    cities = {p.split(",")[0] for e in expected.values() for p in e["places"]}  # type: ignore[attr-defined]
    city = max(sorted(cities), key=lambda c: len(kept(c)))
    wanted = kept(city)
    assert len(wanted) >= 2  # so that --offset 1 leaves one
    args = ["networks", "--db", str(store), "--top", "5", "--offset", "1", "--sort", "size", "--place", city]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert re.findall(r"^\s+(\d+)\. (N\d+) ", result.output, flags=re.M) == [
        (str(i), n) for i, n in enumerate(wanted[1:6], 2)
    ]
    assert result.output.startswith("networks by size")


def test_a_network_linked_since_the_last_scoring_run_is_read_from_the_ads(copy: Path) -> None:
    """After a link run without scoring (the library's `link`), the saved rows are behind: the
    view works the network out from its ads and extractions instead."""
    from threadline.link import link
    from threadline.link.decisions import record_merge

    with duckdb.connect(str(copy)) as con:
        big, other = (r.network for r in read.queue(con, sort="size", limit=2).items)
        a, b = (
            con.execute(
                "SELECT source, id FROM ad_links WHERE network = ? ORDER BY ad_key LIMIT 1", [n]
            ).fetchall()[0]
            for n in (big, other)
        )
        record_merge(con, a, b, analyst="ana")
        link(con)
        [merged] = {
            n
            for (n,) in con.execute(
                "SELECT DISTINCT network FROM ad_links WHERE network IN (?, ?)", [big, other]
            ).fetchall()
        }
        view = read.network(con, merged, ads_limit=None)
        assert view is not None
        own = {k: ad for k, ad in raw_ads(con).items() if ad.network == merged}
        assert view.ads.total == len(own) == len(view.ads.items)
        assert {a.ref for a in view.ads.items} == {f"{s}:{i}" for s, i in own}
        assert all(a.network == merged for a in view.ads.items)
        assert sum(n for _, n, _ in view.persons) == len(own)
        carriers: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for source, ad_id, _, kind, value in extraction_values(con, ("phone", "email", "handle")):
            if (source, ad_id) in own:
                carriers[(kind, value)].add((source, ad_id))
        assert {(i.kind, i.value): i.ads for i in view.identifiers} == {
            k: len(v) for k, v in carriers.items()
        }
        assert any(d.kind == "merge" for d in view.decisions)


def test_a_networks_text_hubs_are_read_from_the_saved_values_as_from_its_sentences(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Scoring saves the first sentence of each text linking lists per network, so a network's
    view does not scan every sentence: it lists the text hubs the sentences of its linked ads
    give, and those of its ads' earlier versions too (as for phones)."""
    from threadline.read import networks as nw

    assert nw._texts_saved(con)
    listed = 0
    for (network,) in con.execute("SELECT network FROM network_scores").fetchall():
        saved = [h for h in nw.network_hubs(con, network) if h[0] == "text"]
        live = [
            h for h in nw.network_hubs(con, network, values=(nw._LIVE_VALUES, [network])) if h[0] == "text"
        ]
        assert set(live) <= set(saved), network
        listed += len(saved)
    assert listed > 0  # the corpus copies texts: some network holds a text hub
