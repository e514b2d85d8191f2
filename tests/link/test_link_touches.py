"""What a link and scoring run tells those who keep answers (`threadline.store._tx.touched`): the
networks it clustered again, and those whose saved hubs' counts moved; a full run, everything.
A server keeps each network's view until a run touches that network (`threadline.serve._answers`)."""

from __future__ import annotations

from pathlib import Path

from small_networks import ads_apart, write_jsonl
from threadline.ingest import ingest_file
from threadline.link import LinkParams, link
from threadline.score.scorer import score_store
from threadline.store import Store
from threadline.store._tx import ALL, Touches, ad_tags, on_commit


def _network_of(store: Store, ad_id: str) -> str:
    [(network,)] = store.query("SELECT network FROM ad_links WHERE id = ?", [ad_id])
    return str(network)


def _told(store: Store, new: list[dict[str, object]], folder: Path, params: LinkParams) -> list[Touches]:
    told: list[Touches] = []
    on_commit(store.connection, told.append)
    try:
        ingest_file(write_jsonl(folder / "new.jsonl", new), store, workers=0)
        link(store.connection, params)
        score_store(store.connection, inputs_built=True, changed="_changed_networks")
    finally:
        on_commit(store.connection, None)
    return told[1::2]  # each commit is told twice: just before and just after


def test_an_ad_joining_a_network_touches_that_network_only(tmp_path: Path) -> None:
    ads = ads_apart()
    params = LinkParams()
    with Store.open(tmp_path / "store.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "ads.jsonl", ads), store, workers=0)
        link(store.connection, params)
        score_store(store.connection, inputs_built=True)
        joined, other = _network_of(store, "n3a0"), _network_of(store, "n4a0")
        new = [dict(ads[15], id="n3new", body=f"Zorbu kimalo fenta. {ads[15]['body'].rsplit('. ', 1)[1]}")]
        batch, linked, scored = _told(store, new, tmp_path, params)
        assert _network_of(store, "n3new") == joined  # the same phone: the same network
    # The ingest's batch: ads as stored only, and the identifiers it indexed (its phone among them).
    assert batch != ALL
    assert {t for t in batch if not t.startswith("term:")} == {"ads", *ad_tags([("site0", "n3new")])}
    assert any(t.startswith("term:phone:+") for t in batch)
    assert linked != ALL and scored != ALL
    assert {"links", f"net:{joined}"} <= linked and {"links", f"net:{joined}"} <= scored
    assert f"net:{other}" not in linked | scored
    assert {t for t in linked | scored if t.startswith("net:")} == {f"net:{joined}"}


def test_a_hub_whose_count_moves_touches_every_network_whose_ads_carry_it(tmp_path: Path) -> None:
    """A network's view lists the hubs its ads carry, with their counts: a new ad giving a hub
    number touches the networks holding it, though none of them is clustered again."""
    ads = ads_apart(hub=4)
    params = LinkParams(hub_co_phones=3)  # the booking line is beside 4 numbers: a hub
    with Store.open(tmp_path / "store.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "ads.jsonl", ads), store, workers=0)
        link(store.connection, params)
        score_store(store.connection, inputs_built=True)
        [(hubs,)] = store.query("SELECT count(*) FROM link_hubs WHERE is_hub AND kind = 'phone'")
        assert hubs == 1
        holders = {_network_of(store, f"n{k}a0") for k in range(4)}
        apart = _network_of(store, "n10a0")  # holds no hub
        new = [
            {"id": "hubnew", "source": "site9", "title": "Xo", "location": "Reno",
             "body": "Vubo tesk. Call (808) 555-0177. Bookings (720) 555-0199.",
             "posted_at": "2026-01-12T12:00:00Z"}
        ]  # fmt: skip
        _, linked, _ = _told(store, new, tmp_path, params)
        own = _network_of(store, "hubnew")
        assert own not in holders  # a hub links nothing
    assert linked != ALL
    assert {f"net:{n}" for n in holders | {own}} <= linked
    assert f"net:{apart}" not in linked


def test_a_full_run_touches_everything(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.duckdb") as store:
        ingest_file(write_jsonl(tmp_path / "ads.jsonl", ads_apart(networks=5)), store, workers=0)
        told: list[Touches] = []
        on_commit(store.connection, told.append)
        link(store.connection, LinkParams(), full=True)
        on_commit(store.connection, None)
    assert told and told[-1] == ALL


def test_with_nobody_listening_a_run_saves_the_same_and_works_out_no_tags(tmp_path: Path) -> None:
    """A command-line run has nobody keeping answers: it skips what only they read, and stores
    the same as a run that tells them."""
    from threadline.store._tx import listened

    tables = ("ad_links", "link_evidence", "link_hubs", "search_terms", "ad_scores")
    saved = []
    for told in (False, True):
        with Store.open(tmp_path / f"{told}.duckdb") as store:
            con = store.connection
            assert not listened(con)
            if told:
                on_commit(con, lambda touches: None)
                assert listened(con)
            try:
                ingest_file(write_jsonl(tmp_path / "a.jsonl", ads_apart()), store, workers=0)
                link(con, LinkParams())
                score_store(con, inputs_built=True, changed="_changed_networks")
            finally:
                on_commit(con, None)
            assert not listened(con)
            saved.append({t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables})
    assert saved[0] == saved[1] and saved[0]["ad_links"]
