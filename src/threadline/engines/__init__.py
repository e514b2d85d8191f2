"""The whole batch pipeline (extract, link, score) on one engine, from input files to Parquet.

``threadline run --engine local|spark --input PATH --output DIR`` reads every input file under
``PATH``, runs the pipeline and writes the outputs of `outputs.OUTPUTS` as Parquet under
``DIR`` (one folder per table); ``threadline load DIR --db STORE`` puts them into a store, where
the workspace and every other command read them, and later ``ingest`` runs go on incrementally.

Both engines run one implementation: the same extraction functions (`threadline.ingest` and
`threadline.extract`; on Spark through Arrow batches in ``mapInArrow``), the same linking and
scoring steps (SQL written once, run through the `threadline.engine.Engine` seam), and the
same output queries. ``local`` (`local.run_local`) is the store's own engine: DuckDB on this
machine, with a process pool for extraction. ``spark`` (`spark.run_spark`) runs on a Spark
cluster, or in local mode on one machine (``--master local[2]``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

__all__ = ["ENGINES", "glob_escape", "input_files", "is_synth_truth"]

ENGINES = ("local", "spark")
INPUT_SUFFIXES = (".jsonl", ".csv")
# What `threadline synth` writes beside ads.jsonl (threadline.synth.generator): no ads.
SYNTH_TRUTH, SYNTH_TRUTH_META = "truth.jsonl", "truth_meta.json"


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def input_files(path: str | os.PathLike[str], *, warn: Callable[[str], None] = _warn) -> list[Path]:
    """The input files under ``path`` (a file, or a folder searched recursively for JSON Lines
    and CSV files), absolute, in the order both engines read them: by their path as a string.

    A file in the folder that is a symbolic link to somewhere outside it (``x.jsonl`` ->
    ``/etc/passwd``) is skipped, with ``warn``: a folder names what it holds, not what its links
    point at. Links that stay inside the folder are read.

    The ground truth `threadline synth` writes beside its ads (``truth.jsonl`` next to
    ``truth_meta.json``) holds no ads, only what each ad really is: it is skipped, with ``warn``,
    so that ``--input`` can name the corpus folder ``synth`` made. (Named alone, it is read.)"""
    root = Path(path).resolve()
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    files = []
    for file in root.rglob("*"):
        if not file.is_file() or file.suffix.lower() not in INPUT_SUFFIXES:
            continue
        target = file.resolve()
        if not target.is_relative_to(root):
            warn(f"{file}: skipped, it links to {target}, outside the input folder {root}")
            continue
        if is_synth_truth(file):
            warn(f"{file}: skipped, the ground truth of a synthetic corpus (threadline synth), not ads")
            continue
        files.append(file)
    return sorted(files, key=str)


def is_synth_truth(file: Path) -> bool:
    """Whether ``file`` is the ground truth `threadline synth` wrote beside a corpus's ads."""
    return file.name == SYNTH_TRUTH and (file.parent / SYNTH_TRUTH_META).is_file()


# Characters each reader takes as a pattern in a path. DuckDB's globs (read_parquet, ...) have no
# escape character: a one-character class makes ``*``, ``?`` and ``[`` literal (``]`` alone is).
# Hadoop's (Spark's readers) escape with a backslash, and also read ``{a,b}``.
_GLOB_DUCKDB = {"*": "[*]", "?": "[?]", "[": "[[]"}
_GLOB_HADOOP = {ch: "\\" + ch for ch in "[]{}*?\\"}


def glob_escape(path: str, reader: Literal["duckdb", "hadoop"] = "duckdb") -> str:
    """``path`` with every character ``reader`` would take as a pattern made literal, so that a
    folder named ``runs/x[1]`` is read as itself, not as ``runs/x1``. (DuckDB cannot name a
    backslash inside a pattern: pass it a path with no pattern characters when it has one.)"""
    table = _GLOB_DUCKDB if reader == "duckdb" else _GLOB_HADOOP
    return "".join(table.get(ch, ch) for ch in path)
