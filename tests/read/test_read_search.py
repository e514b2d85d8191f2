"""Search: identifiers in any format, names, ids, words of the text (the store's own index, kept
current as ads and versions arrive), places."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from conftest import build, raw_ads, token_list, words

from threadline import read
from threadline.read.search import search_places, search_text
from threadline.store import Store


def _carriers(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT source, ad_id FROM extractions WHERE kind = ? AND value = ?", [kind, value]
    ).fetchall()
    return {f"{s}:{i}" for s, i in rows}


def test_a_phone_typed_in_any_format_finds_the_same_ads(con: duckdb.DuckDBPyConnection) -> None:
    phone = con.execute(
        "SELECT value FROM extractions WHERE kind = 'phone' AND value LIKE '+1__________'"
        " GROUP BY value HAVING COUNT(DISTINCT ad_id) BETWEEN 2 AND 40 ORDER BY value LIMIT 1"
    ).fetchall()[0][0]
    area, mid, line = phone[2:5], phone[5:8], phone[8:]
    carrying = _carriers(con, "phone", phone)
    for typed in (
        f"({area}) {mid}-{line}",
        f"{area}{mid}{line}",
        f"+1 {area} {mid} {line}",
        f"{area}.{mid}.{line}",
    ):
        result = read.search(con, typed, limit=100)
        assert ("phone", phone) in result.found.matched, typed
        assert {a.ref for a in result.found.ads} == carrying
        assert result.found.total_ads == len(carrying)


def test_an_email_a_handle_and_a_name(con: duckdb.DuckDBPyConnection) -> None:
    for kind in ("email", "handle", "name"):
        value = con.execute(
            "SELECT value FROM extractions WHERE kind = ?"
            " GROUP BY value ORDER BY COUNT(*) DESC, value LIMIT 1",
            [kind],
        ).fetchall()[0][0]
        typed = value.upper() if kind in ("email", "name") else f"@{value.split(':', 1)[1]}"
        found = read.find(con, typed, limit=1000)
        # A handle typed without its platform matches its name on any platform.
        same = (
            "split_part(value, ':', 2) = split_part(?, ':', 2)"
            if kind == "handle"
            else "lower(value) = lower(?)"
        )
        expected = {
            f"{s}:{i}"
            for s, i in con.execute(
                f"SELECT DISTINCT source, ad_id FROM extractions WHERE kind = ? AND {same}", [kind, value]
            ).fetchall()
        }
        assert {a.ref for a in found.ads} == expected, kind
        networks = Counter(a.network for a in raw_ads(con).values() if f"{a.source}:{a.id}" in expected)
        assert {h.network: h.matched for h in found.networks} == dict(networks)


def test_words_find_every_ad_whose_latest_text_holds_them_all(con: duckdb.DuckDBPyConnection) -> None:
    ads = raw_ads(con)
    held = {key: words(ad.text) for key, ad in ads.items()}
    counts = Counter(w for ws in held.values() for w in ws)
    rare = sorted(w for w, n in counts.items() if 3 <= n <= 30 and w.isalpha())[:5]
    common = max((w for w in counts if w.isalpha()), key=lambda w: counts[w])
    assert rare
    for query in [*rare, f"{rare[0]} {common}", rare[1].upper(), f"{rare[2]}!!"]:
        terms, page = search_text(con, query, limit=1000)
        wanted = set(terms)
        assert {(h.ad.source, h.ad.id) for h in page.items} == {
            k for k, ws in held.items() if wanted <= ws
        }, query
        assert page.total == len(page.items)
        assert [h.score for h in page.items] == sorted((h.score for h in page.items), reverse=True)
    # Ranking: BM25 over the words as Python cuts them.
    cut = {key: token_list(ad.text) for key, ad in ads.items()}
    average = sum(map(len, cut.values())) / len(cut)
    for word in rare[:3]:
        df = sum(word in ws for ws in held.values())
        idf = math.log(1 + (len(cut) - df + 0.5) / (df + 0.5))

        def bm25(key: tuple[str, str], word: str = word, idf: float = idf) -> float:
            tf = cut[key].count(word)
            return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(cut[key]) / average))

        _, page = search_text(con, word, limit=1000)
        assert [h.score for h in page.items] == pytest.approx(
            [bm25((h.ad.source, h.ad.id)) for h in page.items]
        )
    _, page = search_text(con, rare[0], limit=2, offset=1)
    assert page.offset == 1 and len(page.items) == min(2, counts[rare[0]] - 1)
    assert search_text(con, "zzqqxx")[1].total == 0
    assert search_text(con, "a !")[0] == ()


def test_places_match_by_the_start_of_their_name(con: duckdb.DuckDBPyConnection) -> None:
    summary = con.execute("SELECT network, places FROM network_summary").fetchall()
    place = Counter(p for _, places in summary for p in places).most_common(1)[0][0]
    start = place[:4].lower()
    hits = {h.place: h.networks for h in search_places(con, start, limit=100)}
    expected = Counter(p for _, places in summary for p in places if p.lower().startswith(start))
    assert hits == dict(expected)
    assert read.search(con, place.split(",")[0]).places[0].place.startswith(place.split(",")[0])


def _write(path: Path, ads: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


def test_the_index_follows_new_ads_and_new_versions(tmp_path: Path) -> None:
    """Every write indexes what it stores: a new ad is found by its words at once, and a new
    version is found by its new words and no longer by the words it dropped."""
    db = tmp_path / "w.duckdb"
    first = [
        {
            "id": "1",
            "source": "s",
            "title": "Sunny Zorblax",
            "body": "Quietly gleaming evenings, call 713-555-0142",
        },
        {
            "id": "2",
            "source": "s",
            "body": "Gleaming nights in Zürich, text 713-555-0143",
            "location": "Houston, TX",
        },
    ]
    build(db, _write(tmp_path / "a.jsonl", first))
    with duckdb.connect(str(db), read_only=True) as con:
        assert _found(con, "zorblax") == {"s:1"}
        assert _found(con, "gleaming") == {"s:1", "s:2"}
        assert _found(con, "zurich houston") == {"s:2"}
    second = [
        {
            "id": "2",
            "source": "s",
            "body": "Velvetine mornings only, text 713-555-0145",
            "location": "Houston, TX",
        },
        {"id": "3", "source": "s", "body": "Velvetine and gleaming, 713-555-0144"},
    ]
    with Store.open(db) as store:  # stored without linking: the index is the store's own
        from threadline.ingest import ingest_file

        ingest_file(_write(tmp_path / "b.jsonl", second), store, workers=0)
        con = store.connection
        assert _found(con, "velvetine") == {"s:2", "s:3"}
        assert _found(con, "gleaming") == {"s:1", "s:3"}  # s:2 no longer says it
        assert _found(con, "zurich") == set()
        # Identifiers of every version: the number s:2 gave before and the one it gives now.
        for typed, ads in [("(713) 555-0143", {"s:2"}), ("713.555.0145", {"s:2"}), ("7135550144", {"s:3"})]:
            found = read.find(con, typed)
            assert {a.ref for a in found.ads} == ads and found.matched[0][0] == "phone", typed
        [(docs, versions)] = con.execute(
            "SELECT list(source || ':' || id || ' v' || version ORDER BY id), COUNT(*) FROM search_docs"
        ).fetchall()
        assert docs == ["s:1 v1", "s:2 v2", "s:3 v1"] and versions == 3
        [(rows,)] = con.execute(
            "SELECT COUNT(*) FROM search_terms WHERE doc NOT IN (SELECT doc FROM search_docs)"
        ).fetchall()
        assert rows == 0  # nothing left of the replaced version


def test_two_versions_of_an_ad_in_one_batch_index_the_later(tmp_path: Path) -> None:
    """The batch's own texts are indexed (not read back from the store): of an ad changed twice
    within one batch, only its latest version is the ad's document, its long text included."""
    from threadline.ingest import ingest_file

    filler = "\U0001f642" * 40_000  # 160 KB: cut into parts in the store, and indexed whole
    ads = [
        {"id": "7", "source": "s", "body": "Quokka mornings, 713-555-0142"},
        {"id": "7", "source": "s", "body": f"Wombat evenings, 713-555-0147 {filler} Narwhal end"},
        {"id": "8", "source": "s", "title": "Axolotl", "body": "713-555-0148", "location": "Quito"},
    ]
    db = tmp_path / "v.duckdb"
    with Store.open(db) as store:
        ingest_file(_write(tmp_path / "v.jsonl", ads), store, workers=0)
        con = store.connection
        assert con.execute("SELECT source, id, version FROM search_docs ORDER BY id").fetchall() == [
            ("s", "7", 2),
            ("s", "8", 1),
        ]
        assert con.execute("SELECT COUNT(*) FROM ad_text_parts WHERE id = '7'").fetchone() == (2,)
        assert _found(con, "wombat") == _found(con, "narwhal") == {"s:7"}
        assert _found(con, "quokka") == set()
        assert _found(con, "axolotl quito") == {"s:8"}
        # Identifiers of both versions, as for a version that came in a later batch.
        assert {a.ref for a in read.find(con, "713-555-0142").ads} == {"s:7"}


