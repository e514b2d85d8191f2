"""The `threadline` command (docs/DESIGN.md section 3 is its contract).

Every command exits non-zero with a one-line reason on bad arguments or unreadable input, and
shows progress on stderr for long work.
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import stat
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from threadline import __version__
from threadline._progress import Progress
from threadline.handoff import SERVED as _SERVED
from threadline.handoff import Served

if TYPE_CHECKING:
    import duckdb

    from threadline.handoff import Answer
    from threadline.store import Store

__all__ = ["CommandRefused", "cli", "main", "run_served", "served_kind"]

_INPUT = click.Path(dir_okay=False, path_type=Path)
_STORE = click.Path(dir_okay=False, path_type=Path)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"threadline: {message}", err=True)
    raise SystemExit(code)


def _readable(path: Path) -> Path:
    """``path``, if it is a regular file this process may read; else one line and exit. (Reading
    a FIFO waits for a writer, forever if none comes; a folder or a device is no input.)"""
    served = _SERVED.get()
    if served is not None and path is served.db:
        return path  # the server's own store, named as the command line typed it
    try:
        mode: int | None = path.stat().st_mode
    except OSError as exc:
        mode, problem = None, "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror
    if mode is None:
        _fail(f"{path}: {problem or 'cannot be read'}")
    elif not stat.S_ISREG(mode):
        _fail(f"{path}: not a regular file")
    elif not os.access(path, os.R_OK):
        _fail(f"{path}: not a readable file")
    return path


# -- through a running server -------------------------------------------------------------------
#
# While `threadline serve` holds a store, DuckDB's file lock keeps every other process out of it.
# A command marked `_through_server` then hands itself to that server (`threadline.handoff`),
# which runs this same command (`run_served`) on its own connections and sends back what it
# printed: the command line prints the same lines with a server as without one.


class CommandRefused(ValueError):
    """Not a command that a server runs for the command line."""


_F = TypeVar("_F", bound=Callable[..., None])


def _through_server(
    kind: str, secret: Callable[[dict[str, Any]], str] | None = None, *, told: bool = False
) -> Callable[[_F], _F]:
    """Mark a command on a store: while a server holds its --db, the server runs it. ``kind``:
    'read'; 'write', which the server runs in its writer's queue; 'admin', a write that appends to
    the audit itself (`user`, `token`, `audit export`), which the server also runs holding the
    audit's lock, as it does for its own entries. ``secret(params)``: what the command reads from
    the terminal or stdin (a new password), read here and handed over apart (`handoff.SECRET`).
    ``told``: a write whose every change is in a `transaction` that says what it touches (an
    ingest's batches, a link and score run), so that the server's kept answers of what it did
    not touch outlive it (`serve._answers`)."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def command(**params: Any) -> None:
            if _SERVED.get() is None and params.get("db") is not None:
                from threadline.handoff import SECRET, running_server

                db = Path(params["db"])
                said = secret(params) if secret is not None and running_server(db) is not None else None
                answer = _hand_over(db, params, said)
                if answer is None and said is not None:
                    # The server stopped meanwhile: run here, with what was read already.
                    token = SECRET.set(said)
                    try:
                        fn(**params)
                    finally:
                        SECRET.reset(token)
                    return
                if answer is not None:
                    sys.stdout.write(answer.stdout)
                    sys.stdout.flush()
                    sys.stderr.write(answer.stderr)
                    sys.stderr.flush()
                    if answer.code:
                        raise SystemExit(answer.code)
                    return
            fn(**params)

        command.served = kind  # type: ignore[attr-defined]
        command.told = told  # type: ignore[attr-defined]
        return cast(_F, command)

    return decorate


def _portable(name: str, value: Any) -> Any:
    """A parameter as JSON for the server: paths absolute (the server has its own working folder)
    but --db as typed (the server has the store; the path is only printed); times in ISO."""
    if isinstance(value, Path):
        return str(value) if name == "db" else os.path.abspath(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, tuple):
        return list(value)
    return value


def _hand_over(db: Path, params: dict[str, Any], secret: str | None = None) -> Answer | None:
    """The server's answer to this command, or None when no server holds ``db``."""
    from threadline.handoff import HandoffError, send

    ctx = click.get_current_context()
    names = []
    at: click.Context | None = ctx
    while at is not None and at.parent is not None:
        names.append(at.info_name or "")
        at = at.parent
    payload = {
        "command": names[::-1],
        "params": {name: _portable(name, value) for name, value in params.items()},
        "color": ctx.color if ctx.color is not None else sys.stdout.isatty(),
    }
    if secret is not None:
        payload["secret"] = secret
    try:
        return send(db, payload)
    except HandoffError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


def _resolve_command(names: Sequence[str]) -> click.Command:
    command: click.Command = cli
    for name in names:
        sub = command.commands.get(name) if isinstance(command, click.Group) else None
        if sub is None:
            raise CommandRefused(f"no command {' '.join(names)}")
        command = sub
    return command


def served_told(names: Sequence[str]) -> bool:
    """Whether the write ``names`` tells what each of its changes touches (`_through_server`)."""
    return bool(getattr(_resolve_command(names).callback, "told", False))


def served_kind(names: Sequence[str]) -> str:
    """'read' or 'write': how a server runs the command ``names`` (CommandRefused: it does not)."""
    kind = getattr(_resolve_command(names).callback, "served", None)
    if kind is None:
        raise CommandRefused(f"{' '.join(names)} does not run through a server")
    return str(kind)


def run_served(
    names: Sequence[str],
    params: dict[str, Any],
    color: bool | None,
    *,
    store: Store,
    audit: Callable[[str, str | None, dict[str, Any]], None],
    secret: str | None = None,
) -> Answer:
    """Run the command ``names`` with ``params`` (as `_hand_over` sent them) on ``store``, inside a
    server (after `threadline._capture.install`): what it printed and its exit status. ``secret``:
    what the command read where it was typed (`handoff.SECRET`)."""
    from threadline._capture import capture
    from threadline.handoff import SECRET, Answer

    command = _resolve_command(names)
    assert command.callback is not None
    code = 0
    with capture() as (out, err), click.Context(command, info_name=names[-1], color=color) as ctx:
        try:
            values = {
                p.name: None if params.get(p.name) is None else p.type_cast_value(ctx, params[p.name])
                for p in command.params
                if p.name is not None and p.name in params
            }
            token = _SERVED.set(Served(store, cast(Path, values["db"]), audit))
            said = SECRET.set(secret)
            try:
                _one_line_errors(lambda: ctx.invoke(command.callback, **values))  # type: ignore[arg-type]
            finally:
                SECRET.reset(said)
                _SERVED.reset(token)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return Answer(out.getvalue(), err.getvalue(), code)


@contextmanager
def _open(db: Path, *, read_only: bool = False) -> Iterator[Store]:
    """The store --db: the running server's when the server runs this command, else the file."""
    served = _SERVED.get()
    if served is not None:
        yield served.store  # the server's connection: not ours to close
        return
    from threadline.store import Store

    with Store.open(db, read_only=read_only) as store:
        yield store


def _audit(action: str, object: str | None = None, **detail: Any) -> None:
    """Through a running server, the audit entry of what this command did (the OS user is the
    actor, origin 'cli'). On the file alone there is no server's audit to keep."""
    served = _SERVED.get()
    if served is not None:
        served.audit(action, object, {k: v for k, v in detail.items() if v is not None})


def _region(value: str | None, option: str = "--region") -> str | None:
    """``value`` as a region phone numbers know (upper case), None if not given; one line and
    exit if it is none."""
    from threadline.extract.regions import checked_region

    if value is None:
        return None
    try:
        return checked_region(value, what=option)
    except ValueError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


def _checked(get: Callable[[], str]) -> str:
    """``get()`` (a setting read from the environment), or its ValueError as one line and exit."""
    try:
        return get()
    except ValueError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


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
@click.option(
    "--popular-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of independents who copy one of a few popular ad texts (each keeps her own number, "
    "photos, name and city).",
)
@click.option(
    "--touring-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of independents who tour several cities.",
)
@click.option(
    "--plain-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of controlled operations that write no indicator phrase.",
)
def synth(
    out_dir: Path,
    n_ads: int,
    seed: int,
    images: bool,
    malformed: int,
    popular_share: float,
    touring_share: float,
    plain_share: float,
) -> None:
    """Make a synthetic corpus with ground truth in OUT_DIR (fictional numbers, generated images).

    Writes ads.jsonl (the input contract), images/, truth.jsonl (true phones, person, network and
    kind of every ad) and truth_meta.json. `run --input OUT_DIR` reads the ads and skips the
    ground truth (with a warning); `ingest` takes OUT_DIR/ads.jsonl, the path printed on stdout.
    The three shares make harder corpora; at 0 (the default) a seed gives the corpus it always did.
    """
    from threadline.synth import generate

    summary = generate(
        out_dir,
        n_ads,
        seed,
        images=images,
        malformed=malformed,
        popular_share=popular_share,
        touring_share=touring_share,
        plain_share=plain_share,
    )
    networks = ", ".join(f"{n:,} {kind}" for kind, n in sorted(summary.networks.items()))
    click.echo(
        f"synth: {summary.ads:,} ads ({summary.versions:,} edited versions, "
        f"{summary.malformed:,} malformed), {summary.persons:,} persons, {summary.phones:,} phones, "
        f"{summary.images:,} images; networks: {networks}"
        + (
            f"; {summary.copiers:,} copiers of popular texts, {summary.touring:,} touring, "
            f"{summary.plain_operations:,} operations without indicators"
            if popular_share or touring_share or plain_share
            else ""
        ),
        err=True,
    )
    click.echo(str(out_dir / "ads.jsonl"))


_ANALYST = click.option("--analyst", required=True, help="Who decides (kept with the decision).")
_NOTE = click.option("--note", default=None, help="Why (kept with the decision).")
_OUTPUT = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same inode when both exist (so also through
    symbolic and hard links), else the same path once resolved."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


@contextmanager
def _replacing(target: Path, old: os.stat_result | None) -> Iterator[IO[str]]:
    """A new file beside ``target``, renamed over it if the block ends without an exception,
    removed otherwise: the old file stays until the new one is whole."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask
    try:
        with open(fd, "w", encoding="utf-8") as out:
            if old is not None:
                os.chmod(temp, stat.S_IMODE(old.st_mode))
            yield out
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _writer(stack: ExitStack, output: Path | None, *, reads: Sequence[Path]) -> IO[str]:
    """Where a command writes its JSON lines: stdout, or the file ``output``, written whole when
    ``stack`` closes without an exception (on a failure the old file stays).

    ``reads``: the command's input files and stores. An output that is one of them (by any
    spelling or link) is refused: writing it would destroy what the command reads."""
    if output is None:
        return sys.stdout
    served = _SERVED.get()
    if served is not None:
        reads = [*reads, served.store.path]  # --db as typed may be relative to another folder
    for path in reads:
        if _same_file(output, path):
            _fail(f"{output}: the output is {path}, which this command reads")
    target = Path(os.path.realpath(output))  # a link to the output: replace what it points at
    try:
        old: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old = None
    if old is not None and stat.S_ISDIR(old.st_mode):
        _fail(f"{output}: a folder, not a file")
    if old is not None and not stat.S_ISREG(old.st_mode):
        # A device or a FIFO (-o /dev/null): written as it is, never replaced by a file.
        return stack.enter_context(open(target, "w", encoding="utf-8"))
    return stack.enter_context(_replacing(target, old))


@cli.command()
@click.argument("ads", type=_INPUT)
@_OUTPUT
@click.option(
    "--region",
    default=None,
    help="Phone region when an ad's location names no country (default: $THREADLINE_REGION, else US).",
)
@click.option("--images/--no-images", default=True, show_default=True, help="Hash the ads' image files.")
@click.option("--evidence/--no-evidence", default=True, show_default=True, help="Add spans and details.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def extract(
    ads: Path, output: Path | None, region: str | None, images: bool, evidence: bool, quiet: bool
) -> None:
    """Extract identifiers from ADS (JSON Lines or CSV) without a store, one JSON line per ad.

    Each line has id, phones (E.164), emails, handles, names, ages, prices (per hour), rates (each
    price as stated: min, max, minutes, currency), places and image_hashes; with --evidence also
    the span of text each value was read from. Malformed records are reported on stderr with their
    line and reason.
    """
    from threadline.extract import contract_record, extract_ad
    from threadline.extract.regions import installation_region
    from threadline.ingest import read_ads

    _readable(ads)
    region = _region(region) or _checked(installation_region)
    progress = Progress("extract", quiet=quiet)
    written = bad = 0
    with ExitStack() as stack:
        out = _writer(stack, output, reads=[ads])
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
    if not written:
        _fail(f"{ads}: no valid record ({bad:,} malformed)")


@cli.command()
@click.argument("ads", type=_INPUT)
@click.option("--db", "db", type=_STORE, required=True, help="Store file (created if missing).")
@click.option(
    "--workers", type=click.IntRange(1), default=None, help="Extraction processes (default: cores)."
)
# Records stored per transaction. Each batch also scans the whole store (the versions known of
# its ads, twice; the words index; the commit): at a million ads some 0.7 s of the main process,
# the bottleneck, per batch whatever its size. Adding 10,000 ads to a million took 13.5 s of its
# CPU in batches of 1,000 and 7.5 s in batches of 5,000. Memory stays bounded by
# `pipeline.MAX_BATCH_BYTES` too, and a killed run still loses at most the batches in flight.
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=5000,
    show_default=True,
    help="Records stored per transaction.",
)
@click.option("--source", default=None, help="Source of records that name none (default: the file's name).")
@click.option(
    "--region",
    default=None,
    help="Phone region of this run's sources that have none set (kept for them; see `source set`).",
)
@click.option("--link/--no-link", "do_link", default=True, show_default=True, help="Link after storing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_through_server("write", told=True)
def ingest(
    ads: Path,
    db: Path,
    workers: int | None,
    batch_size: int,
    source: str | None,
    region: str | None,
    do_link: bool,
    quiet: bool,
) -> None:
    """Validate, extract, store and link ADS (JSON Lines or CSV) into the store --db.

    Incremental: a record whose content is its ad's latest is seen again; changed content for the
    same (source, id) becomes a new version (a return to earlier content too). Malformed records
    go to quarantine with their line and reason. Exits non-zero when no record could be stored
    or was seen again.

    A phone number written without a country code is read in the country of the ad's location,
    else in its source's home region (`source set`), else in --region (which becomes the home
    region of each source of the file that has none), else in $THREADLINE_REGION, else US.
    """
    from threadline.extract.regions import installation_region
    from threadline.ingest import ingest_file
    from threadline.service._common import os_actor

    _readable(ads)
    if source is not None and not source.strip():
        _fail("--source is empty")
    region = _region(region)
    _checked(installation_region)
    progress = Progress("ingest", quiet=quiet)
    with _open(db) as store:
        report = ingest_file(
            ads,
            store,
            workers=workers,
            batch_size=batch_size,
            progress=progress,
            source=source,
            region=region,
            region_by=f"{os_actor().name} (ingest --region)",
        )
        progress.close()
        click.echo(
            f"ingest: {report.line()} "
            f"({report.seconds:,.1f}s, {report.read / max(report.seconds, 1e-9):,.0f} records/s)"
        )
        for warning in report.warnings:
            click.echo(f"threadline: warning: {warning}", err=True)
        _audit("ingest", str(ads), records=report.line(), region=region)
        if not report.accepted:
            _fail(f"{ads}: no record could be stored ({report.line()})")
        if do_link:
            _link_and_score(store.connection)


def _link_and_score(con: duckdb.DuckDBPyConnection, params: Any = None, *, full: bool = False) -> None:
    """Link (incremental unless ``full``) and score again, printing what each did."""
    from threadline.link import link
    from threadline.score.scorer import score_store

    _echo_link(link(con, params, full=full))
    report = score_store(con, inputs_built=True, changed="_changed_networks")
    click.echo(
        f"score: {report.ads:,} ads and {report.networks:,} networks; {report.rescored:,} ads scored "
        f"({report.model} weights, {report.seconds:,.1f}s)"
    )


def _echo_link(report: Any) -> None:
    click.echo(
        f"link: {report.ads:,} ads in {report.networks:,} networks and {report.persons:,} persons; "
        f"{report.hubs:,} hubs not trusted; {report.relinked:,} ads clustered ({report.seconds:,.1f}s)"
    )


@cli.command("link")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--hub-co-phones", type=click.IntRange(2), default=None, help="Phones that make a hub.")
@click.option("--full", is_flag=True, help="Cluster every ad again, not only what changed.")
@_through_server("write", told=True)
def link_command(db: Path, hub_co_phones: int | None, full: bool) -> None:
    """Link the ads of the store into persons and networks (incremental unless --full)."""
    from threadline.link import LinkParams

    _readable(db)
    params = LinkParams() if hub_co_phones is None else LinkParams(hub_co_phones=hub_co_phones)
    with _open(db) as store:
        _audit("link", None, full=full)
        _link_and_score(store.connection, params, full=full)


@cli.group()
def source() -> None:
    """Sources' home regions: how numbers without a country code in their ads are read."""


