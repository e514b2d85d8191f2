"""`Store`: the one object that reads and writes a Threadline store file.

One writer. A store file is owned by one process at a time: DuckDB locks the file for the process
that opens it for writing, and a second process gets `StoreBusyError` (so while the web server
runs, it owns the file and anything else must go through it). Inside that process a `Store`
holds one connection and is not safe to share between threads without a lock of your own: a web
app serialises writes through one thread, as sqlite-utils/datasette do. Several processes may
open the same file with ``read_only=True`` while nobody has it open for writing.

The store never parses ad text and never reads image files: it keeps what ingest validated and
extraction found, and decides only what the input contract asks of it, namely whether a record is
new content for its ``(source, id)`` and which version number it gets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from threadline.model import Ad, Extraction, Found, Span
from threadline.store._records import (
    BatchResult,
    Counts,
    GoneReport,
    IngestRun,
    Known,
    PackedExtraction,
    Quarantined,
    SourceSetting,
    StoredAd,
    ValueCount,
    dumps,
    utc_naive,
)
from threadline.store._tx import ALL, ad_tags, listened, term_tags, touched, transaction
from threadline.store.schema import (
    EXTRACTION_ROW,
    LATEST_VERSION,
    PARTED,
    SchemaTooNewError,
    current_version,
    insert_sql,
    migrate,
    text_parts,
    utc_now,
)
from threadline.store.text_index import IDENTIFIER_TERMS, index_ads

__all__ = ["QUARANTINE_RAW_BYTES", "Store", "StoreBusyError", "StoreError", "StoreTooNewError"]

# Enough of a bad record to see what went wrong without letting one huge line bloat the file.
QUARANTINE_RAW_BYTES = 4096


class StoreError(RuntimeError):
    """A store file that cannot be used as asked (wrong schema, opened read-only, ...)."""


class StoreBusyError(StoreError):
    """Another process has the store file open for writing."""


class StoreTooNewError(StoreError, SchemaTooNewError):
    """The file was written by a newer Threadline: no reading or migrating it can help."""


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data.decode("utf-8")
    return data[:limit].decode("utf-8", "ignore")


@dataclass
class _Columns:
    """Column lists for one bulk insert, filled row by row in Python and handed over as Arrow."""

    names: tuple[str, ...]
    data: dict[str, list[Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.data = {name: [] for name in self.names}

    def add(self, *values: Any) -> None:
        for name, value in zip(self.names, values, strict=True):
            self.data[name].append(value)

    def __len__(self) -> int:
        return len(self.data[self.names[0]])

    def table(self, schema: pa.Schema) -> pa.Table:
        return pa.Table.from_pydict(self.data, schema=schema)


_TYPES = {"str": pa.string(), "i32": pa.int32(), "i64": pa.int64(), "ts": pa.timestamp("us")}


def _schema(spec: str) -> pa.Schema:
    """An Arrow schema from ``"name:type ..."``, matching a table's columns in order."""
    return pa.schema([(name, _TYPES[kind]) for name, kind in (c.split(":") for c in spec.split())])


# JSON columns travel as strings and are cast by DuckDB on insert.
_ADS = _schema(
    "source:str id:str version:i32 content_hash:str title:str body:str url:str posted_at:ts"
    " captured_at:ts location:str images:str fields:str extra:str region:str file:str line:i32"
    " run_id:i64 ingested_at:ts"
)
_IMAGES = _schema("sha256:str pdq:str pdq_quality:i32 phash:str width:i32 height:i32")
_AD_IMAGES = _schema("source:str ad_id:str version:i32 position:i32 path:str sha256:str")
_PARTS = _schema("source:str id:str version:i32 col:str part:i32 text:str")
_COPIES = _schema("source:str id:str from_version:i32 version:i32")
_SIGHTINGS = _schema(
    "source:str id:str version:i32 seen_at:ts captured_at:ts gone:str file:str line:i32 run_id:i64"
    " token_id:i64 received_at:ts"
)
_QUARANTINE = _schema("file:str line:i32 reason:str raw:str quarantined_at:ts run_id:i64 raw_sha256:str")


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_AD_COLUMNS = "title, body, url, posted_at, captured_at, location, images, fields, extra"


def _ad_from_row(source: str, id: str, row: Sequence[Any]) -> Ad:
    title, body, url, posted_at, captured_at, location, images, fields, extra = row
    return Ad(
        source=source,
        id=id,
        title=title,
        body=body,
        url=url,
        posted_at=posted_at.replace(tzinfo=UTC) if posted_at else None,
        captured_at=captured_at.replace(tzinfo=UTC) if captured_at else None,
        location=location,
        images=tuple(json.loads(images)),
        fields=json.loads(fields),
        extra=json.loads(extra),
    )


