"""``POST /api/v1/ads``: crawlers push ads in.

A push is a batch of records in the input contract (a JSON array, an object ``{"ads": [...]}``,
or JSON Lines), sent with an API token of scope ``push``. The server:

1. refuses a body over ``Settings.max_push_body`` with 413 before reading it whole (`BodyLimit`),
   and a token past its rate (a token bucket of requests per token) with 429 and Retry-After;
2. writes the batch to a spool file beside the store, named by the SHA-256 of the body, with each
   inline image (``{"name", "data": base64}`` in ``images``) written beside it by its own
   SHA-256 and referred to by that path; a record the server refuses (a line that is not JSON, a
   source the token is not bound to) is a blank line there, and quarantined with its reason;
3. hands the spool file to the writer, which ingests it as a file (validated, extracted, stored,
   quarantined with reasons) recording the token in every sighting, and answers once that is
   committed: each record ``new``, ``new version``, ``seen``, ``gone`` or ``quarantined: reason``;
4. queues a link and score run once pushes pause for ``Settings.link_after`` seconds, and at the
   latest ``Settings.link_within`` seconds after the first push not linked yet (`_Linker`).

A batch sent twice is the same spool file: its records are seen again and sighted once (no new
version, no new sighting), so a crawler may resend a batch it is unsure of.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from fastapi import APIRouter, HTTPException, Request

from threadline.ingest.pipeline import MIN_PART, Workers
from threadline.ingest.readers import load_json
from threadline.serve._api import relink
from threadline.serve._auth import GuardedRoute, caller, context, guarded
from threadline.serve._context import Context
from threadline.service.roles import Action
from threadline.store._records import Quarantined

__all__ = ["MAX_RECORDS", "PATH", "WORKERS", "RateLimits", "install", "prepare", "router", "spool_folder"]

router = APIRouter(route_class=GuardedRoute)

PATH = "/api/v1/ads"
MAX_RECORDS = 10_000  # records in one push: larger batches are refused (send several)
_WORKER_AT = MIN_PART  # records in a push from which extraction runs in a worker process
# The pushes' extraction processes: a push of 500 is cut in as many parts, extracted at once
# (`Workers.submit_parts`), and stored in one transaction.
WORKERS = min(2, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class _Refused:
    """A record of a push refused before ingest: a line of JSON Lines that is not JSON."""

    reason: str
    raw: str


@dataclass
class RateLimits:
    """One token bucket per caller: ``rate`` requests a second on average, ``burst`` at once."""

    rate: float
    burst: float
    _buckets: dict[Any, tuple[float, float]] = field(default_factory=dict)  # key: (level, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: Any, now: float | None = None) -> float:
        """Take one request from ``key``'s bucket: 0 if it may go on, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level, at = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - at) * self.rate)
            if level < 1:
                self._buckets[key] = (level, now)
                return (1 - level) / self.rate
            self._buckets[key] = (level - 1, now)
            return 0.0


def spool_folder(store_file: Path) -> Path:
    """Where pushed batches are kept, beside the store (only its owner can read it)."""
    return store_file.with_name(store_file.name + ".push")


