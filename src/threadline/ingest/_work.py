"""The part of ingest that runs in worker processes: hash each ad's content, extract if new.

Kept apart from the pipeline so that a worker process imports what it needs to hash and extract,
and the pipeline stays the single writer.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from threadline.ingest.validate import content_hash
from threadline.model import Ad, Extraction, pickled_by_fields
from threadline.store._records import Known, PackedExtraction

if TYPE_CHECKING:
    from threadline.extract.regions import SourceRegions

__all__ = ["Job", "Outcome", "default_extract", "exit_with", "extract_in", "one_line", "run_job", "warm"]

Extract = Callable[[Ad], Extraction]


def default_extract(ad: Ad) -> Extraction:
    """The project's extraction (`threadline.extract.extract_ad`), imported where it runs."""
    from threadline.extract import extract_ad

    return extract_ad(ad)


def extract_in(regions: SourceRegions, ad: Ad) -> Extraction:
    """The project's extraction, a number without a country code read in the ad's location's
    country, else in ``regions.of(ad.source)`` (ingest and both engines pass this, bound to the
    run's regions with `functools.partial`, to their workers)."""
    from threadline.extract import extract_ad

    return extract_ad(ad, default_region=regions.of(ad.source))


@dataclass(frozen=True, slots=True)
class Job:
    """One batch of validated ads, each with what the store already held for it (None for an ad
    it has never seen)."""

    ads: list[Ad]
    known: list[Known | None]
    extract: Extract

    def part(self, start: int, stop: int) -> Job:
        """The job for ads ``start:stop`` only."""
        return Job(self.ads[start:stop], self.known[start:stop], self.extract)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one ad: hashed, and extracted unless its content was already stored.

    ``error`` is a quarantine reason (an unreadable image, an extractor that failed on this ad).
    """

    content_hash: str | None = None
    image_sha256: tuple[str, ...] = ()
    extraction: PackedExtraction | None = None  # packed where it was extracted
    error: str | None = None


NICE_ENV = "THREADLINE_WORKER_NICE"  # how much lower extraction workers run (a server sets it)


def exit_with(pid: int) -> None:
    """Pool initializer: make this worker exit as soon as process ``pid`` (the ingest) is gone,
    and run it ``$THREADLINE_WORKER_NICE`` steps nicer than that process (a server that ingests
    while analysts read sets it, so that extraction takes the cores the readers leave).

    Nicer than the ingest's process, not than whatever started the worker: a server's workers
    are started from its writer's thread, which runs that many steps nicer already, and the
    fork server and its workers inherit that; adding the steps again put them at the lowest
    priority there is (19), where analysts reading left a crawler's pushes almost no CPU.

    A pool's workers do not notice their parent dying: after a ``kill -9`` of the ingest they would
    wait for work for ever, each holding its memory (and the fork server alive). A daemon thread
    waits on the ingest's pidfd (or polls, where there are none) and ends the worker.
    """
    threading.Thread(target=_exit_when_gone, args=(pid,), name="exit-with-ingest", daemon=True).start()
    nice = os.environ.get(NICE_ENV, "").strip()
    if nice.isdigit() and int(nice) > 0:
        try:
            base = os.getpriority(os.PRIO_PROCESS, pid)  # the ingest's (its main thread's)
        except OSError:  # gone already: the thread above ends this worker
            return
        target = min(base + int(nice), 19)
        if os.getpriority(os.PRIO_PROCESS, 0) < target:
            os.setpriority(os.PRIO_PROCESS, 0, target)


def _exit_when_gone(pid: int) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        pidfd = -1
    if pidfd >= 0:
        select.select([pidfd], [], [])  # readable once the process has exited
        os._exit(1)
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def warm() -> int:
    """Load what extraction loads on first use (the gazetteer, phone numbers' metadata, the
    lexicon) by extracting one made-up ad, so that a worker kept for a server's pushes answers
    its first push as fast as the next; returns the worker's pid."""
    from datetime import UTC, datetime

    ad = Ad(
        id="warm-up",
        source="warm-up",
        title="New in town",
        body="Sweet and discreet, call 713-555-0142 or write to warm@example.com, insta @warm_up.",
        location="Houston, TX",
        captured_at=datetime.now(UTC),
    )
    default_extract(ad)
    return os.getpid()


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line of at most ``limit`` characters, for a quarantine reason."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hash_ad(ad: Ad) -> Outcome:
    """The ad's content hash and its images' SHA-256, read from the files (no extraction), or the
    quarantine reason when an image cannot be read.

    Each file is read once however often it is listed, and its bytes are kept for the ad's
    extraction to fingerprint (`threadline.extract.images.image_sha256`): not read again.
    """
    from threadline.extract.images import image_sha256  # numpy, Pillow: what extraction loads

    shas: list[str] = []
    by_path: dict[str, str] = {}
    try:
        for path in ad.images:
            sha = by_path.get(path)
            if sha is None:
                sha = by_path[path] = image_sha256(path)
            shas.append(sha)
    except OSError as exc:
        # Checked to exist at validation; gone or unreadable since (permissions, a crawler
        # still writing the folder).
        return Outcome(error=f"images[{len(shas)}] cannot be read: {exc.strerror or exc}")
    return Outcome(content_hash(ad, shas), tuple(shas))


def extract_hashed(ad: Ad, hashed: Outcome, extract: Extract) -> Outcome:
    """``hashed`` (see `hash_ad`) with the ad's extraction, or with the quarantine reason when an
    extractor fails on it."""
    try:
        packed = PackedExtraction.of(extract(ad))
    except Exception as exc:
        # One ad that breaks an extractor must not stop the file; quarantined, it is retried
        # (and stored) by the next ingest once the extractor is fixed.
        reason = one_line(f"extraction failed: {type(exc).__name__}: {exc}")
        return Outcome(hashed.content_hash, hashed.image_sha256, error=reason)
    return Outcome(hashed.content_hash, hashed.image_sha256, packed)


def run_job(job: Job) -> list[Outcome]:
    """Hash every ad of the job, and extract those with content new to the ad. A failure on
    one ad is that ad's quarantine reason."""
    outcomes = []
    for ad, known in zip(job.ads, job.known, strict=True):
        try:
            hashed = hash_ad(ad)
        except Exception as exc:  # a content no check foresaw (the record is valid JSON)
            outcomes.append(Outcome(error=one_line(f"hashing failed: {type(exc).__name__}: {exc}")))
            continue
        # Content the ad had before is not extracted again: the store either finds it unchanged
        # or copies the earlier version's extraction (a return to earlier content). Asked of
        # every content it ever had, not of its latest, because batches in flight may change
        # the latest before this one is stored.
        if hashed.error is None and (known is None or hashed.content_hash not in known.versions):
            hashed = extract_hashed(ad, hashed, job.extract)
        outcomes.append(hashed)
    return outcomes
