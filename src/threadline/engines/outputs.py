"""What a pipeline run writes, and how ``threadline load`` puts it into a store.

Every output is a query over tables named as in the store (``ads``, ``ad_links``, ...). The
local engine runs them on the store it built; the Spark engine registers its results under the
same names and runs the same queries. Each output becomes a folder of Parquet files under the
output folder, named after the store table it fills; ``run.json`` beside them records the
engine, the link parameters, the scoring versions and the counts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from threadline.engine import sql_literal
from threadline.engines import glob_escape
from threadline.score.saved import refresh_network_summary
from threadline.store._tx import transaction
from threadline.store.schema import ads_insert, insert_row, insert_sql
from threadline.store.text_index import index_ads

__all__ = [
    "OPTIONAL_OUTPUTS",
    "OUTPUTS",
    "LoadError",
    "check_output",
    "clear_output",
    "keep_images",
    "load_output",
    "read_manifest",
    "write_manifest",
]

# store table -> the query that gives its rows (columns in the store's order).
OUTPUTS: dict[str, str] = {
    "ads": """
        SELECT source, id, version, content_hash, title, body, url, posted_at, captured_at, location,
               CAST(images AS STRING) AS images, CAST(fields AS STRING) AS fields,
               CAST(extra AS STRING) AS extra, region, file, line
        FROM ads
    """,
    "extractions": """
        SELECT source, ad_id, version, found_index, span_index, kind, value, field, span_start, span_end,
               CAST(detail AS STRING) AS detail
        FROM extractions
    """,
    "images": "SELECT sha256, pdq, pdq_quality, phash, width, height FROM images",
    "ad_images": "SELECT source, ad_id, version, position, path, sha256 FROM ad_images",
    "quarantine": "SELECT file, line, reason, raw FROM quarantine",
    "ad_keys": "SELECT source, id, ad_key FROM ad_keys",
    # Persons and networks: every ad's network and person.
    "ad_links": "SELECT ad_key, source, id, version, network, person FROM ad_links",
    # Links with their reasons: what joins each network (identifiers, images, texts, merges).
    "link_evidence": "SELECT network, kind, value, ads, detail FROM link_evidence",
    "link_hubs": "SELECT kind, value, ads, co_phones, names, detected, is_hub, marked_by FROM link_hubs",
    "link_text_pairs": "SELECT ad_a, ad_b, jaccard, shared, holders FROM link_text_pairs",
    "link_image_pairs": "SELECT sha_a, sha_b FROM link_image_pairs",
    "link_orphan_pairs": "SELECT orphan, other, detail FROM link_orphan_pairs",
    "network_scores": "SELECT network, ads, logit, score, model FROM network_scores",
    "ad_scores": "SELECT ad_key, source, id, network, logit, score, model FROM ad_scores",
    "score_parts": "SELECT level, unit, feature, value, detail, x, contribution FROM score_parts",
    "score_local_prices": "SELECT place, median, ads FROM score_local_prices",
    # Movement as the scoring run saw it: each network's features, and the itineraries and
    # circuits of its networks and persons (a network's view reads them).
    "score_movement": """
        SELECT network, places, moves, median_stay_days, max_km_per_day, foreign_code_share, origin,
               circuit, circuit_repeats
        FROM score_movement
    """,
    "score_itineraries": """
        SELECT unit_kind, unit, stay_no, place, country, first_seen, last_seen, ads FROM score_itineraries
    """,
    "score_circuits": """
        SELECT unit_kind, unit, circuit, cycle_len, laps, full_laps, start_stay, end_stay, missed, extra,
               median_dwell_days, simultaneous
        FROM score_circuits
    """,
}
# Outputs a run written before they existed lacks: loaded when present. Without them the store's
# first scoring run scores everything (and saves them); without the orphan pairs, the first link
# run clusters again both ends of each (`link.incremental`).
OPTIONAL_OUTPUTS = frozenset({"score_movement", "score_itineraries", "score_circuits", "link_orphan_pairs"})

MANIFEST = "run.json"


class LoadError(RuntimeError):
    """The output folder cannot be loaded (not a run's output, or the store is not empty)."""


# What a run writes into an output's folder: the local engine ``part-0.parquet``; Spark
# ``part-00000-<uuid>-c000.snappy.parquet`` files, ``_SUCCESS``, a ``.<name>.crc`` checksum
# beside each, and ``_temporary/`` while it writes (left behind when a job dies).
_RUN_FILE = re.compile(
    r"part-\d+(-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}-c\d+)?(\.\w+)?\.parquet|_SUCCESS"
)


def is_run_file(name: str, *, folder: bool = False) -> bool:
    """Whether the file (or with ``folder``, the folder) ``name`` in an output's folder is one a
    run writes."""
    if folder:
        return name == "_temporary"
    if name.startswith("."):
        return name.endswith(".crc") and _RUN_FILE.fullmatch(name[1:-4]) is not None
    return _RUN_FILE.fullmatch(name) is not None


def _foreign(out: Path) -> str | None:
    """The first thing under ``out``'s output folders that no run writes (a run must not delete
    it), as a path relative to ``out``; None when there is none."""
    for name in OUTPUTS:
        folder = out / name
        if not os.path.lexists(folder):
            continue
        if folder.is_symlink() or not folder.is_dir():
            return name
        for child in sorted(folder.iterdir()):
            if child.is_symlink():
                return f"{name}/{child.name}"
            if child.is_dir() and not is_run_file(child.name, folder=True):
                return f"{name}/{child.name}"
            if not child.is_dir() and not (child.is_file() and is_run_file(child.name)):
                return f"{name}/{child.name}"
    return None


def check_output(output: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> Path:
    """The output folder, checked before any work: missing, empty, or holding exactly what an
    earlier run wrote (its manifest names an engine, and nothing else is there, in the output
    folders either: see `is_run_file`), and holding none of ``inputs`` (the input files, a store
    to keep). Otherwise `LoadError`: a run never deletes files it did not write."""
    out = Path(output)
    if out.exists():
        if not out.is_dir():
            raise LoadError(f"{output}: not a folder")
        names = {child.name for child in out.iterdir()}
        if names:
            try:
                engine = json.loads((out / MANIFEST).read_text()).get("engine")
            except (OSError, ValueError, AttributeError):
                engine = None
            if engine not in ("local", "spark"):
                raise LoadError(f"{output}: not empty and not the output of an earlier run")
            unknown = sorted(names - set(OUTPUTS) - {MANIFEST})
            foreign = unknown[0] if unknown else _foreign(out)
            if foreign:
                raise LoadError(f"{output}: holds {foreign}, which no run writes; not cleared")
    root = out.resolve()
    for path in inputs:
        if Path(path).resolve().is_relative_to(root):
            raise LoadError(f"{path} is inside the output folder {output}")
    return out


def clear_output(output: str | os.PathLike[str]) -> Path:
    """Remove what an earlier run wrote to a folder `check_output` accepted; create it if missing.

    Only a run's files go: anything else found in an output folder (put there since the check)
    is a `LoadError`, before anything is removed."""
    out = Path(output)
    foreign = _foreign(out)
    if foreign:
        raise LoadError(f"{output}: holds {foreign}, which no run writes; not cleared")
    for name in OUTPUTS:
        folder = out / name
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink() and is_run_file(child.name, folder=True):
                shutil.rmtree(child)
            elif is_run_file(child.name):
                child.unlink()
        try:
            folder.rmdir()
        except OSError:  # something arrived while clearing: keep it
            raise LoadError(f"{output}: {name} is not empty after clearing; not cleared") from None
    (out / MANIFEST).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_manifest(output: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    Path(output, MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(output: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(output, MANIFEST)
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoadError(f"{output}: not the output of `threadline run` (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise LoadError(f"{path}: not a run manifest")
    return manifest


def load_output(
    con: duckdb.DuckDBPyConnection,
    output: str | os.PathLike[str],
    *,
    store_file: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Put a run's outputs into the (empty) store behind ``con``, in one transaction; returns the
    rows loaded per table. The store then holds what an ``ingest`` of the same files would have
    left, with the run's link parameters and scoring versions, so later runs are incremental.

    With ``store_file`` (the store's file) every image the ads refer to is also copied into the
    store's kept images (`kept_images`), as ingest keeps them, from the path the run recorded (an
    engine's run reads images where they are and keeps none): ``kept_images`` counts the images
    kept, ``images_missing`` those no recorded path still holds with the hash the run read (a
    path on a cluster's file system, a crawl folder gone since). This is done within the load's
    transaction: a kept-images folder that refuses them leaves nothing loaded."""
    check_loadable(output)
    manifest = read_manifest(output)
    [(held,)] = con.execute(
        "SELECT (SELECT COUNT(*) FROM ads) + (SELECT COUNT(*) FROM quarantine)"
        " + (SELECT COUNT(*) FROM ad_keys)"
    ).fetchall()
    if held:
        raise LoadError("the store already holds ads: load a run's output into a new store")
    try:
        return _load(con, output, manifest, store_file, say)
    except KeyError as exc:
        raise LoadError(f"{output}: {MANIFEST} lacks {exc}") from None
    except duckdb.Error as exc:
        raise LoadError(f"{output}: not loadable ({str(exc).splitlines()[0]})") from None


def keep_images(
    con: duckdb.DuckDBPyConnection, store_file: Path, *, say: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Copy every image the store's ads refer to into its kept images, from a path an ad
    recorded for it whose content still has its SHA-256 (`kept_images.keep_file` checks);
    ``{"kept_images": n, "images_missing": m}``. An image kept already is not read again."""
    from threadline.store import kept_images

    rows = con.execute(
        "SELECT sha256, list(DISTINCT path ORDER BY path) FROM ad_images GROUP BY sha256 ORDER BY sha256"
    ).fetchall()
    kept = missing = 0
    for n, (sha, paths) in enumerate(rows, 1):
        for path in paths:
            try:
                kept_images.keep_file(store_file, _local(path), sha)
            except (kept_images.KeptImageError, ValueError):
                continue  # unreadable here, or changed since the run read it: try the next path
            except OSError as exc:  # the kept-images folder itself refuses it
                folder = kept_images.image_dir(store_file)
                raise LoadError(
                    f"{folder}: images cannot be kept there ({exc.strerror or exc}): nothing loaded"
                ) from None
            kept += 1
            break
        else:
            missing += 1
        if say is not None and n % 1000 == 0:
            say(f"load: {n:,} of {len(rows):,} images kept")
    return {"kept_images": kept, "images_missing": missing}


def _local(path: str) -> str:
    """A recorded image path as a local file's (``file:/x`` -> ``/x``); other URLs as given (they
    are not readable here, and are counted missing)."""
    if path.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(path).path)
    return path


def check_loadable(output: str | os.PathLike[str]) -> None:
    """`LoadError` unless ``output`` holds a run's manifest and every output (checked before a
    store is opened, so a failed load leaves no store file behind)."""
    read_manifest(output)
    missing = [name for name in OUTPUTS if name not in OPTIONAL_OUTPUTS and not _parquet_files(output, name)]
    if missing:
        raise LoadError(f"{output}: missing output {missing[0]} (and {len(missing) - 1} more)")


def _parquet_files(output: str | os.PathLike[str], name: str) -> list[str]:
    """The Parquet files of output ``name``, as DuckDB must be given them: listed here, each
    with its pattern characters escaped (a folder ``runs/x[1]`` is not ``runs/x1``)."""
    folder = Path(output, name)
    if not folder.is_dir():
        return []
    files = [f for f in folder.iterdir() if f.name.endswith(".parquet") and not f.name.startswith(".")]
    return sorted(glob_escape(str(f)) for f in files if f.is_file())


def _load(
    con: duckdb.DuckDBPyConnection,
    output: str | os.PathLike[str],
    manifest: dict[str, Any],
    store_file: Path | None,
    say: Callable[[str], None] | None,
) -> dict[str, int]:
    loaded_at = datetime.fromisoformat(manifest["finished"])
    counts: dict[str, int] = {}
    with transaction(con):
        for name in OUTPUTS:
            if name in OPTIONAL_OUTPUTS and not _parquet_files(output, name):
                continue
            files = ", ".join(sql_literal(f) for f in _parquet_files(output, name))
            columns = [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]
            read = f"read_parquet([{files}])"
            present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()}
            # Columns a run does not write: when and by which ingest run it was stored.
            filled = {
                "run_id": "NULL",
                "ingested_at": f"TIMESTAMP {sql_literal(loaded_at.isoformat(sep=' '))}",
                "quarantined_at": f"TIMESTAMP {sql_literal(loaded_at.isoformat(sep=' '))}",
                "raw_sha256": "sha256(raw)",
                "holders": "NULL",  # an output written before text pairs had holders
            }
            if any(c not in present and c not in filled for c in columns):
                lacking = next(c for c in columns if c not in present and c not in filled)
                raise LoadError(f"{output}: output {name} lacks column {lacking}")
            if name == "ads":  # a view: its rows go in through ad_rows (long values in parts)
                for statement in ads_insert(read, {c: filled[c] for c in columns if c not in present}):
                    con.execute(statement)
            else:
                select = ", ".join(c if c in present else filled[c] for c in columns)
                con.execute(insert_sql(name, tuple(columns), select=f"{select} FROM {read}"))
            [(count,)] = con.execute(f"SELECT COUNT(*) FROM {read}").fetchall()
            counts[name] = int(count)
        link_counts = manifest["link"]
        insert_row(
            con,
            "link_runs",
            {
                "finished": loaded_at,
                "params": json.dumps(manifest["link"]["params"]),
                "ads": link_counts["ads"],
                "networks": link_counts["networks"],
                "persons": link_counts["persons"],
                "hubs": link_counts["hubs"],
                "seconds": link_counts["seconds"],
            },
        )
        # What the store derives from these for readers: the words index and network summaries.
        index_ads(con)
        refresh_network_summary(con)
        score = manifest["score"]
        insert_row(
            con,
            "score_runs",
            {
                "finished": loaded_at,
                "ads": score["ads"],
                "networks": score["networks"],
                "model": score["versions"]["model"],
                "lexicon": score["versions"]["lexicon"],
                "weights": score["versions"]["weights"],
                "seconds": score["seconds"],
            },
        )
        if store_file is not None:  # within the transaction: images not kept, nothing loaded
            counts.update(keep_images(con, store_file, say=say))
    return counts
