"""The store: an embedded DuckDB file holding ads, their versions, extractions and quarantine.

`Store` is the one object to use; see its module for the single-writer rule.
"""

from __future__ import annotations

from threadline.store._records import (
    BatchResult,
    Counts,
    IngestRun,
    Known,
    PackedExtraction,
    Quarantined,
    SourceSetting,
    StoredAd,
    ValueCount,
)
from threadline.store._store import QUARANTINE_RAW_BYTES, Store, StoreBusyError, StoreError
from threadline.store.schema import LATEST_VERSION, SchemaTooNewError

__all__ = [
    "LATEST_VERSION",
    "QUARANTINE_RAW_BYTES",
    "BatchResult",
    "Counts",
    "IngestRun",
    "Known",
    "PackedExtraction",
    "Quarantined",
    "SchemaTooNewError",
    "SourceSetting",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoredAd",
    "ValueCount",
]