@source.command("set")
@click.argument("name")
@click.option("--region", required=True, help="Home region of the source (an ISO code: GB, DE, US, ...).")
@click.option("--db", "db", type=_STORE, required=True, help="Store file (created if missing).")
@_through_server("write")
def source_set(name: str, region: str, db: Path) -> None:
    """Make --region the home region of source NAME: a phone number written without a country
    code in an ad of NAME whose location names no country is read there, by every later ingest
    and run (ads stored before keep what was read then)."""
    from threadline.service._common import os_actor

    if not name.strip():
        _fail("the source's name is empty")
    checked = _region(region)
    assert checked is not None
    with _open(db) as store:
        before = store.set_source_region(name, checked, by=os_actor().name)
        _audit("set source region", name, region=checked, was=None if before is None else before.region)
    was = "" if before is None or before.region == checked else f" (was {before.region})"
    click.echo(f"source {name}: home region {checked}{was}")


@source.command("list")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def source_list(db: Path) -> None:
    """Each source with a home region: SOURCE REGION SET_AT SET_BY, one a line, by source."""
    _readable(db)
    with _open(db, read_only=True) as store:
        settings = store.source_settings()
    if not settings:
        click.echo(f"no source has a home region in {db}", err=True)
    for setting in settings:
        at = setting.set_at.isoformat(sep=" ", timespec="seconds")
        click.echo(f"{setting.source}\t{setting.region}\t{at}\t{setting.set_by}")


@cli.group()
def case() -> None:
    """Cases: named bodies of work holding networks and single ads, with notes (the workspace's
    Cases pages; the same through a running server)."""


def _case_number(ref: str) -> int:
    from threadline.refs import BadRef, parse_ref

    try:
        return parse_ref(ref, kinds=("case",))[1]
    except BadRef as exc:
        _fail(str(exc))
        raise AssertionError from exc  # not reached


def _members(refs: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
    """Networks (N…) and ads (SOURCE:ID) among ``refs``; one line and exit for anything else."""
    networks: list[str] = []
    ads: list[tuple[str, str]] = []
    for ref in refs:
        if re.fullmatch(r"[Nn][0-9]+", ref):
            networks.append(ref.upper())
        elif ":" in ref and all(ref.split(":", 1)):
            source, ad_id = ref.split(":", 1)
            ads.append((source, ad_id))
        else:
            _fail(f"{ref}: not a network (N…) or an ad (SOURCE:ID)")
    return networks, ads


@case.command("new")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_through_server("write")
def case_new(name: str, tags: tuple[str, ...], db: Path, analyst: str) -> None:
    """Make an open case named NAME; prints its id (C…). --analyst is assigned to it."""
    from threadline.link.cases import create_case

    _readable(db)
    with _open(db) as store:
        try:
            number = create_case(store.connection, name, analyst=analyst, tags=list(tags))
        except ValueError as exc:
            _fail(str(exc))
        _audit("create case", f"C{number}", name=name, tags=list(tags), analyst=analyst)
    click.echo(f"C{number}")


@case.command("list")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--status", type=click.Choice(["open", "closed"]), default=None, help="Only these.")
@_through_server("read")
def case_list(db: Path, status: str | None) -> None:
    """Every case, newest first: ID STATUS ADS NETWORKS NAME, tab-separated, one a line."""
    from threadline import read

    _readable(db)
    with _open(db, read_only=True) as store:
        _audit("read cases", None, status=status)
        for c in read.cases(store.connection, status=status):
            click.echo(f"{c.ref}\t{c.status}\t{c.ads}\t{c.networks}\t{c.name}")


@case.command("show")
@click.argument("ref")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def case_show(ref: str, db: Path) -> None:
    """One case as JSON: its members, notices, notes, every ad in it and its alerts."""
    from dataclasses import asdict

    from threadline import read

    number = _case_number(ref)
    _readable(db)
    with _open(db, read_only=True) as store:
        view = read.case(store.connection, number)
        if view is None:
            _fail(f"no case C{number} in {db}")
        assert view is not None
        _audit("read case", f"C{number}")
        out = {**asdict(view), "ref": view.case.ref}
        out["ads"] = [{**asdict(a), "ref": a.ref} for a in read.case_ads(store.connection, number)]
        # Its alerts, as its page shows them (read or not: by the OS user, as the audit names it).
        from threadline import watch
        from threadline.service._common import os_actor

        found, total, unread = watch.case_alerts(store.connection, number, os_actor().name)
        out["alerts"] = {
            "items": [
                {**asdict(c.alert), "ref": c.alert.ref, "by_entry": c.by_entry, "by_ad": c.by_ad}
                for c in found
            ],
            "total": total,
            "unread": unread,
        }
    click.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))


