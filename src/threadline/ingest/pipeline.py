"""`ingest_file`: read, validate, hash, extract and store one input file.

The flow per batch of records:

1. the main process reads and validates (cheap; bad records become `Quarantined`),
2. asks the store which content hashes it already holds for the batch's ``(source, id)``s,
3. hands the batch to a worker process that hashes each ad (image bytes included) and extracts
   only the ads whose hash the store did not hold,
4. and, when the batch is back, writes it in one transaction: the main process is the store's
   only writer. The store re-checks the hashes inside that transaction, so an ad repeated in two
   batches in flight is stored once, and versions are numbered in file order.

A few batches are in flight at once, so the workers stay busy while the main process reads and
writes, and memory stays flat however long the file is.

Crash safety: every batch is one transaction and writing is idempotent by content hash (and
quarantine rows by ``(file, line, reason, text)``), so an ingest killed at any point and run again ends
with every record stored exactly once. Nothing needs a resume marker; the re-run re-reads the file
and skips what is stored, without extracting it again.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from threadline.extract.regions import SourceRegions, checked_region, installation_region
from threadline.ingest._work import Extract, Job, Outcome, exit_with, extract_in, one_line, run_job, warm
from threadline.ingest.readers import RawRecord, read_records
from threadline.ingest.validate import Invalid, Validator
from threadline.model import Ad
from threadline.store import kept_images
from threadline.store._records import BatchResult, GoneReport, Quarantined, StoredAd
from threadline.store._store import StoreError
from threadline.store._tx import failed_commit

if TYPE_CHECKING:
    from threadline.store import Store

__all__ = ["IngestError", "IngestReport", "Progress", "Workers", "ingest_file", "read_ads"]

Progress = Callable[[int, int, int], None]
"""``progress(records_done, bytes_read, total_bytes)``, called after each batch is stored."""


class IngestError(RuntimeError):
    """The input file cannot be ingested at all (missing, not a file)."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one `ingest_file` did. ``read`` = new_ads + new_versions + unchanged + quarantined + gone."""

    file: str
    read: int
    new_ads: int
    new_versions: int
    unchanged: int
    quarantined: int
    seconds: float
    run_id: int
    warnings: tuple[str, ...] = ()
    gone: int = 0  # crawlers' reports of ads taken down, kept as sightings

    @property
    def stored(self) -> int:
        return self.new_ads + self.new_versions

    @property
    def accepted(self) -> int:
        """Records stored or seen again: a run that accepted none failed as a whole."""
        return self.new_ads + self.new_versions + self.unchanged + self.gone

    def line(self) -> str:
        """The counts, as every command that ingests prints them (ads gone only when there are)."""
        gone = f", {self.gone:,} gone" if self.gone else ""
        return (
            f"{self.read:,} records: {self.new_ads:,} new ads, {self.new_versions:,} new versions, "
            f"{self.unchanged:,} seen again{gone}, {self.quarantined:,} quarantined"
        )

    @property
    def records_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Batch:
    """A batch between reading and writing: what validated, what did not, and how far we are."""

    valid: list[tuple[RawRecord, Ad]]
    quarantined: list[Quarantined]
    records: int
    end_offset: int
    bytes: int = 0  # of input text
    gone: list[GoneReport] = field(default_factory=list)


@dataclass
class _Totals:
    read: int = 0
    new_ads: int = 0
    new_versions: int = 0
    unchanged: int = 0
    quarantined: int = 0
    gone: int = 0


# A batch is cut at this much input text as well as at ``batch_size`` records: memory (the
# batches in flight, the store's insert) follows bytes, not records. 300 records of 1 MB each in
# one batch took DuckDB past its memory cap.
MAX_BATCH_BYTES = 16 * 1024 * 1024


def _batches(records: Iterator[RawRecord], file: str, validate: Validator, size: int) -> Iterator[_Batch]:
    batch = _Batch([], [], 0, 0)
    for raw in records:
        batch.records += 1
        batch.end_offset = raw.end_offset
        batch.bytes += len(raw.raw)
        kept = _read_one(raw, validate, file)
        if isinstance(kept, GoneReport):
            batch.gone.append(kept)
        elif isinstance(kept, Quarantined):
            batch.quarantined.append(kept)
        else:
            batch.valid.append((raw, kept))
        if batch.records >= size or batch.bytes >= MAX_BATCH_BYTES:
            yield batch
            batch = _Batch([], [], 0, 0)
    if batch.records:
        yield batch


