"""Analysts' acts cannot be confused: decisions are D…, labels L…, a bare number is refused, a
revoke says what it withdrew and why, and a hub mark names a value the store holds."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result
from test_link import write_ads
from test_link_decisions import BRIDGE, _two_women_one_phone

from threadline.cli import cli
from threadline.refs import BadRef, format_ref, parse_ref
from threadline.store import Store
from threadline.store.schema import MIGRATIONS, migrate


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _ok(*args: str) -> str:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _refused(*args: str) -> str:
    result = _run(*args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1 and lines[0].startswith("threadline: "), result.output
    return lines[0]


def test_references_are_typed() -> None:
    assert parse_ref("D12") == ("decision", 12)
    assert parse_ref("L11") == ("label", 11)
    assert parse_ref("N00000042") == ("network", 42)
    assert parse_ref(" l3 ", kinds=("decision", "label")) == ("label", 3)
    assert format_ref("decision", 12) == "D12" and format_ref("label", 11) == "L11"
    for bad, why in [
        ("11", "bare number"),
        ("-3", "bare number"),
        ("X5", "not a reference"),
        ("D", "not a reference"),
        ("D1.5", "not a reference"),
        ("", "not a reference"),
        ("D0", "start at 1"),
        ("L-2", "start at 1"),
    ]:
        with pytest.raises(BadRef, match=why):
            parse_ref(bad)
    with pytest.raises(BadRef, match="is a network, not a decision or a label"):
        parse_ref("N00000042", kinds=("decision", "label"))


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "s.duckdb")
    ads = write_ads(tmp_path / "ads.jsonl", [*_two_women_one_phone(), BRIDGE])
    _ok("ingest", str(ads), "--db", path, "-q")
    return path


def _networks(db: str) -> dict[str, str]:
    out = _ok("export", "networks", "--db", db)
    return {r["id"]: r["network"] for r in map(json.loads, out.splitlines())}


def test_revoke_takes_only_the_kind_it_is_told(db: str) -> None:
    net = _networks(db)
    assert net["mia-0"] == net["ruby-1"]  # the bridge joins them
    labelled = _ok("label", net["mia-0"], "trafficking", "--db", db, "--analyst", "kim", "--note", "seen")
    assert labelled.startswith(f"L1 recorded: {net['mia-0']} trafficking")
    assert "D1 recorded" in _ok("separate", "site:mia-0", "site:ruby-1", "--db", db, "--analyst", "kim")
    apart = _networks(db)
    assert apart["mia-0"] != apart["ruby-1"]
    # A bare number, another kind of reference, or one that names nothing: refused, nothing changes.
    assert "bare number" in _refused("revoke", "1", "--db", db, "--analyst", "lee")
    assert "is a network" in _refused("revoke", apart["mia-0"], "--db", db, "--analyst", "lee")
    assert "no label L2" in _refused("revoke", "L2", "--db", db, "--analyst", "lee")
    assert "no decision D2" in _refused("revoke", "D2", "--db", db, "--analyst", "lee")
    # Withdrawing label 1 leaves decision 1 alone (and needs no new link run).
    withdrawn = _ok("revoke", "L1", "--db", db, "--analyst", "lee", "--note", "wrong network")
    assert withdrawn.startswith(f"revoked L1 ({net['mia-0']} trafficking by kim ")
    assert "): wrong network\n" in withdrawn and "link:" not in withdrawn
    assert _networks(db) == apart
    assert "already withdrawn by lee" in _refused("revoke", "L1", "--db", db, "--analyst", "kim")
    listed = _ok("decisions", "--db", db)
    assert "D1 separate by kim" in listed and "(active)" in listed and "revoked" not in listed
    labels = _ok("labels", "--db", db)
    assert f"L1 {net['mia-0']} trafficking by kim" in labels and "(withdrawn, through site:" in labels
    assert ": seen" in labels and "withdrawn by lee at " in labels and labels.endswith(": wrong network\n")
    # Revoking decision 1, with its note, links the two again.
    revoked = _ok("revoke", "D1", "--db", db, "--analyst", "lee", "--note", "same driver")
    assert revoked.startswith("revoked D1 (separate by kim ") and "): same driver\n" in revoked
    assert "link:" in revoked
    after = _networks(db)
    assert after["mia-0"] == after["ruby-1"]
    listed = _ok("decisions", "--db", db)
    assert "D1 separate by kim" in listed and "(revoked)" in listed
    assert "  revoked by lee " in listed and listed.endswith(": same driver\n")


def test_mark_hub_reads_the_value_as_extraction_does_and_refuses_what_the_store_never_saw(db: str) -> None:
    mia = "+15045550111"  # Mia's number, in every one of her ads and in the bridge
    unmarked = _refused("mark-hub", "phone", mia, "--clear", "--db", db, "--analyst", "kim")
    assert "no analyst's mark" in unmarked
    for typed in ("504-555-0111", "(504) 555 0111", "+1 504 555 0111"):
        marked = _ok("mark-hub", "phone", typed, "--db", db, "--analyst", "kim", "--note", "switchboard")
        assert f"phone {mia} is a hub" in marked, marked
    listed = _ok("decisions", "--db", db)
    # Each mark replaced the one before: one is in force, the others say which replaced them.
    assert listed.count(f"phone {mia} is a hub: never used for linking") == 3
    assert "D3 hub by kim" in listed and "replaced by D2" in listed and "replaced by D3" in listed
    assert f"{mia:<66}" in _ok("hubs", "--db", db) and "marked by kim" in _ok("hubs", "--db", db)
    # Malformed or unseen: refused, nothing recorded.
    for kind, typed, why in [
        ("phone", "555-01", "not a phone number"),
        ("phone", "call me", "not a phone number"),
        ("phone", "504-555-0111 504-555-0112", "more than one value"),
        ("phone", "713-555-0142", "+17135550142 is in no ad of"),
        ("email", "nobody", "not an e-mail address"),
        ("email", "Nobody@Example.COM", "nobody@example.com is in no ad of"),
        ("handle", "instagram:Nobody_x", "instagram:nobody_x is in no ad of"),
        ("image", "not-a-hash", "not an image's SHA-256"),
        ("image", "AB" * 32, f"{'ab' * 32} is in no ad of"),
    ]:
        assert why in _refused("mark-hub", kind, typed, "--db", db, "--analyst", "kim"), (kind, typed)
    assert [line[:3] for line in _ok("decisions", "--db", db).splitlines() if line[0] == "D"] == [
        "D1 ",
        "D2 ",
        "D3 ",
    ]
    # Told --anyway, an unseen number is marked (normalised all the same).
    anyway = _ok("mark-hub", "phone", "713-555-0142", "--anyway", "--not-hub", "--db", db, "--analyst", "kim")
    assert "D4 recorded: phone +17135550142 is not a hub" in anyway
    # Revoking the mark in force forgets it: the data decides again.
    revoked = _ok("revoke", "D3", "--db", db, "--analyst", "lee", "--note", "a real number")
    assert revoked.startswith("revoked D3 (hub mark by kim ") and "): a real number\n" in revoked
    assert "marked by" not in _ok("hubs", "--db", db)
    assert "already revoked by lee" in _refused("revoke", "D3", "--db", db, "--analyst", "kim")
    cleared = _ok("mark-hub", "phone", "7135550142", "--clear", "--db", db, "--analyst", "lee")
    assert cleared.startswith("revoked D4:")


def test_hub_marks_made_before_they_were_decisions_get_numbers(tmp_path: Path) -> None:
    path = tmp_path / "v7.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:7])
    con.execute("INSERT INTO analyst_decisions VALUES (1, 'merge', 'kim', NULL, now(), NULL, NULL, NULL)")
    con.execute(
        "INSERT INTO hub_marks VALUES ('phone', '+18005550199', true, 'kim', 'footer', now()),"
        " ('email', 'desk@example.com', false, 'lee', NULL, now() + INTERVAL 1 HOUR)"
    )
    con.close()
    with Store.open(path) as store:
        assert store.query(
            "SELECT decision_id, decision, analyst, note, hub_kind, hub_value FROM analyst_decisions"
            " ORDER BY decision_id"
        ) == [
            (1, "merge", "kim", None, None, None),
            (2, "hub", "kim", "footer", "phone", "+18005550199"),
            (3, "not-hub", "lee", None, "email", "desk@example.com"),
        ]
        assert store.query("SELECT kind, decision_id FROM hub_marks ORDER BY decision_id") == [
            ("phone", 2),
            ("email", 3),
        ]
