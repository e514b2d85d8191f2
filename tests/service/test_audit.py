"""The audit log (threadline.service.audit): a hash chain with a signed head, tampered with here
through raw SQL on the store file, as someone holding the file (but not the key) could."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from threadline.cli import cli
from threadline.service import audit
from threadline.service._common import Actor
from threadline.store import Store

T0 = datetime(2026, 3, 2, 9, 0, 0)
CLI = Actor("root", "os-user", "cli")
SRC = Path(__file__).resolve().parents[2] / "src" / "threadline"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with six entries, its key in a folder of its own."""
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    path = tmp_path / "store.duckdb"
    with Store.open(path) as store:
        for i in range(1, 7):
            who = Actor(f"analyst{i % 2}", "user", f"192.0.2.{i}")
            audit.append(
                store, who, "read network", f"N{i:08d}", {"i": i, "note": "é ✓"}, now=T0 + timedelta(i)
            )
    return path


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with Store.open(db) as s:
        yield s


def tamper(db: Path, *statements: str) -> None:
    with duckdb.connect(str(db)) as con:
        for statement in statements:
            con.execute(statement)


def check(db: Path) -> audit.Verification:
    with Store.open(db, read_only=True) as s:
        return audit.verify(s)


def verify_command(db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def test_an_untouched_chain_verifies(db: Path) -> None:
    result = check(db)
    assert result.ok and result.entries == 6 and result.head_seq == 6 and result.key_id
    code, out, _ = verify_command(db)
    assert code == 0 and out == f"audit: 6 entries, chain intact, head signed (key {result.key_id})\n"


def test_entries_chain_their_hashes_over_a_canonical_form(store: Store) -> None:
    entries = list(audit.iter_entries(store))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == audit.GENESIS
    for before, entry in itertools.pairwise(entries):
        assert entry.prev_hash == before.hash
    e = entries[2]
    assert e.detail == {"i": 3, "note": "é ✓"} and e.at == T0 + timedelta(3)
    fields = (e.at, e.actor, e.actor_kind, e.origin, e.action, e.object, e.detail, e.prev_hash)
    assert audit.entry_hash(e.seq, *fields) == e.hash
    assert audit.entry_hash(e.seq + 1, *fields) != e.hash  # the position is part of the entry


def test_a_batch_appends_like_single_entries_and_signs_its_checkpoints(store: Store) -> None:
    records = [audit.Record(CLI, "search", f"q{i}", {"i": i}, T0 + timedelta(seconds=i)) for i in range(2500)]
    entries = audit.append_many(store, records)
    assert [e.seq for e in entries] == list(range(7, 2507)) and entries[0].detail == {"i": 0}
    assert list(audit.iter_entries(store, after_seq=6, limit=3)) == entries[:3]
    assert store.query("SELECT seq FROM audit_checkpoints ORDER BY seq") == [(1000,), (2000,)]
    assert audit.append(store, CLI, "search", "one more").seq == 2507
    assert audit.append_many(store, []) == []
    result = audit.verify(store)
    assert result.ok and result.entries == 2507 and result.head_seq == 2507


def test_an_empty_audit_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    with Store.open(tmp_path / "empty.duckdb") as store:
        result = audit.verify(store)
    assert result.ok and result.entries == 0 and result.head_seq is None


def test_an_edited_entry_is_named(db: Path) -> None:
    tamper(db, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("edited", 3)
    code, out, err = verify_command(db)
    assert code == 1 and out == ""
    message = "entry 3 was edited: its content does not match its hash (2 entries checked before it)"
    assert err == f"threadline: audit: {message}\n"


def test_an_edited_detail_is_named(db: Path) -> None:
    tamper(db, """UPDATE audit_log SET detail = '{"i": 4, "note": "changed"}' WHERE seq = 4""")
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("edited", 4)


def test_a_deleted_entry_is_named(db: Path) -> None:
    tamper(db, "DELETE FROM audit_log WHERE seq = 3")
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("deleted", 3)
    assert "entry 3 deleted" in problem.message
    assert verify_command(db)[0] == 1


def test_deleted_last_entries_are_caught_by_the_signed_head(db: Path) -> None:
    tamper(db, "DELETE FROM audit_log WHERE seq >= 5")
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("deleted", 5)
    assert "entries 5 to 6 deleted" in problem.message


@pytest.mark.parametrize(
    "swap",
    [
        # The two rows trade their places in the chain...
        "UPDATE audit_log SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE seq IN (3, 4)",
        # ... or their contents (all but seq): either way entry 3 now holds entry 4.
        """
        UPDATE audit_log SET logged_at = o.logged_at, actor = o.actor, origin = o.origin,
            object = o.object, detail = o.detail, prev_hash = o.prev_hash, hash = o.hash
        FROM (SELECT * FROM audit_log) o
        WHERE audit_log.seq IN (3, 4) AND o.seq = 7 - audit_log.seq
        """,
    ],
    ids=["seq", "contents"],
)
def test_swapped_entries_are_named_as_reordered(db: Path, swap: str) -> None:
    tamper(db, swap)
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("reordered", 3), problem
    assert problem.message == "entry 3 holds what was entry 4: entries reordered"
    assert verify_command(db)[0] == 1


def _rewrite(db: Path, *, from_seq: int = 1, head: bool = True) -> None:
    """Edit entry ``from_seq`` and recompute every hash after it, as a forger would: the chain is
    whole again, but the head's signature cannot follow without the key."""
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE audit_log SET actor = 'forger' WHERE seq = ?", [from_seq])
        rows = con.execute(
            "SELECT seq, logged_at, actor, actor_kind, origin, action, object, CAST(detail AS VARCHAR)"
            " FROM audit_log ORDER BY seq"
        ).fetchall()
        prev = audit.GENESIS
        for seq, at, actor, kind, origin, action, obj, detail in rows:
            new = audit.entry_hash(seq, at, actor, kind, origin, action, obj, json.loads(detail), prev)
            con.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, new, seq])
            prev = new
        if head:
            con.execute("UPDATE audit_head SET hash = ?", [prev])
        else:
            con.execute("DELETE FROM audit_head")


