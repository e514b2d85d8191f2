"""Ingest: readers, validation and quarantine reasons, versioning, the process pool, crash safety.

Everything runs on real files in tmp_path and real DuckDB stores. Ads are built here with
fictional numbers; images are generated noise. Most tests pass `extract=extract_phones`, a tiny
extractor defined below, so that they test ingest and not the extractors; the project's extractor
is exercised by the tests that say so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from threadline.ingest import IngestReport, content_hash, ingest_file, read_ads, read_records, validate
from threadline.ingest._work import Job, run_job
from threadline.ingest.pipeline import MIN_PART
from threadline.ingest.readers import MAX_LINE_BYTES
from threadline.ingest.validate import MAX_FIELD_BYTES, Invalid
from threadline.model import Ad, Extraction, Found, Span
from threadline.store import Store

# -- helpers --------------------------------------------------------------------------------------

_PHONE = re.compile(r"\((\d{3})\) (\d{3})-(\d{4})")


def extract_phones(ad: Ad) -> Extraction:
    """A stand-in extractor: "(713) 555-0142" -> "+17135550142", with its span."""
    found = [
        Found("phone", "+1" + "".join(m.groups()), (Span(name, m.start(), m.end()),))
        for name, text in ad.texts()
        for m in _PHONE.finditer(text)
    ]
    return Extraction(ad.source, ad.id, tuple(found), "US")


def extract_or_fail(ad: Ad) -> Extraction:
    if "EXPLODE" in ad.body:
        raise ValueError("extractor bug\non two lines")
    return extract_phones(ad)


def extract_or_die(ad: Ad) -> Extraction:
    if "POISON" in ad.body:
        os.kill(os.getpid(), signal.SIGKILL)  # as a decoder crash or the out-of-memory killer would
    return extract_phones(ad)


def extract_never(ad: Ad) -> Extraction:
    raise AssertionError(f"extraction should have been skipped for {ad.id}")


def ad_record(ad_id: str, phone: str = "(713) 555-0142", **kw: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": ad_id, "title": f"Ad {ad_id}", "body": f"Call {phone} today, new in town"}
    record.update(kw)
    return record


def write_lines(path: Path, lines: Iterable[dict[str, Any] | str | bytes]) -> Path:
    with open(path, "wb") as f:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line, ensure_ascii=False)
            if isinstance(line, str):
                line = line.encode("utf-8")
            f.write(line + b"\n")
    return path


def make_image(path: Path, seed: int) -> Path:
    """A generated noise image (never a photo)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (32, 32))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(32 * 32)])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def ingest(path: Path, db: Path, **kw: Any) -> IngestReport:
    kw.setdefault("workers", 0)
    kw.setdefault("extract", extract_phones)
    with Store.open(db) as store:
        return ingest_file(path, store, **kw)


def quarantine_reasons(db: Path) -> dict[int, str]:
    with Store.open(db, read_only=True) as store:
        return {q.line: q.reason for q in store.quarantine(limit=1000)}


def counts_of(report: IngestReport) -> tuple[int, int, int, int, int]:
    return report.read, report.new_ads, report.new_versions, report.unchanged, report.quarantined


# -- quarantine: every reason ---------------------------------------------------------------------


