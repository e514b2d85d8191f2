"""Each ad's link inputs kept in the store (`threadline.link.kept`): a run reads again only the
ads whose latest version changed, and what it keeps is what reading every extraction gives."""

from __future__ import annotations

from pathlib import Path

from small_networks import ads_apart, phone_of, write_jsonl
from threadline.engine import DuckDBEngine
from threadline.ingest import ingest_file
from threadline.link import assign_ad_keys, link
from threadline.link.kept import KEPT, keep_inputs
from threadline.link.steps import build_inputs, input_rows
from threadline.score.scorer import score_store
from threadline.store import Store


def _kept(store: Store) -> dict[str, list[tuple[object, ...]]]:
    con = store.connection
    return {name: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for name, t in KEPT.items()}


def _read_whole(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """What `input_rows` reads from every extraction of every ad's latest version."""
    engine = DuckDBEngine(store.connection)
    build_inputs(engine)  # link_ads, and nothing kept
    rows = input_rows(engine, "link_ads")
    con = store.connection
    return {name: sorted(con.execute(rows[name]).fetchall(), key=repr) for name in KEPT}


def _priced(ads: list[dict[str, object]]) -> list[dict[str, object]]:
    """``ads`` with a name, an age and a rate each."""
    rates = ["$160 hh, $250 hr", "200 roses per hour", "150/hr"]
    names = ["Mia", "Ruby", "Crystal", "Paris"]
    return [
        dict(ad, body=f"Hi, I'm {names[k % 4]}, {21 + k % 5} years old. {ad['body']} Rates {rates[k % 3]}.")
        for k, ad in enumerate(ads)
    ]


def test_kept_inputs_follow_new_ads_and_new_versions(tmp_path: Path) -> None:
    ads = _priced(ads_apart(networks=8, per=4))
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "a.jsonl", ads[:20]), store, workers=0)
        link(store.connection)
        first = _kept(store)
        assert all(first.values()), "every kind of input is kept"
        keys = {k for (k,) in store.query("SELECT ad_key FROM ad_keys")}
        assert {ad_key for ad_key, *_ in first["ids"]} == keys
        # New ads, and a new version of an ad that now gives another number, another name and city.
        changed = dict(ads[0], body=f"Now Jasmine here. Call {phone_of(7)}. Rates 300/hr.", location="Denver")
        ingest_file(write_jsonl(tmp_path / "b.jsonl", [*ads[20:], changed]), store, workers=0)
        assign_ad_keys(store.connection)  # (a link run's first step)
        engine = DuckDBEngine(store.connection)
        build_inputs(engine)
        assert keep_inputs(engine) == len(ads) - 20 + 1  # the new ads and the new version only
        assert keep_inputs(engine) == 0  # and then nothing
        link(store.connection)
        kept = _kept(store)
        assert kept == _read_whole(store)
        [(key,)] = store.query("SELECT ad_key FROM ad_keys WHERE id = ?", [ads[0]["id"]])
        numbers = {plain for ad_key, kind, plain in kept["ids"] if ad_key == key and kind == "phone"}
        assert numbers == {"+16175550107"}  # the old version's number is forgotten
        assert [city for ad_key, city, *_ in kept["facts"] if ad_key == key] == ["Denver, CO, US"]


def test_kept_inputs_read_by_other_sql_are_read_again(tmp_path: Path) -> None:
    ads = ads_apart(networks=4, per=3)
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "a.jsonl", ads), store, workers=0)
        link(store.connection)
        before = _kept(store)
        # Rows kept by another version of the SQL (here: a digest that is not this one's, and a row
        # that SQL would not give) are all read again, not trusted.
        store.connection.execute("UPDATE link_input_digest SET digest = 'older'")
        store.connection.execute("INSERT INTO link_input_names VALUES (1, 'Stale')")
        engine = DuckDBEngine(store.connection)
        build_inputs(engine)
        assert keep_inputs(engine) == len(ads)
        assert _kept(store) == before
        # A full run reads every ad again too.
        store.connection.execute("INSERT INTO link_input_names VALUES (1, 'Stale')")
        link(store.connection, full=True)
        assert _kept(store) == before


def test_scores_from_kept_prices_equal_scores_from_the_extractions(tmp_path: Path) -> None:
    ads = _priced(ads_apart(networks=10, per=4))
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "a.jsonl", ads[:24]), store, workers=0)
        link(store.connection)
        score_store(store.connection, inputs_built=True)
        ingest_file(write_jsonl(tmp_path / "b.jsonl", ads[24:]), store, workers=0)
        link(store.connection)
        score_store(store.connection, inputs_built=True, changed="_changed_networks")  # kept prices
        kept = sorted(store.query("SELECT ad_key, logit, score FROM ad_scores"), key=repr)
        medians = sorted(store.query("SELECT * FROM _local_prices"), key=repr)
        assert medians, "the ads' prices reach the local medians"
        score_store(store.connection)  # every input read from the extractions, everything scored
        assert sorted(store.query("SELECT * FROM _local_prices"), key=repr) == medians
        assert sorted(store.query("SELECT ad_key, logit, score FROM ad_scores"), key=repr) == kept
