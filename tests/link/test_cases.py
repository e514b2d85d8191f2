"""Cases keep their members per ad: a network added brings its ads, a followed network's new ads
join on the next link run with a notice, a split never drops an ad, a removal is not undone by
the network, and what is new since a reader last opened the case is told apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_link import ALWAYS_INCREMENTAL, phone, write_ads

from threadline import read
from threadline.ingest import ingest_file
from threadline.link import cases as acts
from threadline.link import link
from threadline.link.decisions import record_split
from threadline.score.scorer import score_store
from threadline.store import Store


def _ads(who: str, own: int, ids: range) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{who.lower()}-{i}",
            "source": "site",
            "body": f"I'm {who}. Call {phone(own, 504)}.",
            "location": "Houston, TX",
        }
        for i in ids
    ]


def _run(con: duckdb.DuckDBPyConnection, store: Store, file: Path) -> None:
    ingest_file(file, store, workers=0)
    link(con, ALWAYS_INCREMENTAL)
    score_store(con, inputs_built=True, changed="_changed_networks")


def _network(con: duckdb.DuckDBPyConnection, ad_id: str) -> str:
    [(n,)] = con.execute("SELECT network FROM ad_links WHERE source = 'site' AND id = ?", [ad_id]).fetchall()
    return str(n)


def _members(con: duckdb.DuckDBPyConnection, case_id: int) -> set[str]:
    return {a.id for a in read.case_ads(con, case_id)}


@pytest.fixture()
def store(tmp_path: Path) -> Any:
    with Store.open(tmp_path / "s.duckdb") as store:
        _run(
            store.connection,
            store,
            write_ads(tmp_path / "a.jsonl", [*_ads("Mia", 11, range(3)), *_ads("Ruby", 12, range(2))]),
        )
        yield store


def test_a_network_added_brings_its_ads_and_its_new_ads_later_with_a_notice(
    store: Store, tmp_path: Path
) -> None:
    con = store.connection
    mia = _network(con, "mia-0")
    case_id = acts.create_case(con, "Operation Harbor", analyst="kim", tags=["houston", "houston", " port "])
    assert acts.add_network(con, case_id, mia, analyst="kim") == 3
    assert acts.add_ads(con, case_id, [("site", "ruby-0")], analyst="kim") == 1
    assert acts.add_network(con, case_id, mia, analyst="kim") == 0  # already there: nothing new
    assert _members(con, case_id) == {"mia-0", "mia-1", "mia-2", "ruby-0"}

    _run(
        con,
        store,
        write_ads(tmp_path / "b.jsonl", [*_ads("Mia", 11, range(3, 5)), *_ads("Ruby", 12, range(2, 4))]),
    )
    # Mia's two new ads came in with the network; Ruby's did not (ruby-0 was added alone).
    assert _members(con, case_id) == {"mia-0", "mia-1", "mia-2", "mia-3", "mia-4", "ruby-0"}
    view = read.case(con, case_id, reader="kim")
    assert view is not None
    assert [(n.network, n.ads, n.text) for n in view.notices] == [
        (mia, 2, f"{mia}: 2 new ads joined the case from a link run")
    ]
    assert view.case.ref == f"C{case_id}" and view.case.tags == ("houston", "port")
    assert view.case.analysts == ("kim",) and view.case.ads == 6 and view.case.networks == 2
    assert [a.ref for a in view.single_ads] == ["site:ruby-0"]
    followed = {m.network: m for m in view.members}
    assert followed[mia].followed and followed[mia].ads == 5 and followed[mia].network_ads == 5
    assert (
        not followed[_network(con, "ruby-0")].followed and followed[_network(con, "ruby-0")].network_ads == 4
    )


def test_a_split_never_drops_an_ad_and_a_removed_ad_stays_out(store: Store, tmp_path: Path) -> None:
    con = store.connection
    mia = _network(con, "mia-0")
    case_id = acts.create_case(con, "Split", analyst="kim")
    acts.add_network(con, case_id, mia, analyst="kim")
    record_split(con, mia, [("site", "mia-2")], analyst="kim")
    link(con, ALWAYS_INCREMENTAL)
    assert _network(con, "mia-2") != _network(con, "mia-0")
    assert _members(con, case_id) == {"mia-0", "mia-1", "mia-2"}  # the split-off ad stays

    assert acts.remove_ads(con, case_id, [("site", "mia-1")], analyst="kim") == 1
    _run(con, store, write_ads(tmp_path / "b.jsonl", _ads("Mia", 11, range(3, 4))))
    assert _members(con, case_id) == {"mia-0", "mia-2", "mia-3"}  # mia-1 not brought back

    assert acts.remove_network(con, case_id, _network(con, "mia-0"), analyst="kim") == 2
    assert _members(con, case_id) == {"mia-2"}
    _run(con, store, write_ads(tmp_path / "c.jsonl", _ads("Mia", 11, range(4, 5))))
    assert _members(con, case_id) == {"mia-2"}  # no longer followed
    # Nothing is deleted: every row a member ever had is kept with who removed it.
    [(rows, removed)] = con.execute(
        "SELECT COUNT(*), COUNT(removed_by) FROM case_ads WHERE case_id = ?", [case_id]
    ).fetchall()
    assert (rows, removed) == (4, 3)


def test_new_since_the_reader_last_opened_the_case(store: Store, tmp_path: Path) -> None:
    con = store.connection
    mia = _network(con, "mia-0")
    case_id = acts.create_case(con, "News", analyst="kim")
    acts.add_network(con, case_id, mia, analyst="kim")
    first = read.case(con, case_id, reader="kim")
    assert first is not None and first.since is None and not first.new_ads  # never opened: nothing "new"
    acts.opened(con, case_id, "kim")
    _run(con, store, write_ads(tmp_path / "b.jsonl", _ads("Mia", 11, range(3, 5))))
    kim = read.case(con, case_id, reader="kim")
    assert kim is not None and kim.since is not None
    assert sorted(a.id for a in kim.new_ads) == ["mia-3", "mia-4"]
    assert [m.new for m in kim.members if m.network == mia] == [2]
    assert all(n.new for n in kim.notices)
    acts.opened(con, case_id, "kim")
    again = read.case(con, case_id, reader="kim")
    assert again is not None and not again.new_ads and not any(n.new for n in again.notices)
    other = read.case(con, case_id, reader="lee")  # another analyst's "since" is their own
    assert other is not None and other.since is None


def test_refusals(store: Store) -> None:
    con = store.connection
    case_id = acts.create_case(con, "R", analyst="kim")
    with pytest.raises(LookupError, match="no case C99"):
        acts.add_ads(con, 99, [("site", "mia-0")], analyst="kim")
    with pytest.raises(LookupError, match="no ad site:nope"):
        acts.add_ads(con, case_id, [("site", "nope")], analyst="kim")
    with pytest.raises(LookupError, match="no network N404"):
        acts.add_network(con, case_id, "N404", analyst="kim")
    with pytest.raises(ValueError, match="name"):
        acts.create_case(con, "  ", analyst="kim")
    with pytest.raises(ValueError, match="open or closed"):
        acts.set_status(con, case_id, "done")
    with pytest.raises(ValueError, match="some text"):
        acts.note(con, case_id, " \n", analyst="kim")
    assert read.case(con, 99) is None
    assert [c.ref for c in read.cases(con)] == [f"C{case_id}"]


def test_the_command_line_on_a_store_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    db = tmp_path / "cli.duckdb"
    with Store.open(db) as store:
        _run(store.connection, store, write_ads(tmp_path / "a.jsonl", _ads("Mia", 11, range(2))))
        mia = _network(store.connection, "mia-0")

    def ok(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert ok("case", "new", "Local", "--tag", "t1", "--analyst", "kim") == "C1\n"
    assert ok("case", "add", "C1", mia, "--analyst", "kim") == f"C1: {mia}: 2 ads added\n"
    assert ok("case", "note", "C1", "*first*", "--analyst", "kim") == "C1: note 1 added\n"
    assert ok("case", "list") == "C1\topen\t2\t1\tLocal\n"
    shown = json.loads(ok("case", "show", "C1"))
    assert {a["ref"] for a in shown["ads"]} == {"site:mia-0", "site:mia-1"}
    assert shown["notes"][0]["body"] == "*first*" and shown["case"]["tags"] == ["t1"]
    assert shown["alerts"] == {"items": [], "total": 0, "unread": 0}
    # A watchlist entry of the case, matched once against the archive: the case shows its alerts.
    ok("watch", "add", "--kind", "identifiers", "--value", phone(11, 504), "--owner", "kim", "--case", "C1")
    alerts = json.loads(ok("case", "show", "C1"))["alerts"]
    assert alerts["total"] == alerts["unread"] == 2
    assert {(a["id"], a["by_entry"], a["by_ad"]) for a in alerts["items"]} == {
        ("mia-0", True, True),
        ("mia-1", True, True),
    }
    assert ok("case", "remove", "C1", "site:mia-1", "--analyst", "kim") == "C1: ads: 1 ad removed\n"
    # All or nothing: a missing ad beside a good network adds neither.
    bad = CliRunner().invoke(
        cli, ["case", "add", "C1", mia, "site:nope", "--analyst", "kim", "--db", str(db)]
    )
    assert bad.exit_code == 1 and "no ad site:nope" in bad.stderr
    assert ok("case", "list") == "C1\topen\t1\t1\tLocal\n"


def test_a_followed_network_merged_into_another_is_followed_there(store: Store, tmp_path: Path) -> None:
    from threadline.link.decisions import record_merge

    con = store.connection
    ruby = _network(con, "ruby-0")  # Ruby's 2 ads: the smaller network, whose id a merge retires
    case_id = acts.create_case(con, "Merge", analyst="kim")
    acts.add_network(con, case_id, ruby, analyst="kim")
    record_merge(con, ("site", "ruby-0"), ("site", "mia-0"), analyst="kim")
    link(con, ALWAYS_INCREMENTAL)
    merged = _network(con, "ruby-0")
    assert merged != ruby and merged == _network(con, "mia-0")
    # Ruby's id now names the merged network: Mia's ads joined the case, with a notice.
    assert _members(con, case_id) == {"ruby-0", "ruby-1", "mia-0", "mia-1", "mia-2"}
    view = read.case(con, case_id, reader="kim")
    assert view is not None and [(n.network, n.ads) for n in view.notices] == [(merged, 3)]
    assert [m.network for m in view.members if m.followed] == [merged]
    _run(con, store, write_ads(tmp_path / "b.jsonl", _ads("Mia", 11, range(3, 4))))
    assert "mia-3" in _members(con, case_id)
