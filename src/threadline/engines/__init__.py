"""The whole batch pipeline (extract, link, score) on one engine, from input files to Parquet.

``threadline run --engine local|spark --input PATH --output DIR`` reads every input file under
``PATH``, runs the pipeline and writes the outputs of `outputs.OUTPUTS` as Parquet under
``DIR`` (one folder per table); ``threadline load DIR --db STORE`` puts them into a store, where
the workspace and every other command read them, and later ``ingest`` runs go on incrementally.

Both engines run one implementation: the same extraction functions (`threadline.ingest` and
`threadline.extract`; on Spark through Arrow batches in ``mapInArrow``), the same linking and
scoring steps (SQL written once, run through the `threadline.link.engine.Engine` seam), and the
same output queries. ``local`` (`local.run_local`) is the store's own engine: DuckDB on this
machine, with a process pool for extraction. ``spark`` (`spark.run_spark`) runs on a Spark
cluster, or in local mode on one machine (``--master local[2]``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENGINES", "input_files"]

ENGINES = ("local", "spark")
INPUT_SUFFIXES = (".jsonl", ".csv")


def input_files(path: str | os.PathLike[str]) -> list[Path]:
    """The input files under ``path`` (a file, or a folder searched recursively for JSON Lines
    and CSV files), absolute, in the order both engines read them: by their path as a string."""
    root = Path(path).resolve()
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES]
    return sorted(files, key=str)
