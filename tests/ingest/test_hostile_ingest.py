"""Ingest under hostile input: every record ends as a new ad, a new version, seen again or
quarantined with a reason, and no record stops the others.

Each test builds its own made-up input of the shape a hostile tester found (fictional numbers
only). They run the real pipeline on real files and real DuckDB stores.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from threadline.cli import cli
from threadline.ingest import IngestReport, ingest_file
from threadline.ingest import pipeline as pipeline_module
from threadline.ingest.validate import MAX_NESTING
from threadline.model import Ad, Extraction, Found, Span
from threadline.store import Store


def extract_phone_words(ad: Ad) -> Extraction:
    """A stand-in extractor: every "713-555-01NN" as +171355501NN, with its span."""
    found = []
    for name, text in ad.texts():
        start = text.find("713-555-01")
        if start >= 0:
            digits = text[start : start + 12].replace("-", "")
            found.append(Found("phone", "+1" + digits, (Span(name, start, start + 12),)))
    return Extraction(ad.source, ad.id, tuple(found), "US")


def extract_unstorable(ad: Ad) -> Extraction:
    """Finds a span no store column can hold in the ad that says so: storing it fails."""
    extraction = extract_phone_words(ad)
    if "UNSTORABLE" in ad.body:
        bad = Found("phone", "+17135550199", (Span("body", 0, 2**40),))
        return Extraction(ad.source, ad.id, (*extraction.found, bad), "US")
    return extraction


def extract_unsendable(ad: Ad) -> Extraction:
    """Returns what cannot be sent back from a worker process: a function in an image's detail
    (the details of other finds travel as JSON, where it would become its name)."""
    extraction = extract_phone_words(ad)
    if "UNSENDABLE" in ad.body:
        bad = Found("image", "0" * 64, (Span("images[0]", 0, 0),), {"how": lambda: None})
        return Extraction(ad.source, ad.id, (*extraction.found, bad), "US")
    return extraction


def record(ad_id: str, n: int = 42, **kw: Any) -> dict[str, Any]:
    return {"id": ad_id, "title": f"Ad {ad_id}", "body": f"New in town, call 713-555-01{n:02d}", **kw}


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def ingest(path: Path, db: Path, **kw: Any) -> IngestReport:
    kw.setdefault("workers", 0)
    kw.setdefault("extract", extract_phone_words)
    with Store.open(db) as store:
        return ingest_file(path, store, **kw)


def accounted(report: IngestReport) -> bool:
    return report.read == report.new_ads + report.new_versions + report.unchanged + report.quarantined


def reasons(db: Path) -> dict[int, str]:
    with Store.open(db, read_only=True) as store:
        return {q.line: q.reason for q in store.quarantine(limit=10_000)}


# -- 1. CSV: one unclosed quote -----------------------------------------------------------------


def test_an_unclosed_csv_quote_costs_its_own_record_not_the_rest_of_the_file(tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "title", "body"])
    for i in range(1, 51):
        writer.writerow([f"c{i}", f"Ad {i}", f"Call 713-555-01{i:02d}\nnew in town"])  # multi-line
    lines = buffer.getvalue().split("\n")
    # Row 3 opens a quoted body and never closes it (its closing quote and next line lost).
    row3 = next(i for i, line in enumerate(lines) if line.startswith("c3,"))
    lines[row3 : row3 + 2] = ['c3,Ad 3,"Call 713-555-0103 new in town']
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(lines))
    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert (report.read, report.new_ads, report.quarantined) == (50, 49, 1)
    assert accounted(report)
    assert "unclosed quote" in reasons(db)[row3 + 1]
    with Store.open(db, read_only=True) as store:
        # Every other ad kept its own body, with its own one number.
        assert store.query("SELECT max(length(body)) FROM ads")[0][0] < 40
        assert store.query("SELECT count(*) FROM ads WHERE id IN ('c2', 'c4', 'c50')")[0][0] == 3


def test_a_quote_closed_by_a_later_stray_quote_does_not_glue_records(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(
        'id,title,body\na1,Ad,"Call 713-555-0101\na2,Ad,Call 713-555-0102\na3,Ad,say "hi" 713-555-0103\n'
        "a4,Ad,Call 713-555-0104\n"
    )
    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert accounted(report) and report.read == 4
    with Store.open(db, read_only=True) as store:
        ids = {row[0] for row in store.query("SELECT id FROM ads")}
    assert {"a2", "a4"} <= ids and "a1" not in ids
    assert reasons(db)[2].startswith("unclosed quote")


def test_a_quoted_field_may_still_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(
        'id,body\na1,"Call 713-555-0101\n\nnew, in town ""today"""\na2,5\'10" tall 713-555-0102\n'
    )
    report = ingest(path, tmp_path / "s.duckdb")
    assert (report.read, report.new_ads, report.quarantined) == (2, 2, 0)


