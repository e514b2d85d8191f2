"""Sightings (issue 16): every arrival of a record is a sighting of its ad, changed or not, and a
crawler's report that an ad is gone is kept as one too; re-ingesting a file adds sightings, never
versions. Made-up ads; numbers from the fictional 555-01xx range (docs/DESIGN.md section 4)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from threadline.ingest import ingest_file
from threadline.read.ads import ad_detail, ad_seen
from threadline.store import Store
from threadline.store.schema import MIGRATIONS, migrate


def _write(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


AD = {"id": "a1", "source": "board", "title": "New in town", "body": "call 713-555-0142"}


def _ingest(store: Store, path: Path) -> Any:
    return ingest_file(path, store, workers=0)


def test_every_record_is_a_sighting_and_a_rerun_adds_sightings_not_versions(tmp_path: Path) -> None:
    first = _write(
        tmp_path / "monday.jsonl",
        {**AD, "captured_at": "2026-03-02T10:00:00Z"},
        {**AD, "body": "call 713-555-0142, incall only", "captured_at": "2026-03-03T10:00:00Z"},
    )
    with Store.open(tmp_path / "s.duckdb") as store:
        report = _ingest(store, first)
        assert (report.new_ads, report.new_versions) == (1, 1)
        again = _ingest(store, first)
        assert (again.new_ads, again.new_versions, again.unchanged) == (0, 0, 2)
        assert store.query("SELECT count(*) FROM ads")[0][0] == 2
        rows = store.query("SELECT version, seen_at, gone, run_id FROM sightings ORDER BY run_id, seen_at")
        assert [(v, g) for v, _, g, _ in rows] == [(1, False), (2, False), (1, False), (2, False)]
        assert len({r for *_, r in rows}) == 2  # one set per run
        seen = ad_seen(store.connection, "board", "a1")
        assert seen.sightings == 4 and seen.removed_on is None
        assert seen.first_seen == datetime(2026, 3, 2, 10) and seen.last_seen == datetime(2026, 3, 3, 10)
        assert seen.spans[1][2] == 2 and seen.spans[2][2] == 2


def test_a_file_read_again_adds_no_version_for_content_that_was_only_seen(tmp_path: Path) -> None:
    # A, A again (seen: the ad's content already), then B: read again, the second A is the very
    # record that was seen before, not a return to A.
    path = _write(tmp_path / "feed.jsonl", AD, {**AD, "fields": {}}, {**AD, "body": "call 713-555-0142 now"})
    with Store.open(tmp_path / "s.duckdb") as store:
        first = _ingest(store, path)
        assert (first.new_ads, first.new_versions, first.unchanged) == (1, 1, 1)
        again = _ingest(store, path)
        assert (again.new_ads, again.new_versions, again.unchanged) == (0, 0, 3)
        # The same content at the same line of another file is news: a return to A after B.
        other = _ingest(store, _write(tmp_path / "other.jsonl", AD))
        assert other.new_versions == 1


def test_a_gone_report_as_a_csv_cell(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        _ingest(store, _write(tmp_path / "a.jsonl", AD))
        csv = tmp_path / "gone.csv"
        csv.write_text("id,source,gone,captured_at\na1,board,true,2026-03-04T08:00:00Z\na1,board,maybe,\n")
        report = _ingest(store, csv)
        assert (report.gone, report.quarantined) == (1, 1)
        assert store.query("SELECT reason FROM quarantine") == [("gone must be true or false, got 'maybe'",)]


def test_a_gone_report_needs_no_text_and_marks_the_ad_removed(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        _ingest(store, _write(tmp_path / "a.jsonl", {**AD, "captured_at": "2026-03-02T10:00:00Z"}))
        gone = _write(
            tmp_path / "gone.jsonl",
            {"id": "a1", "source": "board", "gone": True, "captured_at": "2026-03-04T08:00:00Z"},
            {"id": "zz", "source": "board", "gone": True},  # never stored: quarantined, not lost
            {"id": "a2", "source": "board", "gone": 3},  # not a boolean
        )
        report = _ingest(store, gone)
        assert (report.gone, report.quarantined, report.new_ads) == (1, 2, 0)
        assert report.read == report.new_ads + report.new_versions + report.unchanged + report.gone + 2
        assert "1 gone" in report.line()
        reasons = sorted(r for (r,) in store.query("SELECT reason FROM quarantine"))
        assert reasons == ["gone must be true or false, got a number", "reports gone an ad not stored"]
        assert store.query("SELECT count(*) FROM ads")[0][0] == 1  # no version for a report
        detail = ad_detail(store.connection, "board", "a1")
        assert detail is not None and detail.seen is not None
        assert detail.seen.removed_on == datetime(2026, 3, 4, 8)
        # Seen on show again later: no longer removed.
        _ingest(store, _write(tmp_path / "b.jsonl", {**AD, "captured_at": "2026-03-05T09:00:00Z"}))
        assert ad_seen(store.connection, "board", "a1").removed_on is None


def test_gone_false_is_an_ordinary_record(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        report = _ingest(store, _write(tmp_path / "a.jsonl", {**AD, "gone": False}))
        assert report.new_ads == 1
        assert store.query("SELECT extra FROM ads")[0][0] in ("{}", {})


def test_a_pushed_batch_is_sighted_once_however_often_it_is_written(tmp_path: Path) -> None:
    path = _write(tmp_path / "batch.jsonl", AD)
    with Store.open(tmp_path / "s.duckdb") as store:
        for _ in range(3):
            ingest_file(path, store, workers=0, token_id=7)
        assert store.query("SELECT count(*), any_value(token_id) FROM sightings") == [(1, 7)]
        assert ad_seen(store.connection, "board", "a1").pushed_by == (7,)


@pytest.mark.parametrize("versions", [1, 3])
def test_the_migration_gives_a_stored_ad_one_sighting_per_version(tmp_path: Path, versions: int) -> None:
    before = tuple(m for m in MIGRATIONS if m.version < 17)
    db = tmp_path / "old.duckdb"
    import duckdb

    con = duckdb.connect(str(db))
    migrate(con, before)
    for v in range(1, versions + 1):
        con.execute(
            "INSERT INTO ad_rows (source, id, version, content_hash, title, body, images, fields, extra,"
            " file, line, ingested_at, captured_at)"
            " VALUES ('board', 'a1', ?, ?, 't', 'b', '[]', '{}', '{}', 'f', ?, now()::TIMESTAMP, ?)",
            [v, f"h{v}", v, datetime(2026, 3, v)],
        )
    con.close()
    with Store.open(db) as store:
        seen = ad_seen(store.connection, "board", "a1")
        assert seen.sightings == versions and sorted(seen.spans) == list(range(1, versions + 1))
        assert seen.last_seen == datetime(2026, 3, versions)
