"""The `threadline` command (DESIGN.md section 3 is its contract).

Every command exits non-zero with a one-line reason on bad arguments or unreadable input, and
shows progress on stderr for long work.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click

from threadline import __version__
from threadline._progress import Progress

__all__ = ["cli", "main"]

_INPUT = click.Path(dir_okay=False, path_type=Path)
_STORE = click.Path(dir_okay=False, path_type=Path)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"threadline: {message}", err=True)
    raise SystemExit(code)


def _readable(path: Path) -> Path:
    if not path.exists():
        _fail(f"{path}: no such file")
    if not path.is_file() or not os.access(path, os.R_OK):
        _fail(f"{path}: not a readable file")
    return path


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="threadline")
def cli() -> None:
    """Threadline turns floods of online ads into leads on trafficking operations.

    Scores are priorities for human review, never findings.
    """


@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ads", "n_ads", type=click.IntRange(1), default=2000, show_default=True, help="Ads to make.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same corpus.")
@click.option("--images/--no-images", default=True, show_default=True, help="Generate image files.")
@click.option("--malformed", type=click.IntRange(0), default=0, help="Also append N malformed records.")
def synth(out_dir: Path, n_ads: int, seed: int, images: bool, malformed: int) -> None:
    """Make a synthetic corpus with ground truth in OUT_DIR (fictional numbers, generated images).

    Writes ads.jsonl (the input contract), images/, truth.jsonl (true phones, person, network and
    kind of every ad) and truth_meta.json.
    """
    from threadline.synth import generate

    summary = generate(out_dir, n_ads, seed, images=images, malformed=malformed)
    networks = ", ".join(f"{n:,} {kind}" for kind, n in sorted(summary.networks.items()))
    click.echo(
        f"synth: {summary.ads:,} ads ({summary.versions:,} edited versions, "
        f"{summary.malformed:,} malformed), {summary.persons:,} persons, {summary.phones:,} phones, "
        f"{summary.images:,} images; networks: {networks}",
        err=True,
    )
    click.echo(str(out_dir / "ads.jsonl"))


@cli.command()
@click.argument("ads", type=_INPUT)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option("--region", default="US", show_default=True, help="Phone region when an ad has no location.")
@click.option("--images/--no-images", default=True, show_default=True, help="Hash the ads' image files.")
@click.option("--evidence/--no-evidence", default=True, show_default=True, help="Add spans and details.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def extract(ads: Path, output: Path | None, region: str, images: bool, evidence: bool, quiet: bool) -> None:
    """Extract identifiers from ADS (JSON Lines or CSV) without a store, one JSON line per ad.

    Each line has id, phones (E.164), emails, handles, names, ages, prices (per hour), places and
    image_hashes; with --evidence also the span of text each value was read from. Malformed
    records are reported on stderr with their line and reason.
    """
    from threadline.extract import contract_record, extract_ad
    from threadline.ingest import read_ads

    _readable(ads)
    region = region.upper()
    progress = Progress("extract", quiet=quiet)
    written = bad = 0
    with ExitStack() as stack:
        out: IO[str] = stack.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        for item, done, read_bytes, total in read_ads(ads):
            if isinstance(item, str):
                bad += 1
                click.echo(f"threadline: {ads}:{item}", err=True)
            else:
                record = contract_record(
                    extract_ad(item, default_region=region, images=images), evidence=evidence
                )
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
            progress(done, read_bytes, total)
    progress.close()
    if not quiet:
        click.echo(f"extract: {written:,} ads, {bad:,} malformed", err=True)


@cli.command()
@click.argument("ads", type=_INPUT)
@click.option("--db", "db", type=_STORE, required=True, help="Store file (created if missing).")
@click.option(
    "--workers", type=click.IntRange(1), default=None, help="Extraction processes (default: cores)."
)
@click.option("--batch-size", type=click.IntRange(1), default=1000, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def ingest(ads: Path, db: Path, workers: int | None, batch_size: int, quiet: bool) -> None:
    """Validate, extract and store ADS (JSON Lines or CSV) into the store --db.

    Incremental: records already stored are no-ops; changed content for the same (source, id)
    becomes a new version. Malformed records go to quarantine with their line and reason.
    """
    from threadline.ingest import ingest_file
    from threadline.store import Store

    _readable(ads)
    progress = Progress("ingest", quiet=quiet)
    with Store.open(db) as store:
        report = ingest_file(ads, store, workers=workers, batch_size=batch_size, progress=progress)
    progress.close()
    click.echo(
        f"ingest: {report.read:,} records: {report.new_ads:,} new ads, {report.new_versions:,} new versions, "
        f"{report.unchanged:,} unchanged, {report.quarantined:,} quarantined "
        f"({report.seconds:,.1f}s, {report.read / max(report.seconds, 1e-9):,.0f} records/s)"
    )


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Top values to list.")
def summary(db: Path, top: int) -> None:
    """Print what a store holds: counts, the most shared phones, and quarantine by reason."""
    from threadline.store import Store

    _readable(db)
    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        click.echo(f"store {db}: {counts.ads:,} ads, {counts.versions:,} versions, {counts.images:,} images")
        click.echo("extracted values: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.values.items())))
        click.echo("top phones (ads carrying each; numbers in many unrelated ads may be site footers):")
        for vc in store.top_values("phone", top):
            click.echo(f"  {vc.value:<16} {vc.ads:>7,}")
        click.echo(f"quarantine: {counts.quarantined:,} records")
        for q in store.quarantine(limit=top):
            click.echo(f"  {q.file}:{q.line}: {q.reason}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: click's errors become one line on stderr and a non-zero exit."""
    from threadline.store import StoreError

    try:
        result: Any = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        _fail("interrupted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message().replace("\n", " "), exc.exit_code)
    except (OSError, StoreError) as exc:
        _fail(str(exc).replace("\n", " "))
    if isinstance(result, int) and result:
        raise SystemExit(result)


if __name__ == "__main__":
    main()