# -- 3, 4, 19, 20: values at the edges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("posted_at", "0001-01-01T00:00:00+01:00", "posted_at is outside the years 1 to 9999"),
        ("captured_at", "9999-12-31T23:59:59-01:00", "captured_at is outside the years 1 to 9999"),
    ],
)
def test_a_timestamp_past_the_calendar_is_quarantined_and_the_file_goes_on(
    tmp_path: Path, field: str, value: str, reason: str
) -> None:
    path = write_jsonl(tmp_path / "ads.jsonl", [record("a1"), record("edge", **{field: value}), record("a3")])
    db = tmp_path / "s.duckdb"
    for _ in range(2):  # and a re-run does not stop there either
        report = ingest(path, db, workers=1)
        assert report.quarantined == 1 and accounted(report)
    assert reasons(db)[2].startswith(reason)
    # The very edges that are still instants are kept.
    path2 = write_jsonl(
        tmp_path / "edges.jsonl",
        [record("lo", posted_at="0001-01-01T01:00:00+01:00"), record("hi", posted_at="9999-12-31T23:59:59Z")],
    )
    assert ingest(path2, db).new_ads == 2


def test_deep_nesting_is_quarantined_before_it_reaches_a_worker(tmp_path: Path) -> None:
    deep: Any = "leaf"
    for _ in range(500):
        deep = {"k": deep}
    fine: Any = "leaf"
    for _ in range(MAX_NESTING - 1):
        fine = [fine]
    path = write_jsonl(
        tmp_path / "ads.jsonl", [record("a1"), record("deep", meta=deep), record("ok", meta=fine)]
    )
    db = tmp_path / "s.duckdb"
    report = ingest(path, db, workers=1)
    assert (report.new_ads, report.quarantined) == (2, 1)
    assert reasons(db)[2] == f"lists and objects nested more than {MAX_NESTING} deep"


def test_a_number_no_double_holds_is_quarantined_not_stored_as_infinity(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "ads.jsonl", ['{"id": "big", "body": "713-555-0101", "score": 1e400}', record("a2")]
    )
    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert (report.new_ads, report.quarantined) == (1, 1)
    assert "1e400 is out of range" in reasons(db)[1]
    with Store.open(db, read_only=True) as store:
        assert "Infinity" not in json.dumps(store.query("SELECT extra FROM ads"))


def test_a_key_written_twice_is_quarantined_not_read_one_way(tmp_path: Path) -> None:
    # {"id": "x", "id": "y"}: one reader takes the first, another the last; the record is ambiguous.
    twice = '{"id": "x1", "body": "713-555-0101", "id": "x2"}'
    nested = '{"id": "x3", "body": "713-555-0102", "images": [{"name": "a", "name": "b"}]}'
    path = write_jsonl(tmp_path / "ads.jsonl", [twice, nested, record("a2")])
    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert (report.new_ads, report.quarantined) == (1, 2)
    assert "'id' appears twice" in reasons(db)[1] and "'name' appears twice" in reasons(db)[2]


def test_a_surrogate_deep_inside_is_named_in_a_short_reason(tmp_path: Path) -> None:
    nested = '"\\ud800"'
    for i in range(30):
        nested = f'{{"key_number_{i}": {nested}}}'
    path = write_jsonl(tmp_path / "ads.jsonl", [f'{{"id": "s", "body": "x", "meta": {nested}}}'])
    db = tmp_path / "s.duckdb"
    assert ingest(path, db).quarantined == 1
    reason = reasons(db)[1]
    assert "unpaired UTF-16 surrogate" in reason and len(reason) < 300


# -- 5. size: batches by bytes, and a batch the store refuses -------------------------------------