def test_a_rewritten_chain_is_caught_by_the_signature(db: Path) -> None:
    _rewrite(db, from_seq=2)
    problem = check(db).problem
    assert problem is not None and problem.kind == "rewritten" and "signature" in problem.message
    code, _, err = verify_command(db)
    assert code == 1 and "signature does not verify" in err


def test_a_rewritten_chain_without_its_head_is_refused(db: Path) -> None:
    _rewrite(db, head=False)
    problem = check(db).problem
    assert problem is not None and problem.kind == "unsigned"


def test_a_signed_checkpoint_pins_the_chain_when_the_head_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    monkeypatch.setattr(audit, "CHECKPOINT_EVERY", 2)
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        for i in range(5):
            audit.append(store, CLI, "search", f"q{i}", now=T0)
        assert [seq for (seq,) in store.query("SELECT seq FROM audit_checkpoints ORDER BY seq")] == [2, 4]
    _rewrite(db, from_seq=1, head=False)
    problem = check(db).problem
    assert problem is not None and (problem.kind, problem.seq) == ("rewritten", 2)


def test_append_refuses_to_sign_a_forged_chain(db: Path) -> None:
    _rewrite(db, from_seq=2)
    with Store.open(db) as store, pytest.raises(audit.AuditError, match="signature"):
        audit.append(store, CLI, "user add", "kim")
    tamper(db, "DELETE FROM audit_head")
    with Store.open(db) as store, pytest.raises(audit.AuditError, match="no signed head"):
        audit.append(store, CLI, "user add", "kim")


def test_append_refuses_entries_added_behind_the_head(db: Path) -> None:
    tamper(db, "INSERT INTO audit_log SELECT seq + 1, logged_at, actor, actor_kind, origin, action, object,"
               " detail, hash, hash FROM audit_log WHERE seq = 6")  # fmt: skip
    problem = check(db).problem
    assert problem is not None and problem.kind in ("edited", "added")
    with Store.open(db) as store, pytest.raises(audit.AuditError, match="does not end at its signed head"):
        audit.append(store, CLI, "user add", "kim")