def _read_one(raw: RawRecord, validate: Validator, file: str) -> Ad | GoneReport | Quarantined:
    """What one record read is: an ad, a crawler's report that an ad is gone, or quarantined."""
    try:
        gone = validate.gone(raw.record) if isinstance(raw.record, dict) else None
    except Invalid as exc:
        return Quarantined(file, raw.line, exc.reason, raw.raw)
    if gone is not None:
        return GoneReport(gone.source, gone.id, gone.captured_at, file, raw.line, raw.raw)
    ad = checked(raw, validate)
    return Quarantined(file, raw.line, ad, raw.raw) if isinstance(ad, str) else ad


def checked(raw: RawRecord, validate: Validator) -> Ad | str:
    """The `Ad` a record read describes, or the reason it is quarantined (unreadable, or breaking
    the input contract): the one decision ingest, ``extract`` and the Spark engine share."""
    if raw.record is None:
        return raw.error or "unreadable record"
    try:
        return validate(raw.record, raw.raw)
    except Invalid as exc:
        return exc.reason
    except Exception as exc:  # a record no check foresaw must cost that record, not the file
        return one_line(f"validation failed: {type(exc).__name__}: {exc}")


def read_ads(path: str | os.PathLike[str]) -> Iterator[tuple[Ad | str, int, int, int]]:
    """Validated ads of a file without a store: ``(ad or "LINE: reason", records, bytes, total)``.

    For the ``extract`` command: each record is an `Ad`, or for a record that breaks the input
    contract the string ``"<line>: <reason>"``; then records read so far, bytes read so far and
    the file's size, for progress.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise IngestError(f"{path}: no such file")
    total = file.stat().st_size
    validate = Validator(file.parent, file.stem, input_file=file)
    for done, raw in enumerate(read_records(file), start=1):
        ad = checked(raw, validate)
        yield (f"{raw.line}: {ad}" if isinstance(ad, str) else ad), done, raw.end_offset, total


# The reason given for an ad whose extraction killed its worker process (a decoder crash on a
# hostile image, the kernel's out-of-memory killer): quarantined, so the rest of the file goes on.
CRASHED = "extraction crashed its worker process (killed, or out of memory)"

# The fewest ads a batch's extraction is split into for one worker (`Workers.submit_parts`):
# below it, the cost of sending a part to a process outweighs running the parts side by side.
MIN_PART = 100


@dataclass(frozen=True, slots=True)
class _Submitted:
    """A job handed to one pool (or already run in this process, ``future`` None)."""

    job: Job
    pool: ProcessPoolExecutor | None = None
    future: Future[list[Outcome]] | None = None
    outcomes: list[Outcome] | None = None


class Workers:
    """The extraction processes, or none (``workers=0``: extract in this process).

    A worker that dies (a decoder crash on a hostile image, the out-of-memory killer) breaks its
    whole pool, and every job in flight on it fails. The pool is replaced and each such job run
    again; a job that breaks the new pool too is run one ad at a time to find the ad that kills
    its worker, and that ad is quarantined. Without this one poisonous record would stop every
    ingest of its file, for ever.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool = self._start() if workers > 0 else None

    def _start(self) -> ProcessPoolExecutor:
        # Not fork: the main process holds DuckDB's threads, and forking a threaded process can
        # deadlock the child. A fork server starts clean and forks workers cheaply from itself;
        # it imports the extractors once, so each run's workers start with them loaded.
        context: BaseContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(["threadline.ingest._work", "threadline.extract"])
            context = forkserver
        else:
            context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=context, initializer=exit_with, initargs=(os.getpid(),)
        )

    def warm(self) -> None:
        """Start the workers now and have each load what extraction loads on first use
        (`_work.warm`), without waiting for them: a server's pool for pushes, started while it
        is quiet, answers its first push as fast as the next."""
        if self._pool is None:
            return
        for _ in range(self._workers):  # one task each, as a pool starts a worker per task waiting
            self._pool.submit(warm)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Replace ``broken`` unless that was done already (one break fails many jobs)."""
        if broken is self._pool:
            broken.shutdown(wait=True)
            self._pool = self._start()

    def submit_parts(self, job: Job) -> list[_Submitted]:
        """Submit ``job`` in up to one part per worker, each at least `MIN_PART` ads, so that
        every worker extracts a part of each batch: a batch is stored once all of it is
        extracted, and a file of a few batches would otherwise wait on one worker per batch
        (adding 10,000 ads in two batches of 5,000 waited 8.5 s for the first, 5.2 s split)."""
        parts = min(self._workers, len(job.ads) // MIN_PART)
        if parts <= 1:
            return [self.submit(job)]
        bounds = [len(job.ads) * k // parts for k in range(parts + 1)]
        return [self.submit(job.part(start, stop)) for start, stop in itertools.pairwise(bounds)]

    def submit(self, job: Job) -> _Submitted:
        pool = self._pool
        if pool is None:
            return _Submitted(job, outcomes=run_job(job))
        try:
            return _Submitted(job, pool, pool.submit(run_job, job))
        except BrokenProcessPool:  # broke since the last result was collected
            self._replace(pool)
            return self.submit(job)

    def result(self, submitted: _Submitted) -> list[Outcome]:
        """The outcomes of a submitted job. A job that fails as a whole (a worker crashed, or
        the batch could not be sent to one) is run again in halves, down to the single ad,
        whose failure becomes its quarantine reason."""
        try:
            return self._collect(submitted)
        except Exception:
            return self._split(submitted.job)

    def _collect(self, submitted: _Submitted) -> list[Outcome]:
        if submitted.outcomes is not None:
            return submitted.outcomes
        assert submitted.pool is not None and submitted.future is not None
        try:
            return submitted.future.result()
        except BrokenProcessPool:
            self._replace(submitted.pool)
            raise

    def _run(self, job: Job) -> list[Outcome]:
        try:
            return self._collect(self.submit(job))
        except BrokenProcessPool:
            if len(job.ads) == 1:
                return [Outcome(error=CRASHED)]
        except Exception as exc:
            if len(job.ads) == 1:
                return [Outcome(error=one_line(f"extraction failed: {type(exc).__name__}: {exc}"))]
        return self._split(job)

    def _split(self, job: Job) -> list[Outcome]:
        if len(job.ads) == 1:
            return self._run(job)
        half = len(job.ads) // 2
        return [*self._run(job.part(0, half)), *self._run(job.part(half, len(job.ads)))]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def ingest_file(
    path: str | os.PathLike[str],
    store: Store,
    *,
    workers: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    extract: Extract | None = None,
    source: str | None = None,
    region: str | None = None,
    region_by: str = "ingest --region",
    token_id: int | None = None,
    pool: Workers | None = None,
) -> IngestReport:
    """Ingest one JSON Lines or CSV file into ``store``; returns what it did.

    Records are validated, quarantined with a reason when they break the input contract, and
    stored as new ads or new versions; records whose content is already stored are counted as
    unchanged and not extracted again.

    ``workers`` is the number of extraction processes (default: one per CPU); 0 extracts in this
    process, which is slower but easy to debug. Workers are started by a fork server, which
    imports the calling script's ``__main__`` module again: a script calling this needs the usual
    ``if __name__ == "__main__":`` guard. ``extract`` replaces the project's extraction
    (`threadline.extract.extract_ad`); with workers it must be a module-level function.
    ``progress(records_done, bytes_read, total_bytes)`` is called after each stored batch.
    ``source`` is the source of records that name none (default: the file's stem, as the input
    contract says); the report warns when the stem default joins this file's ads with those of
    another file of the same name ingested before (``siteA/ads.jsonl``, ``siteB/ads.jsonl``).

    A phone number without a country code is read in the country of the ad's location, else in
    its source's home region (the store's ``source_settings``), else in ``region`` (the run's
    --region), else in the installation's (`threadline.extract.regions.installation_region`).
    ``region`` also becomes the home region of each source of the file that has none yet (with
    ``region_by`` as who set it), so later runs of those sources read numbers the same way.
    ValueError for a region phone numbers do not know.

    Every record is a sighting of its ad (`Store.write_batch`); ``token_id`` names the API token
    that pushed the file (a push batch spooled by the server), whose records are sighted once.
    ``pool``: extraction processes kept by the caller across many small ingests (a server's
    pushes), used instead of starting ``workers`` for this file and left running after it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    started = time.perf_counter()
    file = Path(path).resolve()
    if not file.is_file():
        raise IngestError(f"{path}: no such file")
    total_bytes = file.stat().st_size
    name = str(file)
    region = None if region is None else checked_region(region)
    regions = SourceRegions(store.source_regions(), region, installation_region())
    extract_fn = extract if extract is not None else partial(extract_in, regions)
    homed = set(regions.homes)  # sources with a home region (this run's included, once recorded)
    workers = (os.cpu_count() or 1) if workers is None else workers
    run_id = store.begin_run(name)
    totals = _Totals()
    # Enough batches in flight to keep every worker busy while the main process reads and
    # writes; few enough that memory does not grow with the file.
    in_flight = max(2, workers + 1)
    pending: deque[tuple[_Batch, list[_Submitted]]] = deque()
    own_pool = pool is None
    pool = Workers(workers) if pool is None else pool

    def write_oldest() -> None:
        batch, parts = pending.popleft()
        outcomes = [outcome for submitted in parts for outcome in pool.result(submitted)]
        _write(store, batch, outcomes, name, run_id, totals, token_id)
        if progress is not None:
            progress(totals.read, batch.end_offset, total_bytes)

    try:
        validate = Validator(file.parent, source or file.stem, input_file=file)
        for batch in _batches(read_records(file), name, validate, batch_size):
            known = store.known_hashes((ad.source, ad.id) for _, ad in batch.valid)
            if region is not None:
                unhomed = {ad.source for _, ad in batch.valid} - homed
                if unhomed:
                    store.record_source_regions(unhomed, region, by=region_by)
                    homed |= unhomed
            job = Job(
                [ad for _, ad in batch.valid],
                [known.get((ad.source, ad.id)) for _, ad in batch.valid],
                extract_fn,
            )
            pending.append((batch, pool.submit_parts(job)))
            while len(pending) >= in_flight:
                write_oldest()
        while pending:
            write_oldest()
    finally:
        if own_pool:
            pool.close()

    warnings = []
    if source is None and validate.defaulted:
        namesakes = store.files_ingested(stem=file.stem, other_than=name)
        if namesakes:
            warnings.append(
                f"{validate.defaulted:,} records of {name} name no source and take its file name "
                f"'{file.stem}', as did those of {namesakes[0]}: the same ids in both are taken for "
                "one ad (give each site its own source with --source)"
            )
    store.finish_run(
        run_id,
        read=totals.read,
        new_ads=totals.new_ads,
        new_versions=totals.new_versions,
        unchanged=totals.unchanged,
        quarantined=totals.quarantined,
    )
    return IngestReport(
        file=name,
        read=totals.read,
        new_ads=totals.new_ads,
        new_versions=totals.new_versions,
        unchanged=totals.unchanged,
        quarantined=totals.quarantined,
        seconds=time.perf_counter() - started,
        run_id=run_id,
        warnings=tuple(warnings),
        gone=totals.gone,
    )


