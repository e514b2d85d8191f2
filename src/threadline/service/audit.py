"""The audit log: append-only, each entry chained to the one before, the chain's head signed.

Every entry holds who (``actor``, ``actor_kind``: user, token or os-user), from where (``origin``:
an IP address or ``'cli'``), what (``action``, ``object``, ``detail``) and when (``at``), with
``prev_hash``, the hash of the entry before it, and ``hash``, the SHA-256 of the entry's canonical
serialisation (`entry_hash`), ``prev_hash`` included. Editing, deleting or reordering an entry
breaks the chain at that entry.

Someone who can write the store file could still rewrite the whole chain from the edited entry
on. So the head (the last entry's seq and hash) is signed with the installation's Ed25519 key,
kept in a file outside the store (`key_file`: in ``$THREADLINE_KEY_DIR``, else beside the store,
created on first use with mode 0600): without the key, a rewritten chain cannot carry a valid
signature. ``audit_head`` holds the signed head (one row, moved forward by every append);
``audit_checkpoints`` keeps a signed head every `CHECKPOINT_EVERY` entries for good, so that a
rewrite is also caught when the head row itself is gone.

What the signature cannot catch: someone holding both the store and the key, and a store rolled
back whole to an earlier copy (its old head is validly signed). Keep the key where the store's
writers cannot read it, and exported logs elsewhere.

No function here updates or deletes an entry. `append` refuses to extend a chain whose head does
not verify, so a forged chain is never signed by the application.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from threadline.service import keyfiles
from threadline.service._common import Actor, StoreLike, connection, naive_utc, os_actor, store_path
from threadline.store._tx import transaction

__all__ = [
    "CHECKPOINT_EVERY",
    "GENESIS",
    "KEY_DIR_ENV",
    "KEY_FILE_NAME",
    "Actor",
    "AuditError",
    "AuditKey",
    "Entry",
    "Problem",
    "Record",
    "Verification",
    "append",
    "append_many",
    "append_within",
    "entry_hash",
    "iter_entries",
    "key_file",
    "load_key",
    "os_actor",
    "verify",
]

KEY_DIR_ENV = keyfiles.KEY_DIR_ENV
KEY_FILE_NAME = "threadline-audit.key"
CHECKPOINT_EVERY = 1000
GENESIS = "0" * 64  # the prev_hash of entry 1
_HASH_VERSION = "threadline-audit-1"  # in every hash, so a later format can never collide
_MAX_TEXT = 1000  # characters kept of an actor, origin, action or object (a login name is typed input)


class AuditError(RuntimeError):
    """The audit cannot be appended to: no usable key, or a chain whose head does not verify."""


# -- the installation key ---------------------------------------------------------------------


def key_file(store_file: Path, key_dir: Path | None = None) -> Path:
    """Where the audit key of ``store_file`` is: in ``key_dir``, else ``$THREADLINE_KEY_DIR``, else
    beside the store."""
    return keyfiles.key_folder(store_file, key_dir) / KEY_FILE_NAME


@dataclass(frozen=True)
class AuditKey:
    """The installation's Ed25519 key; ``key_id`` names it (first 16 hex of the public key's SHA-256)."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def key_id(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, seq: int, hash: str) -> str:
        return self.private.sign(_head_message(seq, hash)).hex()

    def verifies(self, seq: int, hash: str, signature: str) -> bool:
        try:
            self.private.public_key().verify(bytes.fromhex(signature), _head_message(seq, hash))
        except (InvalidSignature, ValueError):
            return False
        return True


def _head_message(seq: int, hash: str) -> bytes:
    return f"{_HASH_VERSION} head\n{seq}\n{hash}".encode("ascii")


_KEYS: dict[Path, tuple[int, AuditKey]] = {}  # parsed keys by file, with the file's mtime


