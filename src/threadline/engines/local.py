"""The local engine: the pipeline in DuckDB on this machine, written out as a run's outputs.

It is exactly what ``ingest`` does (each input file in turn, extraction in a process pool, then
one full link and score run), in a store of its own, whose tables are then written out by the
queries of `outputs.OUTPUTS`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threadline.engines import input_files
from threadline.engines.outputs import OUTPUTS, check_output, clear_output, write_manifest

__all__ = ["run_local"]


def run_local(
    input_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    workers: int | None = None,
    db: str | os.PathLike[str] | None = None,
    region: str | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the pipeline on the input files under ``input_path`` and write the outputs to
    ``output`` (a folder, replaced); returns the manifest written there. ``db`` keeps the store
    the run builds (by default a temporary one, removed afterwards).

    ``region``: the run's default region for numbers without a country code (as ``ingest
    --region``: after the ad's location and its source's home region in ``db``; recorded as the
    home region of the sources that have none)."""
    from threadline.ingest import ingest_file
    from threadline.link import LinkParams, link
    from threadline.score.scorer import score_store
    from threadline.store import Store

    files = input_files(input_path, warn=say)
    check_output(output, *files, *([db] if db is not None else []))
    t0 = time.perf_counter()
    scratch = None
    if db is None:
        scratch = tempfile.mkdtemp(prefix="threadline-run-")
        db = Path(scratch, "run.duckdb")
    try:
        with Store.open(db) as store:
            records = dict.fromkeys(("read", "new_ads", "new_versions", "unchanged", "quarantined"), 0)
            for file in files:
                report = ingest_file(file, store, workers=workers, region=region, region_by="run --region")
                say(f"ingest {file}: {report.line()}")
                for warning in report.warnings:
                    say(f"warning: {warning}")
                for key in records:
                    records[key] += getattr(report, key)
            params = LinkParams()
            linked = link(store.connection, params, full=True)
            say(f"link: {linked.ads:,} ads, {linked.networks:,} networks")
            scored = score_store(store.connection, inputs_built=True)
            say(f"score: {scored.ads:,} ads")
            [(model, lexicon, weights)] = store.connection.execute(
                "SELECT model, lexicon, weights FROM score_runs ORDER BY finished DESC LIMIT 1"
            ).fetchall()
            [(used,)] = store.connection.execute(
                "SELECT params FROM link_runs ORDER BY finished DESC LIMIT 1"
            ).fetchall()
            write_outputs(store.connection, output)
        manifest = {
            "engine": "local",
            "input": [str(f) for f in files],
            "finished": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "seconds": round(time.perf_counter() - t0, 2),
            "records": records,
            "link": {
                "params": json.loads(used),  # with the thresholds the run measured
                "ads": linked.ads,
                "networks": linked.networks,
                "persons": linked.persons,
                "hubs": linked.hubs,
                "seconds": linked.seconds,
            },
            "score": {
                "ads": scored.ads,
                "networks": scored.networks,
                "seconds": scored.seconds,
                "versions": {"model": model, "lexicon": lexicon, "weights": weights},
            },
        }
        write_manifest(output, manifest)
        return manifest
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def write_outputs(con: Any, output: str | os.PathLike[str]) -> None:
    """Write every output of `OUTPUTS` from the store behind ``con`` to ``output`` (replaced)."""
    out = clear_output(output)
    for name, sql in OUTPUTS.items():
        folder = out / name
        folder.mkdir()
        target = str(folder / "part-0.parquet").replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET)")