def _write(
    store: Store,
    batch: _Batch,
    outcomes: list[Outcome],
    file: str,
    run_id: int,
    totals: _Totals,
    token_id: int | None = None,
) -> None:
    to_store: list[tuple[StoredAd, str]] = []  # each with its text as read
    quarantined = list(batch.quarantined)
    for (raw, ad), outcome in zip(batch.valid, outcomes, strict=True):
        error = outcome.error
        if error is None:
            error = _keep_images(store, ad, outcome.image_sha256)
        if error is not None:
            quarantined.append(Quarantined(file, raw.line, error, raw.raw))
        else:
            # No extraction: content the ad had before (the store decides: unchanged, or a
            # return to it).
            assert outcome.content_hash is not None
            item = StoredAd(
                ad, outcome.content_hash, file, raw.line, outcome.extraction, outcome.image_sha256
            )
            to_store.append((item, raw.raw))
    result = _store(store, to_store, quarantined, run_id, batch.gone, token_id)
    totals.read += batch.records
    totals.gone += result.gone
    totals.new_ads += result.new_ads
    totals.new_versions += result.new_versions
    totals.unchanged += result.unchanged
    totals.quarantined += result.quarantined


def _keep_images(store: Store, ad: Ad, image_sha256: tuple[str, ...]) -> str | None:
    """Copy the ad's image files into the store's kept images (`kept_images`) before the ad is
    stored, so that no stored ad refers to an image the store does not hold; the quarantine
    reason when one cannot be kept (gone or changed since it was hashed)."""
    if len(image_sha256) != len(ad.images):  # not hashed here: the store says why when it refuses it
        return None
    for position, (path, sha) in enumerate(zip(ad.images, image_sha256, strict=True)):
        try:
            kept_images.keep_file(store.path, path, sha)
        except kept_images.KeptImageError as exc:
            return f"images[{position}] {exc}"
    return None