def test_batches_are_cut_by_bytes_as_well_as_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "MAX_BATCH_BYTES", 64 * 1024)
    big = "x" * (16 * 1024)
    path = write_jsonl(tmp_path / "ads.jsonl", [record(f"a{i}", i, blob=big) for i in range(40)])
    done: list[int] = []
    with Store.open(tmp_path / "s.duckdb") as store:
        report = ingest_file(
            path, store, workers=0, extract=extract_phone_words, progress=lambda n, *_: done.append(n)
        )
    assert report.new_ads == 40
    # 40 records of 16 KB in batches of at most 64 KB: ten batches, not one of 1,000 records.
    assert len(done) == 10 and done[-1] == 40


def test_an_ad_the_store_cannot_hold_is_quarantined_and_the_batch_is_stored(tmp_path: Path) -> None:
    lines: list[dict[str, Any] | str] = [record(f"a{i}", i) for i in range(20)]
    lines[7] = record("bad", 7, body="UNSTORABLE 713-555-0107")
    lines.append("{broken")
    path = write_jsonl(tmp_path / "ads.jsonl", lines)
    db = tmp_path / "s.duckdb"
    report = ingest(path, db, extract=extract_unstorable)
    assert (report.read, report.new_ads, report.quarantined) == (21, 19, 2) and accounted(report)
    found = reasons(db)
    assert found[8].startswith("could not be stored:") and found[21].startswith("invalid JSON")
    again = ingest(path, db, extract=extract_unstorable)
    assert (again.new_ads, again.unchanged, again.quarantined) == (0, 19, 2)


def test_an_outcome_a_worker_cannot_send_back_costs_that_ad_only(tmp_path: Path) -> None:
    lines: list[dict[str, Any] | str] = [record(f"a{i}", i) for i in range(12)]
    lines[5] = record("bad", 5, body="UNSENDABLE 713-555-0105")
    path = write_jsonl(tmp_path / "ads.jsonl", lines)
    db = tmp_path / "s.duckdb"
    report = ingest(path, db, workers=1, extract=extract_unsendable)
    assert (report.new_ads, report.quarantined) == (11, 1) and accounted(report)
    assert reasons(db)[6].startswith("extraction failed:")


# -- 9. versions: a return to earlier content -----------------------------------------------------