def _found(con: duckdb.DuckDBPyConnection, query: str) -> set[str]:
    return {h.ad.ref for h in search_text(con, query, limit=100)[1].items}


def test_the_migrations_index_a_store_as_every_write_does(copy: Path) -> None:
    """Migrations 12 and 15 index the ads a store already holds, words and identifiers, in their
    own SQL (migrations never change): as `text_index` does for every write since."""
    from threadline.store.schema import MIGRATIONS

    [words, identifiers] = [
        m for m in MIGRATIONS if "full-text index" in m.description or "in the words index" in m.description
    ]
    backfill = [s for s in words.statements if "_ti_docs" in s or "search_terms\n    SELECT" in s]
    backfill += list(identifiers.statements)
    with duckdb.connect(str(copy)) as con:
        written = con.execute("SELECT source, id, version, terms FROM search_docs").fetchall()
        terms = con.execute(
            "SELECT d.source, d.id, t.term, t.tf FROM search_terms t JOIN search_docs d ON d.doc = t.doc"
        ).fetchall()
        con.execute("DELETE FROM search_terms")
        con.execute("DELETE FROM search_docs")
        for statement in backfill:
            con.execute(statement)
        assert sorted(con.execute("SELECT source, id, version, terms FROM search_docs").fetchall()) == sorted(
            written
        )
        again = con.execute(
            "SELECT d.source, d.id, t.term, t.tf FROM search_terms t JOIN search_docs d ON d.doc = t.doc"
        ).fetchall()
        assert sorted(again) == sorted(terms) and len(terms) > 10_000
        assert {t.split(":")[0] for _, _, t, _ in terms if ":" in t} == {
            "phone",
            "email",
            "handle",
            "handlename",
            "name",
        }


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_finds_nothing(con: duckdb.DuckDBPyConnection, query: str) -> None:
    result = read.search(con, query)
    assert result.found.total_ads == 0 and result.text.total == 0 and result.places == ()


