"""Stores for the read API's tests: synthetic corpora ingested, linked and scored as `ingest` does,
and helpers that compute expected answers from the store's raw tables in Python (never through
the read API's own SQL)."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from threadline.ingest import ingest_file
from threadline.link import link
from threadline.score.scorer import score_store
from threadline.store import Store
from threadline.synth import generate


def build(db: Path, *files: Path) -> Path:
    """Ingest ``files`` into the store ``db`` one after the other, linking and scoring after each
    (incrementally, as `threadline ingest` does)."""
    for file in files:
        with Store.open(db) as store:
            ingest_file(file, store, workers=0)
            link(store.connection)
            score_store(store.connection, inputs_built=True, changed="_changed_networks")
    return db


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 synthetic ads (seed 7) with images and edited versions (a seed whose stock photos do not
    glue most of so small a corpus into one network: see the note of issue 12)."""
    folder = tmp_path_factory.mktemp("read-corpus")
    generate(folder, 500, 7, images=True)
    return folder


@pytest.fixture(scope="session")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus ingested in two halves (the second incrementally), linked and scored."""
    folder = tmp_path_factory.mktemp("read-store")
    lines = (corpus / "ads.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = corpus / "first.jsonl", corpus / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text("".join(lines[len(lines) // 2 :]), encoding="utf-8")
    return build(folder / "s.duckdb", first, second)


@pytest.fixture
def con(store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(store), read_only=True) as connection:
        yield connection


@pytest.fixture
def copy(store: Path, tmp_path: Path) -> Path:
    """A copy of the store a test may change."""
    target = tmp_path / "copy.duckdb"
    shutil.copy(store, target)
    return target


@dataclass
class RawAd:
    source: str
    id: str
    version: int  # latest
    date: datetime | None
    place: str | None
    ingested_at: datetime
    text: str  # title, body and location of the latest version
    network: str | None
    person: str | None


def raw_ads(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], RawAd]:
    """Every ad's latest version, read row by row and decided in Python."""
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for row in con.execute(
        "SELECT source, id, version, posted_at, captured_at, location, ingested_at, title, body FROM ads"
    ).fetchall():
        key = (row[0], row[1])
        if key not in latest or row[2] > latest[key][2]:
            latest[key] = row
    places: dict[tuple[str, str, int], list[tuple[int, str]]] = defaultdict(list)
    for source, ad_id, version, found, value in con.execute(
        "SELECT source, ad_id, version, found_index, value FROM extractions"
        " WHERE kind = 'place' AND span_index = 0"
    ).fetchall():
        places[(source, ad_id, version)].append((found, value))
    links = {
        (s, i): (n, p)
        for s, i, n, p in con.execute("SELECT source, id, network, person FROM ad_links").fetchall()
    }
    out = {}
    for key, (source, ad_id, version, posted, captured, location, ingested, title, body) in latest.items():
        found = sorted(places.get((source, ad_id, version), []))
        network, person = links.get(key, (None, None))
        out[key] = RawAd(
            source,
            ad_id,
            version,
            posted or captured,
            found[0][1] if found else location,
            ingested,
            " ".join(t for t in (title, body, location) if t),
            network,
            person,
        )
    return out


def token_list(text: str) -> list[str]:
    """The words of ``text`` in order as the index should cut them, by Python's own rules."""
    # Marks go (accents, and the keycap and variation selector of 6️⃣), as DuckDB's strip_accents does.
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    return [w for w in re.findall(r"[^\W_]+", folded) if 2 <= len(w) <= 40]


def words(text: str) -> set[str]:
    return set(token_list(text))


def hub_values(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(kind, value as extracted) of every hub (a phone's tenure names its number first)."""
    return {
        (k, v.split(" ")[0])
        for k, v in con.execute("SELECT kind, value FROM link_hubs WHERE is_hub").fetchall()
    }


def extraction_values(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """(source, ad_id, version, kind, value) of every extraction of ``kinds``, all versions."""
    return con.execute(
        "SELECT DISTINCT source, ad_id, version, kind, value FROM extractions WHERE list_contains(?, kind)",
        [list(kinds)],
    ).fetchall()


def detail(value: str) -> dict[str, Any]:
    return dict(json.loads(value))