@case.command("add")
@click.argument("ref")
@click.argument("members", nargs=-1, required=True)
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_through_server("write")
def case_add(ref: str, members: tuple[str, ...], db: Path, analyst: str) -> None:
    """Add MEMBERS to case REF: networks (N…: their ads now, and their new ads on later link
    runs) and single ads (SOURCE:ID)."""
    _case_members_act(ref, members, db, analyst, adding=True)


@case.command("remove")
@click.argument("ref")
@click.argument("members", nargs=-1, required=True)
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_through_server("write")
def case_remove(ref: str, members: tuple[str, ...], db: Path, analyst: str) -> None:
    """Take MEMBERS out of case REF: networks (the ads they hold now; no longer followed) and
    single ads (SOURCE:ID). They stay on record as removed."""
    _case_members_act(ref, members, db, analyst, adding=False)


def _case_members_act(ref: str, members: tuple[str, ...], db: Path, analyst: str, *, adding: bool) -> None:
    """`case add` and `case remove`: every member or none, in one transaction, audited."""
    from threadline.link import cases
    from threadline.store._tx import transaction

    by_network, by_ads = (
        (cases.add_network, cases.add_ads) if adding else (cases.remove_network, cases.remove_ads)
    )
    number = _case_number(ref)
    networks, ads = _members(members)
    _readable(db)
    with _open(db) as store:
        con = store.connection
        try:
            with transaction(con):  # all the members or none
                done = {n: by_network(con, number, n, analyst=analyst) for n in networks}
                if ads:
                    done["ads"] = by_ads(con, number, ads, analyst=analyst)
        except (LookupError, ValueError) as exc:
            _fail(f"{exc} in {db}")
        action = "add to case" if adding else "remove from case"
        _audit(action, f"C{number}", members=list(members), analyst=analyst)
    for what, n in done.items():
        click.echo(f"C{number}: {what}: {n} ad{'' if n == 1 else 's'} {'added' if adding else 'removed'}")


@case.command("note")
@click.argument("ref")
@click.argument("text")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_through_server("write")
def case_note(ref: str, text: str, db: Path, analyst: str) -> None:
    """Add a note (markdown) to case REF."""
    from threadline.link.cases import note

    number = _case_number(ref)
    _readable(db)
    with _open(db) as store:
        try:
            note_id = note(store.connection, number, text, analyst=analyst)
        except (LookupError, ValueError) as exc:
            _fail(f"{exc} in {db}")
        _audit("case note", f"C{number}", body=text, analyst=analyst)
    click.echo(f"C{number}: note {note_id} added")


@cli.group()
def export() -> None:
    """Write results as JSON Lines (docs/DESIGN.md section 3)."""


@export.command("networks")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_OUTPUT
@_through_server("read")
def export_networks(db: Path, output: Path | None) -> None:
    """One line per ad: {"id", "source", "network", "person"}."""
    from threadline import read

    _readable(db)
    with _open(db, read_only=True) as store, ExitStack() as stack:
        out = _writer(stack, output, reads=[db])
        _audit("export", "networks", output=None if output is None else str(output))
        if not read.is_linked(store.connection):
            _fail(f"{db}: not linked yet (run: threadline link --db {db})")
        for ad_id, source, network, person in read.ad_links(store.connection):
            line = {"id": ad_id, "source": source, "network": network, "person": person}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


@export.command("scores")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_OUTPUT
@_through_server("read")
def export_scores(db: Path, output: Path | None) -> None:
    """One line per ad, highest priority first: {"id", "score", "reasons", "network", ...}."""
    from threadline import read
    from threadline.score.scorer import iter_ad_scores

    _readable(db)
    with _open(db, read_only=True) as store, ExitStack() as stack:
        _audit("export", "scores", output=None if output is None else str(output))
        if not read.is_scored(store.connection):
            _fail(f"{db}: not scored yet (run: threadline score --db {db})")
        out = _writer(stack, output, reads=[db])
        for record in iter_ad_scores(store.connection):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


@cli.command("score")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--rematch", is_flag=True, help="Find the lexicon's phrases again in every stored ad first.")
@_through_server("write")
def score_command(db: Path, rematch: bool) -> None:
    """Score every ad and network again (ingest already does), e.g. after editing the lexicon's
    or the weights' file (THREADLINE_LEXICON, THREADLINE_WEIGHTS). A changed weight needs only
    this; new or changed phrases need --rematch."""
    from threadline import read
    from threadline.score.scorer import score_store

    _readable(db)
    with _open(db) as store:
        if not read.is_linked(store.connection):
            _fail(f"{db}: not linked yet (run: threadline link --db {db})")
        if rematch:
            from threadline.score.rematch import rematch as find_again

            click.echo(f"rematch: {find_again(store.connection):,} ads read again")
        _audit("score", None, rematch=rematch)
        report = score_store(store.connection)
    click.echo(
        f"score: {report.ads:,} ads and {report.networks:,} networks "
        f"({report.model} weights, {report.seconds:,.1f}s)"
    )


@cli.command()
@click.argument("network")
@click.argument("label", type=click.Choice(["trafficking", "independent", "unsure"]))
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_NOTE
@_through_server("write")
def label(network: str, label: str, db: Path, analyst: str, note: str | None) -> None:
    """Label NETWORK for learning (`fit`): trafficking, independent or unsure."""
    from threadline.score.learn import label_network

    _readable(db)
    with _open(db) as store:
        try:
            label_id = label_network(store.connection, network, label, analyst=analyst, note=note)
        except LookupError as exc:
            _fail(f"{exc} in {db}")
        _audit("label", f"L{label_id}", network=network, label=label, analyst=analyst, note=note)
    click.echo(f"L{label_id} recorded: {network} {label} (counts from the next `threadline fit`)")


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True)
@_through_server("write")
def fit(db: Path, analyst: str, folds: int) -> None:
    """Fit score weights on the labelled networks; used only if they beat the priors, then rescore."""
    from threadline.score.learn import NotEnoughLabels
    from threadline.score.learn import fit as fit_weights
    from threadline.score.scorer import score_store

    _readable(db)
    with _open(db) as store:
        try:
            report = fit_weights(store.connection, analyst=analyst, folds=folds)
        except NotEnoughLabels as exc:
            _fail(str(exc))
        _audit("fit", str(report.model_id), analyst=analyst, adopted=report.adopted)
        verdict = "adopted" if report.adopted else "not adopted: the prior weights stay"
        click.echo(
            f"model {report.model_id}: {report.labels} labelled networks ({report.positives} trafficking); "
            f"cross-validated average precision {report.model_ap:.3f} against the priors' "
            f"{report.prior_ap:.3f}: {verdict}"
        )
        for feature, weight in sorted(report.coefficients.items(), key=lambda kv: -kv[1]):
            click.echo(f"  {feature:<32} {weight:8.3f}")
        scored = score_store(store.connection)
        click.echo(f"score: {scored.ads:,} ads and {scored.networks:,} networks ({scored.model} weights)")


@cli.command()
@click.argument("network")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Rows per section.")
@_through_server("read")
def explain(network: str, db: Path, limit: int) -> None:
    """Print the evidence tree of NETWORK: its score from the starting bias up, its persons and
    ads (latest first), and what links them."""
    from threadline.link.lineage import resolve
    from threadline.link.text import text_hub_examples
    from threadline.read import networks as q

    _readable(db)
    with _open(db, read_only=True) as store:
        con = store.connection
        network, lineage = resolve(con, "network", network.upper())
        _audit("read network", network)
        for change in lineage:
            cause = f" (decision D{change.decision_id})" if change.decision_id else ""
            what = "split from" if change.relation == "split" else "merged into"
            subject, other = (
                (change.new_id, change.old_id)
                if change.relation == "split"
                else (change.old_id, change.new_id)
            )
            # A part split from a labelled network does not carry the label: say so, for review.
            labelled = q.network_labels(con, other) if change.relation == "split" else []
            label = f" (labelled {', '.join(labelled)}: review this part)" if labelled else ""
            click.echo(f"{subject} {what} {other}{label} on {change.at:%Y-%m-%d %H:%M}{cause}")
        persons = q.network_persons(con, network)
        if not persons:
            _fail(f"no network {network} in {db}")
        total = sum(n for _, n, _ in persons)
        click.echo(f"network {network}: {total:,} ads, {len(persons):,} persons")
        _explain_score(q.network_score(con, network), limit)
        click.echo("  persons (self-stated names):")
        for person, n, names in persons[:limit]:
            click.echo(f"    {person}  {n:>6,} ads  {_clean(', '.join(names)) or '-'}")
        if len(persons) > limit:
            click.echo(f"    ... {len(persons) - limit:,} more")
        ads, n_ads = q.network_ads(con, network, limit)
        click.echo("  ads (latest first; `threadline ad SOURCE:ID` shows one):")
        _ad_lines(ads, n_ads, limit, person=True)
        evidence = q.network_evidence(con, network)
        weak = [e for e in evidence if e[0].startswith("corroboration")]
        weak_phones = [e for e in evidence if e[0] == "weak_phone"]
        links = [e for e in evidence if not e[0].startswith("corroboration") and e[0] != "weak_phone"]
        click.echo("  linked by (each shared by these ads of the network):")
        _evidence_lines(links, limit)
        if weak_phones:
            click.echo(
                "  phones beside unrelated numbers (weak links: they join only where other evidence agrees):"
            )
            _evidence_lines([("phone", *e[1:]) for e in weak_phones], limit)
        if weak:
            click.echo(
                "  corroborated by name, age, city and time (shown; they link only an ad that shows"
                " nothing else, `corroborated` above):"
            )
            _evidence_lines(weak, limit)
        hubs = q.network_hubs(con, network)
        if hubs:
            texts = text_hub_examples(con, [h[1] for h in hubs if h[0] == "text"])
            click.echo(
                "  hubs in these ads, not used for linking (a text hub, or a photo beside more"
                " numbers than one owner's, only with other evidence):"
            )
            for kind, value, n, co, by in hubs[:limit]:
                # a text or an image is beside numbers, not other numbers: it has none of its own
                other = "" if kind in ("text", "image") else "other "
                why = f"marked by {by}" if by else f"seen with {co:,} {other}phones in {n:,} ads"
                click.echo(f"    {kind:<14} {_clean(value):<40} {why}")
                if kind == "text":
                    click.echo(f"    {'':<14} {_clean(texts.get(value, ''))}")


_AD_SIGN_NOTE = (
    "an ad's sign weighs differently here than in the ad: in the ad it counts once, in full; for "
    "the network (`in the network's ads`) it counts at its strongest in the network's ads times "
    "min(ads showing it, 3) / 3 (a stated age under 18: in full from one ad){model}. An ad's own "
    "score is the ad bias plus its own signs plus this network's structure and movement."
)