def _not_a_file(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _check_is_store_file(file: Path) -> bool:
    """Refuse an existing path that is not a DuckDB database file; whether it has content.

    ``stat`` comes first: opening a FIFO to read its header would wait forever for a writer, and
    a folder or a device is no store. DuckDB opens some other files (JSON, CSV) as a
    read-through database held in memory, so ``--db ads.jsonl`` (arguments swapped) would "work"
    and then lose everything written.
    """
    try:
        info = os.stat(file)
    except FileNotFoundError:
        if not file.parent.is_dir():
            raise StoreError(f"cannot open store {file}: no folder {file.parent}") from None
        return False
    except OSError as exc:
        raise StoreError(f"cannot open store {file}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{file} is {_not_a_file(info.st_mode)}, not a store file")
    try:
        with open(file, "rb") as f:
            header = f.read(12)
    except OSError as exc:
        raise StoreError(f"cannot open store {file}: {exc.strerror or exc}") from exc
    if header and header[8:12] != b"DUCK":
        raise StoreError(f"{file} is not a Threadline store (not a DuckDB database file)")
    return bool(header)


# DuckDB 1.x when another process holds the file: 'IO Error: Could not set lock on file "F":
# Conflicting lock is held in /usr/bin/python3 (PID 123) ...'. Only this is "busy": a corrupt
# file's messages name blocks ("... in block at location 4096"), which a search for "lock" took
# for a lock conflict.
_LOCK_CONFLICT = re.compile(r'Could not set lock on file ".*": Conflicting lock is held')


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _open_error(file: Path, exc: duckdb.Error, had_content: bool) -> StoreError:
    """What DuckDB's refusal to open (or read the catalog of) ``file`` means for a store."""
    first = _first_line(exc)
    if _LOCK_CONFLICT.search(first):
        return StoreBusyError(f"{file} is open in another process (a store has one writer at a time)")
    cannot_open = ("IO Error: Cannot open file", "IO Error: Could not set lock")
    if not had_content or isinstance(exc, duckdb.ConnectionException) or first.startswith(cannot_open):
        return StoreError(f"cannot open store {file}: {first}")
    return StoreError(f"{file} is damaged or not a Threadline store: {first}")


def _user_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views of the open file (not DuckDB's own, not temporary ones)."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database() ORDER BY ALL"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _memory_limit() -> str:
    """DuckDB's memory cap: it spills to disk beyond it. Its default (80% of the machine) lets a
    link run of a laptop's store take gigabytes that a smaller cap does not need.
    THREADLINE_MEMORY_LIMIT (e.g. "4GB") overrides it."""
    return os.environ.get("THREADLINE_MEMORY_LIMIT", "1GB")


class Store:
    """A Threadline store: an embedded DuckDB file with a versioned schema.

    >>> with Store.open("threadline.duckdb") as store:   # doctest: +SKIP
    ...     store.counts()

    Writes go through `write_batch` (one transaction per batch); everything else reads.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> None:
        # Use `Store.open`; this constructor takes an already migrated connection.
        self._con = con
        self._path = path
        self._read_only = read_only

    # -- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> Store:
        """Open (creating if needed) the store file at ``path`` and bring its schema up to date.

        Raises `StoreBusyError` when another process has it open for writing. A read-only open
        never migrates, so it refuses a file on an older schema.
        """
        file = Path(path)
        had_content = _check_is_store_file(file)
        try:
            con = duckdb.connect(str(file), read_only=read_only, config={"memory_limit": _memory_limit()})
        except duckdb.Error as exc:
            raise _open_error(file, exc, had_content) from exc
        try:
            try:
                tables = _user_tables(con)
                version = current_version(con)
            except duckdb.Error as exc:
                raise _open_error(file, exc, had_content) from exc
            if tables and "main.schema_version" not in tables:
                # Someone else's database: migrating would add thirty tables to it, or fail on a
                # table of its own that has a store table's name.
                raise StoreError(f"{file} is a DuckDB database but not a Threadline store")
            if version > LATEST_VERSION:
                raise StoreTooNewError(
                    f"{file} was written by a newer Threadline (schema {version}, this one knows "
                    f"up to {LATEST_VERSION}): upgrade Threadline"
                )
            if read_only:
                if version != LATEST_VERSION:
                    raise StoreError(
                        f"{file} has schema version {version}, not {LATEST_VERSION}: "
                        "open it once for writing to migrate it"
                    )
            else:
                try:
                    migrate(con)
                except duckdb.IOException as exc:  # e.g. no writing beside it (a read-only folder)
                    raise StoreError(f"cannot write store {file}: {_first_line(exc)}") from exc
        except BaseException:
            con.close()
            raise
        return cls(con, file, read_only=read_only)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for the engine that runs linking and scoring steps on the store."""
        return self._con

    @property
    def schema_version(self) -> int:
        return current_version(self._con)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one SQL statement and return its rows: the escape hatch for analysts and tests."""
        return self._con.execute(sql, list(params)).fetchall()

    # -- ingest runs ----------------------------------------------------------------------------

    def begin_run(self, file: str) -> int:
        """Record the start of an ingest of ``file``; returns the run id to pass to writes."""
        self._check_writable()
        row = self._con.execute(
            "INSERT INTO ingest_runs (file, started) VALUES (?, ?) RETURNING id", [file, utc_now()]
        ).fetchone()
        assert row is not None
        return int(row[0])

    def finish_run(
        self,
        run_id: int,
        *,
        read: int,
        new_ads: int,
        new_versions: int,
        unchanged: int,
        quarantined: int,
    ) -> None:
        """Record the end of a run. A run never finished was killed (or is still going)."""
        self._check_writable()
        self._con.execute(
            "UPDATE ingest_runs SET finished = ?, read = ?, new_ads = ?, new_versions = ?,"
            " unchanged = ?, quarantined = ? WHERE id = ?",
            [utc_now(), read, new_ads, new_versions, unchanged, quarantined, run_id],
        )

    def files_ingested(self, *, stem: str, other_than: str) -> list[str]:
        """Files named ``stem`` plus a suffix ingested before, other than ``other_than``."""
        rows = self._con.execute(
            "SELECT DISTINCT file FROM ingest_runs WHERE file <> ? ORDER BY file", [other_than]
        ).fetchall()
        return [file for (file,) in rows if Path(file).stem == stem]

    def runs(self, limit: int = 20) -> list[IngestRun]:
        """The latest ingest runs, newest first."""
        rows = self._con.execute(
            "SELECT id, file, started, finished, read, new_ads, new_versions, unchanged, quarantined"
            " FROM ingest_runs ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [IngestRun(*row) for row in rows]

    # -- sources' home regions ------------------------------------------------------------------

    def source_settings(self) -> list[SourceSetting]:
        """Every source's home region (`threadline source list`), by source."""
        rows = self._con.execute(
            "SELECT source, region, set_at, set_by FROM source_settings ORDER BY source"
        ).fetchall()
        return [SourceSetting(*row) for row in rows]

    def source_regions(self) -> dict[str, str]:
        """Each source that has a home region, with it: what ingest reads numbers of its ads in
        when an ad's location names no country."""
        return {s.source: s.region for s in self.source_settings()}

    def set_source_region(self, source: str, region: str, *, by: str) -> SourceSetting | None:
        """Make ``region`` the home region of ``source`` (replacing any); returns the setting it
        replaced. ``region`` must be one phone numbers know (ValueError otherwise)."""
        from threadline.extract.regions import checked_region

        self._check_writable()
        if not source.strip():
            raise ValueError("a source's name is empty")
        region = checked_region(region)
        with transaction(self._con):
            row = self._con.execute(
                "SELECT source, region, set_at, set_by FROM source_settings WHERE source = ?", [source]
            ).fetchone()
            self._con.execute(
                "INSERT INTO source_settings (source, region, set_at, set_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET region = excluded.region, set_at = excluded.set_at,"
                " set_by = excluded.set_by",
                [source, region, utc_now(), by],
            )
        return None if row is None else SourceSetting(*row)

    def record_source_regions(self, sources: Iterable[str], region: str, *, by: str) -> list[str]:
        """Give ``region`` to those of ``sources`` that have no home region yet (an ingest run's
        --region, kept for later runs of its sources); returns them. Settings made before win."""
        from threadline.extract.regions import checked_region

        self._check_writable()
        region = checked_region(region)
        wanted = sorted(set(sources))
        if not wanted:
            return []
        with transaction(self._con):
            have = {
                source
                for (source,) in self._con.execute(
                    "SELECT source FROM source_settings WHERE source IN (SELECT unnest(?))", [wanted]
                ).fetchall()
            }
            new = [source for source in wanted if source not in have]
            now = utc_now()
            for source in new:
                self._con.execute(
                    "INSERT INTO source_settings (source, region, set_at, set_by) VALUES (?, ?, ?, ?)",
                    [source, region, now, by],
                )
        return new

    # -- writing --------------------------------------------------------------------------------

    def known_hashes(
        self, keys: Iterable[tuple[str, str]], files: Iterable[str] = ()
    ) -> dict[tuple[str, str], Known]:
        """For each ``(source, id)`` already stored, its versions' content hashes.

        Keys not in the store are absent from the result. Ingest asks this before extracting, so
        that unchanged records skip extraction entirely. The records each version was read from
        (`Known.reads`) include those of ``files`` that were sighted without becoming a version
        (content the ad showed already), so that reading such a file again adds no version.
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        table = pa.table({"source": [k[0] for k in wanted], "id": [k[1] for k in wanted]})
        self._con.register("_wanted_keys", table)
        files = sorted(set(files))
        try:
            rows = self._con.execute(
                "SELECT a.source, a.id, a.version, a.content_hash, a.file, a.line, a.captured_at FROM ads a"
                " SEMI JOIN _wanted_keys k ON a.source = k.source AND a.id = k.id"
            ).fetchall()
            sighted = (
                self._con.execute(
                    "SELECT s.source, s.id, a.content_hash, s.file, s.line, s.captured_at FROM sightings s"
                    " JOIN ad_rows a ON a.source = s.source AND a.id = s.id AND a.version = s.version"
                    " SEMI JOIN _wanted_keys k ON s.source = k.source AND s.id = k.id"
                    " WHERE s.file IN (SELECT unnest(?)) AND NOT s.gone",
                    [files],
                ).fetchall()
                if files
                else []
            )
        finally:
            self._con.unregister("_wanted_keys")
        grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for source, ad_id, *version in rows:
            grouped.setdefault((source, ad_id), []).append(tuple(version))
        also: dict[tuple[str, str], set[tuple[str, str, int, Any]]] = {}
        for source, ad_id, *read in sighted:
            also.setdefault((source, ad_id), set()).add(tuple(read))  # type: ignore[arg-type]
        known = {}
        for key, versions in grouped.items():
            versions.sort()
            latest_version, latest_hash = versions[-1][:2]
            known[key] = Known(
                latest_version,
                latest_hash,
                {h: version for version, h, *_ in versions},  # in order: the latest holding each
                frozenset((h, file, line, captured) for _, h, file, line, captured in versions)
                | frozenset(also.get(key, ())),
            )
        return known

    def write_batch(
        self,
        ads: Sequence[StoredAd],
        quarantined: Sequence[Quarantined] = (),
        *,
        run_id: int | None = None,
        gone: Sequence[GoneReport] = (),
        token_id: int | None = None,
    ) -> BatchResult:
        """Store a batch of ads with their extractions, and quarantined records, atomically.

        Each item is ``(ad, content_hash, file, line, extraction)`` (a `StoredAd`), in input
        order. An ad whose content is its ``(source, id)``'s latest (or that is the record an earlier
        version came from, read again: see `Known.unchanged`) is a no-op; other content becomes
        version ``max + 1`` (version 1 for a new ad), earlier versions kept.
        Items are decided in order, so two versions of one ad in a batch both land, in order.

        The whole batch is one transaction: a process killed mid-batch leaves none of it, and the
        batch written again does exactly what it would have done. Quarantine rows are unique on
        ``(file, line, reason, text)``, so writing the same one twice keeps one.

        Every ad, stored or not, is a sighting of its ``(source, id)``, and so is each of ``gone``
        (a crawler's report that the ad was taken down: one for an ad the store does not hold is
        quarantined instead). ``token_id`` names the API token that pushed the batch: a pushed
        record's sighting is kept once, however often its batch is sent (its ``file`` names the
        batch by its content), while a file ingested again is seen again.
        """
        self._check_writable()
        now = utc_now()
        con = self._con
        with transaction(con, touches=("ads",)):  # nothing linked or scored changes here
            result = self._write(ads, quarantined, run_id, now, gone, token_id)
        return result

    def _write(
        self,
        items: Sequence[StoredAd],
        quarantined: Sequence[Quarantined],
        run_id: int | None,
        now: datetime,
        gone: Sequence[GoneReport] = (),
        token_id: int | None = None,
    ) -> BatchResult:
        # Decided inside the transaction: what is stored now is what this batch is compared to.
        keys = [(item[0].source, item[0].id) for item in items] + [(g.source, g.id) for g in gone]
        touched(self._con, *ad_tags(set(keys)))  # each ad stored or seen (a sighting) here
        known = self.known_hashes(keys, {item[2] for item in items})
        sightings = _Columns(_SIGHTINGS.names)
        quarantined = list(quarantined)
        ads = _Columns(_ADS.names)
        extractions = _Columns(EXTRACTION_ROW.names)
        ad_images = _Columns(_AD_IMAGES.names)
        images: dict[str, tuple[Any, ...]] = {}
        md5s: dict[str, str] = {}  # the batch's images' MD5s, for hash lists that give MD5s
        copies = _Columns(_COPIES.names)
        versions: list[int | None] = []
        new_ads = new_versions = unchanged = 0
        for item in items:
            ad, content_hash, file, line, extraction = item[:5]
            image_sha256: tuple[str, ...] = item[5] if len(item) > 5 else ()
            key = (ad.source, ad.id)
            seen = known.get(key)
            seen_at = utc_naive(ad.captured_at) or now
            where = (file, line, run_id, token_id, now)
            if seen is not None and seen.unchanged(content_hash, file, line, ad.captured_at):
                unchanged += 1
                versions.append(None)
                latest = content_hash == seen.latest_hash
                shown = seen.latest_version if latest else seen.versions[content_hash]
                sightings.add(ad.source, ad.id, shown, seen_at, utc_naive(ad.captured_at), "false", *where)
                continue
            if seen is None:
                version = 1
                new_ads += 1
                seen = Known(0, "", {})
            else:
                version = seen.latest_version + 1
                new_versions += 1
            if extraction is None:  # earlier content again: its extraction is copied below
                earlier = seen.versions.get(content_hash)
                if earlier is None:
                    raise ValueError(f"{ad.source}/{ad.id}: no extraction, and no earlier version to copy")
                copies.add(ad.source, ad.id, earlier, version)
            known[key] = seen.then(version, content_hash, file, line, ad.captured_at)
            versions.append(version)
            sightings.add(ad.source, ad.id, version, seen_at, utc_naive(ad.captured_at), "false", *where)
            ads.add(
                ad.source,
                ad.id,
                version,
                content_hash,
                ad.title,
                ad.body,
                ad.url,
                utc_naive(ad.posted_at),
                utc_naive(ad.captured_at),
                ad.location,
                dumps(list(ad.images)),
                dumps(ad.fields),
                dumps(ad.extra),
                extraction.region if extraction is not None else None,
                file,
                line,
                run_id,
                now,
            )
            if extraction is None:
                for position, (path, sha256) in enumerate(zip(ad.images, image_sha256, strict=True)):
                    ad_images.add(ad.source, ad.id, version, position, path, sha256)
                continue
            packed = PackedExtraction.of_either(extraction)
            self._add_extraction(extractions, ad, version, packed)
            self._add_images(ad_images, images, ad, version, packed, image_sha256, md5s)

        watched = self._watched_ads(ads, now)  # before long texts are cut into parts
        texts = self._texts(ads)
        self._insert_ads(ads)
        self._insert("extractions", extractions, EXTRACTION_ROW)
        if images:
            image_rows = _Columns(_IMAGES.names)
            for row in images.values():
                image_rows.add(*row)
            # A file seen before keeps its fingerprints; one hashed now for the first time (say
            # after an ingest run without image hashing) gets them filled in.
            self._insert(
                "images",
                image_rows,
                _IMAGES,
                " ON CONFLICT (sha256) DO UPDATE SET"
                " pdq = coalesce(images.pdq, excluded.pdq),"
                " pdq_quality = coalesce(images.pdq_quality, excluded.pdq_quality),"
                " phash = coalesce(images.phash, excluded.phash),"
                " width = coalesce(images.width, excluded.width),"
                " height = coalesce(images.height, excluded.height)",
            )
        self._insert("ad_images", ad_images, _AD_IMAGES)
        self._match_hash_lists(ad_images, md5s, now)
        gone_kept = 0
        for report in gone:
            if (report.source, report.id) not in known:
                quarantined.append(
                    Quarantined(report.file, report.line, "reports gone an ad not stored", report.raw)
                )
                continue
            seen_at = utc_naive(report.captured_at) or now
            where = (report.file, report.line, run_id, token_id, now)
            captured = utc_naive(report.captured_at)
            sightings.add(report.source, report.id, None, seen_at, captured, "true", *where)
            gone_kept += 1
        self._insert_sightings(sightings, once=token_id is not None)
        self._copy_extractions(copies)
        self._index_words(texts, extractions, keep_words=watched is not None)
        if watched is not None:
            try:
                self._match_watchlists(watched, extractions, ad_images, now)
            finally:
                self._con.execute("DROP TABLE IF EXISTS _ti_docs")
        stored_quarantine = self._insert_quarantine(quarantined, run_id, now)
        return BatchResult(new_ads, new_versions, unchanged, stored_quarantine, tuple(versions), gone_kept)

    def _copy_extractions(self, copies: _Columns) -> None:
        """Give each new version in ``copies`` the region and extraction of the earlier version
        with the same content (``from_version``): the same content extracts the same."""
        if not len(copies):
            return
        self._con.register("_batch_copies", copies.table(_COPIES))
        try:
            self._con.execute(
                "UPDATE ad_rows SET region = o.region FROM _batch_copies c, ad_rows o"
                " WHERE o.source = c.source AND o.id = c.id AND o.version = c.from_version"
                " AND ad_rows.source = c.source AND ad_rows.id = c.id AND ad_rows.version = c.version"
            )
            self._con.execute(
                insert_sql(
                    "extractions",
                    select=", ".join(
                        "c.version" if c == "version" else f"e.{c}" for c in EXTRACTION_ROW.names
                    )
                    + " FROM extractions e JOIN _batch_copies c"
                    " ON e.source = c.source AND e.ad_id = c.id AND e.version = c.from_version",
                )
            )
        finally:
            self._con.unregister("_batch_copies")

    @staticmethod
    def _add_extraction(rows: _Columns, ad: Ad, version: int, packed: PackedExtraction) -> None:
        if not packed.rows:
            return
        # Column by column: a batch of 5,000 ads has some 100,000 rows.
        count = len(packed.rows)
        data = rows.data
        data["source"].extend([ad.source] * count)
        data["ad_id"].extend([ad.id] * count)
        data["version"].extend([version] * count)
        for name, values in zip(EXTRACTION_ROW.names[3:], zip(*packed.rows, strict=True), strict=True):
            data[name].extend(values)

    @staticmethod
    def _add_images(
        rows: _Columns,
        images: dict[str, tuple[Any, ...]],
        ad: Ad,
        version: int,
        packed: PackedExtraction,
        image_sha256: tuple[str, ...],
        md5s: dict[str, str] | None = None,
    ) -> None:
        if not ad.images:
            return
        by_position: dict[int, tuple[str, dict[str, Any]]] = {}
        for position, value, found_detail in packed.images:
            by_position[position] = (value, found_detail)
        for position, path in enumerate(ad.images):
            image = by_position.get(position)
            detail = image[1] if image is not None else {}
            sha256: str | None
            if position < len(image_sha256):
                sha256 = image_sha256[position]
            else:
                sha256 = _str_or_none(detail.get("sha256")) or (image[0] if image is not None else None)
            if not sha256:
                raise ValueError(
                    f"{ad.source}/{ad.id} images[{position}]: no SHA-256 given or extracted "
                    "(the store does not read image files)"
                )
            rows.add(ad.source, ad.id, version, position, path, sha256)
            row = (
                sha256,
                _str_or_none(detail.get("pdq")),
                _int_or_none(detail.get("pdq_quality")),
                _str_or_none(detail.get("phash")),
                _int_or_none(detail.get("width")),
                _int_or_none(detail.get("height")),
            )
            previous = images.get(sha256)
            if previous is None or (previous[1] is None and row[1] is not None):
                images[sha256] = row
            md5 = _str_or_none(detail.get("md5"))
            if md5s is not None and md5 is not None and detail.get("sha256") == sha256:
                md5s[sha256] = md5

    def _match_hash_lists(self, ad_images: _Columns, md5s: dict[str, str], now: datetime) -> None:
        """Record the batch's images' MD5s, and match its images against the loaded hash lists
        (`hashlists`), in its transaction: no reader sees a matching image before its match."""
        from threadline.store import hashlists

        hashlists.add_md5(self._con, md5s)
        if not len(ad_images):
            return
        # Which file the store shows for an image may change (a network's evidence names one).
        touched(self._con, "images")
        if hashlists.any_entries(self._con):
            shas = sorted(set(ad_images.data["sha256"]))
            hashlists.match_images(self._con, set(shas), now=now)
            # An image matching a hash list flags the networks and hides the image where it is
            # shown, whatever read it: for those who keep answers, this batch touches everything.
            [(matched,)] = self._con.execute(
                "SELECT EXISTS (SELECT 1 FROM hash_matches WHERE sha256 IN (SELECT unnest(?::VARCHAR[])))",
                [shas],
            ).fetchall()
            if matched:
                touched(self._con, ALL)

    def _insert_ads(self, rows: _Columns) -> None:
        """Insert the batch's ads, each long value cut into parts (`schema.text_parts`) here, so
        DuckDB never holds it whole."""
        parts = _Columns(_PARTS.names)
        keys = zip(rows.data["source"], rows.data["id"], rows.data["version"], strict=True)
        for row, (source, id_, version) in enumerate(keys):
            for column, placeholder in PARTED.items():
                cut = text_parts(rows.data[column][row])
                if cut is None:
                    continue
                for part, text in enumerate(cut):
                    parts.add(source, id_, version, column, part, text)
                rows.data[column][row] = placeholder
        self._insert("ad_text_parts", parts, _PARTS)
        self._insert("ad_rows", rows, _ADS)

    def _watched_ads(self, ads: _Columns, now: datetime) -> pa.Table | None:
        """The batch's new versions as the watchlists match them (`threadline.watch`), or None
        when no entry is active (one small query: a store without watchlists pays no more)."""
        from threadline.watch._match import any_active

        if not len(ads) or not any_active(self._con, now)[0]:
            return None
        d = ads.data
        texts = [
            " ".join(t for t in (title, body, location) if t)
            for title, body, location in zip(d["title"], d["body"], d["location"], strict=True)
        ]
        dates = [
            p or c or i for p, c, i in zip(d["posted_at"], d["captured_at"], d["ingested_at"], strict=True)
        ]
        return pa.table(
            {
                "source": pa.array(d["source"], pa.string()),
                "id": pa.array(d["id"], pa.string()),
                "version": pa.array(d["version"], pa.int32()),
                "text": pa.array(texts, pa.string()),
                "dated_at": pa.array(dates, pa.timestamp("us")),
            }
        )

    def _match_watchlists(
        self, watched: pa.Table, extractions: _Columns, ad_images: _Columns, now: datetime
    ) -> None:
        """Raise the alerts of the batch's new versions, in its transaction (`threadline.watch`)."""
        from threadline.watch._match import match_batch

        con = self._con
        con.register("_watch_ads", watched)
        values = extractions.table(EXTRACTION_ROW).select(["source", "ad_id", "version", "kind", "value"])
        watched_kinds = pa.array(["phone", "email", "handle", "name", "place", "age"])
        values = values.filter(pc.is_in(values["kind"], value_set=watched_kinds))  # not sentences, indicators
        con.register("_watch_ext", values)
        con.register("_watch_images", ad_images.table(_AD_IMAGES))
        try:
            match_batch(con, "_watch_ads", "_watch_ext", "_watch_images", now, words="_ti_docs")
        finally:
            for name in ("_watch_ads", "_watch_ext", "_watch_images"):
                con.unregister(name)

    @staticmethod
    def _texts(ads: _Columns) -> pa.Table:
        """The batch's new versions' keys and indexed text, taken before long texts are cut into
        parts (`_insert_ads` replaces them in ``ads``)."""
        return pa.table(
            {
                name: pa.array(ads.data[name], _ADS.field(name).type)
                for name in ("source", "id", "version", "title", "body", "location")
            }
        )

    def _index_words(self, texts: pa.Table, extractions: _Columns, *, keep_words: bool = False) -> None:
        """Index the words and identifiers of the batch's new ads and versions (`text_index`),
        in its transaction, from the batch's own texts and extractions."""
        if not len(texts):
            return
        values = extractions.table(EXTRACTION_ROW).select(["source", "ad_id", "kind", "value"])
        self._con.register("_batch_word_texts", texts)
        self._con.register("_batch_word_values", values)
        try:
            index_ads(
                self._con,
                "_batch_word_texts",
                "_batch_word_values",
                texts="_batch_word_texts",
                keep_words=keep_words,
            )
            # Who carries these identifiers changes (a search for one of them reads it again);
            # the terms as the index spells them, by the index's own SQL (for those who listen).
            if not listened(self._con):
                return
            terms = self._con.execute(
                f"""
                WITH v AS (
                    SELECT DISTINCT 0 AS doc, kind, value FROM _batch_word_values
                    WHERE kind IN ('phone', 'email', 'handle', 'name')
                )
                SELECT DISTINCT term FROM ({IDENTIFIER_TERMS})
                """
            ).fetchall()
            touched(self._con, *term_tags(t for (t,) in terms))
        finally:
            self._con.unregister("_batch_word_texts")
            self._con.unregister("_batch_word_values")

    def _insert(self, table: str, rows: _Columns, schema: pa.Schema, suffix: str = "") -> int:
        """Insert all ``rows`` in one statement from an Arrow table (no per-row round trips)."""
        if not len(rows):
            return 0
        view = f"_batch_{table}"
        self._con.register(view, rows.table(schema))
        try:
            result = self._con.execute(
                f"INSERT INTO {table} ({', '.join(schema.names)}) SELECT * FROM {view}{suffix}"
            ).fetchone()
        finally:
            self._con.unregister(view)
        return int(result[0]) if result else 0

    def _insert_sightings(self, rows: _Columns, *, once: bool) -> None:
        """Insert ``rows`` of sightings; ``once``: leave out each whose record (file and line) has
        one already (a pushed batch sent again)."""
        if not len(rows):
            return
        select = "SELECT * REPLACE (gone::BOOLEAN AS gone) FROM _batch_sightings b"
        if once:
            select += (
                " WHERE NOT EXISTS (SELECT 1 FROM sightings s WHERE s.file = b.file AND s.line = b.line"
                " AND s.source = b.source AND s.id = b.id)"
            )
        self._con.register("_batch_sightings", rows.table(_SIGHTINGS))
        try:
            self._con.execute(f"INSERT INTO sightings ({', '.join(_SIGHTINGS.names)}) {select}")
        finally:
            self._con.unregister("_batch_sightings")

    def _insert_quarantine(
        self, quarantined: Sequence[Quarantined], run_id: int | None, now: datetime
    ) -> int:
        rows = _Columns(_QUARANTINE.names)
        seen: set[tuple[str, int, str, str]] = set()
        for q in quarantined:
            raw = _truncate_utf8(q.raw, QUARANTINE_RAW_BYTES)
            raw_sha256 = hashlib.sha256(raw.encode("utf-8")).hexdigest()
            key = (q.file, q.line, q.reason, raw_sha256)
            if key in seen:
                continue
            seen.add(key)
            rows.add(q.file, q.line, q.reason, raw, now, run_id, raw_sha256)
        if not len(rows):
            return 0
        self._con.register("_batch_quarantine", rows.table(_QUARANTINE))
        try:
            result = self._con.execute(
                f"INSERT OR IGNORE INTO quarantine ({', '.join(_QUARANTINE.names)})"
                " SELECT * FROM _batch_quarantine"
            ).fetchone()
        finally:
            self._con.unregister("_batch_quarantine")
        return int(result[0]) if result else 0

    def _check_writable(self) -> None:
        if self._read_only:
            raise StoreError(f"{self._path} is open read-only")

    # -- reading --------------------------------------------------------------------------------

    def copy_to(self, target: str | os.PathLike[str]) -> None:
        """Copy the whole store into the new file ``target``, as of one moment: COPY FROM DATABASE
        copies every table, view and sequence as of one transaction's snapshot, into a file that
        `Store.open` opens as it is (same schema version). On a failure ``target`` is removed."""
        con = self._con
        (name,) = con.execute("SELECT current_database()").fetchone() or ("",)
        alias = f"backup_{os.urandom(6).hex()}"
        path = str(target).replace("'", "''")
        con.execute(f"ATTACH '{path}' AS {alias}")
        try:
            con.execute(f'COPY FROM DATABASE "{name}" TO {alias}')
        except BaseException:
            con.execute(f"DETACH {alias}")
            Path(target).unlink(missing_ok=True)
            raise
        con.execute(f"DETACH {alias}")

    def counts(self) -> Counts:
        """How many ads, versions, extracted values (distinct, by kind), images, quarantined."""
        con = self._con
        # Versions are numbered from 1 without gaps, so counting version 1 counts distinct ads.
        row = con.execute("SELECT count(*), count(*) FILTER (WHERE version = 1) FROM ads").fetchone()
        versions, ads = (int(row[0]), int(row[1])) if row else (0, 0)
        values = {
            kind: int(n)
            for kind, n in con.execute(
                "SELECT kind, count(DISTINCT value) FROM extractions GROUP BY kind ORDER BY kind"
            ).fetchall()
        }
        images_row = con.execute("SELECT count(*) FROM images").fetchone()
        quarantine_row = con.execute("SELECT count(*) FROM quarantine").fetchone()
        return Counts(
            ads=ads,
            versions=versions,
            values=values,
            images=int(images_row[0]) if images_row else 0,
            quarantined=int(quarantine_row[0]) if quarantine_row else 0,
        )

    def top_values(self, kind: str, n: int = 10) -> list[ValueCount]:
        """The ``n`` values of ``kind`` carried by the most distinct ads (any version)."""
        rows = self._con.execute(
            "SELECT value, count(DISTINCT (source, ad_id)) AS ads FROM extractions WHERE kind = ?"
            " GROUP BY value ORDER BY ads DESC, value LIMIT ?",
            [kind, n],
        ).fetchall()
        return [ValueCount(value, int(ads)) for value, ads in rows]

    def quarantine(self, limit: int = 100) -> list[Quarantined]:
        """The latest quarantined records, newest first, then in file order."""
        rows = self._con.execute(
            "SELECT file, line, reason, raw, quarantined_at FROM quarantine"
            " ORDER BY quarantined_at DESC, file, line, reason LIMIT ?",
            [limit],
        ).fetchall()
        return [Quarantined(file, line, reason, raw, at) for file, line, reason, raw, at in rows]

    def extractions_for(self, source: str, id: str) -> dict[int, Extraction]:
        """Every stored version of one ad mapped to what was extracted from it."""
        regions = dict(
            self._con.execute(
                "SELECT version, region FROM ads WHERE source = ? AND id = ? ORDER BY version", [source, id]
            ).fetchall()
        )
        rows = self._con.execute(
            "SELECT version, found_index, kind, value, field, span_start, span_end, detail"
            " FROM extractions WHERE source = ? AND ad_id = ?"
            " ORDER BY version, found_index, span_index",
            [source, id],
        ).fetchall()
        found: dict[int, dict[int, tuple[str, str, list[Span], dict[str, Any]]]] = {v: {} for v in regions}
        for version, found_index, kind, value, field_name, start, end, detail in rows:
            entry = found.setdefault(version, {}).setdefault(
                found_index, (kind, value, [], json.loads(detail))
            )
            if field_name is not None:
                entry[2].append(Span(field_name, start, end))
        return {
            version: Extraction(
                source,
                id,
                tuple(
                    Found(kind, value, tuple(spans), detail)
                    for kind, value, spans, detail in by_index.values()
                ),
                regions.get(version) or "",
            )
            for version, by_index in found.items()
        }

    def ad(self, source: str, id: str, version: int | None = None) -> Ad | None:
        """One stored version of an ad (the latest when ``version`` is None), as an `Ad`."""
        rows = self._con.execute(
            f"SELECT {_AD_COLUMNS} FROM ads WHERE source = ? AND id = ? AND (? IS NULL OR version = ?)"
            " ORDER BY version DESC LIMIT 1",
            [source, id, version, version],
        ).fetchall()
        if not rows:
            return None
        return _ad_from_row(source, id, rows[0])

    def versions(self, source: str, id: str) -> list[tuple[int, str, datetime]]:
        """``(version, content_hash, ingested_at)`` of every stored version of one ad, oldest first."""
        return [
            (int(v), h, at)
            for v, h, at in self._con.execute(
                "SELECT version, content_hash, ingested_at FROM ads"
                " WHERE source = ? AND id = ? ORDER BY version",
                [source, id],
            ).fetchall()
        ]

    def iter_ads(self, *, latest_only: bool = True, batch_size: int = 10_000) -> Iterator[Ad]:
        """Every stored ad (the latest version of each, or every version), in key order."""
        table = "latest_ads" if latest_only else "ads"
        cursor = self._con.cursor()
        try:
            cursor.execute(f"SELECT source, id, {_AD_COLUMNS} FROM {table} ORDER BY source, id, version")
            while rows := cursor.fetchmany(batch_size):
                for source, id_, *row in rows:
                    yield _ad_from_row(source, id_, row)
        finally:
            cursor.close()
