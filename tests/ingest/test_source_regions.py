"""Sources' home regions (issue 13): a number written without a country code in an ad whose
location names no country is read in its source's home region, else the run's --region, else the
installation's. Made-up ads; numbers only from the fictional ranges (docs/DESIGN.md section 4):
North American 555-01xx and London 020 7946 0xxx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from threadline.extract.regions import REGION_ENV, SourceRegions, checked_region, installation_region
from threadline.ingest import ingest_file
from threadline.ingest.validate import content_hash
from threadline.store import LATEST_VERSION, Store
from threadline.store.schema import MIGRATIONS, migrate

UK_BARE = {
    "id": "u1",
    "source": "ukboard",
    "title": "New in town",
    "body": "call 020 7946 0123 anytime, 80 half hour",
}
UK_LOCATED = {
    "id": "u2",
    "source": "ukboard",
    "title": "Visiting",
    "body": "Houston this week, call 713-555-0142",
    "location": "Houston, TX",
}
US_BARE = {"id": "a1", "source": "usboard", "title": "Sweet", "body": "text 713-555-0143 now"}


def _write(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _phones(store: Store) -> dict[str, list[str]]:
    rows = store.query(
        "SELECT ad_id, value FROM extractions WHERE kind = 'phone' ORDER BY ad_id, found_index, span_index"
    )
    out: dict[str, list[str]] = {}
    for ad_id, value in rows:
        if value not in out.setdefault(ad_id, []):
            out[ad_id].append(value)
    return out


def _regions(store: Store) -> dict[str, str]:
    return {ad_id: region for ad_id, region in store.query("SELECT id, region FROM ads")}


def _currencies(store: Store) -> dict[str, str]:
    rows = store.query("SELECT ad_id, detail->>'currency' FROM extractions WHERE kind = 'price'")
    return dict(rows)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


# -- the rule ------------------------------------------------------------------------------------


def test_a_source_region_comes_after_its_home_then_the_run_then_the_installation() -> None:
    regions = SourceRegions({"ukboard": "GB"}, "DE", "US")
    assert regions.of("ukboard") == "GB"
    assert regions.of("deboard") == "DE"
    assert SourceRegions({"ukboard": "GB"}, None, "CA").of("other") == "CA"
    assert SourceRegions().of("anything") == "US"


def test_a_region_phone_numbers_do_not_know_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checked_region(" gb ") == "GB"
    for bad in ("XX", "UK", "", "GBR", "1"):
        with pytest.raises(ValueError, match="not a region phone numbers know"):
            checked_region(bad)
    monkeypatch.setenv(REGION_ENV, "de")
    assert installation_region() == "DE"
    monkeypatch.setenv(REGION_ENV, "ZZ")
    with pytest.raises(ValueError, match=REGION_ENV):
        installation_region()
    monkeypatch.delenv(REGION_ENV)
    assert installation_region() == "US"


# -- the store's setting -------------------------------------------------------------------------


def test_a_home_region_is_kept_in_the_store_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        assert store.source_settings() == []
        assert store.set_source_region("ukboard", "gb", by="ann") is None
        replaced = store.set_source_region("deboard", "DE", by="ann")
        assert replaced is None
        assert store.set_source_region("deboard", "AT", by="bob") is not None
        with pytest.raises(ValueError, match="not a region"):
            store.set_source_region("ukboard", "XX", by="ann")
        # recorded only for sources without one: a setting made before wins
        assert store.record_source_regions(["ukboard", "newboard", "newboard"], "US", by="ingest") == [
            "newboard"
        ]
    with Store.open(path, read_only=True) as store:
        assert store.source_regions() == {"deboard": "AT", "newboard": "US", "ukboard": "GB"}
        [de] = [s for s in store.source_settings() if s.source == "deboard"]
        assert de.set_by == "bob" and de.set_at is not None


def test_a_store_from_before_home_regions_gets_the_table_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    before = next(m for m in MIGRATIONS if m.description.startswith("each source's home region"))
    migrate(con, tuple(m for m in MIGRATIONS if m.version < before.version))
    con.close()
    with Store.open(path) as store:
        assert store.schema_version == LATEST_VERSION
        store.set_source_region("ukboard", "GB", by="ann")
        assert store.source_regions() == {"ukboard": "GB"}


# -- ingest --------------------------------------------------------------------------------------


def test_a_uk_sources_bare_number_is_read_in_gb_once_the_source_is_set(tmp_path: Path) -> None:
    ads = _write(tmp_path / "ads.jsonl", UK_BARE, UK_LOCATED, US_BARE)
    # Before: the ad is read as a US ad (its prices in dollars). Its London number is found
    # even so, by the phone reader's own UK fallback for a trunk-0 eleven-digit number.
    with Store.open(tmp_path / "before.duckdb") as store:
        ingest_file(ads, store, workers=0)
        before, before_regions = _phones(store), _regions(store)
        assert before_regions["u1"] == "US" and _currencies(store)["u1"] == "USD"
    with Store.open(tmp_path / "s.duckdb") as store:
        store.set_source_region("ukboard", "GB", by="ann")
        ingest_file(ads, store, workers=0)
        phones, regions = _phones(store), _regions(store)
        assert _currencies(store)["u1"] == "GBP"
    assert phones["u1"] == ["+442079460123"] and regions["u1"] == "GB"
    assert not any(p.startswith("+1") for p in phones["u1"])  # not read as a US number
    # the ad's location still wins over its source's region
    assert phones["u2"] == ["+17135550142"] and regions["u2"] == "US"
    # another source's ad is read as before
    assert phones["a1"] == before["a1"] == ["+17135550143"] and regions["a1"] == before_regions["a1"] == "US"


def test_ingest_region_reads_the_run_and_is_kept_for_its_new_sources(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.set_source_region("usboard", "US", by="ann")
        first = _write(tmp_path / "first.jsonl", UK_BARE, US_BARE)
        ingest_file(first, store, workers=0, region="gb", region_by="tester")
        assert _phones(store)["u1"] == ["+442079460123"]
        assert _phones(store)["a1"] == ["+17135550143"]  # its own region wins over the run's
        assert store.source_regions() == {"ukboard": "GB", "usboard": "US"}
        [uk] = [s for s in store.source_settings() if s.source == "ukboard"]
        assert uk.set_by == "tester"
        # a later run without --region keeps reading the source in GB
        later = _write(tmp_path / "later.jsonl", {**UK_BARE, "id": "u3", "body": "ring 020 7946 0124"})
        ingest_file(later, store, workers=2)
        assert _phones(store)["u3"] == ["+442079460124"]
        with pytest.raises(ValueError, match="not a region"):
            ingest_file(later, store, workers=0, region="XX")


def test_the_installation_region_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REGION_ENV, "GB")
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(_write(tmp_path / "ads.jsonl", UK_BARE, UK_LOCATED), store, workers=0)
        assert _phones(store)["u1"] == ["+442079460123"]
        assert _phones(store)["u2"] == ["+17135550142"]
        assert store.source_regions() == {}  # the installation's region is no source's setting


# -- the command line ----------------------------------------------------------------------------


def test_source_set_list_and_ingest_region_on_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    refused = _cli("source", "set", "ukboard", "--region", "XX", "--db", db)
    assert refused.returncode != 0
    assert refused.stderr.startswith("threadline: --region: 'XX' is not a region"), refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    made = _cli("source", "set", "ukboard", "--region", "gb", "--db", db)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "source ukboard: home region GB\n"
    changed = _cli("source", "set", "ukboard", "--region", "IE", "--db", db)
    assert changed.stdout == "source ukboard: home region IE (was GB)\n"
    _cli("source", "set", "ukboard", "--region", "GB", "--db", db)
    ads = _write(tmp_path / "ads.jsonl", UK_BARE, US_BARE, {**UK_BARE, "source": "ieboard", "id": "i1"})
    bad = _cli("ingest", str(ads), "--db", db, "--region", "XX", "-q", "--no-link")
    assert bad.returncode != 0 and len(bad.stderr.splitlines()) == 1, bad.stderr
    ingested = _cli("ingest", str(ads), "--db", db, "--region", "US", "-q", "--no-link", "--workers", "1")
    assert ingested.returncode == 0, ingested.stderr
    listed = _cli("source", "list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("ieboard", "US"), ("ukboard", "GB"), ("usboard", "US")]
    assert rows[0][3].endswith("(ingest --region)")
    with Store.open(db, read_only=True) as store:
        assert _regions(store) == {"u1": "GB", "a1": "US", "i1": "US"}
        assert _phones(store)["u1"] == ["+442079460123"] and _phones(store)["a1"] == ["+17135550143"]
    env = {**os.environ, REGION_ENV: "ZZ"}
    unset = _cli("extract", str(ads), "--no-evidence", env=env)
    assert unset.returncode != 0 and unset.stderr.startswith(f"threadline: {REGION_ENV}: "), unset.stderr


def test_extract_reads_the_installation_region(tmp_path: Path) -> None:
    ads = _write(tmp_path / "ads.jsonl", UK_BARE)
    env = {**os.environ, REGION_ENV: "GB"}
    out = _cli("extract", str(ads), "--no-evidence", "-q", env=env)
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout)
    assert line["phones"] == ["+442079460123"] and line["rates"][0]["currency"] == "GBP"
    us = _cli("extract", str(ads), "--no-evidence", "-q", "--region", "us", env=env)
    assert us.returncode == 0, us.stderr
    assert json.loads(us.stdout)["rates"][0]["currency"] == "USD"  # --region wins over the setting


# -- the Spark engine's extraction, without Spark ------------------------------------------------


def test_the_spark_workers_read_numbers_by_the_same_regions(tmp_path: Path) -> None:
    """`_extract_rows` is what the executors run; given the run's regions it reads each ad as
    ingest does (the engines' parity test, tests/engines/test_engines.py, runs Spark itself)."""
    from threadline.engines.spark import _extract_rows
    from threadline.ingest.validate import Validator

    ads = _write(tmp_path / "ads.jsonl", UK_BARE, UK_LOCATED, US_BARE)
    validate = Validator(tmp_path, "ads", input_file=ads)
    rows: dict[str, list[object]] = {"file": [], "line": [], "raw": [], "record": [], "content_hash": []}
    rows["image_sha256"] = []
    for line, text in enumerate(ads.read_text(encoding="utf-8").splitlines(), start=1):
        ad = validate(json.loads(text), text)
        for key, value in (
            ("file", str(ads)),
            ("line", line),
            ("raw", text),
            ("record", text),
            ("content_hash", content_hash(ad, [])),
            ("image_sha256", []),
        ):
            rows[key].append(value)
    batch = pa.RecordBatch.from_pydict(rows)
    regions = SourceRegions({"ukboard": "GB"}, None, "US")
    [out] = list(_extract_rows(regions, iter([batch])))
    got = out.to_pydict()
    phones = {
        ad_id: sorted({x["value"] for x in found if x["kind"] == "phone"})
        for ad_id, found in zip(got["id"], got["x"], strict=True)
    }
    assert phones == {"u1": ["+442079460123"], "u2": ["+17135550142"], "a1": ["+17135550143"]}
    assert dict(zip(got["id"], got["region"], strict=True)) == {"u1": "GB", "u2": "US", "a1": "US"}
