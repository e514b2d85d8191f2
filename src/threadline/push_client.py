"""`threadline push`: send a file of ads to a running server's ``POST /api/v1/ads``.

Any crawler that writes JSON Lines (or CSV) can feed the server through this: the file is sent in
batches, each image a record lists (a path relative to the file's folder, as in the input
contract) inlined as ``{"name", "data": base64}``, so the server needs no access to the crawler's
disk. A batch that fails for a reason that passes (the network, a 429 with its Retry-After, a
5xx) is sent again after a growing pause; the server answers a batch sent twice as seen, so a
retry never stores anything twice.

Resumable: after each batch the server accepted, the bytes of the file done so far are written
to a state file beside it (``FILE.push-state.json``); run the same command again and it goes on
from there (the last batch is at worst sent twice, which stores nothing new).
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from threadline.ingest.readers import RawRecord, read_records

__all__ = ["PushError", "PushReport", "push_file", "state_file"]

DEFAULT_BATCH = 500
MAX_BATCH_BYTES = 32 * 1024 * 1024  # under the server's default limit of 64 MiB
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class PushError(RuntimeError):
    """The file cannot be pushed: the server refused the batch for good, or never answered."""


@dataclass
class PushReport:
    """What a push did: record counts as the server answered them, and the reasons of records
    it quarantined (the first hundred)."""

    batches: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)
    resumed_at: int = 0  # bytes of the file done by an earlier, interrupted run
    retries: int = 0

    def line(self) -> str:
        c = self.counts
        return (
            f"{c.get('read', 0):,} records: {c.get('new', 0):,} new ads, {c.get('new_version', 0):,} new"
            f" versions, {c.get('seen', 0):,} seen again, {c.get('gone', 0):,} gone,"
            f" {c.get('quarantined', 0):,} quarantined"
        )


def state_file(path: Path) -> Path:
    return path.with_name(path.name + ".push-state.json")


def _inlined(record: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``record`` with each image path that names a file inside ``folder`` replaced by the file's
    bytes in base64 (anything else is left for the server to refuse with its reason)."""
    images = record.get("images")
    if not isinstance(images, list):
        return record
    root = os.path.realpath(folder)
    out: list[Any] = []
    for item in images:
        if isinstance(item, str) and item.strip():
            real = os.path.realpath(os.path.join(root, item))
            if real.startswith(root + os.sep) and os.path.isfile(real):
                with open(real, "rb") as f:
                    data = base64.b64encode(f.read()).decode("ascii")
                out.append({"name": os.path.basename(real), "data": data})
                continue
        out.append(item)
    return {**record, "images": out}


def _batches(path: Path, size: int, skip_to: int) -> Iterator[tuple[list[str], int]]:
    """Batches of JSON Lines to send (each record's line), with the file's bytes done after each."""
    lines: list[str] = []
    nbytes = 0
    end = skip_to
    for raw in read_records(path):
        if raw.end_offset <= skip_to:
            continue
        lines.append(_line(raw, path.parent))
        nbytes += len(lines[-1])
        end = raw.end_offset
        if len(lines) >= size or nbytes >= MAX_BATCH_BYTES:
            yield lines, end
            lines, nbytes = [], 0
    if lines:
        yield lines, end


def _line(raw: RawRecord, folder: Path) -> str:
    if raw.record is None:  # sent as read: the server quarantines it with its reason
        return raw.raw.replace("\n", " ").replace("\r", " ") or "{}"
    return json.dumps(_inlined(raw.record, folder), ensure_ascii=False, separators=(",", ":"))


def push_file(
    path: Path,
    url: str,
    token: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    retries: int = 8,
    state: Path | None = None,
    client: httpx.Client | None = None,
    progress: Callable[[PushReport], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Send ``path`` to the server at ``url`` in batches (see the module's description)."""
    path = Path(path)
    state = state or state_file(path)
    report = PushReport()
    done = 0
    if state.exists():
        saved = json.loads(state.read_text(encoding="utf-8"))
        if saved.get("url") == url and saved.get("file") == str(path.resolve()):
            done = report.resumed_at = int(saved.get("offset", 0))
    owned = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))
    endpoint = url.rstrip("/") + "/api/v1/ads"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    try:
        for lines, end in _batches(path, batch_size, done):
            answer = _send(
                http, endpoint, headers, ("\n".join(lines) + "\n").encode("utf-8"), retries, report, sleep
            )
            report.batches += 1
            for key, value in answer.get("counts", {}).items():
                report.counts[key] = report.counts.get(key, 0) + int(value)
            for record in answer.get("records", []):
                status = str(record.get("status", ""))
                if status.startswith("quarantined") and len(report.quarantined) < 100:
                    report.quarantined.append(f"record {done_line(record)}: {status}")
            tmp = state.with_name(state.name + ".tmp")
            tmp.write_text(
                json.dumps({"url": url, "file": str(path.resolve()), "offset": end}), encoding="utf-8"
            )
            os.replace(tmp, state)
            if progress is not None:
                progress(report)
    finally:
        if owned:
            http.close()
    state.unlink(missing_ok=True)  # done: a new run starts from the beginning
    return report


def done_line(record: dict[str, Any]) -> str:
    ref = f"{record.get('source', '?')}:{record.get('id', '?')}"
    return f"{record.get('line', '?')} ({ref})"


def _send(
    http: httpx.Client,
    endpoint: str,
    headers: dict[str, str],
    body: bytes,
    retries: int,
    report: PushReport,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """POST one batch, retrying what passes; the server's answer, or PushError."""
    pause = 1.0
    for attempt in range(retries + 1):
        try:
            answer = http.post(endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            wait = pause
        else:
            if answer.status_code == 200:
                parsed: dict[str, Any] = answer.json()
                return parsed
            reason = f"HTTP {answer.status_code}: {answer.text[:300]}"
            if answer.status_code not in _RETRY_STATUS:
                raise PushError(f"the server refused a batch: {reason}")
            try:
                wait = max(pause, float(answer.headers.get("Retry-After", pause)))
            except ValueError:
                wait = pause
        if attempt == retries:
            raise PushError(f"gave up after {retries + 1} tries: {reason}")
        report.retries += 1
        sleep(wait * (1 + random.random() / 4))  # jitter: crawlers that failed together do not retry together
        pause = min(pause * 2, 60.0)
    raise AssertionError("unreachable")
