"""`threadline run` on the local engine, `threadline load`, and the Spark engine's parity with it.

The Spark tests run Spark for real (local[2], Java from the machine). Outside CI they are skipped
when pyspark or Java is missing; under ``CI=true`` they must run, and fail instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from threadline.engines import input_files
from threadline.engines.local import run_local
from threadline.engines.outputs import OUTPUTS, LoadError, load_output
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.score.scorer import score_store
from threadline.store import Store
from threadline.synth import generate

CLI = [sys.executable, "-m", "threadline.cli"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand synthetic ads with images, edited versions and malformed records, a quarter
    of the independents touring (so that movement finds circuits to compare)."""
    folder = tmp_path_factory.mktemp("corpus")
    generate(folder, 2500, 31, images=True, malformed=9, touring_share=0.25)
    return folder / "ads.jsonl"


@pytest.fixture(scope="module")
def local_output(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_local(corpus, out, workers=2)
    return out


def _read(output: Path, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        sql = f"SELECT {columns} FROM read_parquet('{output}/{table}/*.parquet') ORDER BY ALL"
        return con.execute(sql).fetchall()


def _ingested(corpus: Path, db: Path) -> Store:
    store = Store.open(db)
    ingest_file(corpus, store, workers=2)
    link(store.connection)
    score_store(store.connection, inputs_built=True)
    return store


def test_local_run_writes_what_ingest_stores(corpus: Path, local_output: Path, tmp_path: Path) -> None:
    manifest = json.loads((local_output / "run.json").read_text())
    assert manifest["engine"] == "local" and manifest["input"] == [str(corpus)]
    for name in OUTPUTS:
        assert list((local_output / name).glob("*.parquet")), name
    with _ingested(corpus, tmp_path / "ingested.duckdb") as store:
        con = store.connection
        for table, columns in [
            ("ad_links", "source, id, version, network, person"),
            ("quarantine", "file, line, reason"),
            ("link_evidence", "network, kind, value, ads, detail"),
        ]:
            assert (
                _read(local_output, table, columns)
                == con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
            ), table
        stored = dict(con.execute("SELECT source || ':' || id, score FROM ad_scores").fetchall())
    written = {f"{s}:{i}": score for s, i, score in _read(local_output, "ad_scores", "source, id, score")}
    # Sums of the same contributions: equal up to the order DuckDB's threads add them in.
    assert written.keys() == stored.keys() and len(written) > 2000
    assert all(abs(written[k] - stored[k]) <= 1e-12 for k in written)
    assert manifest["link"]["ads"] == len(written) and manifest["score"]["ads"] == len(written)


def test_a_loaded_run_is_a_store_that_goes_on_incrementally(
    corpus: Path, local_output: Path, tmp_path: Path
) -> None:
    # The corpus's last 40 lines arrive later, into the loaded store and into an ingested one.
    lines = corpus.read_bytes().splitlines(keepends=True)
    first, later = tmp_path / "first" / "ads.jsonl", tmp_path / "later" / "ads.jsonl"
    for path, part in ((first, lines[:-40]), (later, lines[-40:])):
        path.parent.mkdir()
        path.write_bytes(b"".join(part))
        shutil.copytree(corpus.parent / "images", path.parent / "images")
    out = tmp_path / "out"
    run_local(first, out, workers=2)
    subprocess.run([*CLI, "load", str(out), "--db", str(tmp_path / "loaded.duckdb")], check=True)
    added = subprocess.run(
        [*CLI, "ingest", str(later), "--db", str(tmp_path / "loaded.duckdb"), "-q"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with Store.open(tmp_path / "both.duckdb") as store:
        for path in (first, later):
            ingest_file(path, store, workers=2)
        link(store.connection, full=True)
        score_store(store.connection, inputs_built=True)
    queries = {
        "networks": "SELECT source, id, network, person FROM ad_links ORDER BY ALL",
        "scores": "SELECT source, id, round(score, 12) FROM ad_scores ORDER BY ALL",
        "versions": "SELECT source, id, version, content_hash FROM ads ORDER BY ALL",
    }
    with (
        Store.open(tmp_path / "loaded.duckdb", read_only=True) as loaded,
        Store.open(tmp_path / "both.duckdb", read_only=True) as both,
    ):
        for name, sql in queries.items():
            assert loaded.query(sql) == both.query(sql), name
        [(runs,)] = loaded.query("SELECT COUNT(*) FROM link_runs")
        assert runs == 2
    # The link run after the load did what it does after an ingest of the same ads: it clustered
    # the same affected ads again (a seventh of the store), not everything because the load
    # lacked something an incremental run reads.
    with Store.open(tmp_path / "stepwise.duckdb") as store:
        ingest_file(first, store, workers=2)
        link(store.connection)
        score_store(store.connection, inputs_built=True)
        ingest_file(later, store, workers=2)
        expected = link(store.connection).relinked
    clustered = int(added.split(" ads clustered")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert clustered == expected < 1000, added


def test_load_refuses_what_is_not_a_run_or_a_store_with_ads(local_output: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        with pytest.raises(LoadError, match="not the output"):
            load_output(store.connection, tmp_path)
        load_output(store.connection, local_output)
        with pytest.raises(LoadError, match="already holds ads"):
            load_output(store.connection, local_output)
    broken = tmp_path / "broken"
    shutil.copytree(local_output, broken)
    shutil.rmtree(broken / "score_parts")
    missing = pytest.raises(LoadError, match="missing output score_parts")
    with Store.open(tmp_path / "t.duckdb") as store, missing:
        load_output(store.connection, broken)
    command = [*CLI, "load", str(tmp_path), "--db", str(tmp_path / "u.duckdb")]
    result = subprocess.run(command, capture_output=True)
    assert result.returncode != 0 and len(result.stderr.decode().strip().splitlines()) == 1


def test_load_keeps_the_runs_images_or_loads_nothing(tmp_path: Path) -> None:
    from threadline.store import kept_images

    folder = tmp_path / "crawl"
    generate(folder, 20, 4, images=True)
    out = tmp_path / "out"
    run_local(folder / "ads.jsonl", out, workers=1)
    blocked = tmp_path / "blocked.duckdb"
    kept_images.image_dir(blocked).write_text("a file where the images folder goes")
    with Store.open(blocked) as store:
        with pytest.raises(LoadError, match="images cannot be kept there"):
            load_output(store.connection, out, store_file=blocked)
        assert store.query("SELECT COUNT(*) FROM ads") == [(0,)]  # nothing loaded
    with Store.open(tmp_path / "loaded.duckdb") as store:
        counts = load_output(store.connection, out, store_file=tmp_path / "loaded.duckdb")
        shas = kept_images.referenced(store.connection)
    assert counts["kept_images"] == len(shas) > 0 and counts["images_missing"] == 0
    assert not list(kept_images.check(tmp_path / "loaded.duckdb", shas))


def test_run_never_clears_a_folder_it_did_not_write(corpus: Path, local_output: Path, tmp_path: Path) -> None:
    def run(output: Path, *more: str) -> subprocess.CompletedProcess[str]:
        command = [*CLI, "run", "--input", str(corpus), "--output", str(output), *more]
        return subprocess.run(command, capture_output=True, text=True)

    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = run(precious)
    assert result.returncode != 0 and "not the output of an earlier run" in result.stderr
    # A folder with a file named like a manifest but not one, or a run's outputs beside other files.
    (precious / "run.json").write_text('{"mine": true}')
    assert "not the output of an earlier run" in run(precious).stderr
    earlier = tmp_path / "earlier"
    shutil.copytree(local_output, earlier)
    (earlier / "report.pdf").write_text("keep me too")
    result = run(earlier)
    assert result.returncode != 0 and "report.pdf" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep me" and (earlier / "report.pdf").exists()
    # A store to keep, inside the output folder, would be deleted with it: refused before any work.
    (earlier / "report.pdf").unlink()
    result = run(earlier, "--db", str(earlier / "ad_links" / "kept.duckdb"))
    assert result.returncode != 0 and "inside the output folder" in result.stderr
    assert list((earlier / "ad_links").glob("*.parquet"))


def test_input_files_are_read_in_one_order(tmp_path: Path) -> None:
    for name in ("b/2.jsonl", "a/1.csv", "a/10.jsonl", "c/notes.txt", "z.jsonl"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    assert [str(p.relative_to(tmp_path)) for p in input_files(tmp_path)] == [
        "a/1.csv",
        "a/10.jsonl",
        "b/2.jsonl",
        "z.jsonl",
    ]
    with pytest.raises(FileNotFoundError):
        input_files(tmp_path / "missing")


def test_run_on_a_synth_folder_reads_the_ads_not_the_ground_truth(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    generate(folder, 60, 5, images=False, malformed=2)
    warned: list[str] = []
    assert input_files(folder, warn=warned.append) == [(folder / "ads.jsonl").resolve()]
    assert len(warned) == 1 and "truth.jsonl" in warned[0] and "ground truth" in warned[0]
    # Only beside its truth_meta.json is a truth.jsonl taken for synth's: elsewhere it is input.
    (folder / "truth_meta.json").rename(tmp_path / "truth_meta.json")
    assert [p.name for p in input_files(folder)] == ["ads.jsonl", "truth.jsonl"]
    (tmp_path / "truth_meta.json").rename(folder / "truth_meta.json")
    # Named alone, it is what the user asked for.
    assert input_files(folder / "truth.jsonl") == [(folder / "truth.jsonl").resolve()]

    result = subprocess.run(
        [*CLI, "run", "--input", str(folder), "--output", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "truth.jsonl: skipped" in result.stderr
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert [Path(f).name for f in manifest["input"]] == ["ads.jsonl"]
    assert manifest["records"]["quarantined"] == 2  # the malformed records, no truth line


# -- Spark --------------------------------------------------------------------------------------


def _spark_available() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'threadline[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java on this machine"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    missing = _spark_available()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Spark parity tests must run in CI: {missing}")
        pytest.skip(missing)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from threadline.engines.spark import spark_session

    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


def test_spark_engine_gives_the_local_engines_results(
    spark: Any, corpus: Path, local_output: Path, tmp_path: Path
) -> None:
    from threadline.engines.spark import run_spark

    out = tmp_path / "spark"
    manifest = run_spark(str(corpus), str(out), partitions=4, spark=spark)
    assert manifest["engine"] == "spark" and manifest["input"] == [str(corpus)]
    # The same partition of ads into networks and persons, with the same ids.
    same = {
        "ad_links": "source, id, version, network, person",
        "ad_keys": "source, id, ad_key",
        "ads": "*",
        "extractions": "*",
        "images": "*",
        "ad_images": "*",
        "quarantine": "file, line, reason, raw",
        "link_hubs": "*",
        "link_text_pairs": "*",
        "link_image_pairs": "*",
        "link_orphan_pairs": "*",
        "score_local_prices": "*",
        # Values to 1e-6: distances are sums of trigonometry, whose last bit differs by engine.
        "score_parts": "level, unit, feature, round(value, 6), detail, round(x, 6)",
        # Movement as the store saves it: itineraries and circuits of networks and persons.
        "score_itineraries": "*",
        "score_circuits": "unit_kind, unit, circuit, cycle_len, laps, full_laps, start_stay, end_stay",
        "score_movement": "network, places, moves, origin, circuit, circuit_repeats",
    }
    for table, columns in same.items():
        spark_rows, local_rows = _read(out, table, columns), _read(local_output, table, columns)
        assert spark_rows == local_rows, table
        empty_ok = ("link_image_pairs", "link_orphan_pairs")
        assert spark_rows or table in empty_ok, f"{table} is empty: the corpus tests nothing"
    # Links with their reasons, weak corroboration (splink on Spark) included.
    evidence = _read(out, "link_evidence")
    assert evidence == _read(local_output, "link_evidence")
    assert {"phone", "image", "similar_image", "text", "corroboration"} <= {row[1] for row in evidence}
    # Scores to 1e-9 (sums of the same contributions, possibly added in another order).
    for table, key in (("ad_scores", "source, id, network"), ("network_scores", "network, ads")):
        local_scores = _read(local_output, table, f"{key}, logit, score, model")
        spark_scores = _read(out, table, f"{key}, logit, score, model")
        assert len(local_scores) == len(spark_scores) > 0
        for mine, theirs in zip(local_scores, spark_scores, strict=True):
            assert mine[:-3] == theirs[:-3] and mine[-1] == theirs[-1]
            assert abs(mine[-3] - theirs[-3]) <= 1e-9 and abs(mine[-2] - theirs[-2]) <= 1e-9
    for (_, _, *mine), (_, _, *theirs) in zip(
        _read(local_output, "score_parts", "level, unit, x, contribution"),
        _read(out, "score_parts", "level, unit, x, contribution"),
        strict=True,
    ):
        assert mine == pytest.approx(theirs, abs=1e-9)
    # And a Spark run loads into a store like any other.
    with Store.open(tmp_path / "loaded.duckdb") as store:
        counts = load_output(store.connection, out)
        assert counts["ad_links"] == manifest["link"]["ads"]
        # ... whose networks read their saved movement and summaries.
        from threadline import read

        page = read.queue(store.connection, limit=None)
        assert page.total == manifest["score"]["networks"]
        moved = [read.network(store.connection, r.network, ads_limit=1) for r in page.items[:20]]
        assert any(view is not None and len(view.itinerary) > 1 for view in moved)


def test_spark_spells_the_dialect_functions_as_duckdb_computes_them(spark: Any) -> None:
    import random

    from threadline.engine import DuckDBEngine
    from threadline.engines.spark import SparkEngine

    rng = random.Random(5)
    pairs = [("ffffffffffffffff", "0000000000000000"), ("8000000000000000", "7fffffffffffffff")]
    pairs += [(f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}") for _ in range(50)]
    values = ", ".join(f"('{a}', '{b}', '{{\"k\": \"v{i}\", \"n\": {i}}}')" for i, (a, b) in enumerate(pairs))
    results = []
    with duckdb.connect() as con:
        for engine in (SparkEngine(spark), DuckDBEngine(con)):
            sql = (
                f"SELECT a, {engine.popcount_xor(engine.hex64('a'), engine.hex64('b'))} AS bits, "
                f"{engine.json_text('j', 'k')} AS k, {engine.json_text('j', 'n')} AS n, "
                f"{engine.json_text('j', 'missing')} AS m FROM (VALUES {values}) AS t(a, b, j) ORDER BY a"
            )
            results.append(engine.query(sql))
    assert results[0] == results[1]
    expected = sorted((a, bin(int(a, 16) ^ int(b, 16)).count("1")) for a, b in pairs)
    assert [(a, bits) for a, bits, *_ in results[0]] == expected


def test_spark_connected_components_equal_duckdbs(spark: Any) -> None:
    import random

    from threadline.engine import DuckDBEngine, write_rows
    from threadline.engines.spark import SparkEngine

    rng = random.Random(9)
    nodes = [(n,) for n in range(1, 400)]
    edges = [(rng.randint(1, 399), rng.randint(1, 399)) for _ in range(300)]
    edges += [(n, n + 1) for n in range(100, 160)]  # a long path: many rounds of label spreading
    found = []
    with duckdb.connect() as con:
        for engine in (SparkEngine(spark), DuckDBEngine(con)):
            write_rows(engine, "t_nodes", [("node", "BIGINT")], nodes)
            write_rows(engine, "t_edges", [("a", "BIGINT"), ("b", "BIGINT")], edges)
            engine.connected_components("t_edges", "t_nodes", "t_out")
            found.append(engine.query("SELECT node, component FROM t_out ORDER BY node"))
    assert found[0] == found[1]
    assert len({c for _, c in found[0]}) < len(nodes)


def test_spark_reads_and_writes_folders_whose_names_look_like_patterns(spark: Any, tmp_path: Path) -> None:
    from threadline.engines.spark import run_spark

    folder = tmp_path / "crawl [2026] {a,b} 100%"
    generate(folder, 40, 3, images=False, malformed=2)
    out = tmp_path / "out *"
    manifest = run_spark(str(folder / "ads.jsonl"), str(out), partitions=2, spark=spark)
    local = tmp_path / "local"
    run_local(folder / "ads.jsonl", local, workers=1)
    assert _read(out, "ad_links", "source, id, network") == _read(local, "ad_links", "source, id, network")
    assert _read(out, "quarantine", "file, line, reason") == _read(local, "quarantine", "file, line, reason")
    assert manifest["link"]["ads"] == len(_read(local, "ad_links")) > 30
    assert json.loads((out / "run.json").read_text())["engine"] == "spark"
    # Run again into the same folder: an earlier run's outputs are replaced, nothing else is.
    (out / "notes.txt").write_text("mine")
    with pytest.raises(LoadError, match=r"notes\.txt"):
        run_spark(str(folder / "ads.jsonl"), str(out), partitions=2, spark=spark)


def test_both_engines_read_numbers_by_the_sources_home_regions(spark: Any, tmp_path: Path) -> None:
    """A source's home region (kept in a store) and the run's region are read alike by both
    engines: a UK site's ad without a location is a GB ad on each (prices in pounds)."""
    from threadline.engines.spark import run_spark
    from threadline.extract.regions import SourceRegions

    ads = tmp_path / "ads.jsonl"
    records = [
        {"id": "u1", "source": "ukboard", "body": "call 020 7946 0123 anytime, 80 half hour"},
        {
            "id": "u2",
            "source": "ukboard",
            "body": "call 713-555-0142, 80 half hour",
            "location": "Houston, TX",
        },
        {"id": "d1", "source": "deboard", "body": "call 020 7946 0124, 90 half hour"},
        {"id": "a1", "source": "usboard", "body": "text 713-555-0143, 70 half hour"},
    ]
    ads.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        store.set_source_region("ukboard", "GB", by="test")
        store.set_source_region("usboard", "US", by="test")
        homes = store.source_regions()
    run_local(ads, tmp_path / "local", workers=1, db=db, region="DE")
    run_spark(
        str(ads), str(tmp_path / "spark"), partitions=2, spark=spark, regions=SourceRegions(homes, "DE")
    )
    columns = "id, region"
    expected = [("a1", "US"), ("d1", "DE"), ("u1", "GB"), ("u2", "US")]
    assert _read(tmp_path / "local", "ads", columns) == _read(tmp_path / "spark", "ads", columns) == expected
    found = "ad_id, kind, value, detail->>'currency'"
    where = "WHERE kind IN ('phone', 'price')"
    with duckdb.connect() as con:
        sql = "SELECT {} FROM read_parquet('{}/extractions/*.parquet') {} ORDER BY ALL"
        local = con.execute(sql.format(found, tmp_path / "local", where)).fetchall()
        spark_rows = con.execute(sql.format(found, tmp_path / "spark", where)).fetchall()
    assert local == spark_rows
    assert {r[3] for r in local if r[0] == "u1" and r[1] == "price"} == {"GBP"}
    assert {r[2] for r in local if r[0] == "u1" and r[1] == "phone"} == {"+442079460123"}
    with Store.open(db, read_only=True) as store:  # the run's region is kept for its new source
        assert store.source_regions() == {"deboard": "DE", "ukboard": "GB", "usboard": "US"}


def test_spark_maps_python_over_rows_as_duckdb_does(spark: Any) -> None:
    from threadline.engine import DuckDBEngine, write_rows
    from threadline.engines.spark import SparkEngine

    def _split_words(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        # Defined here: Spark's workers get it by value (they cannot import the tests).
        return [(key, i, word, float(len(word))) for key, text in rows for i, word in enumerate(text.split())]

    rows = [(k, " ".join(f"w{k}x{j}" for j in range(k % 4))) for k in range(1, 60)]
    columns = [("k", "BIGINT"), ("i", "BIGINT"), ("word", "STRING"), ("n", "DOUBLE")]
    found = []
    with duckdb.connect() as con:
        for engine in (SparkEngine(spark), DuckDBEngine(con)):
            write_rows(engine, "t_text", [("k", "BIGINT"), ("text", "STRING")], rows)
            engine.map_rows("t_words", "SELECT k, text FROM t_text", _split_words, columns, batch=7)
            found.append(engine.query("SELECT k, i, word, n FROM t_words ORDER BY k, i"))
    assert found[0] == found[1] == sorted(_split_words(rows))


def test_a_spark_run_loaded_keeps_its_images_for_evidence_packages(spark: Any, tmp_path: Path) -> None:
    """`threadline load` copies every image a Spark run's ads refer to into the store's kept
    images, so a package made after the crawl folder is gone still holds them."""
    from threadline.engines.spark import run_spark
    from threadline.evidence.keys import init_key
    from threadline.evidence.package import Options, build
    from threadline.store import kept_images

    folder = tmp_path / "crawl"
    generate(folder, 40, 5, images=True)
    out = tmp_path / "out"
    run_spark(str(folder / "ads.jsonl"), str(out), partitions=2, spark=spark)
    db = tmp_path / "loaded.duckdb"
    done = subprocess.run([*CLI, "load", str(out), "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(folder)  # the crawl is gone: only the store's copies are left
    with Store.open(db) as store:
        shas = kept_images.referenced(store.connection)
        assert shas and f"{len(shas):,} images kept" in done.stdout
        assert not list(kept_images.check(db, shas))  # every one kept, unaltered
        [(network,)] = store.query(
            "SELECT l.network FROM ad_links l JOIN ad_images i ON i.source = l.source AND i.ad_id = l.id"
            " GROUP BY l.network ORDER BY COUNT(DISTINCT i.sha256) DESC, l.network LIMIT 1"
        )
        key, _ = init_key(tmp_path / "keys" / "evidence.key")
        built = build(
            store.connection, db, network, tmp_path / "package", key=key, options=Options(pdf=False)
        )
    rows = [json.loads(line) for line in (built.path / "data" / "images.jsonl").read_text().splitlines()]
    assert built.images == len([r for r in rows if r["file"]]) > 0
    assert all(r["file"] or r["withheld"] for r in rows)  # none missing (a minor's are withheld)