def _explain_score(scored: Any, limit: int) -> None:
    """The network's score as a sum: the starting bias, its contributions, and the logit."""
    from threadline.extract.lexicon import default_lexicon
    from threadline.score.scorer import NOTE, reasons
    from threadline.score.weights import load_weights

    if scored is None:
        return
    click.echo(
        f"  priority {scored.score:.3f} = logistic(logit {scored.logit:+.3f}) "
        f"({scored.model} weights; {NOTE}):"
    )
    if scored.bias is None:
        click.echo(f"    {'?':>7}  starting point: {scored.model} is no longer in the store")
    else:
        click.echo(f"    {scored.bias:+7.3f}  starting point (the {scored.model} weights' network bias)")
    listed = reasons(list(scored.parts), load_weights(), default_lexicon())
    for reason in listed[:limit]:
        click.echo(f"    {reason['contribution']:+7.3f}  {_clean(reason['reason'])}")
    rest = sum(p[4] for p in sorted(scored.parts, key=lambda p: (-p[4], p[1]))[limit:])
    if len(listed) > limit:
        click.echo(f"    {rest:+7.3f}  {len(listed) - limit:,} more reasons")
    if not scored.parts:
        click.echo("             no sign found")
    total = (scored.bias or 0.0) + sum(p[4] for p in scored.parts)
    click.echo(f"    {total:+7.3f}  = logit (bias + contributions)")
    if scored.bias is not None and abs(total - scored.logit) > 1e-6:
        click.echo(
            f"    the stored logit is {scored.logit:+.3f}: the weights changed since scoring "
            "(run: threadline score)"
        )
    if any(p[1].startswith("ads:") for p in scored.parts):
        fitted = "" if scored.model == "prior" else ", times the fitted model's weight for it"
        note = _AD_SIGN_NOTE.format(model=fitted)
        click.echo(textwrap.fill(note, 100, initial_indent="  ", subsequent_indent="  "))


def _evidence_lines(rows: list[tuple[Any, ...]], limit: int) -> None:
    for kind, value, n, detail in rows[:limit]:
        line = f"    {kind:<14} {value:<40} {n:>6,} ads" + (f"  ({detail})" if detail else "")
        click.echo(_clean(line))
    if len(rows) > limit:
        click.echo(f"    ... {len(rows) - limit:,} more")


# Ad text is hostile: it must not drive the terminal. Escape sequences go whole, then every other
# control or format character (bidirectional overrides too), except the zero-width joiner of emoji.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)")


def _clean(text: str, *, newlines: bool = False) -> str:
    """``text`` without escape sequences or control characters (tabs become spaces; line breaks
    stay only with ``newlines``)."""
    text = _ESCAPE.sub("", text)
    out = []
    for c in text:
        if c == "\n" and newlines:
            out.append(c)
        elif c in "\t\n\r\v\f\x85\u2028\u2029":
            out.append(" ")
        elif c == "\u200d" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(c)
    return "".join(out)


def _when(at: Any) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else "no date"


def _ad_lines(ads: Sequence[Any], total: int, limit: int, *, person: bool = False) -> None:
    for ad in ads:
        who = f"  {ad.person}" if person else f"  {ad.network or '-'} {ad.person or ''}".rstrip()
        click.echo(
            _clean(
                f"    {ad.ref:<24} {_when(ad.date):<16}  {ad.place or '-':<28}{who}  {ad.url or ''}"
            ).rstrip()
        )
    if total > len(ads):
        click.echo(f"    ... {total - len(ads):,} more")
    if not ads:
        click.echo("    none")


def _priority(score: float | None, logit: float | None) -> str:
    if score is None or logit is None:
        return "not scored"
    return f"priority {score:.3f} (logit {logit:+.2f})"


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True, help="Networks to list.")
@click.option("--label", default=None, help="Only networks an analyst labelled so (not revoked).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Only networks with an ad dated on or after DATE (UTC).",
)
@click.option("--reasons", "n_reasons", type=click.IntRange(0), default=3, show_default=True)
@click.option(
    "--sort",
    type=click.Choice(["priority", "latest", "size"]),
    default="priority",
    show_default=True,
    help="priority (ties: latest ad, then size), latest (last ad's date) or size (ads).",
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip the first N networks (paging).")
@click.option("--place", default=None, help="Only networks with an ad in a place whose name starts so.")
@click.option("--source", default=None, help="Only networks with an ad from this source.")
@click.option(
    "--min-score", type=click.FloatRange(0, 1), default=None, help="Only priorities of at least this."
)
@click.option(
    "--max-score", type=click.FloatRange(0, 1), default=None, help="Only priorities of at most this."
)
@click.option(
    "--hubs/--no-hubs",
    "has_hub",
    default=None,
    help="Only networks whose ads carry a hub value (--hubs), or carry none (--no-hubs).",
)
@click.option(
    "--new-since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Only networks with an ad stored (new, or a new version) at or after TIME (UTC).",
)
@click.option(
    "--removed-since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Only networks with an ad a crawler reported taken down at or after TIME (UTC).",
)
@_through_server("read")
def networks(
    db: Path,
    top: int,
    label: str | None,
    since: Any,
    n_reasons: int,
    sort: str,
    offset: int,
    place: str | None,
    source: str | None,
    min_score: float | None,
    max_score: float | None,
    has_hub: bool | None,
    new_since: Any,
    removed_since: Any,
) -> None:
    """List networks by priority for review, highest first (ties: latest ad, then most ads), each
    with its logit, size, last date and place, and its top reasons. The options filter and sort
    the list as the workspace's triage queue does."""
    from threadline import read
    from threadline.score.scorer import NOTE

    _readable(db)
    with _open(db, read_only=True) as store:
        _audit("read queue", None, sort=sort, offset=offset)
        if not read.is_scored(store.connection):
            _fail(f"{db}: not scored yet (run: threadline score --db {db})")
        rows = read.queue(
            store.connection,
            limit=top,
            offset=offset,
            sort=sort,  # type: ignore[arg-type]
            label=label,
            date_from=since,
            place=place,
            source=source,
            min_score=min_score,
            max_score=max_score,
            has_hub=has_hub,
            new_since=new_since,
            removed_since=removed_since,
            reasons=n_reasons,
        ).items
    if not rows:
        click.echo("no networks")
        return
    click.echo(f"networks by {'priority' if sort == 'priority' else sort} ({NOTE}):")
    for rank, row in enumerate(rows, offset + 1):
        labels = f"  [{', '.join(row.labels)}]" if row.labels else ""
        click.echo(
            _clean(
                f"{rank:>4}. {row.network}  {_priority(row.score, row.logit)}  {row.ads:,} ads, "
                f"{row.persons:,} persons  last {_when(row.last_date)} {row.last_place or '-'}{labels}"
            )
        )
        for reason in row.reasons:
            click.echo(f"        {reason.contribution:+.2f}  {_clean(reason.text)}")


@cli.command()
@click.argument("value")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Ads to list.")
@click.option("--region", default="US", show_default=True, help="Phone region of a number without +.")
@_through_server("read")
def find(value: str, db: Path, limit: int, region: str) -> None:
    """Look up VALUE: a phone (any format), e-mail, handle, name, ad id (SOURCE:ID) or network or
    person id (N…, P…); print the networks and ads it touches."""
    from threadline import read

    _readable(db)
    if not value.strip():
        _fail("VALUE is empty")
    with _open(db, read_only=True) as store:
        found = read.find(store.connection, value, limit=limit, region=region.upper())
        _audit("search", value.strip()[:200])
    if not found.total_ads:
        _fail(f"nothing found for {_clean(value)!r} in {db}")
    what = "; ".join(f"{kind} {v}" for kind, v in found.matched)
    click.echo(
        _clean(
            f"{value.strip()}: {what}: {found.total_ads:,} ads, {found.total_networks:,} networks, "
            f"{found.total_persons:,} persons"
        )
    )
    click.echo("  networks (highest priority first):")
    for hit in found.networks:
        click.echo(
            f"    {hit.network}  {_priority(hit.score, hit.logit)}  {hit.matched:,} of {hit.ads:,} ads"
        )
    click.echo("  ads (latest first):")
    _ad_lines(found.ads, found.total_ads, limit)


def _marked(text: str, spans: Sequence[tuple[int, int, str]], colour: bool) -> str:
    """``text`` cleaned, with the spans marked: styled on a terminal, ``[[...]]`` otherwise.
    Overlapping spans are marked as one (red if an indicator is among them)."""
    merged: list[list[Any]] = []
    for start, end, kind in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].add(kind)
        else:
            merged.append([start, end, {kind}])
    out, pos = [], 0
    for start, end, kinds in merged:
        out.append(_clean(text[pos:start], newlines=True))
        inner = _clean(text[start:end])
        if not colour:
            out.append(f"[[{inner}]]")
        elif "indicator" in kinds:
            out.append(click.style(inner, fg="red", bold=True))
        elif kinds & {"phone", "email", "handle"}:
            out.append(click.style(inner, fg="cyan", bold=True))
        else:
            out.append(click.style(inner, fg="yellow"))
        pos = end
    out.append(_clean(text[pos:], newlines=True))
    return "".join(out)


@cli.command()
@click.argument("ad_ref", metavar="SOURCE:ID")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def ad(ad_ref: str, db: Path) -> None:
    """Show one ad: its text with extracted values and indicators marked ([[...]] when not on a
    terminal), URL, dates, place, image paths, network and person, and every version with what
    changed."""
    from threadline import read

    ((source, ad_id),) = _ad_refs((ad_ref,))
    _readable(db)
    with _open(db, read_only=True) as store:
        detail = read.ad_detail(store.connection, source, ad_id)
        _audit("read ad", f"{source}:{ad_id}")
    if detail is None:
        _fail(f"no ad {_clean(ad_ref)} in {db}")
    ctx = click.get_current_context()
    colour = ctx.color if ctx.color is not None else sys.stdout.isatty()
    _print_ad(detail, colour)