def test_the_index_is_rewritten_in_word_order_as_it_grows(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once enough rows arrived since the last rewrite, a write rewrites the words sorted (so
    DuckDB can skip what it need not read): the same answers, the rows in term order."""
    from threadline.store import text_index

    with duckdb.connect(str(copy)) as con:
        words = ["gleaming", "town", "incall", "new"]
        before = {w: search_text(con, w, limit=1000)[1] for w in words}
        [(rows,)] = con.execute("SELECT COUNT(*) FROM search_terms").fetchall()
        monkeypatch.setattr(text_index, "COMPACT_MIN_ROWS", rows // 2)
        con.execute("CREATE TEMP TABLE one AS SELECT source, id FROM ad_keys ORDER BY ad_key LIMIT 1")
        text_index.index_ads(con, "one")  # the whole index counts as appended: rewritten
        assert {w: search_text(con, w, limit=1000)[1] for w in words} == before
        terms = [t for (t,) in con.execute("SELECT term FROM search_terms").fetchall()]
        assert terms == sorted(terms)
        assert text_index._sorted_rows(con) == len(terms) == rows
        text_index.index_ads(con, "one")  # a few rows since: not rewritten
        assert text_index._unsorted(con) == 0 and text_index._sorted_rows(con) == rows


def test_networks_and_persons_touched_are_paged_in_priority_order(con: duckdb.DuckDBPyConnection) -> None:
    # The name carried by the most networks: its networks and persons come a page at a time, every
    # page in the whole list's order, with the totals of the whole list.
    name = con.execute(
        "SELECT lower(e.value) FROM extractions e JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id"
        " WHERE e.kind = 'name' GROUP BY lower(e.value) ORDER BY COUNT(DISTINCT l.network) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    whole = read.find(con, name, limit=1)
    assert whole.total_networks == len(whole.networks) >= 3
    assert whole.total_persons == len(whole.persons) >= 3
    linked = con.execute(
        "SELECT COUNT(DISTINCT network), COUNT(DISTINCT person) FROM ad_links l"
        " JOIN (SELECT unnest(?) AS ref) r ON r.ref = l.source || ':' || l.id",
        [sorted(_carriers_of_name(con, name))],
    ).fetchone()
    assert linked == (whole.total_networks, whole.total_persons)
    # Highest priority first: scored before unscored, then by logit.
    logits = [n.logit for n in whole.networks]
    scored = [x for x in logits if x is not None]
    assert scored == sorted(scored, reverse=True)
    assert logits[: len(scored)] == scored
    pages = []
    for start in range(0, whole.total_networks + 2, 2):
        page = read.find(con, name, limit=1, groups=2, groups_offset=start)
        assert (page.total_networks, page.total_persons) == (whole.total_networks, whole.total_persons)
        assert page.networks == whole.networks[start : start + 2]
        assert page.persons == whole.persons[start : start + 2]
        assert page.groups_offset == start
        pages.append(page)
    assert sum(len(p.networks) for p in pages) == whole.total_networks


def _carriers_of_name(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT source, ad_id FROM extractions WHERE kind = 'name' AND lower(value) = ?", [name]
    ).fetchall()
    return {f"{s}:{i}" for s, i in rows}
