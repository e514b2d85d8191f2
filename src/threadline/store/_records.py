"""The plain records the store takes and gives back.

They live here rather than in `threadline.model` because only ingest and the store's readers use
them; `threadline.ingest` re-exports `Quarantined`, which ingest produces and the store keeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from threadline.model import Ad, Extraction, pickled_by_fields

__all__ = [
    "BatchResult",
    "Counts",
    "GoneReport",
    "IngestRun",
    "Known",
    "PackedExtraction",
    "Quarantined",
    "SourceSetting",
    "StoredAd",
    "ValueCount",
    "utc_naive",
]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that failed validation, kept with the reason so nothing is dropped silently.

    ``line`` is the 1-based line of the input file where the record starts. ``raw`` is the record
    as read (invalid UTF-8 shown as ``\\xNN`` escapes); the store keeps its first 4 KB.
    """

    file: str
    line: int
    reason: str
    raw: str
    quarantined_at: datetime | None = None  # set by the store when read back


def json_default(value: Any) -> Any:
    """`json.dumps`'s fallback for the store's JSON columns."""
    # Extractors may hand back numpy scalars (image sizes, hash qualities); keep them as numbers.
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps(value: Any) -> str:
    """``value`` as the store's JSON columns hold it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_default)


IMAGE_FIELD = re.compile(r"images\[(\d+)\]\Z")  # a span's field naming an ad's image

# An extraction row less the ad's key and version: found_index, span_index, kind, value, field,
# span start, span end, detail as JSON (`schema.EXTRACTION_ROW`, from its fourth column on).
ExtractionRow = tuple[int, int, str, str, str | None, int | None, int | None, str]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class PackedExtraction:
    """An `Extraction` as the store writes it, made by the ingest worker that extracted it.

    The rows (`ExtractionRow`) hold every find with each of its spans and its detail as JSON;
    ``images`` the image finds by the ad's image position, ``(position, value, detail)``. An
    ingest's own process stores every batch that its workers extract, so every second it
    spends there the workers wait: turning finds into rows and details into JSON happens in
    the workers instead, and the rows travel between the processes as plain tuples, which
    unpickle some twenty times faster than `Found` and `Span` objects (0.03 s against 0.69 s
    for the extractions of 2,500 ads).
    """

    region: str
    rows: tuple[ExtractionRow, ...]
    images: tuple[tuple[int, str, dict[str, Any]], ...] = ()

    @classmethod
    def of(cls, extraction: Extraction) -> PackedExtraction:
        rows: list[ExtractionRow] = []
        images: list[tuple[int, str, dict[str, Any]]] = []
        for found_index, found in enumerate(extraction.found):
            detail = dumps(found.detail)
            if not found.spans:
                rows.append((found_index, 0, found.kind, found.value, None, None, None, detail))
            for span_index, span in enumerate(found.spans):
                where = (span.field, span.start, span.end)
                rows.append((found_index, span_index, found.kind, found.value, *where, detail))
                if found.kind == "image":
                    match = IMAGE_FIELD.match(span.field)
                    if match:
                        images.append((int(match.group(1)), found.value, found.detail))
        return cls(extraction.region, tuple(rows), tuple(images))

    @classmethod
    def of_either(cls, extraction: Extraction | PackedExtraction) -> PackedExtraction:
        """``extraction`` packed, unless it is already."""
        return extraction if isinstance(extraction, PackedExtraction) else cls.of(extraction)


class StoredAd(NamedTuple):
    """One validated ad with what the store needs to keep it, as `Store.write_batch` takes it.

    The first five items are the ``(ad, content_hash, file, line, extraction)`` tuple; a plain
    5-tuple is accepted too. ``image_sha256`` is the SHA-256 of each of ``ad.images`` in order,
    as ingest computed it for the content hash; when empty, the store takes each image's SHA-256
    from the extraction (its ``image`` values). The extraction may come packed
    (`PackedExtraction`), as ingest's workers send it.

    ``extraction`` None says the ad had this content before (`Known.hashes`) and was not
    extracted again: when it is stored as a new version (a return to earlier content), the
    store copies that earlier version's extraction.
    """

    ad: Ad
    content_hash: str
    file: str
    line: int
    extraction: Extraction | PackedExtraction | None
    image_sha256: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GoneReport:
    """A crawler's report that the ad ``(source, id)`` was taken down, as `Store.write_batch`
    takes it: seen at ``captured_at`` (None: when it is stored), from ``file`` and ``line``
    (``raw``: the record as read, kept if it is quarantined)."""

    source: str
    id: str
    captured_at: datetime | None
    file: str
    line: int
    raw: str = ""


def utc_naive(value: datetime | None) -> datetime | None:
    """``value`` as the naive UTC time the store keeps (a naive time is UTC by the contract)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Known:
    """What the store already holds for one ``(source, id)``: its versions by content hash (the
    latest version holding each), and the record each version was stored from (``reads``:
    content hash, file, line, captured_at).
    """

    latest_version: int
    latest_hash: str
    versions: Mapping[str, int]
    reads: frozenset[tuple[str, str, int, datetime | None]] = frozenset()

    @property
    def hashes(self) -> frozenset[str]:
        """Every content the ad has had: content seen before need not be extracted again."""
        return frozenset(self.versions)

    def unchanged(self, content_hash: str, file: str, line: int, captured_at: datetime | None) -> bool:
        """Whether a record with this content is no news for the ad: the ad's latest content, or
        the very record an earlier version was stored from, read again (same file, line, content
        and capture time: a re-run of an old file).

        Anything else is a new version, a return to earlier content included (A, B, A: the ad
        shows A again, and links must follow what it shows now). In one pass over new files
        this is "differs from the record before it", which the Spark engine computes alike.
        """
        if content_hash == self.latest_hash:
            return True
        return (content_hash, file, line, utc_naive(captured_at)) in self.reads

    def then(
        self, version: int, content_hash: str, file: str, line: int, captured_at: datetime | None
    ) -> Known:
        """What is known once ``version`` with this content is stored from this record."""
        return Known(
            version,
            content_hash,
            {**self.versions, content_hash: version},
            self.reads | {(content_hash, file, line, utc_naive(captured_at))},
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one `Store.write_batch` did.

    ``versions[i]`` is the version the i-th ad was stored as, or None when its content was
    already stored (the no-op of the input contract).
    """

    new_ads: int
    new_versions: int
    unchanged: int
    quarantined: int
    versions: tuple[int | None, ...] = ()
    gone: int = 0  # reports of ads taken down, kept as sightings


@dataclass(frozen=True, slots=True)
class Counts:
    """Sizes of a store, for summaries and health checks."""

    ads: int  # distinct (source, id)
    versions: int  # rows of `ads`: every version of every ad
    values: dict[str, int] = field(default_factory=dict)  # distinct extracted values by kind
    images: int = 0  # distinct image files (by SHA-256)
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class ValueCount:
    """An extracted value and how many distinct ads (any version) carry it."""

    value: str
    ads: int


@dataclass(frozen=True, slots=True)
class SourceSetting:
    """One row of ``source_settings``: a source's home region, when and by whom it was set."""

    source: str
    region: str
    set_at: datetime
    set_by: str


@dataclass(frozen=True, slots=True)
class IngestRun:
    """One row of ``ingest_runs``; ``finished`` is None for a run that was killed or still runs."""

    id: int
    file: str
    started: datetime
    finished: datetime | None
    read: int | None
    new_ads: int | None
    new_versions: int | None
    unchanged: int | None
    quarantined: int | None
