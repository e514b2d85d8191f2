"""The store: schema migrations, batch writes with versioning, quarantine, and the read queries.

Real DuckDB files in tmp_path; ads and extractions are built here by hand (fictional numbers only),
so these tests do not depend on the extractors.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from threadline.model import Ad, Extraction, Found, Span
from threadline.store import (
    LATEST_VERSION,
    QUARANTINE_RAW_BYTES,
    PackedExtraction,
    Quarantined,
    SchemaTooNewError,
    Store,
    StoreBusyError,
    StoredAd,
    StoreError,
)
from threadline.store.schema import (
    EXTRACTION_ROW,
    MIGRATIONS,
    ROW_LAYOUTS,
    Migration,
    current_version,
    insert_row,
    migrate,
)

PHONE = "+17135550142"
OTHER_PHONE = "+17135550199"


def make_ad(ad_id: str = "a1", body: str = "Call (713) 555-0142, new in town", **kw: object) -> Ad:
    return Ad(source="site", id=ad_id, title="Sweet Kim", body=body, **kw)  # type: ignore[arg-type]


def phone_extraction(ad: Ad, phone: str = PHONE) -> Extraction:
    start = ad.body.find("(713)")
    spans = (Span("body", start, start + 14),) if start >= 0 else ()
    return Extraction(ad.source, ad.id, (Found("phone", phone, spans, {"obfuscated": False}),), "US")


def stored(ad: Ad, content_hash: str, line: int = 1, extraction: Extraction | None = None) -> StoredAd:
    return StoredAd(ad, content_hash, "/corpus/ads.jsonl", line, extraction or phone_extraction(ad))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "store.duckdb") as s:
        yield s  # type: ignore[misc]


# -- schema and migrations ------------------------------------------------------------------------


def test_a_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.duckdb") as store:
        assert store.schema_version == LATEST_VERSION
        versions = store.query("SELECT version FROM schema_version ORDER BY version")
        assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]


@pytest.mark.parametrize("from_version", [0, 12, 16])
def test_a_process_killed_right_after_migrating_leaves_a_store_that_opens(
    tmp_path: Path, from_version: int
) -> None:
    # Every migration's statements go to DuckDB's write-ahead log first; a process killed before
    # the checkpoint leaves them to be replayed, and some statements (an ALTER TABLE of a table
    # with a unique index) cannot be replayed: such a store would never open again.
    db = tmp_path / "s.duckdb"
    if from_version:
        con = duckdb.connect(str(db))
        migrate(con, tuple(m for m in MIGRATIONS if m.version <= from_version))
        con.close()
    # Held in a name, so that it is not closed (and checkpointed) before the process dies.
    script = f"import os; from threadline.store import Store; s = Store.open({str(db)!r}); os._exit(0)"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    assert Path(f"{db}.wal").exists()  # something was left to replay
    with Store.open(db) as store:
        assert store.schema_version == LATEST_VERSION


def test_an_old_version_file_is_migrated_on_open_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:1])  # a file as the first release wrote it
    con.execute(
        "INSERT INTO ads (source, id, version, content_hash, title, body, images, fields, extra, file,"
        " line, ingested_at) VALUES ('site', 'a1', 1, 'h1', 't', 'b1', '[]', '{}', '{}', 'f', 1, now()),"
        " ('site', 'a1', 2, 'h2', 't', 'b2', '[]', '{}', '{}', 'f', 2, now())"
    )
    con.close()

    with Store.open(path) as store:
        assert store.schema_version == LATEST_VERSION
        # Migration 2 added the latest_ads view; it sees the rows written before it existed.
        assert store.query("SELECT id, version, body FROM latest_ads") == [("a1", 2, "b2")]


def test_merges_made_before_decisions_had_sides_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:3])  # merges were pairs in link_decisions
    con.execute(
        "INSERT INTO link_decisions VALUES ('merge', 's', 'a', 's', 'b', 'kim', 'same woman', now()),"
        " ('merge', 's', 'c', 's', 'd', 'lee', NULL, now() + INTERVAL 1 HOUR)"
    )
    con.close()
    with Store.open(path) as store:
        assert store.query(
            "SELECT decision_id, decision, analyst, note, revoked_by FROM analyst_decisions"
        ) == [
            (1, "merge", "kim", "same woman", None),
            (2, "merge", "lee", None, None),
        ]
        assert store.query("SELECT * FROM analyst_decision_ads ORDER BY ALL") == [
            (1, "a", "s", "a"),
            (1, "a", "s", "b"),
            (2, "a", "s", "c"),
            (2, "a", "s", "d"),
        ]


def test_a_failing_migration_leaves_the_file_on_its_old_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", ("CREATE VIEW v AS SELECT 1", "nonsense")))
    con = duckdb.connect(str(path))
    with pytest.raises(duckdb.Error):
        migrate(con, broken)
    assert current_version(con) == LATEST_VERSION
    assert con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'v'"
    ).fetchone() == (0,)
    con.close()


def test_row_layouts_are_the_tables_columns_in_order() -> None:
    """The one definition of each shared row layout (`ROW_LAYOUTS`, `EXTRACTION_ROW`) is the
    migrated table's columns, in order; a row that leaves out or adds a column is refused."""
    con = duckdb.connect()
    migrate(con)
    for table, layout in ROW_LAYOUTS.items():
        described = con.execute(f"DESCRIBE {table}").fetchall()
        assert tuple(name for name, *_ in described) == layout, table
    arrow = {"VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32()}
    described = {name: kind for name, kind, *_ in con.execute("DESCRIBE extractions").fetchall()}
    assert {f.name: f.type for f in EXTRACTION_ROW} == {name: arrow[kind] for name, kind in described.items()}

    run = {"finished": datetime(2026, 1, 2), "ads": 3, "networks": 2, "model": "prior m"}
    run |= {"lexicon": "lexicon.tsv l", "weights": "score_weights.tsv w", "seconds": 0.5}
    insert_row(con, "score_runs", run)
    assert con.execute("SELECT model, lexicon, weights, ads FROM score_runs").fetchall() == [
        ("prior m", "lexicon.tsv l", "score_weights.tsv w", 3)
    ]
    with pytest.raises(ValueError, match="seconds"):
        insert_row(con, "score_runs", {k: v for k, v in run.items() if k != "seconds"})
    with pytest.raises(ValueError, match="hubs"):
        insert_row(con, "score_runs", run | {"hubs": 1})
    con.close()


def test_a_file_from_a_newer_threadline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (999, 'from the future', now())")
    con.close()
    with pytest.raises(SchemaTooNewError, match="upgrade Threadline"):
        Store.open(path)


def test_a_file_that_is_not_a_store_is_refused_untouched(tmp_path: Path) -> None:
    ads = tmp_path / "ads.jsonl"
    ads.write_text('{"id": "a1", "body": "Call (713) 555-0142"}\n')
    with pytest.raises(StoreError, match="not a Threadline store"):
        Store.open(ads)
    assert ads.read_text() == '{"id": "a1", "body": "Call (713) 555-0142"}\n'
    with pytest.raises(StoreError, match="cannot open store"):
        Store.open(tmp_path / "no" / "such" / "folder.duckdb")


def test_read_only_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        store.write_batch([stored(make_ad(), "h1")])
    with Store.open(path, read_only=True) as store:
        assert store.counts().ads == 1
        with pytest.raises(StoreError, match="read-only"):
            store.write_batch([stored(make_ad("a2"), "h2")])


def test_a_second_process_cannot_open_the_store_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    script = textwrap.dedent(f"""
        import sys
        from threadline.store import Store
        store = Store.open({str(path)!r})
        print("open", flush=True)
        sys.stdin.read()
    """)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "open"
            with pytest.raises(StoreBusyError, match="one writer"):
                Store.open(path)
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
    Store.open(path).close()  # free again once the holder exits


# -- writing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["found", "packed"])
def test_an_ad_and_its_extraction_round_trip(store: Store, packed: bool) -> None:
    posted = datetime(2024, 5, 1, 21, 30, tzinfo=timezone(timedelta(hours=-5)))
    ad = make_ad(
        url="https://example.org/ad/a1",
        posted_at=posted,
        location="Houston, TX",
        images=("/corpus/images/a1-0.png",),
        fields={"phone": "713 555 0142", "age": "23"},
        extra={"site_rank": 3, "tags": ["new", "vip"]},
    )
    image = Found(
        "image",
        "ab" * 32,
        (Span("images[0]", 0, 0),),
        {
            "sha256": "ab" * 32,
            "pdq": "f0" * 32,
            "pdq_quality": 87,
            "phash": "c3" * 8,
            "width": 64,
            "height": 48,
        },
    )
    phone = Found("phone", PHONE, (Span("body", 5, 19), Span("fields.phone", 0, 12)), {"obfuscated": False})
    notice = Found("notice", "field_cut", (), {"field": "body", "kept": 12})  # a find without spans
    extraction = Extraction("site", "a1", (phone, image, notice), "US")
    # As ingest's workers send it: packed into rows, through a pickle, as between processes.
    written = pickle.loads(pickle.dumps(PackedExtraction.of(extraction))) if packed else extraction
    result = store.write_batch([StoredAd(ad, "h1", "/corpus/ads.jsonl", 7, written)])
    assert (result.new_ads, result.new_versions, result.unchanged, result.versions) == (1, 0, 0, (1,))

    back = store.ad("site", "a1")
    assert back is not None
    assert back.posted_at == posted  # the same instant, now in UTC
    assert back.posted_at.tzinfo == UTC  # type: ignore[union-attr]
    assert back == Ad(**{**_fields_of(ad), "posted_at": posted.astimezone(UTC)})
    assert store.extractions_for("site", "a1") == {1: extraction}
    assert store.query("SELECT file, line FROM ads") == [("/corpus/ads.jsonl", 7)]
    assert store.query("SELECT position, path, sha256 FROM ad_images") == [
        (0, "/corpus/images/a1-0.png", "ab" * 32)
    ]
    assert store.query("SELECT sha256, pdq, pdq_quality, phash, width, height FROM images") == [
        ("ab" * 32, "f0" * 32, 87, "c3" * 8, 64, 48)
    ]
    # Unknown fields stay queryable as JSON.
    assert store.query("SELECT extra->>'$.tags[1]' FROM ads") == [("vip",)]


def _fields_of(ad: Ad) -> dict[str, object]:
    return {name: getattr(ad, name) for name in Ad.__dataclass_fields__}


def test_image_sha256_given_by_ingest_is_used_when_extraction_has_no_image(store: Store) -> None:
    ad = make_ad(images=("/corpus/a.png", "/corpus/b.png"))
    no_images = Extraction("site", "a1", (), "US")
    store.write_batch([StoredAd(ad, "h1", "/c/ads.jsonl", 1, no_images, ("11" * 32, "22" * 32))])
    assert store.query("SELECT position, sha256 FROM ad_images ORDER BY position") == [
        (0, "11" * 32),
        (1, "22" * 32),
    ]
    assert store.query("SELECT sha256, pdq FROM images ORDER BY sha256") == [
        ("11" * 32, None),
        ("22" * 32, None),
    ]


def test_same_content_is_a_no_op_and_changed_content_a_new_version(store: Store) -> None:
    first = store.write_batch([stored(make_ad(), "h1")])
    again = store.write_batch([stored(make_ad(), "h1")])
    edited = make_ad(body="Call (713) 555-0142, back in town")
    changed = store.write_batch([stored(edited, "h2", line=9)])

    assert first.versions == (1,)
    assert (again.new_ads, again.new_versions, again.unchanged, again.versions) == (0, 0, 1, (None,))
    assert (changed.new_ads, changed.new_versions, changed.versions) == (0, 1, (2,))
    assert store.query("SELECT version, body FROM ads ORDER BY version") == [
        (1, "Call (713) 555-0142, new in town"),
        (2, "Call (713) 555-0142, back in town"),
    ]
    assert store.ad("site", "a1") == edited
    assert store.ad("site", "a1", version=1) == make_ad()
    assert set(store.extractions_for("site", "a1")) == {1, 2}
    known = store.known_hashes([("site", "a1"), ("site", "nope")])
    assert list(known) == [("site", "a1")]
    assert (known["site", "a1"].latest_version, known["site", "a1"].latest_hash) == (2, "h2")
    assert known["site", "a1"].hashes == {"h1", "h2"}


def test_a_record_read_again_is_no_news_but_a_return_to_earlier_content_is_a_new_version(
    store: Store,
) -> None:
    # Re-ingesting an old file after a newer one must stay a no-op, or re-runs would not be
    # idempotent: the very record (file, line, content, capture time) an earlier version came
    # from, read again, is no news.
    store.write_batch([stored(make_ad(), "h1", line=1), stored(make_ad(body="edited"), "h2", line=2)])
    assert store.write_batch([stored(make_ad(), "h1", line=1)]).unchanged == 1
    assert store.counts().versions == 2
    # The ad showing its first content again in a later record is a change: A, B, A is three
    # versions, and the latest is A again (links must follow what the ad shows now).
    result = store.write_batch([stored(make_ad(), "h1", line=3)])
    assert (result.new_versions, result.versions) == (1, (3,))
    assert store.query("SELECT version, content_hash FROM latest_ads") == [(3, "h1")]
    # ... and so is the same record captured again later (a crawler's feed file rewritten).
    later = make_ad(captured_at=datetime(2026, 5, 1, tzinfo=UTC))
    assert store.write_batch([stored(make_ad(body="edited"), "h2", line=6)]).versions == (4,)
    assert store.write_batch([stored(later, "h1", line=1)]).versions == (5,)


def test_a_return_without_an_extraction_copies_the_earlier_versions(store: Store) -> None:
    first = stored(make_ad(), "h1", line=1)
    store.write_batch([first, stored(make_ad(body="edited"), "h2", line=2)])
    # Ingest does not extract content an ad had before: the store copies that version's.
    result = store.write_batch([first._replace(line=3, extraction=None)])
    assert result.versions == (3,)
    extractions = store.extractions_for("site", "a1")
    assert extractions[3].found == extractions[1].found and extractions[3].region == extractions[1].region
    with pytest.raises(ValueError, match="no earlier version"):
        store.write_batch([stored(make_ad("new"), "h9")._replace(extraction=None)])


def test_versions_within_one_batch_are_numbered_in_order(store: Store) -> None:
    items = [
        stored(make_ad(body="v1"), "h1", line=1),
        stored(make_ad("b1"), "hb", line=2),
        stored(make_ad(body="v2"), "h2", line=3),
        stored(make_ad(body="v2"), "h2", line=4),  # the same as the record before: no-op
        stored(make_ad(body="v1"), "h1", line=5),  # back to v1: a new version
    ]
    result = store.write_batch(items)
    assert result.versions == (1, 1, 2, None, 3)
    assert (result.new_ads, result.new_versions, result.unchanged) == (2, 2, 1)
    assert store.query("SELECT id, version, line FROM ads ORDER BY id, version") == [
        ("a1", 1, 1),
        ("a1", 2, 3),
        ("a1", 3, 5),
        ("b1", 1, 2),
    ]


def test_a_failed_batch_leaves_nothing_behind(store: Store) -> None:
    ad = make_ad()
    # A span offset beyond a 32-bit column fails after the ads rows were inserted.
    bad = Extraction("site", "a1", (Found("phone", PHONE, (Span("body", 0, 2**40),)),), "US")
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's overflow error type varies by version
        store.write_batch(
            [stored(ad, "h1", extraction=bad)], [Quarantined("/c/ads.jsonl", 2, "missing id", "{}")]
        )
    counts = store.counts()
    assert (counts.versions, counts.quarantined) == (0, 0)
    assert store.write_batch([stored(ad, "h1")]).versions == (1,)  # the store is still usable


def test_an_image_without_a_sha256_is_a_programming_error(store: Store) -> None:
    ad = make_ad(images=("/corpus/a.png",))
    with pytest.raises(ValueError, match="no SHA-256"):
        store.write_batch([stored(ad, "h1", extraction=Extraction("site", "a1", (), "US"))])


def test_quarantine_rows_are_unique_per_file_line_reason_and_truncated(store: Store) -> None:
    long_raw = '{"body": "' + "é" * 5000 + '"}'
    rows = [
        Quarantined("/c/ads.jsonl", 3, "missing id", long_raw),
        Quarantined("/c/ads.jsonl", 3, "missing id", long_raw),  # same key twice in one batch
        Quarantined("/c/ads.jsonl", 4, "invalid JSON: Expecting value at column 1", "{oops"),
    ]
    assert store.write_batch([], rows).quarantined == 2
    assert store.write_batch([], rows).quarantined == 0  # a re-run adds nothing
    kept = store.quarantine(limit=10)
    assert [(q.line, q.reason) for q in kept] == [
        (3, "missing id"),
        (4, "invalid JSON: Expecting value at column 1"),
    ]
    assert len(kept[0].raw.encode("utf-8")) <= QUARANTINE_RAW_BYTES
    assert kept[0].raw.startswith('{"body": "éé')
    assert kept[0].quarantined_at is not None
    assert len(store.quarantine(limit=1)) == 1


# -- reading --------------------------------------------------------------------------------------


def test_counts_and_top_values(store: Store) -> None:
    a1 = make_ad("a1")
    a2 = make_ad("a2")
    a3 = make_ad("a3", body="Text (713) 555-0199")
    both = Extraction(
        "site",
        "a3",
        (Found("phone", OTHER_PHONE, (Span("body", 5, 19),)), Found("phone", PHONE, (Span("title", 0, 3),))),
        "US",
    )
    store.write_batch(
        [stored(a1, "h1"), stored(a2, "h2"), stored(a3, "h3", extraction=both)],
        [Quarantined("/c/ads.jsonl", 9, "no text: title and body are both missing or blank", "{}")],
    )
    # A second version of a1 carries the same phone again: still one ad.
    store.write_batch([stored(make_ad("a1", body="Call (713) 555-0142 tonight"), "h1b")])

    counts = store.counts()
    assert (counts.ads, counts.versions, counts.images, counts.quarantined) == (3, 4, 0, 1)
    assert counts.values == {"phone": 2}
    top = store.top_values("phone", 5)
    assert [(v.value, v.ads) for v in top] == [(PHONE, 3), (OTHER_PHONE, 1)]
    assert store.top_values("phone", 1)[0].value == PHONE
    assert store.top_values("email") == []


def test_iter_ads_gives_latest_versions_or_all(store: Store) -> None:
    store.write_batch([stored(make_ad("a1"), "h1"), stored(make_ad("a2"), "h2")])
    store.write_batch([stored(make_ad("a1", body="edited"), "h3")])
    assert [(ad.id, ad.body) for ad in store.iter_ads()] == [("a1", "edited"), ("a2", make_ad().body)]
    assert len(list(store.iter_ads(latest_only=False))) == 3


def test_ingest_runs_record_start_and_finish(store: Store) -> None:
    run = store.begin_run("/c/ads.jsonl")
    store.write_batch([stored(make_ad(), "h1")], run_id=run)
    killed = store.begin_run("/c/ads.jsonl")  # never finished, as after kill -9
    store.finish_run(run, read=1, new_ads=1, new_versions=0, unchanged=0, quarantined=0)
    runs = store.runs()
    assert [r.id for r in runs] == [killed, run]
    assert runs[0].finished is None
    assert runs[1].finished is not None and (runs[1].read, runs[1].new_ads) == (1, 1)
    assert store.query("SELECT run_id FROM ads") == [(run,)]


def test_a_transaction_inside_another_joins_it() -> None:
    from threadline.store._tx import transaction

    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    # The outer block fails after the inner one ended: neither write is kept.
    with pytest.raises(RuntimeError), transaction(con):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
        con.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("the audit entry could not be appended")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    # The inner block fails: the outer transaction rolls back what came before it too.
    with pytest.raises(ValueError), transaction(con):
        con.execute("INSERT INTO t VALUES (3)")
        with transaction(con):
            raise ValueError("no such ad")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with transaction(con):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (4)")
        con.execute("INSERT INTO t VALUES (5)")
    assert con.execute("SELECT list(x ORDER BY x) FROM t").fetchone() == ([4, 5],)
