"""What the service modules share: who acts, the store's connection, the clock."""

from __future__ import annotations

import getpass
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from threadline.store import Store
from threadline.store._tx import now_and_after_commit

__all__ = [
    "ACTOR_KINDS",
    "Actor",
    "StoreLike",
    "accounts_changed",
    "accounts_epoch",
    "connection",
    "naive_utc",
    "os_actor",
    "sha256_hex",
    "store_path",
]

StoreLike = Store | duckdb.DuckDBPyConnection

# Who did something: a signed-in user, a machine client's API token (named by its user), or the
# operating-system user who ran a command on the server's machine.
ACTOR_KINDS = ("user", "token", "os-user")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and from where: ``origin`` is the client's IP address, or ``'cli'``."""

    name: str
    kind: str
    origin: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {', '.join(ACTOR_KINDS)}")


def os_actor() -> Actor:
    """The operating-system user running this command (the actor of every admin command)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no $USER
        name = f"uid {os.getuid()}"
    return Actor(name, "os-user", "cli")


def connection(store: StoreLike) -> duckdb.DuckDBPyConnection:
    return store.connection if isinstance(store, Store) else store


def store_path(store: StoreLike) -> Path:
    """The file of the store (the audit key is looked up beside it)."""
    if isinstance(store, Store):
        return store.path
    row = store.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        raise ValueError("the connection has no database file (the audit key is kept beside it)")
    return Path(str(row[0]))


def naive_utc(now: datetime | None) -> datetime:
    """``now`` (default: the clock) as the naive UTC time every ``TIMESTAMP`` column holds."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Counts the changes that can end a session or a token's use (a user disabled, a password set, a
# token revoked, a session ended), in this process: a server that keeps callers it looked up
# (`threadline.serve._auth`) looks them up again once it moved.
_accounts = [0]


def accounts_changed(store: StoreLike) -> None:
    """Say that sessions, tokens or users change in the transaction open on ``store`` (now, and
    again once it commits)."""

    def bump() -> None:
        _accounts[0] += 1

    now_and_after_commit(connection(store), bump)


def accounts_epoch() -> int:
    return _accounts[0]