def _records(body: bytes, content_type: str) -> list[Any]:
    """The records of a push body: a JSON array, ``{"ads": [...]}``, or JSON Lines."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "the body is not UTF-8") from None
    if "ndjson" in content_type or "jsonl" in content_type or "json-seq" in content_type:
        out: list[Any] = []
        for line in text.splitlines():
            if line.strip():
                try:
                    out.append(load_json(line))
                except ValueError as exc:
                    out.append(_Refused(f"not JSON: {exc}", line))
        return out
    try:
        parsed = load_json(text)
    except ValueError as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from None
    if isinstance(parsed, dict) and isinstance(parsed.get("ads"), list):
        parsed = parsed["ads"]
    if not isinstance(parsed, list):
        raise HTTPException(422, 'send a JSON array of ads, {"ads": [...]}, or JSON Lines')
    return parsed


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _write_atomic(path: Path, data: bytes) -> None:
    if path.exists():
        return  # named by its content: already there is already right
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inline_images(record: dict[str, Any], images: Path) -> None:
    """Write each inline image of ``record`` under ``images`` by its SHA-256 and put its path
    (relative to the spool folder) in its place; one that cannot be decoded is left for the
    validator to refuse with its reason."""
    listed = record.get("images")
    if not isinstance(listed, list):
        return
    for i, item in enumerate(listed):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            continue
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            continue
        suffix = Path(_SAFE_NAME.sub("_", str(item.get("name") or ""))).suffix[:10]
        digest = hashlib.sha256(data).hexdigest()
        images.mkdir(mode=0o700, exist_ok=True)
        _write_atomic(images / f"{digest}{suffix}", data)
        listed[i] = f"{images.name}/{digest}{suffix}"


def _spool(
    folder: Path, body: bytes, records: Sequence[Any], sources: tuple[str, ...] | None
) -> tuple[Path, list[Quarantined]]:
    """The spool file of this body (written unless it is there from an earlier send): line N is
    record N, blank for each record refused here, which is returned to be quarantined."""
    folder.mkdir(mode=0o700, exist_ok=True)
    path = (folder / f"{hashlib.sha256(body).hexdigest()}.jsonl").resolve()
    lines, refused = [], []
    for line, record in enumerate(records, start=1):
        if isinstance(record, _Refused):
            refused.append(Quarantined(str(path), line, record.reason, record.raw))
            lines.append("")
            continue
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if sources is not None and isinstance(record, dict) and record.get("source") not in sources:
            reason = f"this token may not push ads of source {record.get('source')!r}"
            refused.append(Quarantined(str(path), line, reason, text))
            lines.append("")
            continue
        if isinstance(record, dict):
            _inline_images(record, folder / "images")
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        lines.append(text)
    if not path.exists():
        _write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path, refused


def _answers(
    con: duckdb.DuckDBPyConnection, spool: Path, run_id: int, records: Sequence[Any]
) -> list[dict[str, Any]]:
    """What became of each record of the spool file in the ingest run ``run_id``, from the store
    (a report of an ad gone is answered ``gone`` however often it is sent)."""
    file = str(spool)
    stored = {
        int(line): int(version)
        for line, version in con.execute(
            "SELECT line, version FROM ads WHERE file = ? AND run_id = ?", [file, run_id]
        ).fetchall()
    }
    gone = {
        int(line)
        for (line,) in con.execute("SELECT line FROM sightings WHERE file = ? AND gone", [file]).fetchall()
    }
    quarantined = dict(
        (int(line), reason)
        for line, reason in con.execute(
            "SELECT line, min(reason) FROM quarantine WHERE file = ? GROUP BY line", [file]
        ).fetchall()
    )
    out = []
    for line, record in enumerate(records, start=1):
        answer: dict[str, Any] = {"line": line}
        if isinstance(record, dict):
            for key in ("source", "id"):
                if isinstance(record.get(key), (str, int)) and not isinstance(record.get(key), bool):
                    answer[key] = record[key]
        if line in quarantined:
            answer["status"] = f"quarantined: {quarantined[line]}"
        elif line in stored:
            answer["status"] = "new" if stored[line] == 1 else "new version"
            answer["version"] = stored[line]
        elif line in gone:
            answer["status"] = "gone"
        else:
            answer["status"] = "seen"
        out.append(answer)
    return out


class _Linker:
    """Queues one link and score run once pushes pause for ``delay`` seconds (none arriving or
    being stored), and at the latest ``within`` seconds after the first push it has not linked
    yet: a crawler pushing without a pause gets its ads linked every ``within`` seconds, not one
    link run per push (a run over a large store takes longer than a push, and the writer does
    one thing at a time, so a push arriving behind a run waits for it)."""

    def __init__(self) -> None:
        self._handle: asyncio.TimerHandle | None = None
        self._first: float | None = None  # when the first push not linked yet arrived
        self.pushing = 0  # pushes arrived and not answered yet

    def arrived(self) -> None:
        self.pushing += 1

    def stored(self, request: Request, delay: float, within: float, *, news: bool) -> None:
        """A push is answered; ``news``: it stored something to link."""
        self.pushing -= 1
        ctx = context(request)
        loop = asyncio.get_running_loop()
        if news and self._first is None:
            self._first = loop.time()
        if self._first is None:
            return
        if self._handle is not None:
            self._handle.cancel()

        def queue() -> None:
            self._handle = None
            assert self._first is not None
            overdue = loop.time() - self._first >= within
            if self.pushing and not overdue:  # a push is on its way in: wait for it too
                self._handle = loop.call_later(delay, queue)
                return
            self._first = None
            ctx.writer.submit_relink(relink)

        self._handle = loop.call_later(min(delay, max(0.0, self._first + within - loop.time())), queue)


@guarded(router, "POST", PATH, Action.PUSH_ADS, summary="Push a batch of ads (crawlers)")
async def push(request: Request) -> Any:
    """Store a batch of ads in the input contract; answers per record once they are durable."""
    ctx, who = context(request), caller(request)
    limits: RateLimits = request.app.state.push_limits
    wait = limits.take(("token", who.token_id) if who.token_id is not None else ("user", who.name))
    if wait > 0:
        raise HTTPException(
            429, f"over this token's rate: wait {wait:.1f} s", headers={"Retry-After": str(math.ceil(wait))}
        )
    linker: _Linker = request.app.state.push_linker
    linker.arrived()
    answer: dict[str, Any] = {}
    try:
        answer = await _push(request)
        return answer
    finally:
        news = bool(answer.get("counts", {}).get("new") or answer.get("counts", {}).get("new_version"))
        news = news or bool(answer.get("counts", {}).get("gone"))
        linker.stored(request, ctx.settings.link_after, ctx.settings.link_within, news=news)


async def _push(request: Request) -> dict[str, Any]:
    from threadline.ingest import ingest_file

    ctx, who = context(request), caller(request)
    body = await request.body()
    records = _records(body, request.headers.get("content-type", ""))
    if not records:
        raise HTTPException(422, "the batch holds no records")
    if len(records) > MAX_RECORDS:
        raise HTTPException(413, f"{len(records):,} records: send at most {MAX_RECORDS:,} in one push")
    folder = spool_folder(ctx.store.path)
    spool, refused = await asyncio.to_thread(_spool, folder, body, records, who.sources)

    def job(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        from threadline.store import Store

        store = Store(con, ctx.store.path, read_only=False)
        if refused:
            store.write_batch([], refused)
        # A large batch is extracted by the push's own worker process (niced, see
        # `Settings.writer_nice`; kept from push to push, as starting one costs more than a batch):
        # in this process it would hold the interpreter the readers' requests need.
        pool = _extraction_pool(request.app) if len(records) >= _WORKER_AT else None
        report = ingest_file(
            spool, store, workers=0, token_id=who.token_id, pool=pool, batch_size=len(records)
        )
        report = dataclasses.replace(report, read=len(records), quarantined=report.quarantined + len(refused))
        ctx.audit(
            who.actor,
            "push",
            spool.name,
            who.detail(records=report.line(), batch=spool.stem),
            con=con,
        )
        return {"report": report, "answers": _answers(con, spool, report.run_id, records)}

    # Told: its batches say what they touch (ads), so kept views of networks outlive it.
    done = await asyncio.wrap_future(ctx.writer.submit("push", job, told=True))
    report = done["report"]
    return {
        "batch": spool.stem,
        "counts": {
            "read": report.read,
            "new": report.new_ads,
            "new_version": report.new_versions,
            "seen": report.unchanged,
            "gone": report.gone,
            "quarantined": report.quarantined,
        },
        "records": done["answers"],
        "seconds": round(report.seconds, 3),
        "link": (
            f"queued: once pushes pause {ctx.settings.link_after:g} s, within {ctx.settings.link_within:g} s"
            if report.stored or report.gone
            else "nothing new"
        ),
    }


def install(app: Any, rate: float, burst: float) -> None:
    """Give ``app`` the push route's state: the rate limits, the link run's timer, and (once a
    large push comes) the worker process that extracts pushes."""
    app.state.push_limits = RateLimits(rate, burst)
    app.state.push_linker = _Linker()
    app.state.push_pool = None


def _extraction_pool(app: Any) -> Workers:
    """The pushes' extraction processes, started by the first large push, or when the server
    starts (`prepare`), on the writer's thread, the only one that uses them; they exit with the
    server (`ingest._work.exit_with`)."""
    if app.state.push_pool is None:
        app.state.push_pool = Workers(WORKERS)
    pool: Workers = app.state.push_pool
    return pool


def prepare(app: Any, ctx: Context) -> None:
    """When a push token is active, start the pushes' extraction processes now, warmed, while
    the server is quiet: started by the first push instead, they would load Python and the
    extractors' data while analysts read, at the low priority of the writer's work, and the
    crawler's first pushes would wait tens of seconds."""
    from threadline.service.tokens import list_tokens

    if not any(t.scope == "push" and t.state() == "active" for t in list_tokens(ctx.cursor())):
        return
    # A job of the writer's, which alone uses the pool; it writes nothing (told: touches none).
    ctx.writer.submit("start push extraction", lambda con: _extraction_pool(app).warm(), told=True)