def test_two_appends_at_once_never_fork_the_chain(store: Store) -> None:
    first, second = store.connection.cursor(), store.connection.cursor()
    first.execute("BEGIN TRANSACTION")
    second.execute("BEGIN TRANSACTION")
    audit.append_within(first, CLI, "label", "L1")
    with pytest.raises(duckdb.TransactionException):
        audit.append_within(second, CLI, "label", "L2")  # both extend entry 6: one must give way
    second.execute("ROLLBACK")
    first.execute("COMMIT")
    result = audit.verify(store)
    assert result.ok and result.entries == 7


def test_the_key_lives_outside_the_store_readable_by_its_owner_only(db: Path, tmp_path: Path) -> None:
    key = tmp_path / "keys" / audit.KEY_FILE_NAME
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (tmp_path / audit.KEY_FILE_NAME).exists()
    assert b"PRIVATE KEY" in key.read_bytes() and b"PRIVATE KEY" not in db.read_bytes()
    os.chmod(key, 0o644)
    with Store.open(db) as store, pytest.raises(audit.AuditError, match="chmod 600"):
        audit.append(store, CLI, "user add", "kim")


def test_without_its_key_the_audit_does_not_verify(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "elsewhere"))
    problem = check(db).problem
    assert problem is not None and problem.kind == "unsigned" and "no audit key" in problem.message
    # Another installation's key does not verify this store's head.
    with Store.open(tmp_path / "other.duckdb") as other:
        audit.append(other, CLI, "user add", "kim")
    problem = check(db).problem
    assert problem is not None and problem.kind == "rewritten"


def test_the_key_defaults_to_the_store_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.KEY_DIR_ENV, raising=False)
    with Store.open(tmp_path / "s.duckdb") as store:
        audit.append(store, CLI, "user add", "kim")
        assert audit.verify(store).ok
    assert audit.key_file(tmp_path / "s.duckdb") == tmp_path / audit.KEY_FILE_NAME
    assert (tmp_path / audit.KEY_FILE_NAME).exists()


def test_hostile_text_is_kept_as_valid_json(store: Store) -> None:
    entry = audit.append(store, Actor("\udc80" + "x" * 5000, "user", "192.0.2.1"), "login failed", None,
                         {"typed": "\ud800", "n": float("nan"), 3: (1, 2)})  # fmt: skip
    assert entry.actor.startswith("\\udc80") and len(entry.actor) == 1000
    assert entry.detail == {"typed": "\\ud800", "n": "nan", "3": [1, 2]}
    assert audit.verify(store).ok


def test_export_writes_json_lines_that_recompute_their_hashes(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, 8))
    assert set(rows[0]) == {"seq", "at", "actor", "actor_kind", "origin", "action", "object", "detail"} | {
        "prev_hash",
        "hash",
    }
    assert rows[-1]["action"] == "audit export" and rows[-1]["actor_kind"] == "os-user"  # itself audited
    prev = audit.GENESIS
    for r in rows:
        at = datetime.fromisoformat(r["at"].removesuffix("Z"))
        fields = (r["actor"], r["actor_kind"], r["origin"], r["action"], r["object"], r["detail"])
        assert r["prev_hash"] == prev and audit.entry_hash(r["seq"], at, *fields, prev) == r["hash"]
        prev = r["hash"]
    assert check(db).ok


def test_a_broken_chain_is_still_exported(db: Path, tmp_path: Path) -> None:
    _rewrite(db, from_seq=2)
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0 and "warning: export not audited" in result.stderr
    assert len(out.read_text().splitlines()) == 6


def test_no_code_updates_or_deletes_audit_entries() -> None:
    """The application only appends: no statement anywhere changes or removes a log entry."""
    changes = re.compile(r"(UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log|DROP\s+TABLE\s+audit_log)", re.I)
    found = [str(p) for p in SRC.rglob("*.py") if changes.search(p.read_text(encoding="utf-8"))]
    assert found == []
