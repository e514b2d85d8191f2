"""The Spark engine: the same pipeline on a Spark cluster (or Spark in local mode).

One implementation, two engines:

* **Extraction** runs the project's own functions on the executors, through Arrow batches
  (``mapInArrow``): the input readers (`threadline.ingest.readers`, so malformed records are
  quarantined with the same reasons), validation, content hashing (images included) and
  `threadline.extract.extract_ad`, with rows laid out by the store's own helpers.
* **Versions and ad keys** follow the store's rules in Spark SQL: the same content for the same
  ``(source, id)`` is stored once, changed content is the next version, in input order (files by
  path, then line); ad keys number ads by their first version in that order.
* **Linking and scoring** are the SQL steps of `threadline.link` and `threadline.score`, run
  through `SparkEngine` (the `threadline.engine.Engine` seam): each step's table is a
  checkpointed temporary view, connected components are found by SQL iteration
  (`threadline.engine.components_sql`), never on one machine, and hubs are detected as the
  local engine detects them.
  Weak corroboration (`threadline.link.corroboration`) runs splink on its Spark backend with
  the same model.
* **Outputs** are the queries of `threadline.engines.outputs`, written as Parquet.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from threadline.engine import components_sql

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from threadline.extract.regions import SourceRegions

__all__ = ["SparkEngine", "run_spark", "spark_session"]

# Spark settings the shared SQL relies on: DuckDB's semantics (NULL, not an error, for a division
# by zero or an impossible cast), times in UTC, Arrow for the Python steps.
SPARK_CONF = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

_PARSED = (
    "file STRING, line INT, raw STRING, shown STRING, record STRING, error STRING, source STRING, "
    "id STRING, content_hash STRING, image_sha256 ARRAY<STRING>"
)
_EXTRACTED = (
    "file STRING, line INT, error STRING, raw STRING, source STRING, id STRING, content_hash STRING, "
    "title STRING, body STRING, url STRING, posted_at TIMESTAMP_NTZ, captured_at TIMESTAMP_NTZ, "
    "location STRING, images STRING, fields STRING, extra STRING, region STRING, "
    "x ARRAY<STRUCT<found_index: INT, span_index: INT, kind: STRING, value: STRING, field: STRING, "
    "span_start: INT, span_end: INT, detail: STRING>>, "
    "ai ARRAY<STRUCT<position: INT, path: STRING, sha256: STRING>>, "
    "img ARRAY<STRUCT<sha256: STRING, pdq: STRING, pdq_quality: INT, phash: STRING, width: INT, height: INT>>"
)
_ROWS_PER_BATCH = 2000


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session with the settings the shared SQL needs. ``master`` defaults to what
    ``spark-submit`` gave, else ``local[*]``."""
    from pyspark.sql import SparkSession

    if (master or "local").startswith("local") and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Python workers on this machine run this interpreter (the one threadline is installed
        # in); on a cluster, PYSPARK_PYTHON names the executors' (see the README).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("threadline")
    if master:
        builder = builder.master(master)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):  # not started by spark-submit, which sets it
        builder = builder.master("local[*]")
    for key, value in {**SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for key, value in SPARK_CONF.items():  # a session spark-submit made keeps its own otherwise
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    return spark


class SparkEngine:
    """Runs the linking and scoring steps in Spark SQL.

    Every step's result is checkpointed (``localCheckpoint``: materialised on the executors,
    lineage cut) and registered as a temporary view under the step's table name, so later steps
    read it like a table, and an iterative step (connected components) does not grow a plan.
    """

    dialect = "spark"

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._frames: dict[str, DataFrame] = {}

    def table(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).localCheckpoint(eager=True)
        self.register(name, _bounded_stats(self.spark, frame))

    def register(self, name: str, frame: DataFrame) -> None:
        """Make ``frame`` (already materialised) the table ``name``."""
        old = self._frames.pop(name, None)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame
        if old is not None and old is not frame:
            old.unpersist()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def drop(self, *names: str) -> None:
        for name in names:
            frame = self._frames.pop(name, None)
            self.spark.catalog.dropTempView(name)
            if frame is not None:
                frame.unpersist()
        # Checkpointed blocks go when the JVM collects the plans that held them (Spark's context
        # cleaner); unpersist does not reach local checkpoints. Ask for that collection now.
        jvm = self.spark.sparkContext._jvm
        if jvm is not None:
            jvm.System.gc()

    def hex64(self, expr: str) -> str:
        # conv to a negative base reads the 64 bits as a signed number: the same bits as DuckDB's
        # UBIGINT, so XOR and bit counts agree.
        return f"CAST(conv({expr}, 16, -10) AS BIGINT)"

    def popcount_xor(self, a: str, b: str) -> str:
        return f"CAST(bit_count({a} ^ {b}) AS INT)"

    def json_text(self, expr: str, key: str) -> str:
        return f"get_json_object({expr}, '$.{key}')"

    def epoch(self, expr: str) -> str:
        return f"CAST(unix_timestamp({expr}) AS DOUBLE)"

    def median(self, expr: str) -> str:
        return f"percentile({expr}, 0.5)"

    def ordered_list(self, value: str, order: str) -> str:
        return f"transform(array_sort(collect_list(named_struct('o', {order}, 'v', {value}))), x -> x.v)"

    def ordered_join(self, value: str, order: str, sep: str) -> str:
        return f"array_join({self.ordered_list(value, order)}, '{sep}')"

    def grouped_int(self, expr: str) -> str:
        return f"format_number({expr}, 0)"  # groups by thousands with commas, as DuckDB's format

    def splink_backend(self) -> Any:
        from splink import SparkAPI

        # Only exact comparisons here: splink's Scala similarity functions are not needed.
        return SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=self.spark,
            break_lineage_method="persist",
            register_udfs_automatically=False,
        )

    def connected_components(self, edges: str, nodes: str, out: str) -> None:
        components_sql(self, edges, nodes, out)

    def map_rows(
        self,
        name: str,
        sql: str,
        fn: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
        columns: Sequence[tuple[str, str]],
        batch: int = 5000,
    ) -> None:
        ddl = ", ".join(f"{col} {kind}" for col, kind in columns)
        frame = self.spark.sql(sql).mapInArrow(partial(_map_batches, fn, tuple(columns), batch), ddl)
        self.register(name, frame.localCheckpoint(eager=True))