def load_key(path: Path, *, create: bool) -> AuditKey | None:
    """The key in ``path``; made there (mode 0600, folder 0700 if new) when missing and ``create``,
    else None. A key file that others may read is refused: it signs the audit."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if not create:
            return None
        keyfiles.create_key_file(path)
        info = path.stat()
    cached = _KEYS.get(path)
    if cached and cached[0] == info.st_mtime_ns and not stat.S_IMODE(info.st_mode) & 0o077:
        return cached[1]
    try:
        private = keyfiles.read_key_file(path, "audit key", info)
    except keyfiles.KeyFileError as exc:
        raise AuditError(str(exc)) from exc
    key = AuditKey(private, path)
    _KEYS[path] = (info.st_mtime_ns, key)
    return key


# -- entries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime  # naive UTC
    actor: str
    actor_kind: str
    origin: str
    action: str
    object: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The entry as one line of `audit export`."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds") + "Z",
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "origin": self.origin,
            "action": self.action,
            "object": self.object,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    actor_kind: str,
    origin: str,
    action: str,
    object: str | None,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the entry's canonical serialisation: a JSON array of its fields in this
    order, ASCII only, keys of ``detail`` sorted, no spaces, ``at`` to the microsecond."""
    canonical = json.dumps(
        [
            *(_HASH_VERSION, seq, at.isoformat(timespec="microseconds")),
            *(actor, actor_kind, origin, action, object, dict(detail), prev_hash),
        ],
        ensure_ascii=True,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _clean(value: Any) -> Any:
    """``value`` as JSON can hold it: lone surrogates (from hostile input) spelled out, tuples as
    lists, anything else not JSON as its text."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return _clean(str(value))


def _text(value: str) -> str:
    cleaned: str = _clean(value)
    return cleaned[:_MAX_TEXT]


@dataclass(frozen=True, slots=True)
class Record:
    """One entry to append with `append_many`; ``at`` defaults to the time of the append."""

    actor: Actor
    action: str
    object: str | None = None
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None


def append(
    store: StoreLike,
    actor: Actor,
    action: str,
    object: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    key_dir: Path | None = None,
) -> Entry:
    """Append one entry in its own transaction (see `append_within` to join the caller's)."""
    with transaction(connection(store), touches=()):  # no kept answer reads the audit
        return append_within(store, actor, action, object, detail, now=now, key_dir=key_dir)


def append_within(
    store: StoreLike,
    actor: Actor,
    action: str,
    object: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    key_dir: Path | None = None,
) -> Entry:
    """Append one entry inside the transaction the caller holds, so that an act and its entry
    are stored together or not at all. Signs the new head; raises `AuditError` (and appends
    nothing) when the current head does not verify."""
    return _append(store, [Record(actor, action, object, detail, now)], key_dir)[0]


def append_many(
    store: StoreLike, records: Sequence[Record], *, key_dir: Path | None = None, path: Path | None = None
) -> list[Entry]:
    """Append ``records`` in order, in one transaction of their own, checking and signing the
    head once: for a server that gathers the entries of many reads and writes them together (an
    entry costs a few milliseconds alone, a small fraction of that in a batch). ``path``: the
    store's file, when the caller knows it (else asked of the connection)."""
    if not records:
        return []
    with transaction(connection(store), touches=()):  # (see `append`)
        return _append(store, records, key_dir, path)


_INSERT_ROWS = 200  # rows per INSERT statement of a batch


def _append(
    store: StoreLike, records: Sequence[Record], key_dir: Path | None, path: Path | None = None
) -> list[Entry]:
    con = connection(store)
    key = load_key(key_file(path or store_path(store), key_dir), create=True)
    assert key is not None
    seq, prev_hash = _checked_head(con, key)
    first, now = seq, naive_utc(None)
    entries, rows, checkpoints = [], [], []
    for record in records:
        at = naive_utc(record.at) if record.at is not None else now
        # The detail is hashed as it will be read back: stored text, parsed again.
        detail_text = json.dumps(
            _clean(dict(record.detail or {})), ensure_ascii=True, sort_keys=True, separators=(",", ":")
        )
        detail = json.loads(detail_text)
        actor = record.actor
        fields = (_text(actor.name), actor.kind, _text(actor.origin), _text(record.action))
        obj = None if record.object is None else _text(record.object)
        hash = entry_hash(seq, at, *fields, obj, detail, prev_hash)
        entries.append(Entry(seq, at, *fields, obj, detail, prev_hash, hash))
        rows.append([seq, at, *fields, obj, detail_text, prev_hash, hash])
        if seq % CHECKPOINT_EVERY == 0:
            checkpoints.append([seq, hash, key.key_id, key.sign(seq, hash), at])
        seq, prev_hash = seq + 1, hash
    for i in range(0, len(rows), _INSERT_ROWS):
        chunk = rows[i : i + _INSERT_ROWS]
        con.execute(
            "INSERT INTO audit_log (seq, logged_at, actor, actor_kind, origin, action, object, detail,"
            " prev_hash, hash) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )
    last = entries[-1]
    signed = [last.seq, last.hash, key.key_id, key.sign(last.seq, last.hash), last.at]
    if first == 1:
        con.execute(
            "INSERT INTO audit_head (seq, hash, key_id, signature, signed_at) VALUES (?, ?, ?, ?, ?)", signed
        )
    else:  # two appends at once both change this row: DuckDB rolls one back, so the chain never forks
        con.execute(
            "UPDATE audit_head SET seq = ?, hash = ?, key_id = ?, signature = ?, signed_at = ?", signed
        )
    for checkpoint in checkpoints:
        con.execute(
            "INSERT INTO audit_checkpoints (seq, hash, key_id, signature, signed_at) VALUES (?, ?, ?, ?, ?)",
            checkpoint,
        )
    return entries


def _checked_head(con: duckdb.DuckDBPyConnection, key: AuditKey) -> tuple[int, str]:
    """(seq of the next entry, hash of the last): the signed head, once it is checked to verify
    and to be the last entry of the log. Cheap: the log is read only from the head's seq on."""
    head = con.execute("SELECT seq, hash, signature FROM audit_head").fetchall()
    if not head:
        if con.execute("SELECT count(*) FROM (SELECT 1 FROM audit_log LIMIT 1)").fetchall()[0][0]:
            raise AuditError("the audit log has entries but no signed head: run `threadline audit verify`")
        return 1, GENESIS
    if len(head) > 1:
        raise AuditError("the audit log has several heads: run `threadline audit verify`")
    seq, hash, signature = head[0]
    if not key.verifies(seq, hash, signature):
        raise AuditError("the audit head's signature does not verify: run `threadline audit verify`")
    tail = con.execute("SELECT seq, hash FROM audit_log WHERE seq >= ? ORDER BY seq", [seq]).fetchall()
    if tail != [(seq, hash)]:
        raise AuditError("the audit log does not end at its signed head: run `threadline audit verify`")
    return int(seq) + 1, str(hash)


_COLUMNS = (
    "seq, logged_at, actor, actor_kind, origin, action, object, CAST(detail AS VARCHAR), prev_hash, hash"
)


def _entry(row: tuple[Any, ...]) -> Entry:
    seq, at, actor, actor_kind, origin, action, obj, detail, prev_hash, hash = row
    return Entry(seq, at, actor, actor_kind, origin, action, obj, json.loads(detail), prev_hash, hash)


def iter_entries(
    store: StoreLike, *, after_seq: int = 0, limit: int | None = None, batch: int = 10_000
) -> Iterator[Entry]:
    """Entries in chain order from ``after_seq + 1`` on (all, or ``limit`` of them), as stored:
    `verify` says whether they can be trusted."""
    sql = f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq, rowid"
    cursor = connection(store).cursor()
    try:
        if limit is not None:
            cursor.execute(sql + " LIMIT ?", [after_seq, limit])
        else:
            cursor.execute(sql, [after_seq])
        while rows := cursor.fetchmany(batch):
            yield from map(_entry, rows)
    finally:
        cursor.close()


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong with the audit: ``kind`` is edited, deleted, reordered, duplicated,
    replaced, added, rewritten or unsigned; ``seq`` the first entry concerned (None: the head)."""

    kind: str
    seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head_seq: int | None
    key_id: str | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(store: StoreLike, *, key_dir: Path | None = None) -> Verification:
    """Walk the chain in seq order and check the signed head and checkpoints; reports the first
    problem found in the chain, else the first of the head or checkpoints. Reads only."""
    con = connection(store)
    key = load_key(key_file(store_path(store), key_dir), create=False)
    checkpoints = {
        int(seq): (str(hash), str(signature))
        for seq, hash, signature in con.execute(
            "SELECT seq, hash, signature FROM audit_checkpoints"
        ).fetchall()
    }
    heads = con.execute("SELECT seq, hash, signature FROM audit_head").fetchall()
    key_id = key.key_id if key else None

    count, last_seq, last_hash = 0, 0, GENESIS
    problem: Problem | None = None
    cursor = con.cursor()
    try:
        cursor.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq, rowid")
        while problem is None and (rows := cursor.fetchmany(10_000)):
            for row in rows:
                entry = _entry(row)
                problem = _chain_problem(con, entry, last_seq, last_hash)
                if problem is None and entry.seq in checkpoints and checkpoints[entry.seq][0] != entry.hash:
                    problem = Problem(
                        "rewritten",
                        entry.seq,
                        f"the chain was rewritten at or before entry {entry.seq}: it does not match "
                        f"the signed checkpoint there",
                    )
                if problem is not None:
                    break
                count, last_seq, last_hash = count + 1, entry.seq, entry.hash
    finally:
        cursor.close()
    head_seq = int(heads[0][0]) if len(heads) == 1 else None
    if problem is None:
        problem = _head_problem(heads, checkpoints, key, count, last_seq, last_hash)
    return Verification(count, head_seq, key_id, problem)


def _hash_at(entry: Entry, seq: int) -> str:
    """The hash ``entry`` should have were it entry ``seq``."""
    e = entry
    return entry_hash(seq, e.at, e.actor, e.actor_kind, e.origin, e.action, e.object, e.detail, e.prev_hash)


def _chain_problem(
    con: duckdb.DuckDBPyConnection, entry: Entry, last_seq: int, last_hash: str
) -> Problem | None:
    expected = last_seq + 1
    if _hash_at(entry, entry.seq) != entry.hash:
        was = _original_seq(con, entry)
        if was is not None and was != entry.seq:
            moved = f"entry {entry.seq} holds what was entry {was}: entries reordered"
            return Problem("reordered", entry.seq, moved)
        edited = f"entry {entry.seq} was edited: its content does not match its hash"
        return Problem("edited", entry.seq, edited)
    if entry.seq > expected:
        gone = f"entry {expected}" if entry.seq == expected + 1 else f"entries {expected} to {entry.seq - 1}"
        return Problem("deleted", expected, f"{gone} deleted: the chain goes from {last_seq} to {entry.seq}")
    if entry.seq < expected:
        return Problem("duplicated", entry.seq, f"entry {entry.seq} appears more than once")
    if entry.prev_hash != last_hash:
        return Problem(
            "replaced",
            last_seq,
            f"entry {last_seq} was replaced or deleted: entry {entry.seq} does not follow it",
        )
    return None


def _original_seq(con: duckdb.DuckDBPyConnection, entry: Entry) -> int | None:
    """The seq under which ``entry``'s content hashes right, found through its neighbours in the
    original chain (the entry whose hash it names as prev_hash, the entry naming its hash): a
    moved entry is reported as moved, not as edited. Runs only on a broken entry."""
    candidates = []
    for sql, step in (
        ("SELECT seq FROM audit_log WHERE hash = ?", 1),
        ("SELECT seq FROM audit_log WHERE prev_hash = ?", -1),
    ):
        for (seq,) in con.execute(sql, [entry.prev_hash if step == 1 else entry.hash]).fetchall():
            candidates.append(int(seq) + step)
    for seq in candidates:
        if seq >= 1 and _hash_at(entry, seq) == entry.hash:
            return seq
    return None


def _head_problem(
    heads: list[tuple[Any, ...]],
    checkpoints: dict[int, tuple[str, str]],
    key: AuditKey | None,
    count: int,
    last_seq: int,
    last_hash: str,
) -> Problem | None:
    if not heads:
        if count:
            return Problem("unsigned", None, "the signed head is missing: the chain cannot be trusted")
        return None
    if len(heads) > 1:
        return Problem("unsigned", None, "the audit has several heads: the chain cannot be trusted")
    if key is None:
        where = f"not in ${KEY_DIR_ENV}" if os.environ.get(KEY_DIR_ENV) else "not beside the store"
        return Problem("unsigned", None, f"no audit key ({where}): the signatures cannot be checked")
    seq, hash, signature = int(heads[0][0]), str(heads[0][1]), str(heads[0][2])
    if not key.verifies(seq, hash, signature):
        return Problem(
            "rewritten", None, "the head's signature does not verify: the chain or its head was rewritten"
        )
    if seq > last_seq:
        gone = f"entry {seq}" if seq == last_seq + 1 else f"entries {last_seq + 1} to {seq}"
        return Problem("deleted", last_seq + 1, f"{gone} deleted: the signed head is entry {seq}")
    if seq < last_seq:
        return Problem("added", seq + 1, f"entries {seq + 1} to {last_seq} were added after the signed head")
    if hash != last_hash:
        return Problem("rewritten", seq, f"the chain was rewritten: entry {seq} is not the signed head")
    for checkpoint in sorted(checkpoints):
        if not key.verifies(checkpoint, *checkpoints[checkpoint]):
            return Problem("rewritten", checkpoint, f"the checkpoint at entry {checkpoint} does not verify")
        if checkpoint > last_seq:
            gone = f"entries after {last_seq} deleted"
            return Problem("deleted", last_seq + 1, f"{gone}: a checkpoint signs entry {checkpoint}")
    return None