def _store(
    store: Store,
    items: list[tuple[StoredAd, str]],
    quarantined: list[Quarantined],
    run_id: int,
    gone: list[GoneReport] | None = None,
    token_id: int | None = None,
) -> BatchResult:
    """Write ``items`` and ``quarantined`` in one transaction. A batch the store refuses (out of
    memory, a value it cannot hold) is written again in halves, down to the single ad, which is
    then quarantined with the store's reason: one record must not stop the file.

    The result counts every quarantined record, including those stored before (a re-run)."""
    try:
        result = store.write_batch(
            [item for item, _ in items], quarantined, run_id=run_id, gone=gone or (), token_id=token_id
        )
    except Exception as exc:
        # DuckDB has invalidated the database (a checkpoint that ran out of memory), or a commit
        # failed half way (`failed_commit`: its rollback leaves the batch's keys in the indexes,
        # so every later write of those ads would be refused as a duplicate). Nothing more can be
        # written safely by this process, whatever the record; what was committed before is
        # kept, and the store opened again is whole.
        if isinstance(exc, duckdb.FatalException) or failed_commit(exc):
            said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(
                f"the store stopped accepting writes and must be opened again ({said}); every batch "
                "before this one is stored: run the same ingest again to go on"
            ) from exc
        if isinstance(exc, StoreError) or not items:
            raise  # the store itself cannot be written (not even quarantine rows)
        if len(items) == 1 and not quarantined:
            item, raw = items[0]
            if isinstance(exc, duckdb.OutOfMemoryException):
                # Records are bounded (lines of 16 MB, fields of 1 MB): one that cannot be held is
                # a store whose memory cap is too small, not a bad record. Stop; nothing is lost.
                said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise StoreError(
                    f"the store ran out of memory holding a single record ({said[:160]}); every "
                    "batch before this one is stored: run the same ingest again to go on, with "
                    "more memory (THREADLINE_MEMORY_LIMIT)"
                ) from exc
            reason = one_line(f"could not be stored: {type(exc).__name__}: {exc}")
            return _store(store, [], [Quarantined(item.file, item.line, reason, raw)], run_id)
        first = _store(store, [], quarantined, run_id) if quarantined else BatchResult(0, 0, 0, 0)
        half = (len(items) + 1) // 2
        parts = [first, _store(store, items[:half], [], run_id, token_id=token_id)]
        if items[half:]:
            parts.append(_store(store, items[half:], [], run_id, token_id=token_id))
        if gone:  # after the ads: a report may be of an ad of this batch
            parts.append(_store(store, [], [], run_id, gone, token_id))
        return BatchResult(
            sum(p.new_ads for p in parts),
            sum(p.new_versions for p in parts),
            sum(p.unchanged for p in parts),
            sum(p.quarantined for p in parts),
            gone=sum(p.gone for p in parts),
        )
    # Reports of ads the store does not hold are quarantined by the store.
    quarantined_here = len(quarantined) + len(gone or ()) - result.gone
    return BatchResult(
        result.new_ads, result.new_versions, result.unchanged, quarantined_here, gone=result.gone
    )