def _bounded_stats(spark: SparkSession, frame: DataFrame) -> DataFrame:
    """``frame`` itself, or the same checkpointed rows without a size estimate when the one it
    carries no longer fits a long.

    A checkpoint keeps its plan's estimated size, and Spark estimates a join as the product of its
    inputs' sizes. Iterative steps (connected components, rounds of weak joins) join tables made
    from earlier joins, so the estimate's digits multiply with every round: thousands of digits
    after a few rounds, then an OutOfMemoryError in the planner's BigInteger arithmetic. Past a
    long, the estimate says nothing anyway (it is larger than any broadcast threshold); a table
    without one is estimated at the default size, Long.MaxValue, and products start afresh.
    """
    jdf = frame._jdf
    try:
        size = int(jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
    except ValueError:  # past Python's digit limit for converting a number
        size = 1 << 64
    if size < 1 << 63:
        return frame
    from pyspark.sql import DataFrame

    rows = jdf.queryExecution().toRdd()
    return DataFrame(spark._jsparkSession.internalCreateDataFrame(rows, jdf.schema(), False), spark)


def _map_batches(
    fn: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
    columns: tuple[tuple[str, str], ...],
    batch: int,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` for `SparkEngine.map_rows`: ``fn`` over rows, ``batch`` rows at a time."""
    from threadline.engine import arrow_rows

    for record_batch in batches:
        columns_in = [column.to_pylist() for column in record_batch.columns]
        rows = list(zip(*columns_in, strict=True))
        for lo in range(0, len(rows), batch):
            yield from arrow_rows(fn(rows[lo : lo + batch]), columns).to_batches()


# -- extraction on the executors ------------------------------------------------------------------


def _local_path(url: str) -> str:
    """A file URL Spark lists (``file:/data/ads.jsonl``) as the path the local engine records."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return url


def _parse_files(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``: whole input files (path, content) -> one row per record, validated and
    hashed as `threadline.ingest` does (quarantine reasons in ``error``)."""
    import pyarrow as pa

    from threadline.ingest._work import hash_ad
    from threadline.ingest.pipeline import checked
    from threadline.ingest.readers import read_records
    from threadline.ingest.validate import Validator
    from threadline.store._store import QUARANTINE_RAW_BYTES, _truncate_utf8

    s = pa.string()
    schema = pa.schema(
        [
            ("file", s), ("line", pa.int32()), ("raw", s), ("shown", s), ("record", s), ("error", s),
            ("source", s), ("id", s), ("content_hash", s), ("image_sha256", pa.list_(s)),
        ]
    )  # fmt: skip
    names = schema.names
    for batch in batches:
        for url, content in zip(
            batch.column("path").to_pylist(), batch.column("content").to_pylist(), strict=True
        ):
            path = _local_path(url)
            validate = Validator(Path(path).parent, Path(path).stem, input_file=Path(path))
            rows: dict[str, list[Any]] = {name: [] for name in names}
            with tempfile.TemporaryDirectory(prefix="threadline-") as scratch:
                copy = Path(scratch, Path(path).name)
                copy.write_bytes(content)
                for raw in read_records(copy):
                    source = ad_id = digest = error = None
                    shas: list[str] = []
                    ad = checked(raw, validate)
                    if isinstance(ad, str):
                        error = ad
                    else:
                        source, ad_id = ad.source, ad.id
                        hashed = hash_ad(ad)
                        digest, shas, error = hashed.content_hash, list(hashed.image_sha256), hashed.error
                    record = None if raw.record is None else json.dumps(raw.record)
                    # What a quarantine row keeps of a record (as the store does): its first 4 KB.
                    shown = _truncate_utf8(raw.raw, QUARANTINE_RAW_BYTES)
                    text = raw.raw if error is None else shown
                    for name, value in zip(
                        names,
                        (path, raw.line, text, shown, record, error, source, ad_id, digest, shas),
                        strict=True,
                    ):
                        rows[name].append(value)
                    if len(rows["line"]) >= _ROWS_PER_BATCH:
                        yield pa.RecordBatch.from_pydict(rows, schema=schema)
                        rows = {name: [] for name in names}
            if rows["line"]:
                yield pa.RecordBatch.from_pydict(rows, schema=schema)


# An extraction row (`threadline.store.schema.EXTRACTION_ROW`) without its ad's key, carried in
# ``x`` of `_EXTRACTED` (whose Spark types spell the same layout).
_AD_KEY = ("source", "ad_id", "version")
_IMAGE_FIELDS = ("sha256", "pdq", "pdq_quality", "phash", "width", "height")


def _extract_rows(regions: SourceRegions, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``: each new content of an ad (validated again, which is cheap) -> its ad row,
    extractions and images, laid out by the store's own helpers (content hash and image SHA-256
    as `_parse_files` found them); an ad whose extraction fails gets a quarantine reason in
    ``error`` instead. Numbers without a country code are read as ingest reads them
    (`threadline.ingest._work.extract_in`, with the run's ``regions``)."""
    import pyarrow as pa

    from threadline.ingest._work import Outcome, extract_hashed, extract_in
    from threadline.ingest.validate import Validator
    from threadline.store._records import dumps, utc_naive
    from threadline.store._store import (
        _AD_IMAGES,
        QUARANTINE_RAW_BYTES,
        Store,
        _Columns,
        _truncate_utf8,
    )
    from threadline.store.schema import EXTRACTION_ROW

    schema = _extracted_schema()
    fields = [name for name in EXTRACTION_ROW.names if name not in _AD_KEY]
    validators: dict[str, Validator] = {}
    for batch in batches:
        rows: dict[str, list[Any]] = {name: [] for name in schema.names}
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            file = data["file"][i]
            validate = validators.get(file)
            if validate is None:
                validate = validators[file] = Validator(
                    Path(file).parent, Path(file).stem, input_file=Path(file)
                )
            ad = validate(json.loads(data["record"][i]), data["raw"][i])  # valid: it passed before
            # Hashed when read (images included): extract only, without reading the images again.
            hashed = Outcome(data["content_hash"][i], tuple(data["image_sha256"][i]))
            outcome = extract_hashed(ad, hashed, partial(extract_in, regions))
            row: dict[str, Any] = dict.fromkeys(schema.names)
            row.update(file=file, line=data["line"][i], source=ad.source, id=ad.id)
            row.update(content_hash=data["content_hash"][i])
            extraction = outcome.extraction
            if outcome.error is not None or extraction is None:
                row.update(error=outcome.error, raw=_truncate_utf8(data["raw"][i], QUARANTINE_RAW_BYTES))
            else:
                # Version 0 here: versions are numbered once the failures are known (in SQL).
                found, pictures = _Columns(EXTRACTION_ROW.names), _Columns(_AD_IMAGES.names)
                images: dict[str, tuple[Any, ...]] = {}
                Store._add_extraction(found, ad, 0, extraction)
                Store._add_images(pictures, images, ad, 0, extraction, tuple(outcome.image_sha256))
                columns = [found.data[name] for name in fields]
                row.update(
                    title=ad.title,
                    body=ad.body,
                    url=ad.url,
                    posted_at=utc_naive(ad.posted_at),
                    captured_at=utc_naive(ad.captured_at),
                    location=ad.location,
                    images=dumps(list(ad.images)),
                    fields=dumps(ad.fields),
                    extra=dumps(ad.extra),
                    region=extraction.region,
                    x=[dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)],
                    ai=[
                        {"position": position, "path": path, "sha256": sha}
                        for position, path, sha in zip(
                            pictures.data["position"],
                            pictures.data["path"],
                            pictures.data["sha256"],
                            strict=True,
                        )
                    ],
                    img=[dict(zip(_IMAGE_FIELDS, image, strict=True)) for image in images.values()],
                )
            for name in schema.names:
                rows[name].append(row[name])
        yield pa.RecordBatch.from_pydict(rows, schema=schema)


def _extracted_schema() -> pa.Schema:
    import pyarrow as pa

    from threadline.store.schema import EXTRACTION_ROW

    s, i32, ts = pa.string(), pa.int32(), pa.timestamp("us")
    extraction = pa.struct([field for field in EXTRACTION_ROW if field.name not in _AD_KEY])
    picture = pa.struct([("position", i32), ("path", s), ("sha256", s)])
    image = pa.struct(
        [(name, i32 if name in ("pdq_quality", "width", "height") else s) for name in _IMAGE_FIELDS]
    )
    return pa.schema(
        [
            ("file", s),
            ("line", i32),
            ("error", s),
            ("raw", s),
            ("source", s),
            ("id", s),
            ("content_hash", s),
            ("title", s),
            ("body", s),
            ("url", s),
            ("posted_at", ts),
            ("captured_at", ts),
            ("location", s),
            ("images", s),
            ("fields", s),
            ("extra", s),
            ("region", s),
            ("x", pa.list_(extraction)),
            ("ai", pa.list_(picture)),
            ("img", pa.list_(image)),
        ]
    )


# -- the run -----------------------------------------------------------------------------------

# Store tables the steps read that a batch run starts without (no analyst has worked on it yet).
_EMPTY_TABLES: dict[str, list[tuple[str, str]]] = {
    "hub_marks": [
        ("kind", "STRING"),
        ("value", "STRING"),
        ("is_hub", "BOOLEAN"),
        ("analyst", "STRING"),
        ("note", "STRING"),
        ("marked_at", "TIMESTAMP"),
    ],
    "analyst_decisions": [
        ("decision_id", "BIGINT"),
        ("decision", "STRING"),
        ("analyst", "STRING"),
        ("note", "STRING"),
        ("decided_at", "TIMESTAMP"),
        ("revoked_by", "STRING"),
        ("revoked_at", "TIMESTAMP"),
        ("revoke_note", "STRING"),
    ],
    "analyst_decision_ads": [
        ("decision_id", "BIGINT"),
        ("side", "STRING"),
        ("source", "STRING"),
        ("id", "STRING"),
    ],
    "link_cuts": [
        ("decision_id", "BIGINT"),
        ("a", "BIGINT"),
        ("b", "BIGINT"),
        ("kind", "STRING"),
        ("value", "STRING"),
    ],
}


def _is_local(path: str) -> bool:
    return urlparse(str(path)).scheme in ("", "file")


def run_spark(
    input_path: str,
    output: str,
    *,
    master: str | None = None,
    partitions: int | None = None,
    spark: SparkSession | None = None,
    regions: SourceRegions | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the pipeline on Spark: the input files under ``input_path`` (a local path, or any URL
    Spark reads) to the outputs under ``output``; returns the manifest written there.

    ``partitions``: how many pieces the records are spread over for extraction and the SQL steps
    (default: Spark's default parallelism, at least 2). ``regions``: where numbers without a
    country code are read, by source, as ingest reads them (sources' home regions, the run's
    region, the installation's; default: the installation's alone, decided here on the driver).
    """
    from threadline.engine import write_rows
    from threadline.engines import input_files
    from threadline.engines.outputs import OUTPUTS, check_output, clear_output
    from threadline.extract.lexicon import default_lexicon
    from threadline.extract.regions import SourceRegions, installation_region
    from threadline.link import LinkParams, result_tables, run_params
    from threadline.link.corroboration import corroboration_evidence, corroboration_pairs, orphan_pairs
    from threadline.link.steps import build_inputs, detect_hubs, image_pairs, link_components, phone_groups
    from threadline.link.text import text_pairs
    from threadline.score.scorer import _versions, build_features, prior_model, score_tables
    from threadline.score.weights import load_weights

    t0 = time.perf_counter()
    spark = spark or spark_session(master)
    parts = partitions or max(2, spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.shuffle.partitions", str(parts))
    engine = SparkEngine(spark)

    # 1. Records: whole files to the project's reader, then spread over the cluster by ad.
    reader = spark.read.format("binaryFile")
    local_output = _is_local(output)
    local_input = _is_local(input_path)
    files = (
        [str(f) for f in input_files(_local_path(str(input_path)), warn=say)]
        if local_input
        else [str(input_path)]
    )
    # The output is checked before any work: a run never deletes files it did not write.
    if local_output:
        check_output(_local_path(str(output)), *(files if local_input else []))
    else:
        _check_remote_output(spark, str(output))
    if local_input:
        frame = reader.load([_file_url(f, glob=True) for f in files]) if files else None
    else:
        frame = (
            reader.option("recursiveFileLookup", "true")
            .option("pathGlobFilter", "*.{jsonl,csv}")
            .load(input_path)
        )
    if frame is None:
        raise FileNotFoundError(f"{input_path}: no input files (.jsonl, .csv)")
    parsed = frame.select("path", "content").mapInArrow(_parse_files, _PARSED)
    engine.register("_parsed", parsed.repartition(parts, "source", "id").localCheckpoint(eager=True))
    [(read,)] = engine.query("SELECT COUNT(*) FROM _parsed")
    say(f"spark: {read:,} records read and hashed")
    # 2. Versions: in input order, each record whose content differs from the ad's record before
    # it (a return to earlier content included), as the store decides (`Known.unchanged`).
    engine.table(
        "_new_content",
        """
        SELECT file, line, raw, record, source, id, content_hash, image_sha256 FROM (
            SELECT *, lag(content_hash) OVER (PARTITION BY source, id ORDER BY file, line) AS before
            FROM _parsed WHERE error IS NULL
        ) WHERE before IS NULL OR before <> content_hash
        """,
    )
    if regions is None:
        regions = SourceRegions(fallback=installation_region())
    extracted = spark.table("_new_content").mapInArrow(partial(_extract_rows, regions), _EXTRACTED)
    engine.register("_extracted", extracted.localCheckpoint(eager=True))
    say("spark: ads extracted")
    # Content whose extraction failed is quarantined and never stored, so the records around it
    # are compared again without it (A, B failing, A is one version, as in the store).
    engine.table(
        "_stored",
        """
        SELECT *, CAST(row_number() OVER (PARTITION BY source, id ORDER BY file, line) AS INT) AS version
        FROM (
            SELECT *, lag(content_hash) OVER (PARTITION BY source, id ORDER BY file, line) AS before
            FROM _extracted WHERE error IS NULL
        ) WHERE before IS NULL OR before <> content_hash
        """,
    )
    engine.table(
        "ads",
        """
        SELECT source, id, version, content_hash, title, body, url, posted_at, captured_at, location, images,
               fields, extra, region, file, line
        FROM _stored
        """,
    )
    engine.table(
        "extractions",
        """
        SELECT s.source, s.id AS ad_id, s.version, e.found_index, e.span_index, e.kind, e.value, e.field,
               e.span_start, e.span_end, e.detail
        FROM _stored s LATERAL VIEW explode(s.x) t AS e
        """,
    )
    engine.table(
        "ad_images",
        """
        SELECT s.source, s.id AS ad_id, s.version, i.position, i.path, i.sha256
        FROM _stored s LATERAL VIEW explode(s.ai) t AS i
        """,
    )
    engine.table(
        "images",
        """
        SELECT i.sha256, MIN(i.pdq) AS pdq, MIN(i.pdq_quality) AS pdq_quality, MIN(i.phash) AS phash,
               MIN(i.width) AS width, MIN(i.height) AS height
        FROM _stored s LATERAL VIEW explode(s.img) t AS i
        GROUP BY i.sha256
        """,
    )
    engine.table(
        "quarantine",
        """
        SELECT DISTINCT file, line, error AS reason, shown AS raw FROM _parsed WHERE error IS NOT NULL
        UNION ALL
        -- Content whose extraction failed was extracted once; the local engine tries (and
        -- quarantines) every record carrying it, as extraction fails alike each time.
        SELECT DISTINCT p.file, p.line, x.error, p.shown
        FROM _parsed p
        JOIN _extracted x ON x.source = p.source AND x.id = p.id AND x.content_hash = p.content_hash
        WHERE x.error IS NOT NULL AND p.error IS NULL
        """,
    )
    engine.drop("_new_content", "_extracted", "_stored")
    engine.table(
        "latest_ads",
        """
        SELECT a.* FROM ads a
        JOIN (SELECT source, id, MAX(version) AS version FROM ads GROUP BY source, id) m
          ON m.source = a.source AND m.id = a.id AND m.version = a.version
        """,
    )
    # Ad keys: ads numbered by their first version, in input order (a distributed numbering).
    first = spark.table("ads").where("version = 1").select("source", "id", "file", "line")
    numbered = first.orderBy("file", "line", "source", "id").rdd.zipWithIndex()
    keys = spark.createDataFrame(
        numbered.map(lambda pair: (pair[0][0], pair[0][1], pair[1] + 1)),
        "source STRING, id STRING, ad_key BIGINT",
    )
    engine.register("ad_keys", keys.localCheckpoint(eager=True))
    for name, columns in _EMPTY_TABLES.items():
        write_rows(engine, name, columns, [])

    # 3. Linking: the shared steps, as a full run.
    t_link = time.perf_counter()
    params = LinkParams()
    build_inputs(engine, params)
    detect_hubs(engine, params)
    image_pairs(engine, params)
    text_pairs(engine, params)
    phone_groups(engine)
    corroboration_pairs(engine, params)  # as in the local engine (splink on Spark)
    orphan_pairs(engine)
    link_components(engine, None, params)
    result_tables(engine)
    engine.table("ad_links", "SELECT * FROM new_ad_links")
    corroboration_evidence(engine)
    engine.table(
        "link_evidence", "SELECT * FROM new_link_evidence UNION ALL SELECT * FROM new_corroboration_evidence"
    )
    engine.table(
        "link_hubs", "SELECT kind, value, ads, co_phones, names, detected, is_hub, marked_by FROM hubs"
    )
    engine.table("link_text_pairs", "SELECT ad_a, ad_b, jaccard, shared, holders FROM text_pairs")
    engine.table("link_image_pairs", "SELECT sha_a, sha_b FROM image_pairs")
    engine.table("link_orphan_pairs", "SELECT orphan, other, detail FROM orphan_pairs")
    [(ads, networks, persons, hubs)] = engine.query(
        """
        SELECT COUNT(*), COUNT(DISTINCT network), COUNT(DISTINCT person),
               (SELECT COUNT(*) FROM link_hubs WHERE is_hub)
        FROM ad_links
        """
    )
    link_seconds = time.perf_counter() - t_link
    say(f"spark: {ads:,} ads linked into {networks:,} networks")

    # 4. Scores: the shared steps, with the prior weights (a new archive has no fitted model).
    t_score = time.perf_counter()
    weights, lexicon = load_weights(), default_lexicon()
    model = prior_model(weights, lexicon)
    build_features(engine, weights, lexicon, inputs_built=True)
    score_tables(engine, weights, model)
    engine.table("network_scores", "SELECT * FROM new_network_scores")
    engine.table("ad_scores", "SELECT * FROM new_ad_scores")
    engine.table("score_parts", "SELECT * FROM new_score_parts")
    engine.table("score_local_prices", "SELECT place, median, ads FROM _local_prices")
    # Movement as the store saves it (`score.saved`), under the store's names for the outputs.
    engine.table("score_movement", "SELECT * FROM movement")
    engine.table("score_itineraries", "SELECT * FROM itineraries")
    engine.table("score_circuits", "SELECT * FROM circuits")
    [(scored_ads, scored_networks)] = engine.query(
        "SELECT (SELECT COUNT(*) FROM ad_scores), (SELECT COUNT(*) FROM network_scores)"
    )
    score_seconds = time.perf_counter() - t_score
    lexicon_version, weights_version, model_version = _versions(weights, lexicon, model)

    # 5. Outputs (a local folder as a file URL: a bare path would mean the cluster's filesystem).
    if local_output:
        target = _file_url(str(clear_output(_local_path(str(output))).resolve()))
    else:
        target = str(output).rstrip("/")
    for name, sql in OUTPUTS.items():
        spark.sql(sql).write.mode("overwrite").parquet(f"{target}/{name}")
    manifest = {
        "engine": "spark",
        "master": spark.sparkContext.master,
        "partitions": parts,
        "input": files,
        "finished": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        "seconds": round(time.perf_counter() - t0, 2),
        "records": _record_counts(engine, int(read)),
        "link": {
            "params": run_params(engine, params),
            "ads": int(ads),
            "networks": int(networks),
            "persons": int(persons),
            "hubs": int(hubs),
            "seconds": round(link_seconds, 2),
        },
        "score": {
            "ads": int(scored_ads),
            "networks": int(scored_networks),
            "seconds": round(score_seconds, 2),
            "versions": {"model": model_version, "lexicon": lexicon_version, "weights": weights_version},
        },
    }
    _write_text(
        spark, f"{str(output).rstrip('/')}/run.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )
    return manifest


def _record_counts(engine: SparkEngine, read: int) -> dict[str, int]:
    """What became of the records read, as the local engine counts them: each is a new ad, a new
    version, seen again or quarantined."""
    [(new_ads, versions, quarantined)] = engine.query(
        "SELECT (SELECT COUNT(*) FROM ads WHERE version = 1), (SELECT COUNT(*) FROM ads),"
        " (SELECT COUNT(*) FROM quarantine)"
    )
    return {
        "read": read,
        "new_ads": int(new_ads),
        "new_versions": int(versions) - int(new_ads),
        "unchanged": read - int(versions) - int(quarantined),
        "quarantined": int(quarantined),
    }


def _file_url(path: str, *, glob: bool = False) -> str:
    """A local path as a file URL for Spark; for reading (``glob``), with the characters Hadoop
    reads as a pattern escaped."""
    from threadline.engines import glob_escape

    resolved = str(Path(path).resolve())
    return f"file://{glob_escape(resolved, 'hadoop') if glob else resolved}"


def _check_remote_output(spark: SparkSession, url: str) -> None:
    """The remote output folder holds nothing, or only what an earlier run wrote (`LoadError`):
    writing an output replaces its whole folder there."""
    from threadline.engines.outputs import MANIFEST, OUTPUTS, LoadError, is_run_file

    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(url)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    if not fs.exists(path):
        return
    names = {status.getPath().getName() for status in fs.listStatus(path)}
    if names and (MANIFEST not in names or names - set(OUTPUTS) - {MANIFEST}):
        raise LoadError(f"{url}: not empty and not only the output of an earlier run")
    for name in sorted(names & set(OUTPUTS)):
        for status in fs.listStatus(jvm.org.apache.hadoop.fs.Path(f"{url.rstrip('/')}/{name}")):
            child = status.getPath().getName()
            if child == name or not is_run_file(child, folder=status.isDirectory()):
                raise LoadError(f"{url}: holds {name}/{child}, which no run writes; not cleared")


def _write_text(spark: SparkSession, url: str, text: str) -> None:
    """Write one small file where Spark writes (a local path, or any Hadoop filesystem)."""
    if _is_local(url):
        Path(_local_path(url)).write_text(text)
        return
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(url)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode()))
    finally:
        stream.close()