def test_every_malformed_record_is_quarantined_with_a_precise_reason(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    inside = make_image(corpus / "images" / "ok.png", 1)
    outside = make_image(tmp_path / "outside.png", 2)
    (corpus / "images" / "link.png").symlink_to(outside)
    lines: list[dict[str, Any] | str | bytes] = [
        ad_record("good-1", images=["images/ok.png"]),  # 1
        '{"id": "x", "body": }',  # 2
        b'{"id": "x", "body": "caf\xe9"}',  # 3: Latin-1, not UTF-8
        "[1, 2]",  # 4
        '{"id": "x", "body": "b", "rate": NaN}',  # 5
        {"body": "no id here"},  # 6
        {"id": 1.5, "body": "b"},  # 7
        {"id": "  ", "body": "b"},  # 8
        {"id": "x", "title": " ", "body": ""},  # 9
        {"id": "x", "title": 42},  # 10
        {"id": "x", "body": "b", "images": "images/ok.png"},  # 11
        {"id": "x", "body": "b", "images": [7]},  # 12
        {"id": "x", "body": "b", "images": ["../outside.png"]},  # 13
        {"id": "x", "body": "b", "images": [str(outside)]},  # 14
        {"id": "x", "body": "b", "images": ["images/missing.png"]},  # 15
        {"id": "x", "body": "b", "images": ["images/link.png"]},  # 16
        {"id": "x", "body": "b", "fields": ["phone"]},  # 17
        {"id": "x", "body": "b", "fields": {"phone": {"number": "713"}}},  # 18
        {"id": "x", "body": "é" * (MAX_FIELD_BYTES // 2 + 1)},  # 19: 1 MiB + 2 bytes of UTF-8
        {"id": "x", "body": "b", "fields": {"bio": "a" * (MAX_FIELD_BYTES + 1)}},  # 20
        {"id": "x", "body": "b", "posted_at": "last Tuesday"},  # 21
        {"id": "x", "body": "b", "source": ["site"]},  # 22
        '{"id": "x", "body": "broken \\ud83d emoji"}',  # 23
        {"id": "x", "body": "EXPLODE"},  # 24
        ad_record("good-2", images=[str(inside)]),  # 25: absolute, but inside the corpus
        {"id": "x", "body": "b", "url": 5},  # 26
        {"id": True, "body": "b"},  # 27
    ]
    path = write_lines(corpus / "ads.jsonl", lines)
    db = tmp_path / "store.duckdb"
    report = ingest(path, db, extract=extract_or_fail)

    expected = {
        2: "invalid JSON: Expecting value at column 21",
        3: "invalid UTF-8 at byte 24",
        4: "not a JSON object: got a list",
        5: "invalid JSON: NaN is not valid JSON",
        6: "missing id",
        7: "id must be a string (or an integer), got a number",
        8: "id is empty",
        9: "no text: title and body are both missing or blank",
        10: "title must be a string, got a number",
        11: "images must be a list of strings, got a string",
        12: "images[0] must be a string, got a number",
        13: "images[0] is outside the corpus folder (the input file's folder): '../outside.png'",
        14: f"images[0] is outside the corpus folder (the input file's folder): {str(outside)!r}",
        15: "images[0] does not exist: 'images/missing.png'",
        16: "images[0] is outside the corpus folder (the input file's folder): 'images/link.png'",
        17: "fields must be an object of strings, got a list",
        18: "fields.phone must be a string, got an object",
        19: f"body is {MAX_FIELD_BYTES + 2:,} bytes, over the 1 MiB limit",
        20: f"fields.bio is {MAX_FIELD_BYTES + 1:,} bytes, over the 1 MiB limit",
        21: "posted_at is not an ISO 8601 timestamp: 'last Tuesday'",
        22: "source must be a string, got a list",
        23: "body holds an unpaired UTF-16 surrogate (invalid Unicode)",
        24: "extraction failed: ValueError: extractor bug on two lines",
        26: "url must be a string, got a number",
        27: "id must be a string (or an integer), got a boolean",
    }
    assert quarantine_reasons(db) == expected
    assert counts_of(report) == (len(lines), 2, 0, 0, len(expected))
    with Store.open(db, read_only=True) as store:
        bad_utf8 = next(q for q in store.quarantine() if q.line == 3)
        assert bad_utf8.raw == '{"id": "x", "body": "caf\\xe9"}'  # the bytes stay visible
        assert all("\n" not in q.reason for q in store.quarantine())
        assert store.ad("ads", "good-2") is not None


def test_a_line_longer_than_the_limit_is_quarantined_without_being_read_whole(tmp_path: Path) -> None:
    huge = '{"id": "big", "body": "' + "x" * (MAX_LINE_BYTES + 10) + '"}'
    path = write_lines(tmp_path / "ads.jsonl", [ad_record("a"), huge, ad_record("b")])
    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert counts_of(report) == (3, 2, 0, 0, 1)
    assert quarantine_reasons(db) == {2: "line 2 is longer than 16 MiB"}
    with Store.open(db, read_only=True) as store:
        assert store.quarantine()[0].raw.startswith('{"id": "big"')


def test_an_image_unreadable_after_validation_is_quarantined_by_the_worker(tmp_path: Path) -> None:
    ad = Ad("site", "a1", body="b", images=(str(tmp_path / "gone.png"),))
    (outcome,) = run_job(Job([ad], [None], extract_phones))
    assert outcome.error == "images[0] cannot be read: No such file or directory"


def test_an_ad_that_kills_its_worker_process_is_quarantined_and_the_rest_stored(tmp_path: Path) -> None:
    lines = [ad_record(f"a{i}", body="POISON" if i == 13 else f"Call (713) 555-01{i:02d}") for i in range(40)]
    path = write_lines(tmp_path / "ads.jsonl", lines)
    db = tmp_path / "s.duckdb"
    report = ingest(path, db, workers=2, batch_size=8, extract=extract_or_die)
    assert counts_of(report) == (40, 39, 0, 0, 1)
    assert quarantine_reasons(db) == {14: "extraction crashed its worker process (killed, or out of memory)"}


def test_quarantine_is_idempotent_across_runs(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ads.jsonl", [ad_record("a"), {"body": "no id"}, "not json"])
    db = tmp_path / "s.duckdb"
    first = ingest(path, db)
    second = ingest(path, db)
    assert counts_of(first) == (3, 1, 0, 0, 2)
    assert counts_of(second) == (3, 0, 0, 1, 2)  # counted per run ...
    with Store.open(db, read_only=True) as store:
        assert store.counts().quarantined == 2  # ... stored once


# -- validation decisions -------------------------------------------------------------------------


def test_validation_keeps_unknown_fields_and_normalises_what_the_contract_allows(tmp_path: Path) -> None:
    record = {
        "id": 12345,
        "body": "b",
        "posted_at": "2024-05-01T10:00:00",
        "captured_at": "2024-05-02T10:00:00-05:00",
        "fields": {"age": 23, "rate": 150.5, "name": "Kim", "phone": None},
        "site_rank": {"page": 2, "pos": [1, 2]},
        "tags": ["new"],
    }
    ad = validate(record, corpus=tmp_path, default_source="feed")
    assert (ad.source, ad.id) == ("feed", "12345")
    assert ad.posted_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # naive means UTC
    assert ad.captured_at == datetime(2024, 5, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert ad.fields == {"age": "23", "rate": "150.5", "name": "Kim", "phone": ""}
    assert ad.extra == {"site_rank": {"page": 2, "pos": [1, 2]}, "tags": ["new"]}
    with pytest.raises(Invalid, match="no text"):
        validate({"id": "x"}, corpus=tmp_path, default_source="feed")


def test_source_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "backpage_2024-05.jsonl", [ad_record("a"), ad_record("b", source="other")])
    db = tmp_path / "s.duckdb"
    ingest(path, db)
    with Store.open(db, read_only=True) as store:
        assert store.query("SELECT source, id FROM ads ORDER BY id") == [
            ("backpage_2024-05", "a"),
            ("other", "b"),
        ]


# -- content hash, versions, re-ingest ------------------------------------------------------------


def test_reingest_of_the_same_file_is_a_no_op_and_skips_extraction(tmp_path: Path) -> None:
    make_image(tmp_path / "img" / "a.png", 1)
    path = write_lines(tmp_path / "ads.jsonl", [ad_record(f"a{i}", images=["img/a.png"]) for i in range(20)])
    db = tmp_path / "s.duckdb"
    assert counts_of(ingest(path, db, batch_size=7)) == (20, 20, 0, 0, 0)
    # Any extraction now would quarantine the record: none happens.
    assert counts_of(ingest(path, db, batch_size=7, extract=extract_never)) == (20, 0, 0, 20, 0)
    with Store.open(db, read_only=True) as store:
        assert store.counts().versions == 20
        assert [r.finished is not None for r in store.runs()] == [True, True]


def test_changed_content_is_a_new_version_and_both_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    day1 = write_lines(
        tmp_path / "day1.jsonl", [ad_record("a", source="site", captured_at="2024-05-01T10:00:00Z")]
    )
    day2 = write_lines(
        tmp_path / "day2.jsonl",
        [
            ad_record("a", source="site", captured_at="2024-05-02T10:00:00Z"),  # re-crawl, same content
            ad_record("a", "(713) 555-0199", source="site", captured_at="2024-05-03T10:00:00Z"),  # edited
        ],
    )
    assert counts_of(ingest(day1, db)) == (1, 1, 0, 0, 0)
    assert counts_of(ingest(day2, db)) == (2, 0, 1, 1, 0)
    assert counts_of(ingest(day1, db)) == (1, 0, 0, 1, 0)  # the older file again: still a no-op
    with Store.open(db, read_only=True) as store:
        versions = store.extractions_for("site", "a")
        assert {v: e.values("phone") for v, e in versions.items()} == {
            1: ["+17135550142"],
            2: ["+17135550199"],
        }
        assert store.query("SELECT version, file, line FROM ads ORDER BY version") == [
            (1, str(day1), 1),
            (2, str(day2), 2),
        ]


def test_images_count_by_their_bytes_not_their_names(tmp_path: Path) -> None:
    first = make_image(tmp_path / "img" / "a-0.png", 1)
    db = tmp_path / "s.duckdb"
    ingest(write_lines(tmp_path / "one.jsonl", [ad_record("a", source="s", images=["img/a-0.png"])]), db)
    # Same bytes under a new name: unchanged.
    (tmp_path / "img" / "renamed.png").write_bytes(first.read_bytes())
    two = ingest(
        write_lines(tmp_path / "two.jsonl", [ad_record("a", source="s", images=["img/renamed.png"])]), db
    )
    assert two.unchanged == 1
    # A new photo under the old name: a new version.
    make_image(first, 2)
    three = ingest(
        write_lines(tmp_path / "three.jsonl", [ad_record("a", source="s", images=["img/a-0.png"])]), db
    )
    assert three.new_versions == 1
    with Store.open(db, read_only=True) as store:
        rows = store.query("SELECT version, position, sha256 FROM ad_images ORDER BY version")
        assert [(v, p) for v, p, _ in rows] == [(1, 0), (2, 0)]
        assert rows[0][2] != rows[1][2]
        assert store.counts().images == 2


def test_content_hash_ignores_captured_at_and_sees_every_other_field(tmp_path: Path) -> None:
    base = validate(ad_record("a"), corpus=tmp_path, default_source="s")
    same = validate(ad_record("a", captured_at="2030-01-01T00:00:00Z"), corpus=tmp_path, default_source="s")
    assert content_hash(base, []) == content_hash(same, [])
    for change in (
        {"title": "other"},
        {"location": "Houston"},
        {"url": "https://example.org/a"},
        {"posted_at": "2024-05-01T00:00:00Z"},
        {"fields": {"age": "23"}},
        {"unknown": 1},
    ):
        changed = validate(ad_record("a", **change), corpus=tmp_path, default_source="s")
        assert content_hash(changed, []) != content_hash(base, []), change
    assert content_hash(base, ["ab" * 32]) != content_hash(base, [])
    # The same instant written with another offset is the same content.
    utc = validate(ad_record("a", posted_at="2024-05-01T12:00:00Z"), corpus=tmp_path, default_source="s")
    offset = validate(
        ad_record("a", posted_at="2024-05-01T07:00:00-05:00"), corpus=tmp_path, default_source="s"
    )
    assert content_hash(utc, []) == content_hash(offset, [])


def test_versions_of_one_ad_in_one_file_are_stored_in_file_order_across_batches(tmp_path: Path) -> None:
    lines = []
    for i in range(30):
        lines.append(ad_record(f"filler-{i}"))
        lines.append(ad_record("moving", body=f"Call (713) 555-0142, now in city {i % 3}"))
    path = write_lines(tmp_path / "ads.jsonl", lines)
    db = tmp_path / "s.duckdb"
    report = ingest(path, db, workers=2, batch_size=4)  # several batches in flight at once
    # The ad moves city 0, 1, 2, 0, 1, 2, ...: each record differs from the one before it, so
    # each is a new version, returns to an earlier city included.
    assert counts_of(report) == (60, 31, 29, 0, 0)
    with Store.open(db, read_only=True) as store:
        rows = store.query("SELECT version, line, body FROM ads WHERE id = 'moving' ORDER BY version")
        assert [(v, line) for v, line, _ in rows] == [(v, 2 * v) for v in range(1, 31)]
        assert [body[-1] for _, _, body in rows] == [str(i % 3) for i in range(30)]
        # Returns were not extracted again: their extraction is the earlier version's, copied.
        found = store.query(
            "SELECT version, list(value ORDER BY value) FROM extractions"
            " WHERE ad_id = 'moving' AND kind = 'phone' GROUP BY version"
        )
        assert len(found) == 30 and all(values == ["+17135550142"] for _, values in found)
    # Read again, the same file is no news at all.
    assert counts_of(ingest(path, db, workers=2, batch_size=4)) == (60, 0, 0, 60, 0)


def test_the_pool_and_in_process_extraction_store_the_same(tmp_path: Path) -> None:
    records = [ad_record(f"a{i}", f"(713) 555-01{i % 100:02d}") for i in range(300)]
    path = write_lines(tmp_path / "ads.jsonl", records)
    rows = []
    for workers in (0, 2):
        db = tmp_path / f"w{workers}.duckdb"
        assert counts_of(ingest(path, db, workers=workers, batch_size=32)) == (300, 300, 0, 0, 0)
        with Store.open(db, read_only=True) as store:
            rows.append(store.query("SELECT id, version, content_hash FROM ads ORDER BY id"))
            assert store.top_values("phone", 1)[0].ads == 3
    assert rows[0] == rows[1]


def extract_with_pids(ad: Ad) -> Extraction:
    """`extract_phones`, each find saying which process extracted it."""
    found = extract_phones(ad).found
    found = tuple(Found(f.kind, f.value, f.spans, {"pid": os.getpid()}) for f in found)
    return Extraction(ad.source, ad.id, found, "US")


def test_every_worker_extracts_a_part_of_one_batch_and_the_store_gets_every_row_in_order(
    tmp_path: Path,
) -> None:
    # Two phones in most ads, a find without spans in some: every row of every find travels.
    records = [
        ad_record(f"a{i}", f"(713) 555-{i:04d} or (832) 555-{i % 7:04d}" if i % 5 else f"(713) 555-{i:04d}")
        for i in range(2 * MIN_PART + 100)
    ]
    path = write_lines(tmp_path / "ads.jsonl", records)
    db = tmp_path / "w2.duckdb"
    # One batch of 2 * MIN_PART ads, extracted in two parts at once, then one of 100 in one part.
    report = ingest(path, db, workers=2, batch_size=2 * MIN_PART, extract=extract_with_pids)
    assert counts_of(report) == (len(records), len(records), 0, 0, 0)
    with Store.open(db, read_only=True) as store:
        rows = store.query(
            "SELECT a.line, e.value, e.span_start, e.detail->>'$.pid' FROM ads a"
            " JOIN extractions e ON e.source = a.source AND e.ad_id = a.id AND e.version = a.version"
            " ORDER BY a.line, e.found_index"
        )
    # Each ad's own phones, at their own places, in the order they were found.
    expected = [
        (n + 1, "+1" + "".join(m.groups()), m.start())
        for n, record in enumerate(records)
        for m in _PHONE.finditer(record["body"])
    ]
    assert [row[:3] for row in rows] == expected
    # The first batch's halves were extracted side by side, one by each worker.
    first_half = {pid for line, _, _, pid in rows if line <= MIN_PART}
    second_half = {pid for line, _, _, pid in rows if MIN_PART < line <= 2 * MIN_PART}
    assert len(first_half) == len(second_half) == 1 and first_half != second_half


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_input_with_the_same_columns(tmp_path: Path) -> None:
    make_image(tmp_path / "img" / "a.png", 1)
    make_image(tmp_path / "img" / "b.png", 2)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "title", "body", "images", "fields", "posted_at", "site_rank"])
    writer.writerow(
        ["c1", "Hi", "Call (713) 555-0142\nnew in town", "img/a.png|img/b.png", '{"age": "23"}', "", "4"]
    )
    writer.writerow(["c2", "", "Text (713) 555-0199", '["img/b.png"]', "", "2024-05-01T10:00:00Z", ""])
    writer.writerow(["c3", "", "", "", "", "", ""])  # no text
    writer.writerow(["c4", "t", "b", "", "not json", "", ""])
    writer.writerow(["c5", "t", "b", "", "", "", "", "one cell too many"])
    data = buffer.getvalue().encode("utf-8")
    data += b"c6,t,caf\xe9,,,,\r\n"  # a Latin-1 line amid UTF-8
    data += b"c7,Bye,Call (713) 555-0142,,,,\r\n"
    path = tmp_path / "feed.csv"
    path.write_bytes(data)

    db = tmp_path / "s.duckdb"
    report = ingest(path, db)
    assert counts_of(report) == (7, 3, 0, 0, 4)
    assert quarantine_reasons(db) == {
        5: "no text: title and body are both missing or blank",
        6: "fields: not valid JSON (CSV fields must be a JSON object)",
        7: "row has 8 cells, the header has 7",
        8: "invalid UTF-8 on line 8",
    }
    with Store.open(db, read_only=True) as store:
        c1 = store.ad("feed", "c1")
        assert c1 is not None
        assert c1.body == "Call (713) 555-0142\nnew in town"  # a quoted field across two lines
        assert [Path(p).name for p in c1.images] == ["a.png", "b.png"]
        assert (c1.fields, c1.extra) == ({"age": "23"}, {"site_rank": "4"})
        assert store.query("SELECT id, line FROM ads ORDER BY id") == [("c1", 2), ("c2", 4), ("c7", 9)]
        assert store.ad("feed", "c2").posted_at == datetime(2024, 5, 1, 10, tzinfo=UTC)  # type: ignore[union-attr]


def test_a_csv_ad_and_the_same_ad_in_json_lines_have_the_same_content_hash(tmp_path: Path) -> None:
    with open(tmp_path / "a.csv", "w", newline="") as f:
        csv.writer(f).writerows([["id", "title", "body", "fields"], ["x", "Hi", "Call me", '{"age": "23"}']])
    write_lines(
        tmp_path / "a.jsonl", [{"id": "x", "title": "Hi", "body": "Call me", "fields": {"age": "23"}}]
    )
    hashes = []
    for name in ("a.csv", "a.jsonl"):
        (raw,) = list(read_records(tmp_path / name))
        assert raw.record is not None
        hashes.append(content_hash(validate(raw.record, corpus=tmp_path, default_source="a"), []))
    assert hashes[0] == hashes[1]


# -- progress, the extract command's reader, the real extractor ---------------------------------


def test_progress_is_reported_after_every_batch(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ads.jsonl", [ad_record(f"a{i}") for i in range(10)])
    calls: list[tuple[int, int, int]] = []
    ingest(path, tmp_path / "s.duckdb", batch_size=3, progress=lambda *a: calls.append(a))
    size = path.stat().st_size
    assert [done for done, _, _ in calls] == [3, 6, 9, 10]
    assert all(total == size for _, _, total in calls)
    assert [read for _, read, _ in calls] == sorted(read for _, read, _ in calls)
    assert calls[-1][1] == size


def test_read_ads_validates_without_a_store(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ads.jsonl", [ad_record("a"), {"body": "x"}, ad_record("b")])
    items = list(read_ads(path))
    assert [item if isinstance(item, str) else item.id for item, *_ in items] == ["a", "2: missing id", "b"]
    assert [done for _, done, _, _ in items] == [1, 2, 3]
    assert items[-1][2] == items[-1][3] == path.stat().st_size


def test_without_an_extract_argument_ingest_uses_the_project_extractor(tmp_path: Path) -> None:
    make_image(tmp_path / "img" / "a.png", 3)
    path = write_lines(
        tmp_path / "ads.jsonl",
        [ad_record("a", location="Houston, TX", images=["img/a.png"]), ad_record("b", "713.555.0142")],
    )
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        report = ingest_file(path, store, workers=1, batch_size=1)
        assert counts_of(report) == (2, 2, 0, 0, 0)
        assert [(v.value, v.ads) for v in store.top_values("phone")] == [("+17135550142", 2)]
        (image,) = store.query("SELECT pdq, pdq_quality, phash, width, height FROM images")
        assert image[0] is not None and image[3:] == (32, 32)


# -- crash safety ---------------------------------------------------------------------------------


def _simple_ads(n: int) -> Iterator[dict[str, Any] | str]:
    for i in range(n):
        yield ad_record(f"ad-{i}", f"(713) 555-01{i % 100:02d}", source="crash")
        if i % 500 == 250:
            yield ad_record(f"ad-{i}", "(713) 555-0199", source="crash")  # a second version
        if i % 700 == 10:
            yield '{"id": broken'  # a quarantined line


@pytest.mark.slow
def test_an_ingest_killed_with_sigkill_and_run_again_stores_every_record_exactly_once(tmp_path: Path) -> None:
    lines = list(_simple_ads(3000))
    path = write_lines(tmp_path / "ads.jsonl", lines)
    db = tmp_path / "s.duckdb"
    command = [sys.executable, "-m", "threadline.ingest", str(path), "--db", str(db), "--batch-size", "100"]
    command += ["--workers", "1"]

    # First run: killed once two batches are committed (progress is printed after each commit).
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as first:
        assert first.stderr is not None
        committed = 0
        for line in first.stderr:
            if line.startswith("progress "):
                committed += 1
                if committed == 2:
                    os.kill(first.pid, signal.SIGKILL)
                    break
        assert first.wait(timeout=60) == -signal.SIGKILL
        # Its worker processes inherited stderr: the pipe closes once none of them is left
        # orphaned (they watch the ingest and exit with it).
        drained = threading.Thread(target=first.stderr.read, daemon=True)
        drained.start()
        drained.join(timeout=30)
        assert not drained.is_alive(), "processes of the killed ingest are still running"

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    report = json.loads(second.stdout)
    versions = sum(1 for line in lines if isinstance(line, dict))
    bad = len(lines) - versions
    assert report["read"] == len(lines)
    assert report["quarantined"] == bad
    assert report["new_ads"] + report["new_versions"] + report["unchanged"] == versions
    # The two committed batches (200 records, bad lines among them) were not stored again.
    assert report["unchanged"] >= sum(1 for line in lines[:200] if isinstance(line, dict))

    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        assert (counts.ads, counts.versions, counts.quarantined) == (3000, versions, bad)
        assert store.query("SELECT count(*) FROM (SELECT DISTINCT source, id, content_hash FROM ads)") == [
            (versions,)
        ]
        per_ad = store.query("SELECT id, count(*) FROM ads GROUP BY id HAVING count(*) > 1 ORDER BY id")
        assert per_ad == [(f"ad-{i}", 2) for i in sorted(range(250, 3000, 500), key=lambda i: f"ad-{i}")]
        # One row per span of each stored version, never doubled by the re-run.
        assert store.query(
            "SELECT count(*) FROM (SELECT source, ad_id, version, found_index, span_index FROM extractions"
            " GROUP BY ALL HAVING count(*) > 1)"
        ) == [(0,)]
        runs = store.runs()
        assert [r.finished is None for r in runs] == [False, True]  # the killed run is on record