def _print_ad(detail: Any, colour: bool) -> None:
    from threadline.read import MARKED_KINDS, version_changes

    latest = detail.latest
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for e in detail.extracted:
        if e.kind in MARKED_KINDS and e.field is not None and e.start is not None and e.end is not None:
            spans.setdefault(e.field, []).append((e.start, e.end, e.kind))
    n = len(detail.versions)
    click.echo(_clean(f"ad {detail.source}:{detail.id}  version {latest.version} of {n}"))
    if detail.network:
        click.echo(
            f"  network {detail.network} ({_priority(detail.network_score, detail.network_logit)})  "
            f"person {detail.person}  ad {_priority(detail.ad_score, detail.ad_logit)}"
        )
    else:
        click.echo("  not linked yet")
    click.echo(_clean(f"  url:      {latest.url or '-'}"))
    click.echo(f"  posted:   {_when(latest.posted_at)}   captured: {_when(latest.captured_at)}")
    location = f" (location: {_marked(latest.location, spans.get('location', []), colour)})"
    click.echo(f"  place:    {_clean(detail.place or '-')}" + (location if latest.location else ""))
    click.echo(f"  images:   {len(latest.images) or 'none'}")
    for path, sha in latest.images:
        click.echo(_clean(f"    {path}  (sha256 {sha[:12]}…)"))
    click.echo(f"  title:    {_marked(latest.title, spans.get('title', []), colour)}")
    click.echo("  body:")
    body = _marked(latest.body, spans.get("body", []), colour)
    click.echo("\n".join("    " + line for line in body.split("\n")))
    for key, value in sorted(latest.fields.items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(f"  {_clean(key)}: {_marked(text, spans.get(f'fields.{key}', []), colour)}")
    click.echo("  extracted (marked above):")
    seen: set[tuple[str, str]] = set()
    for e in detail.extracted:
        if e.kind in ("image", "notice") or (e.kind, e.value) in seen:
            continue
        seen.add((e.kind, e.value))
        said = ""
        if e.kind == "indicator":
            info = json.loads(e.detail or "{}")
            said = f"  “{info.get('text', '')}” ({info.get('category', '')})"
        click.echo(_clean(f"    {e.kind:<10} {e.value}{said}"))
    click.echo(f"  versions ({n}):")
    previous = None
    for version in detail.versions:
        click.echo(
            _clean(
                f"    v{version.version}  ingested {_when(version.ingested_at)} from "
                f"{version.file}:{version.line}"
            )
        )
        if previous is not None:
            changes = version_changes(previous, version)
            for what, old, new in changes:
                said = f"“{old}” → “{new}”" if old and new else f"added “{new}”" if new else ""
                said = said or f"removed “{old}”"
                click.echo(_clean(f"      {what}: {said}"))
            if not changes:
                click.echo("      no visible change")
        previous = version


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@_through_server("read")
def hubs(db: Path, limit: int) -> None:
    """List the hubs: identifiers, images and texts shared by many unrelated posters, not used for
    linking (a text hub: two sentences that follow each other in the ads of many numbers; it joins
    ads only with something else that agrees)."""
    from threadline import read
    from threadline.link.text import text_hub_examples

    _readable(db)
    with _open(db, read_only=True) as store:
        _audit("read hubs", None)
        rows = read.hubs(store.connection, limit=limit)
        texts = text_hub_examples(store.connection, [h.value for h in rows if h.kind == "text"])
    for hub in rows:
        how = (
            f"marked by {hub.marked_by}" if hub.marked_by else f"weak: {hub.weak}" if hub.weak else "detected"
        )
        # a text or an image is beside numbers, not other numbers: it has none of its own
        beside = "phones      " if hub.kind in ("text", "image") else "other phones"
        click.echo(
            f"{hub.kind:<7} {hub.value:<66} {hub.ads:>7,} ads {hub.co_phones:>6,} {beside} "
            f"{hub.names:>4,} names  {how}"
        )
        if hub.kind == "text":
            click.echo(f"        {_clean(texts.get(hub.value, ''))}")
    if not rows:
        click.echo("no hubs")


@cli.command("mark-hub")
@click.argument("kind", type=click.Choice(["phone", "email", "handle", "image", "text"]))
@click.argument("value")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--analyst", required=True, help="Who decides (kept with the decision).")
@click.option("--not-hub", is_flag=True, help="The value is NOT a hub: trust it for linking.")
@click.option(
    "--clear", is_flag=True, help="Forget the analyst's mark (revokes its decision); the data decides again."
)
@click.option("--anyway", is_flag=True, help="Mark a value no ad of the store holds (yet).")
@click.option(
    "--region", default="US", show_default=True, help="How a phone number without a country code is read."
)
@click.option("--note", default=None, help="Why (kept with the decision).")
@_through_server("write")
def mark_hub(
    kind: str,
    value: str,
    db: Path,
    analyst: str,
    not_hub: bool,
    clear: bool,
    anyway: bool,
    region: str,
    note: str | None,
) -> None:
    """Mark VALUE as a hub (never used for linking) or as not a hub, then link again.

    VALUE is read as extraction reads it: a phone in any format (713-555-0142, +1 713 555 0142;
    a tenure as `hubs` lists it: +17135550142 from 2026-08-01), an e-mail address, a handle
    (instagram:name, a profile URL), an image's SHA-256, a text as `hubs` lists it (the hashes of
    its two sentences, "H1 H2"). A value the store never extracted is refused unless --anyway.
    Prints the decision as D…; `revoke D…` withdraws it.
    """
    from threadline import read
    from threadline.link.decisions import clear_hub_mark
    from threadline.link.decisions import mark_hub as record_mark

    value = _hub_value(kind, value, region)
    _readable(db)
    with _open(db) as store:
        con = store.connection
        if clear:
            decision_id = clear_hub_mark(con, kind, value, analyst=analyst, note=note)
            if decision_id is None:
                _fail(f"{kind} {value} has no analyst's mark in {db}")
            _audit("clear hub mark", f"D{decision_id}", kind=kind, value=value, analyst=analyst, note=note)
            click.echo(f"revoked D{decision_id}: {kind} {value} is left to the data")
        else:
            if not anyway and not read.hub_value_seen(con, kind, value):
                _fail(f"{kind} {value} is in no ad of {db} (--anyway marks it all the same)")
            decision_id = record_mark(con, kind, value, is_hub=not not_hub, analyst=analyst, note=note)
            action = "mark not hub" if not_hub else "mark hub"
            _audit(action, f"D{decision_id}", kind=kind, value=value, analyst=analyst, note=note)
            what = "not a hub: trusted for linking" if not_hub else "a hub: never used for linking"
            click.echo(f"D{decision_id} recorded: {kind} {value} is {what}")
        _link_and_score(con)


def _hub_value(kind: str, typed: str, region: str) -> str:
    """``typed`` as extraction stores a value of ``kind``; one line and exit if it is none."""
    from threadline.extract.typed import hub_value

    try:
        return hub_value(kind, typed, region)
    except ValueError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


def _ad_refs(refs: tuple[str, ...]) -> list[tuple[str, str]]:
    keys = []
    for ad in refs:
        source, sep, ad_id = ad.partition(":")
        if not sep or not source or not ad_id:
            _fail(f"{ad}: expected SOURCE:ID")
        keys.append((source, ad_id))
    return keys


def _decide(db: Path, action: str, record: Callable[[duckdb.DuckDBPyConnection], int], **detail: Any) -> None:
    """Record one analyst decision (``action``: merge, separate, split) and link again, in one go;
    print the decision's number."""

    _readable(db)
    with _open(db) as store:
        try:
            decision_id = record(store.connection)
        except (LookupError, ValueError) as exc:
            _fail(f"{exc} in {db}" if isinstance(exc, LookupError) else str(exc))
        _audit(action, f"D{decision_id}", **detail)
        click.echo(f"D{decision_id} recorded")
        _link_and_score(store.connection)


@cli.command()
@click.argument("ads", nargs=-1, required=True)
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_NOTE
@_through_server("write")
def merge(ads: tuple[str, ...], db: Path, analyst: str, note: str | None) -> None:
    """Record that ADS (two or more, SOURCE:ID) belong to one network, then link again."""
    from threadline.link.decisions import record_merge

    keys = _ad_refs(ads)
    _decide(
        db,
        "merge",
        lambda con: record_merge(con, *keys, analyst=analyst, note=note),
        ads=list(ads),
        analyst=analyst,
        note=note,
    )


@cli.command()
@click.argument("ad_a")
@click.argument("ad_b")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_NOTE
@_through_server("write")
def separate(ad_a: str, ad_b: str, db: Path, analyst: str, note: str | None) -> None:
    """Record that ads AD_A and AD_B (SOURCE:ID) are not linked, then link again.

    Every run keeps them in different networks by cutting the fewest links between them; `explain`
    shows what was cut.
    """
    from threadline.link.decisions import record_separation

    a, b = _ad_refs((ad_a, ad_b))
    _decide(
        db,
        "separate",
        lambda con: record_separation(con, [a], [b], analyst=analyst, note=note),
        a=[ad_a],
        b=[ad_b],
        analyst=analyst,
        note=note,
    )


@cli.command()
@click.argument("network")
@click.argument("ads", nargs=-1, required=True)
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@_NOTE
@_through_server("write")
def split(network: str, ads: tuple[str, ...], db: Path, analyst: str, note: str | None) -> None:
    """Split ADS (SOURCE:ID) out of NETWORK: kept apart from its other ads from now on, then link
    again (the split ads stay together only where their own links join them)."""
    from threadline.link.decisions import record_split

    keys = _ad_refs(ads)
    _decide(
        db,
        "split",
        lambda con: record_split(con, network, keys, analyst=analyst, note=note),
        network=network,
        ads=list(ads),
        analyst=analyst,
        note=note,
    )


@cli.command()
@click.argument("ref", metavar="REF")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_ANALYST
@click.option("--note", default=None, help="Why (kept with the withdrawal).")
@_through_server("write")
def revoke(ref: str, db: Path, analyst: str, note: str | None) -> None:
    """Withdraw decision D… (then link again) or label L… (counts from the next `fit`); either
    stays on record with who withdrew it and why. A bare number is refused."""
    from threadline.link.decisions import revoke as revoke_decision
    from threadline.refs import BadRef, format_ref, parse_ref
    from threadline.score.learn import revoke_label

    try:
        kind, number = parse_ref(ref, kinds=("decision", "label"))
    except BadRef as exc:
        _fail(str(exc))
    _readable(db)
    with _open(db) as store:
        con = store.connection
        try:
            if kind == "decision":
                d = revoke_decision(con, number, analyst=analyst, note=note)
                what = f"{_decision_kind(d.kind)} by {d.analyst} {d.decided_at:%Y-%m-%d %H:%M}"
                withdrawn_note = d.revoke_note
            else:
                lab = revoke_label(con, number, analyst=analyst, note=note)
                what = f"{lab.network} {lab.label} by {lab.analyst} {lab.labelled_at:%Y-%m-%d %H:%M}"
                withdrawn_note = lab.revoke_note
        except (LookupError, ValueError) as exc:
            _fail(f"{exc} in {db}" if isinstance(exc, LookupError) else str(exc))
        action = "revoke" if kind == "decision" else "revoke label"
        _audit(action, format_ref(kind, number), analyst=analyst, note=note)
        line = f"revoked {format_ref(kind, number)} ({what})"
        click.echo(line + (f": {withdrawn_note}" if withdrawn_note else ""))
        if kind == "decision":
            _link_and_score(con)
        else:
            click.echo("scores unchanged: labels count from the next `threadline fit`")


def _decision_kind(kind: str) -> str:
    return {"hub": "hub mark", "not-hub": "not-hub mark"}.get(kind, kind)


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def decisions(db: Path) -> None:
    """List analysts' decisions (D…): merges, separations, splits and hub marks, each with who
    made it, and who revoked it, when and why."""
    from threadline import read

    _readable(db)
    with _open(db, read_only=True) as store:
        rows = read.decision_list(store.connection)
        _audit("read decisions", None)
    if not rows:
        click.echo("no decisions")
    for listed in rows:
        d = listed.decision
        why = f": {d.note}" if d.note else ""
        state = "active" if d.active else "revoked"
        click.echo(f"{d.ref} {d.kind} by {d.analyst} {d.decided_at:%Y-%m-%d %H:%M} ({state}){why}")
        if d.kind in ("hub", "not-hub"):
            what = "a hub: never used for linking" if d.kind == "hub" else "not a hub: trusted for linking"
            click.echo(f"  {d.hub_kind} {d.hub_value} is {what}")
        elif d.kind == "split":
            click.echo(f"  {_few(list(d.side_a))} split out of {d.split_from}")
            click.echo(f"  not linked to its other ads then: {_few(list(d.side_b))}")
        else:
            click.echo(f"  {_few(list(d.side_a))}")
            if d.side_b:
                click.echo(f"  not linked to {_few(list(d.side_b))}")
        if d.side_b and d.active:
            click.echo(f"  links cut by the last run: {listed.links_cut}")
        if d.revoked_at is not None:
            withdrawn = f": {d.revoke_note}" if d.revoke_note else ""
            click.echo(f"  revoked by {d.revoked_by} {d.revoked_at:%Y-%m-%d %H:%M}{withdrawn}")


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def labels(db: Path) -> None:
    """List analysts' labels of networks (L…), with who made each, and who withdrew it, when and
    why (`revoke L…`)."""
    from threadline import read

    _readable(db)
    with _open(db, read_only=True) as store:
        rows = read.label_list(store.connection)
        _audit("read labels", None)
    if not rows:
        click.echo("no labels")
    for lab in rows:
        why = f": {lab.note}" if lab.note else ""
        state = "active" if lab.active else "withdrawn"
        click.echo(
            f"{lab.ref} {lab.network} {lab.label} by {lab.analyst} {lab.labelled_at:%Y-%m-%d %H:%M}"
            f" ({state}, through {lab.ad}){why}"
        )
        if lab.revoked_at is not None:
            withdrawn = f": {lab.revoke_note}" if lab.revoke_note else ""
            click.echo(f"  withdrawn by {lab.revoked_by} at {lab.revoked_at:%Y-%m-%d %H:%M}{withdrawn}")


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file (the server owns it while it runs).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--trusted-proxy", default=None, help="The reverse proxy's address: only its forwarded headers count."
)
@click.option(
    "--certfile", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TLS certificate."
)
@click.option("--keyfile", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TLS key.")
@click.option(
    "--max-body",
    type=click.IntRange(1024),
    default=1024 * 1024,
    show_default=True,
    help="Largest request body (bytes).",
)
@click.option(
    "--max-push-body",
    type=click.IntRange(1024),
    default=64 * 1024 * 1024,
    show_default=True,
    help="Largest push of ads (POST /api/v1/ads, images inline), bytes.",
)
@click.option(
    "--push-rate",
    type=click.FloatRange(0.01),
    default=10.0,
    show_default=True,
    help="Pushes a second per token.",
)
@click.option(
    "--push-burst",
    type=click.FloatRange(1),
    default=20.0,
    show_default=True,
    help="Pushes at once per token.",
)
@click.option(
    "--link-after",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Seconds pushes must pause before the link and score run that takes them in.",
)
@click.option(
    "--link-within",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds from a push to that run at most, however busy the crawlers.",
)
@click.option(
    "--alert-retry",
    type=click.FloatRange(0.01),
    default=5.0,
    show_default=True,
    help="Seconds before a failed alert delivery is tried again (doubled each time).",
)
@click.option(
    "--writer-nice",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="How much lower than the readers the writer (ingests, pushes, link runs) and its extraction run.",
)
def serve(
    db: Path,
    host: str,
    port: int,
    trusted_proxy: str | None,
    certfile: Path | None,
    keyfile: Path | None,
    max_body: int,
    max_push_body: int,
    push_rate: float,
    push_burst: float,
    link_after: float,
    link_within: float,
    alert_retry: float,
    writer_nice: int,
) -> None:
    """Serve the store as the analysts' workspace: a JSON API under /api/v1 (sign in with POST
    /login, or an API token), until interrupted. One server per store; it runs every change in
    order while readers go on reading."""
    from threadline.serve import ServeError, Settings, run

    _readable(db)
    try:
        run(
            db,
            host=host,
            port=port,
            settings=Settings(
                max_body=max_body,
                max_push_body=max_push_body,
                push_rate=push_rate,
                push_burst=push_burst,
                link_after=link_after,
                link_within=link_within,
                alert_retry=alert_retry,
                writer_nice=writer_nice,
            ),
            trusted_proxy=trusted_proxy,
            certfile=certfile,
            keyfile=keyfile,
        )
    except ServeError as exc:
        _fail(str(exc))
    click.echo("serve: stopped", err=True)


@cli.command()
@click.argument("ads", type=_INPUT)
@click.option("--url", required=True, help="The server, e.g. http://127.0.0.1:8000.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File holding an API token of scope push (`threadline token add --scope push`).",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option(
    "--retries", type=click.IntRange(0), default=8, show_default=True, help="Tries again per batch."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def push(ads: Path, url: str, token_file: Path, batch_size: int, retries: int, quiet: bool) -> None:
    """Send ADS (JSON Lines or CSV) to a running server in batches, images inline.

    A failed batch is sent again after a growing pause; an interrupted push goes on where it
    stopped when run again (its state is kept in ADS.push-state.json). Each record is answered
    new, new version, seen, gone or quarantined with its reason (the first ones are printed).
    """
    from threadline.push_client import PushError, PushReport, push_file

    _readable(ads)
    _readable(token_file)
    if token_file.stat().st_mode & 0o077:
        click.echo(f"threadline: warning: {token_file} can be read by others: chmod 600 it", err=True)
    token = token_file.read_text(encoding="utf-8").strip()
    if not token:
        _fail(f"{token_file}: no token in it")

    def progress(report: PushReport) -> None:
        if not quiet:
            click.echo(f"push: batch {report.batches:,}: {report.line()}", err=True)

    try:
        report = push_file(ads, url, token, batch_size=batch_size, retries=retries, progress=progress)
    except PushError as exc:
        _fail(f"{ads}: {exc} (run the same command again to go on where it stopped)")
    resumed = f" (went on from byte {report.resumed_at:,})" if report.resumed_at else ""
    click.echo(f"push: {report.line()} in {report.batches:,} batches{resumed}")
    for said in report.quarantined[:20]:
        click.echo(f"push: {said}", err=True)


BACKUP_MANIFEST = "threadline-backup.json"


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the copy (made if missing; a copy already there is never replaced).",
)
@_through_server("write")
def backup(db: Path, out_dir: Path) -> None:
    """Copy the store --db, consistent as of one moment, into OUT_DIR with the images it keeps
    (STORE.images), and a manifest saying where the audit key is (it is not copied: it stays
    where the store's writers cannot read it).
    While a server runs, the server makes the copy between two of its writes."""
    import shutil

    from threadline.service import audit
    from threadline.store import kept_images

    _readable(db)
    with _open(db) as store:
        target = out_dir / store.path.name
        if target.exists():
            _fail(f"{target} exists: back up into another folder")
        out_dir.mkdir(parents=True, exist_ok=True)
        temp = out_dir / f".{store.path.name}.{secrets.token_hex(6)}.tmp"
        store.copy_to(temp)
        os.chmod(temp, stat.S_IMODE(store.path.stat().st_mode))  # readable by whom the store is
        os.replace(temp, target)
        # The images the store keeps (content-addressed, never rewritten): copied beside the copy,
        # so the restored store has its images (a name already there holds the same content).
        images = kept_images.image_dir(store.path)
        if images.is_dir():
            shutil.copytree(images, kept_images.image_dir(target), dirs_exist_ok=True)
        counts = store.counts()
        key = audit.key_file(store.path)
        made = {
            "store": store.path.name,
            "from": str(store.path),
            "made_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "ads": counts.ads,
            "versions": counts.versions,
            "audit_key": str(key),
            "images": str(kept_images.image_dir(target)),
            "restore": (
                f"copy {store.path.name} and {kept_images.image_dir(target).name} where the store goes; "
                "`threadline audit verify` needs the key "
                f"{key} beside the restored store or in ${audit.KEY_DIR_ENV}"
            ),
        }
        (out_dir / BACKUP_MANIFEST).write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
        _audit("backup", str(target))
    click.echo(f"backup: {counts.ads:,} ads, {counts.versions:,} versions of {db} copied to {target}")
    click.echo(f"audit key (not copied; keep it for the restored store): {key}")


def _few(refs: list[str], shown: int = 5) -> str:
    more = f" and {len(refs) - shown:,} more" if len(refs) > shown else ""
    return ", ".join(refs[:shown]) + more


@cli.command("check")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def check_command(db: Path) -> None:
    """Re-hash every image the store keeps (the folder STORE.images beside it) and name each one
    missing or altered; exit 1 if any is."""
    from threadline.store import kept_images

    _readable(db)
    with _open(db, read_only=True) as store:
        _audit("check images", None)
        shas = kept_images.referenced(store.connection)
        problems = list(kept_images.check(store.path, shas))
    folder = kept_images.image_dir(store.path)
    for problem in problems:
        click.echo(problem.line())
    if problems:
        _fail(f"{len(problems):,} of {len(shas):,} kept images missing or altered in {folder}")
    click.echo(f"images: {len(shas):,} kept in {folder}, every one present and unaltered")


# -- hash lists of known abuse material (issue 15) ----------------------------------------------


@cli.group()
def hashlist() -> None:
    """Hash lists of known child sexual abuse material (PDQ, MD5, SHA-256), as trust-and-safety
    organisations and clearinghouses exchange them: a matching image is never shown, never
    revealed and never exported, and flags its ads for mandatory reporting."""


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@hashlist.command("load")
@click.argument("file", type=_INPUT)
@click.option("--db", "db", type=_STORE, required=True, help="Store file (created if missing).")
@click.option("--name", default=None, help="The list's name (default: the file's name).")
@click.option(
    "--kind",
    type=click.Choice(["auto", "pdq", "md5", "sha256"]),
    default="auto",
    show_default=True,
    help="What the hashes are (auto: 32 hex digits are MD5; 64 need a header, a prefix or this).",
)
@_through_server("write")
def hashlist_load(file: Path, db: Path, name: str | None, kind: str) -> None:
    """Load the hash list FILE (one hash a line, or CSV with a header naming the hash column) and
    match every image of the store against it; images stored later are matched as they come.
    Malformed lines are left out and named with their line numbers."""
    from threadline.ingest.hashlists import MAX_SAID, HashListError, read_hash_list
    from threadline.service._common import os_actor
    from threadline.store import hashlists
    from threadline.store._tx import transaction

    _readable(file)
    name = (name if name is not None else file.name).strip()
    if not name or len(name) > 200:
        _fail("--name: a name of 1 to 200 characters")
    try:
        found = read_hash_list(file, kind)
    except HashListError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits
    for line, why in found.rejected[:MAX_SAID]:
        click.echo(f"{file}:{line}: left out: {why}", err=True)
    if len(found.rejected) > MAX_SAID:
        click.echo(f"{file}: and {len(found.rejected) - MAX_SAID:,} more lines left out", err=True)
    if not found.entries:
        hint = "; its hashes have 64 hex digits: say --kind pdq or --kind sha256" if found.ambiguous else ""
        _fail(f"{file}: no hash read ({len(found.rejected):,} lines left out){hint}")
    kinds = {k: sum(1 for _, kk, _ in found.entries if kk == k) for k in hashlists.KINDS}
    with _open(db) as store:
        con = store.connection
        with transaction(con):
            if kinds["md5"]:
                hashlists.fill_md5(con, store.path)
            list_id = hashlists.add_list(
                con,
                name,
                str(file),
                found.file_sha256,
                found.entries,
                len(found.rejected),
                by=os_actor().name,
            )
            matched = hashlists.match_images(con, list_id=list_id)
            images = con.execute(
                "SELECT count(DISTINCT sha256) FROM hash_matches WHERE list_id = ?", [list_id]
            ).fetchone()
        # After its transaction, as every command's entry (an entry moves the audit's signed head,
        # which the server's readers append to meanwhile under its books).
        _audit(
            "load hash list",
            f"HL{list_id}",
            name=name,
            file=str(file),
            file_sha256=found.file_sha256,
            entries=len(found.entries),
            rejected=len(found.rejected),
            matches=matched,
        )
    names = {"pdq": "PDQ", "md5": "MD5", "sha256": "SHA-256"}
    said = ", ".join(f"{n:,} {names[k]}" for k, n in kinds.items() if n)
    extra = f", {found.duplicates:,} repeated" if found.duplicates else ""
    click.echo(
        f"HL{list_id} {name}: {len(found.entries):,} hashes loaded ({said}), "
        f"{len(found.rejected):,} lines left out{extra}"
    )
    n = int(images[0]) if images else 0
    if n:
        click.echo(
            f"{n:,} images of the store match it: never shown or exported; to report "
            f"(threadline hashlist matches --db {db})"
        )
    else:
        click.echo("no image of the store matches it; new images are matched as they are stored")


@hashlist.command("list")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@_through_server("read")
def hashlist_list(db: Path) -> None:
    """Each list loaded: HL… NAME HASHES LEFT_OUT IMAGES_MATCHING LOADED_AT LOADED_BY FILE."""
    from threadline.store import hashlists

    _readable(db)
    with _open(db, read_only=True) as store:
        loaded = hashlists.lists(store.connection)
        _audit("read hash lists", None)
    if not loaded:
        click.echo(f"no hash list is loaded in {db}", err=True)
    for hl in loaded:
        at = hl.loaded_at.isoformat(sep=" ", timespec="seconds")
        click.echo(
            f"{hl.ref}\t{_clean(hl.name)}\t{hl.entries}\t{hl.rejected}\t{hl.matched}\t{at}\t"
            f"{_clean(hl.loaded_by)}\t{_clean(hl.source_file)}"
        )


@hashlist.command("matches")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--to-report", is_flag=True, help="Only the images not reported yet.")
@_through_server("read")
def hashlist_matches(db: Path, to_report: bool) -> None:
    """Every image matching a loaded list, for mandatory reporting (never the image itself):
    SHA256 STATE LISTS HASHES PDQ_BITS FLAGGED_AT ADS NETWORKS, those to report first."""
    from threadline.store import hashlists

    _readable(db)
    with _open(db, read_only=True) as store:
        found = hashlists.matches(store.connection, to_report=to_report)
        _audit("read hash matches", None, found=len(found))
    if not found:
        click.echo(f"no image of {db} matches a loaded hash list", err=True)
    for m in found:
        state = (
            "TO REPORT"
            if m.reported_at is None
            else f"reported {m.reported_at.isoformat(sep=' ', timespec='seconds')} by "
            f"{_clean(m.reported_by or '')}: {_clean(m.report_note or '')}"
        )
        more = f" and {m.ad_count - len(m.ads):,} more" if m.ad_count > len(m.ads) else ""
        click.echo(
            f"{m.sha256}\t{state}\t{_clean(', '.join(m.lists))}\t{','.join(m.kinds)}\t{m.distance}\t"
            f"{m.flagged_at.isoformat(sep=' ', timespec='seconds')}\t"
            f"{_clean(' '.join(m.ads))}{more}\t{' '.join(m.networks) or '-'}"
        )


@hashlist.command("reported")
@click.argument("sha256")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--note", required=True, help="How it was reported: the clearinghouse's reference.")
@_through_server("write")
def hashlist_reported(sha256: str, db: Path, note: str) -> None:
    """Record that the matching image SHA256 was reported (it stays hidden)."""
    from threadline.service._common import os_actor
    from threadline.store import hashlists
    from threadline.store._tx import transaction

    sha = sha256.strip().lower()
    if not _SHA256_HEX.fullmatch(sha):
        _fail(f"{sha256[:80]!r} is not an image's SHA-256 (64 hex digits)")
    if not note.strip() or len(note) > 2000:
        _fail("--note: say how it was reported (1 to 2000 characters)")
    _readable(db)
    with _open(db) as store:
        with transaction(store.connection):
            done = hashlists.record_report(store.connection, sha, by=os_actor().name, note=note.strip())
        if done:
            _audit("report hash match", sha, note=note.strip())
    if not done:
        _fail(f"no image {sha} matches a loaded hash list in {db}")
    click.echo(f"{sha}: reported ({note.strip()})")


# -- evidence packages (issue 17) ----------------------------------------------------------------


@cli.group()
def keys() -> None:
    """The installation's evidence key, which signs evidence packages (not the audit key)."""


@keys.command("init")
@click.option("--db", "db", type=_STORE, required=True, help="Store file (the key goes beside it).")
def keys_init(db: Path) -> None:
    """Make the evidence key (Ed25519, a file readable by its owner only) in $THREADLINE_KEY_DIR,
    else beside the store; a key already there is kept. Prints its public key: publish it."""
    from threadline.evidence import keys as evidence_keys

    path = evidence_keys.key_file(db.resolve())
    try:
        key, made = evidence_keys.init_key(path)
    except evidence_keys.KeyError_ as exc:
        _fail(str(exc))
        raise
    click.echo(f"{'made' if made else 'kept'} evidence key {path} ({key.fingerprint})")
    click.echo(key.public_line)


@keys.command("show")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def keys_show(db: Path) -> None:
    """Print the evidence key's public half as an OpenSSH public key line (for allowed_signers:
    `threadline ssh-ed25519 AAAA...`)."""
    from threadline.evidence import keys as evidence_keys

    path = evidence_keys.key_file(db.resolve())
    try:
        key = evidence_keys.load_key(path)
    except evidence_keys.KeyError_ as exc:
        _fail(str(exc))
        raise
    if key is None:
        _fail(f"no evidence key at {path} (make one: threadline keys init --db {db})")
        raise SystemExit(1)
    click.echo(key.public_line)


def _utc_option(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


@cli.command("evidence")
@click.argument("subject", metavar="CASE_OR_NETWORK")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the package (new, or empty).",
)
@click.option("--blur-images", is_flag=True, help="Blur every image in the package.")
@click.option("--since", type=click.DateTime(), default=None, help="Drop ads dated before this (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Drop ads dated after this (UTC).")
@click.option("--no-pdf", is_flag=True, help="Leave out report.pdf (faster).")
@click.option(
    "--mask-outside-case",
    is_flag=True,
    help="Mask phones, e-mails, handles and names only ads outside the case carry; those ads as stubs.",
)
@click.option(
    "--case",
    "case",
    default=None,
    metavar="C…",
    help="With a network id and --mask-outside-case: the case whose ads are inside.",
)
@_through_server("read")
def evidence(
    subject: str,
    db: Path,
    out_dir: Path,
    blur_images: bool,
    since: datetime | None,
    until: datetime | None,
    no_pdf: bool,
    mask_outside_case: bool,
    case: str | None,
) -> None:
    """Write the signed evidence package (a BagIt bag) of a case (C...: its ads, by the network
    each is in, with its name, status, tags, analysts and notes) or a network (N...) to OUT_DIR:
    report.html and report.pdf, the ads, extractions, links and scores as JSON Lines and CSV, the
    images by hash, GraphML and i2 tables, signed with the evidence key (`threadline keys
    init`). --mask-outside-case masks what only ads outside the case carry (a network needs
    --case C...). Audited, with the OS user."""
    from threadline.evidence import keys as evidence_keys
    from threadline.evidence.package import EvidenceError, Options, build

    head = subject.strip()[:1].upper()
    if head not in ("C", "N"):
        _fail(f"{subject}: not a case (C...) or network (N...) id")
    if head == "N" and mask_outside_case and not case:
        _fail("--mask-outside-case on a network needs the case whose ads are inside: --case C...")
    if case and not mask_outside_case:
        _fail("--case goes with --mask-outside-case (for a case's own package give its C... id)")
    _readable(db)
    served = _SERVED.get()
    with _open(db, read_only=False) as store:
        try:
            key = evidence_keys.load_key(evidence_keys.key_file(store.path.resolve()))
        except evidence_keys.KeyError_ as exc:
            _fail(str(exc))
            raise
        if key is None:
            _fail(f"no evidence key to sign with (make one: threadline keys init --db {db})")
            raise SystemExit(1)
        from threadline import read

        if not read.is_linked(store.connection):
            _fail(f"{db}: not linked yet (run: threadline link --db {db})")
        options = Options(
            blur_images=blur_images,
            since=_utc_option(since),
            until=_utc_option(until),
            pdf=not no_pdf,
            mask_outside_case=mask_outside_case,
            case=case,
        )
        from threadline.service._common import os_actor

        user = os_actor().name
        try:
            built = build(
                store.connection,
                store.path,
                subject,
                out_dir.resolve(),
                key=key,
                user=user,
                options=options,
                schema_version=store.schema_version,
                progress=lambda said: click.echo(f"evidence: {said}", err=True),
            )
        except EvidenceError as exc:
            _fail(str(exc))
            raise
        detail = {
            "output": str(built.path),
            "ads": built.ads,
            "images": built.images,
            "blur_images": blur_images or None,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "mask_outside_case": case or built.subject if mask_outside_case else None,
            "masked": built.masked or None,
            "key": built.fingerprint,
        }
        if served is not None:
            _audit("export evidence", built.subject, **detail)
        else:
            from threadline.service import audit

            audit.append(
                store,
                os_actor(),
                "export evidence",
                built.subject,
                {k: v for k, v in detail.items() if v is not None},
            )
    click.echo(
        f"evidence: {built.subject}: {built.ads:,} ads, {built.images:,} images, {built.files:,} files, "
        f"{built.bytes / 1e6:,.1f} MB in {built.path}, signed by {built.fingerprint}"
    )
    for line in built.redacted:
        click.echo(f"  redacted: {line}")


@cli.command("verify")
@click.argument("package", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The signer's public key (OpenSSH line, as `threadline keys show` prints it).",
)
def verify_command(package: Path, key_file: Path | None) -> None:
    """Check an evidence package: every file against the manifests (naming each altered, added or
    missing one), the bagit library's validation, and the signature of the tag manifest against
    --key. Exit 1 if anything fails. Without --key the signature is checked against the key it
    names, which shows the package unaltered since signing but not who signed it."""
    from threadline.evidence import sshsig
    from threadline.evidence.verify import verify_package

    key = None
    if key_file is not None:
        try:
            key = sshsig.read_public_key(key_file.read_text(encoding="utf-8", errors="replace"))
        except sshsig.SignatureError as exc:
            _fail(f"{key_file}: {exc}")
    result = verify_package(package, key)
    for finding in result.findings:
        click.echo(finding.line())
    if not result.ok:
        _fail(f"{package}: {len(result.findings)} problem(s): the package is not as it was signed")
    click.echo(f"{package}: every file as listed in its manifests, the signature valid")
    if result.key_checked:
        click.echo(f"signed by the key given: {result.signer}")
    else:
        click.echo(f"signed by {result.signer}: NOT checked against a key you hold (give --key)")


@cli.command()
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Top values to list.")
@_through_server("read")
def summary(db: Path, top: int) -> None:
    """Print what a store holds: counts, the most shared phones, and quarantine by reason."""

    _readable(db)
    with _open(db, read_only=True) as store:
        _audit("read summary", None)
        counts = store.counts()
        click.echo(f"store {db}: {counts.ads:,} ads, {counts.versions:,} versions, {counts.images:,} images")
        click.echo("extracted values: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.values.items())))
        click.echo("top phones (ads carrying each; numbers in many unrelated ads may be site footers):")
        for vc in store.top_values("phone", top):
            click.echo(f"  {vc.value:<16} {vc.ads:>7,}")
        click.echo(f"quarantine: {counts.quarantined:,} records")
        for q in store.quarantine(limit=top):
            click.echo(f"  {q.file}:{q.line}: {q.reason}")


@cli.command()
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="local: DuckDB on this machine; spark: a Spark cluster (pyspark: pip install -e '.[spark]').",
)
@click.option(
    "--input",
    "input_path",
    required=True,
    help="An input file, or a folder of .jsonl/.csv files (spark: also any URL Spark reads).",
)
@click.option("--output", required=True, help="Folder for the Parquet outputs (replaced if a run's).")
@click.option(
    "--master", default=None, help="spark: the master URL (default: spark-submit's, else local[*])."
)
@click.option(
    "--partitions", type=click.IntRange(1), default=None, help="spark: pieces to spread records over."
)
@click.option(
    "--conf",
    "conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="spark: a Spark setting (e.g. spark.driver.memory=6g).",
)
@click.option("--workers", type=click.IntRange(1), default=None, help="local: extraction processes.")
@click.option(
    "--db",
    "db",
    type=_STORE,
    default=None,
    help="local: keep the store the run builds here; spark: read sources' home regions from it.",
)
@click.option(
    "--region",
    default=None,
    help="Phone region of the run's sources that have no home region (as ingest --region).",
)
def run(
    engine: str,
    input_path: str,
    output: str,
    master: str | None,
    partitions: int | None,
    conf: tuple[str, ...],
    workers: int | None,
    db: Path | None,
    region: str | None,
) -> None:
    """Run the whole batch pipeline (extract, link, score) on --engine and write Parquet outputs.

    Outputs (one folder of Parquet files each, and run.json): ads, extractions, images, quarantine,
    ad keys, each ad's person and network (ad_links), links with their reasons (link_evidence),
    hubs, and scores with every contribution. `threadline load OUTPUT --db STORE` puts them into a
    store for the workspace.

    Numbers without a country code are read as ingest reads them: in the ad's location's
    country, else its source's home region (kept in --db), else --region, else
    $THREADLINE_REGION, else US. The local engine records --region for the sources it runs that
    have none in its store; the spark engine reads the home regions of an existing --db.
    """
    from threadline.engines.outputs import LoadError
    from threadline.extract.regions import SourceRegions, installation_region

    def say(message: str) -> None:
        click.echo(message, err=True)

    region = _region(region)
    fallback = _checked(installation_region)
    try:
        if engine == "local":
            from threadline.engines.local import run_local

            manifest = run_local(input_path, output, workers=workers, db=db, region=region, say=say)
        else:
            homes: dict[str, str] = {}
            if db is not None:
                from threadline.store import Store

                _readable(db)
                with Store.open(db, read_only=True) as store:
                    homes = store.source_regions()
            regions = SourceRegions(homes, region, fallback)
            try:
                from threadline.engines.spark import run_spark, spark_session
            except ImportError:  # pragma: no cover - depends on the installation
                _fail("the spark engine needs pyspark: pip install -e '.[spark]' in the checkout")
            settings = dict(item.partition("=")[::2] for item in conf)
            if any(not key or not value for key, value in settings.items()) or len(settings) != len(conf):
                _fail("--conf takes KEY=VALUE, once per key")
            spark = spark_session(master, settings)
            manifest = run_spark(
                input_path, output, partitions=partitions, spark=spark, regions=regions, say=say
            )
    except LoadError as exc:
        _fail(str(exc))
    records = manifest["records"]
    accepted = records["new_ads"] + records["new_versions"] + records["unchanged"]
    click.echo(
        f"run ({engine}): {records['read']:,} records: {records['new_ads']:,} new ads, "
        f"{records['new_versions']:,} new versions, {records['unchanged']:,} seen again, "
        f"{records['quarantined']:,} quarantined"
    )
    if not accepted:
        _fail(f"{input_path}: no record could be stored")
    link, score = manifest["link"], manifest["score"]
    click.echo(
        f"run ({engine}): {link['ads']:,} ads in {link['networks']:,} networks and "
        f"{link['persons']:,} persons, {score['ads']:,} ads scored; outputs in {output} "
        f"({manifest['seconds']:,.1f}s)"
    )


@cli.command()
@click.argument("output")
@click.option("--db", "db", type=_STORE, required=True, help="Store file (new, or without ads).")
def load(output: str, db: Path) -> None:
    """Put the outputs of `threadline run` (folder OUTPUT) into a new store."""
    from threadline.engines.outputs import LoadError, check_loadable, load_output
    from threadline.store import Store

    try:
        check_loadable(output)
        with Store.open(db) as store:
            counts = load_output(
                store.connection, output, store_file=store.path, say=lambda said: click.echo(said, err=True)
            )
            from threadline.store import hashlists

            if hashlists.any_entries(store.connection):  # lists loaded before the run's outputs
                hashlists.fill_md5(store.connection, store.path)
                hashlists.match_images(store.connection)
    except LoadError as exc:
        _fail(str(exc))
    click.echo(
        f"load: {counts['ads']:,} ad versions, {counts['ad_links']:,} linked ads, "
        f"{counts['network_scores']:,} scored networks into {db}; {counts['kept_images']:,} images kept"
        + (
            f" ({counts['images_missing']:,} not found at the paths the run read them from)"
            if counts["images_missing"]
            else ""
        )
    )


# Watchlists and alerts: `threadline watch ...`, `threadline alerts ...` (threadline.watch).
from threadline.watch.cli import COMMANDS as _WATCH_COMMANDS  # noqa: E402

for _command in _WATCH_COMMANDS:
    cli.add_command(_command)

# Accounts, API tokens and the audit: `threadline user|token|audit ...` (threadline.service).
from threadline.service.cli_admin import COMMANDS as _ADMIN_COMMANDS  # noqa: E402
from threadline.service.cli_admin import new_password  # noqa: E402

for _command in _ADMIN_COMMANDS:
    cli.add_command(_command)

# How a server runs them (marked here: `cli_admin` cannot import this module while it loads).
# `user add` and `user password` read the new password where they are typed (the terminal or
# stdin is there) and hand it to the server apart from their parameters.
_ADMIN_SERVED = {
    ("user", "add"): "admin",
    ("user", "password"): "admin",
    ("user", "list"): "read",
    ("user", "disable"): "admin",
    ("user", "enable"): "admin",
    ("user", "totp"): "admin",
    ("token", "add"): "admin",
    ("token", "list"): "read",
    ("token", "revoke"): "admin",
    ("audit", "verify"): "read",
    ("audit", "export"): "admin",
}
_ADMIN_SERVED |= {
    ("watch", "add"): "write",
    ("watch", "list"): "read",
    ("watch", "remove"): "write",
    ("alerts", "list"): "read",
    ("alerts", "config"): "write",
}
_ADMIN_SECRETS = {("user", "add"): new_password, ("user", "password"): new_password}
for (_group, _name), _kind in _ADMIN_SERVED.items():
    _admin = _resolve_command([_group, _name])
    if not hasattr(_admin.callback, "served"):  # marked once, by whichever copy of this module loads first
        assert _admin.callback is not None
        _admin.callback = _through_server(_kind, _ADMIN_SECRETS.get((_group, _name)))(_admin.callback)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: click's errors become one line on stderr and a non-zero exit."""
    result = _one_line_errors(
        lambda: cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    )
    if isinstance(result, int) and result:
        raise SystemExit(result)


def _one_line_errors(run: Callable[[], Any]) -> Any:
    """``run()``, its errors turned into one line on stderr and a non-zero exit (SystemExit)."""
    import duckdb

    from threadline.store import SchemaTooNewError, StoreError

    try:
        return run()
    except click.exceptions.Abort:
        _fail("interrupted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message().replace("\n", " "), exc.exit_code)
    except (OSError, StoreError, SchemaTooNewError) as exc:
        _fail(str(exc).replace("\n", " "))
    except duckdb.Error as exc:  # e.g. a store damaged where opening it did not look
        lines = str(exc).strip().splitlines()
        _fail(lines[0] if lines else f"DuckDB {type(exc).__name__}")
    except ValueError as exc:  # a unit's lexicon or weights file with broken rows
        from threadline._tsv import DataFileError

        if not isinstance(exc, DataFileError):
            raise
        first = exc.problems[0] if exc.problems else "unreadable"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        _fail(f"{first}{more}")


if __name__ == "__main__":
    main()
