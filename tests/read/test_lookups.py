"""Look-ups of one ad by its id: through the tables' indexes, and the same answers as the tables.

DuckDB uses an index only when the one filter of a scan is on the indexed column
(`threadline.store.schema.by_id`); these tests fail when a reader's look-up falls back to a scan
of the whole table, and when reading by id alone first gives another ad's rows (two sources can
use the same id)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import build

from threadline import read
from threadline.store import Store
from threadline.store.schema import _LOOKUP_INDEXES, LONG_TEXT_BYTES, by_id
from threadline.store.text_index import ID_INDEX, index_ads


def _plan(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> str:
    return "\n".join(str(row[1]) for row in con.execute(f"EXPLAIN ANALYZE {sql}", params).fetchall())


def _ad(ad_id: str, source: str, body: str, **more: object) -> dict[str, object]:
    return {"id": ad_id, "source": source, "title": f"{source} {ad_id}", "body": body, **more}


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sources that use the same ids, a second version of one ad, a long body kept in parts."""
    folder = tmp_path_factory.mktemp("lookups")
    long_body = "Sweet and new, call 713-555-0175. " + "línea 😀 " * (LONG_TEXT_BYTES // 8)
    ads = [
        _ad("A1", "alpha", "Mia here, call 713-555-0111", posted_at="2026-03-01T10:00:00"),
        _ad("A1", "beta", "Luna here, text 646-555-0122", posted_at="2026-03-02T10:00:00"),
        _ad("A2", "alpha", "Ruby, call 713-555-0133", posted_at="2026-03-03T10:00:00"),
        _ad("A3", "beta", long_body, posted_at="2026-03-04T10:00:00"),
    ]
    again = [_ad("A1", "beta", "Luna back, text 646-555-0199", posted_at="2026-03-05T10:00:00")]
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_text("".join(json.dumps(a) + "\n" for a in ads), encoding="utf-8")
    second.write_text("".join(json.dumps(a) + "\n" for a in again), encoding="utf-8")
    return build(folder / "s.duckdb", first, second)


def test_each_lookup_index_is_made_and_used(twins: Path) -> None:
    with Store.open(twins, read_only=True) as store:
        con = store.connection
        made = {name for (name,) in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        wanted = {statement.split()[2] for statement in _LOOKUP_INDEXES}
        assert wanted and wanted <= made
        for table, column, key, rest in [
            ("ad_rows", "id", "A1", "source = 'beta'"),
            ("extractions", "ad_id", "A1", "source = 'beta' AND version = 1"),
            ("ad_links", "id", "A1", "source = 'beta'"),
            ("sightings", "id", "A1", "source = 'beta'"),
            ("ad_summary", "id", "A1", "source = 'beta'"),
        ]:
            # The rest of the filter is not pushed into the look-up's scan.
            plan = _plan(con, f"{by_id(table, column)} SELECT * FROM hit WHERE {rest}", [key])
            assert "Index Scan" in plan, (table, plan)
        # What the look-up is for: a second filter in the scan, and DuckDB reads the whole table.
        scan = _plan(con, "SELECT * FROM ad_rows WHERE id = ? AND source = ?", ["A1", "beta"])
        assert "Index Scan" not in scan


def test_an_ad_read_by_id_is_that_sources_ad_with_its_versions_values_and_network(twins: Path) -> None:
    with Store.open(twins, read_only=True) as store:
        con = store.connection
        for source in ("alpha", "beta"):
            ad = read.ad_detail(con, source, "A1")
            assert ad is not None and (ad.source, ad.id) == (source, "A1")
            rows = con.execute(
                "SELECT version, body FROM ads WHERE source = ? AND id = 'A1' ORDER BY version", [source]
            ).fetchall()
            assert [(v.version, v.body) for v in ad.versions] == rows
            values = con.execute(
                "SELECT kind, value FROM extractions WHERE source = ? AND ad_id = 'A1' AND version = ?"
                " AND kind <> 'sentence'",
                [source, rows[-1][0]],
            ).fetchall()
            assert sorted((e.kind, e.value) for e in ad.extracted) == sorted(values)
            [(network, person, ad_key)] = con.execute(
                "SELECT network, person, ad_key FROM ad_links WHERE source = ? AND id = 'A1'", [source]
            ).fetchall()
            assert (ad.network, ad.person) == (network, person)
            scores = con.execute("SELECT logit FROM ad_scores WHERE ad_key = ?", [ad_key]).fetchall()
            assert ad.ad_logit == (scores[0][0] if scores else None)
            seen = con.execute("SELECT COUNT(*) FROM sightings WHERE source = ? AND id = 'A1'", [source])
            assert ad.seen.sightings == seen.fetchall()[0][0]
        assert read.ad_detail(con, "gamma", "A1") is None


def test_a_long_body_kept_in_parts_is_put_back_together(twins: Path) -> None:
    with Store.open(twins, read_only=True) as store:
        con = store.connection
        assert con.execute("SELECT COUNT(*) FROM ad_text_parts WHERE id = 'A3'").fetchall()[0][0] > 1
        ad = read.ad_detail(con, "beta", "A3")
        assert ad is not None
        [(body,)] = con.execute("SELECT body FROM ads WHERE source = 'beta' AND id = 'A3'").fetchall()
        assert ad.latest.body == body and len(body.encode()) > LONG_TEXT_BYTES


def test_a_phone_finds_its_ads_in_any_version_and_no_namesake_of_another_source(twins: Path) -> None:
    with Store.open(twins, read_only=True) as store:
        con = store.connection
        found = read.search(con, "(646) 555-0122").found
        assert [(a.source, a.id) for a in found.ads] == [("beta", "A1")]  # an earlier version's number
        found = read.search(con, "713.555.0133").found
        assert [(a.source, a.id) for a in found.ads] == [("alpha", "A2")]
        links = con.execute("SELECT network FROM ad_links WHERE source = 'alpha' AND id = 'A2'")
        [(network,)] = links.fetchall()
        assert [n.network for n in found.networks] == [network]


def _identifier_terms(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    words = "SELECT term, doc FROM search_terms WHERE contains(term, ':') ORDER BY ALL"
    return con.execute(words).fetchall(), con.execute(
        "SELECT term, doc FROM search_ids ORDER BY ALL"
    ).fetchall()


def test_the_identifiers_are_indexed_apart_after_new_versions_and_after_indexing_again(
    twins: Path, tmp_path: Path
) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(twins.read_bytes())
    with Store.open(db) as store:
        con = store.connection
        terms, ids = _identifier_terms(con)
        # Both numbers of the ad given a new version: the earlier one carried over.
        phones = {t for t, _ in ids if t.startswith("phone:")}
        assert phones == {
            f"phone:+1{n}" for n in ("7135550111", "6465550122", "6465550199", "7135550133", "7135550175")
        }
        assert ids == terms
        plan = _plan(
            con, f"{by_id('search_ids', 'term')} SELECT * FROM hit WHERE doc > 0", ["phone:+17135550133"]
        )
        assert "Index Scan" in plan
        assert index_ads(con) == 4  # every ad indexed again, in one statement
        again, ids_again = _identifier_terms(con)
        assert ids_again == again and [t for t, _ in ids_again] == [t for t, _ in ids]
        made = con.execute("SELECT COUNT(*) FROM duckdb_indexes() WHERE index_name = ?", [ID_INDEX])
        assert made.fetchall()[0][0] == 1
        assert [(a.source, a.id) for a in read.search(con, "646 555 0122").found.ads] == [("beta", "A1")]
