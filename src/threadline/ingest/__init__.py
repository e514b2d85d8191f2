"""Ingest: read input files, validate them against the input contract, hash, extract, store.

`ingest_file` is the entry point; `readers` and `validate` are usable on their own (the `extract`
command reads and validates without a store).
"""

from __future__ import annotations

from threadline.ingest.pipeline import IngestError, IngestReport, Progress, ingest_file, read_ads
from threadline.ingest.readers import RawRecord, read_csv, read_jsonl, read_records
from threadline.ingest.validate import Invalid, content_hash, validate
from threadline.store._records import Quarantined

__all__ = [
    "IngestError",
    "IngestReport",
    "Invalid",
    "Progress",
    "Quarantined",
    "RawRecord",
    "content_hash",
    "ingest_file",
    "read_ads",
    "read_csv",
    "read_jsonl",
    "read_records",
    "validate",
]