def test_an_ad_that_returns_to_earlier_content_is_a_new_version_across_files(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    files = [
        write_jsonl(
            tmp_path / f"day{day}.jsonl",
            [record("a1", n, source="site"), record(f"other{day}", 60 + day, source="site")],
        )
        for day, n in enumerate((42, 43, 42))
    ]
    for file in files:
        assert ingest(file, db).stored == 2
    with Store.open(db, read_only=True) as store:
        latest = store.query("SELECT version, body FROM latest_ads WHERE id = 'a1'")
        assert latest == [(3, "New in town, call 713-555-0142")]
        phones = store.query(
            "SELECT value FROM extractions e JOIN latest_ads a ON a.id = e.ad_id AND a.version = e.version"
            " WHERE a.id = 'a1' AND kind = 'phone'"
        )
        assert phones == [("+17135550142",)]
    # Reading every file again is no news: the same records, the same store.
    for file in files:
        report = ingest(file, db)
        assert (report.stored, report.unchanged) == (0, 2)


# -- 11. quarantine: told apart by text ----------------------------------------------------------


def test_a_rewritten_feed_keeps_every_bad_record_it_ever_had(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    db = tmp_path / "s.duckdb"
    write_jsonl(path, [record("a1"), '{"body": "first feed, no id"}'])
    ingest(path, db)
    write_jsonl(path, [record("a2", 43), '{"body": "second feed, no id either"}'])
    ingest(path, db)
    ingest(path, db)  # and a re-run adds nothing
    with Store.open(db, read_only=True) as store:
        rows = store.query("SELECT line, reason, raw FROM quarantine ORDER BY raw")
    assert [(line, reason) for line, reason, _ in rows] == [(2, "missing id"), (2, "missing id")]
    assert "first feed" in rows[0][2] and "second feed" in rows[1][2]


# -- 14. the default source -------------------------------------------------------------------


def test_two_files_of_one_name_are_warned_about_and_source_sets_it(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "siteA" / "ads.jsonl", [record("1", 41)])
    b = write_jsonl(tmp_path / "siteB" / "ads.jsonl", [record("1", 42)])
    db = tmp_path / "s.duckdb"
    assert ingest(a, db).warnings == ()
    warned = ingest(b, db)
    assert len(warned.warnings) == 1 and str(a) in warned.warnings[0] and "--source" in warned.warnings[0]
    assert warned.new_versions == 1  # what the warning is about: one ad now
    c = write_jsonl(tmp_path / "siteC" / "ads.jsonl", [record("1", 43)])
    own = ingest(c, db, source="siteC")
    assert (own.new_ads, own.warnings) == (1, ())
    with Store.open(db, read_only=True) as store:
        assert store.query("SELECT DISTINCT source FROM ads ORDER BY source") == [("ads",), ("siteC",)]


# -- the exit rule ----------------------------------------------------------------------------


def test_ingest_exits_non_zero_with_the_counts_when_no_record_was_accepted(tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", ['{"id": 1}', "not json", '{"body": "no id"}'])
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(bad), "--db", str(db), "--no-link", "-q", "--workers", "1"])
    assert result.exit_code != 0
    assert "3 records: 0 new ads, 0 new versions, 0 seen again, 3 quarantined" in result.output
    good = write_jsonl(tmp_path / "mixed.jsonl", [record("a1"), "not json"])
    result = runner.invoke(cli, ["ingest", str(good), "--db", str(db), "--no-link", "-q", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 records: 1 new ads, 0 new versions, 0 seen again, 1 quarantined" in result.output
    # Seen again counts as accepted: a re-run exits 0.
    result = runner.invoke(cli, ["ingest", str(good), "--db", str(db), "--no-link", "-q", "--workers", "1"])
    assert result.exit_code == 0 and "1 seen again" in result.output


def test_run_with_no_valid_record_links_an_empty_store_and_says_the_counts(tmp_path: Path) -> None:
    # Linking and scoring an empty store must not fail (a logarithm of zero ads once did): the run
    # says its four counts and exits non-zero because nothing was accepted.
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{", '{"id": 1}'])
    result = CliRunner().invoke(
        cli, ["run", "--engine", "local", "--input", str(bad), "--output", str(tmp_path / "out")]
    )
    assert result.exit_code != 0
    assert "run (local): 2 records: 0 new ads, 0 new versions, 0 seen again, 2 quarantined" in result.output
    assert "no record could be stored" in result.output and "logarithm" not in result.output


def test_a_store_that_gives_up_stops_the_run_with_one_line_and_loses_nothing(tmp_path: Path) -> None:
    # DuckDB invalidates a database whose checkpoint runs out of memory (strings over its 256 KB
    # block size are pinned whole). Under a tiny memory cap 1 MB fields get there fast: the
    # run must stop with one line, keep what it stored, and a second run must store the rest.
    blob = "x" * 1_000_000
    path = write_jsonl(tmp_path / "ads.jsonl", [record(f"w{i}", i, dump=blob) for i in range(80)])
    db = tmp_path / "s.duckdb"
    exe = Path(sys.executable).with_name("threadline")
    cmd = [str(exe), "ingest", str(path), "--db", str(db), "-q", "--workers", "1", "--no-link"]
    small = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "THREADLINE_MEMORY_LIMIT": "32MB"}
    )
    assert small.returncode != 0
    assert small.stderr.count("\n") == 1 and "run the same ingest again" in small.stderr, small.stderr
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    match = re.search(r"(\d+) new ads, 0 new versions, (\d+) seen again, 0 quarantined", again.stdout)
    assert match and int(match[1]) + int(match[2]) == 80 and int(match[2]) < 80, again.stdout


def test_extract_exits_non_zero_when_no_record_is_valid(tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", ['{"id": 1}', "not json"])
    result = CliRunner().invoke(cli, ["extract", str(bad), "-q"])
    assert result.exit_code != 0 and "no valid record (2 malformed)" in result.output
    good = write_jsonl(tmp_path / "good.jsonl", [record("a1"), "not json"])
    assert CliRunner().invoke(cli, ["extract", str(good), "-q"]).exit_code == 0


# -- long values are stored in parts -------------------------------------------------------------


def _long_record(ad_id: str, n: int) -> dict[str, Any]:
    # Multi-byte text (3 and 4 bytes a character) across the part boundaries, a long title, a long
    # unknown field and a long location: every column that can be long.
    body = "".join(f"línea {i} 中文 😀 call 713-555-01{n:02d}\n" for i in range(12_000))
    return record(ad_id, n, title="T" * 140_000, body=body, location="Houston " * 20_000, dump="y" * 300_001)


def test_long_values_are_kept_in_parts_and_read_back_exactly(tmp_path: Path) -> None:
    from threadline.store.schema import LONG_TEXT_BYTES

    records = [_long_record("L1", 1), record("s1", 2), _long_record("L2", 3)]
    path = write_jsonl(tmp_path / "ads.jsonl", records)
    db = tmp_path / "s.duckdb"
    assert accounted(report := ingest(path, db)) and report.new_ads == 3
    with Store.open(db, read_only=True) as store:
        for rec in records:
            ad = store.ad("ads", rec["id"])
            assert ad is not None
            assert (ad.title, ad.body, ad.location) == (rec["title"], rec["body"], rec.get("location"))
            assert ad.extra.get("dump") == rec.get("dump")
        # No stored string is longer than DuckDB can write without holding it whole.
        [(longest_row,)] = store.query(
            "SELECT max(greatest(strlen(title), strlen(body), strlen(coalesce(location, '')),"
            " strlen(CAST(extra AS VARCHAR)))) FROM ad_rows"
        )
        [(longest_part, parted)] = store.query(
            "SELECT max(strlen(text)), count(DISTINCT (id, col)) FROM ad_text_parts"
        )
        assert longest_row <= LONG_TEXT_BYTES and longest_part <= LONG_TEXT_BYTES
        assert parted == 8  # title, body, location and extra of each long ad
        # The extraction's spans point into the text as read back.
        [(start, end)] = store.query(
            "SELECT span_start, span_end FROM extractions WHERE ad_id = 'L2' AND kind = 'phone' LIMIT 1"
        )
        assert store.ad("ads", "L2").body[start:end] == "713-555-0103"  # type: ignore[union-attr]
    # The same file again: every long ad is seen again, not a new version.
    again = ingest(path, db)
    assert (again.unchanged, again.new_versions) == (3, 0)


def test_a_store_written_before_parts_moves_its_long_values_on_open(tmp_path: Path) -> None:
    import duckdb

    from threadline.store.schema import LONG_TEXT_BYTES, MIGRATIONS, PART_CHARS, migrate

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:9])
    body = "ü" * (LONG_TEXT_BYTES // 2 + 7)  # two bytes a character: over the limit in UTF-8
    con.execute(
        "INSERT INTO ads (source, id, version, content_hash, title, body, images, fields, extra, file,"
        " line, ingested_at) VALUES ('s', 'a', 1, 'h', 't', ?, '[]', '{}', ?, 'f', 1, now())",
        [body, extra := json.dumps({"k": "v" * 200_000}, separators=(",", ":"))],
    )
    con.close()
    with Store.open(path, read_only=False) as store:
        assert store.query("SELECT body, extra->>'k' FROM latest_ads") == [(body, "v" * 200_000)]
        assert store.query("SELECT count(*) FROM ad_text_parts") == [
            (-(-len(body) // PART_CHARS) + -(-len(extra) // PART_CHARS),)
        ]
        assert store.query("SELECT strlen(body) FROM ad_rows") == [(0,)]


def test_a_run_output_with_long_values_loads_them_in_parts(tmp_path: Path) -> None:
    from threadline.engines.local import run_local
    from threadline.engines.outputs import load_output
    from threadline.store.schema import LONG_TEXT_BYTES

    records = [_long_record("L1", 1), record("s1", 2)]
    path = write_jsonl(tmp_path / "in" / "ads.jsonl", records)
    out = tmp_path / "out"
    run_local(path, out, workers=0)
    with Store.open(tmp_path / "loaded.duckdb") as store:
        load_output(store.connection, out)
        for rec in records:
            ad = store.ad("ads", rec["id"])
            assert ad is not None and (ad.title, ad.body) == (rec["title"], rec["body"])
            assert ad.extra.get("dump") == rec.get("dump")
        [(longest,)] = store.query("SELECT max(strlen(body)) FROM ad_rows")
        assert 0 < longest <= LONG_TEXT_BYTES
        assert store.query("SELECT count(DISTINCT col) FROM ad_text_parts") == [(4,)]
