"""Readers: stream an input file record by record, with line numbers, never the whole file.

Both formats are read as bytes and decoded line by line, so one line of invalid UTF-8 becomes one
quarantined record instead of an exception that stops the file. Each `RawRecord` is either a parsed
record (a dict shaped like the JSON Lines input contract) or the reason it could not be parsed;
checking the record against the contract is `validate`'s job.

CSV uses the same column names as JSON Lines. All CSV cells are strings, and an empty cell means
the field is absent (CSV cannot tell the two apart). ``images`` is a JSON list or ``|``-separated
paths; ``fields`` is a JSON object.

JSON is read by the standard library: ``NaN``/``Infinity`` are refused (not JSON, and not storable),
and so is a number too large for a double (``1e400``, which Python would read as infinity),
and an object with a repeated key keeps the last value, as every JSON reader analysts use does.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from threadline.ingest.validate import json_type

__all__ = ["MAX_LINE_BYTES", "RawRecord", "load_json", "read_csv", "read_jsonl", "read_records"]

# Longer than any real ad (each field is capped at 1 MiB by validation): a line past this is cut
# off unread, so one runaway line cannot exhaust memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
# How much of an over-long line is kept to show in quarantine.
_HEAD_BYTES = 4096
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: parsed, or with the reason it could not be.

    ``line`` is the 1-based line where the record starts; ``raw`` its text as read (invalid
    UTF-8 as ``\\xNN`` escapes); ``end_offset`` the bytes of the file read so far, for progress.
    """

    line: int
    raw: str
    record: dict[str, Any] | None
    error: str | None
    end_offset: int


def read_records(path: str | Path) -> Iterator[RawRecord]:
    """Records of a ``.csv`` file, or of JSON Lines (any other name)."""
    return read_csv(path) if Path(path).suffix.lower() == ".csv" else read_jsonl(path)


@dataclass(frozen=True, slots=True)
class _Line:
    data: bytes  # without the line ending (for an over-long line: its first bytes only)
    ending: bytes
    too_long: bool
    end_offset: int


def _lines(f: BinaryIO) -> Iterator[_Line]:
    offset = 0
    while chunk := f.readline(MAX_LINE_BYTES + 1):
        offset += len(chunk)
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            head = chunk[:_HEAD_BYTES]
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line unread
                chunk = f.readline(1 << 20)
                offset += len(chunk)
            yield _Line(head, b"\n", True, offset)
            continue
        body = chunk.rstrip(b"\r\n")
        yield _Line(body, chunk[len(body) :], False, offset)


def _too_long_reason(line: int) -> str:
    return f"line {line} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON but no double holds it: Python reads it as infinity, which JSON (and
    # so the store) cannot hold.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"id": "1", "id": "2"} is valid JSON, but which id is meant? Readers differ (the first, the
    # last): an adversary can show one record to one tool and another to the next.
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key[:40]!r} appears twice in one object")
            seen.add(key)
    return value


def load_json(text: str) -> Any:
    """JSON as the input contract reads it: finite numbers only (no NaN, no Infinity), and no
    object with the same key twice. Raises ValueError (json.JSONDecodeError is one)."""
    return json.loads(
        text, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
    )


def read_jsonl(path: str | Path) -> Iterator[RawRecord]:
    """Records of a JSON Lines file. Blank lines are not records and are skipped."""
    with open(path, "rb") as f:
        for number, line in enumerate(_lines(f), start=1):
            data = line.data
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if line.too_long:
                raw = data.decode("utf-8", "backslashreplace")
                yield RawRecord(number, raw, None, _too_long_reason(number), line.end_offset)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raw = data.decode("utf-8", "backslashreplace")
                yield RawRecord(number, raw, None, f"invalid UTF-8 at byte {exc.start}", line.end_offset)
                continue
            if not text.strip():
                continue
            try:
                value = load_json(text)
            except json.JSONDecodeError as exc:
                error = f"invalid JSON: {exc.msg} at column {exc.colno}"
            except RecursionError:
                error = "invalid JSON: nested too deeply"
            except ValueError as exc:  # NaN/Infinity, or an integer of thousands of digits
                error = f"invalid JSON: {exc}"
            else:
                if isinstance(value, dict):
                    yield RawRecord(number, text, value, None, line.end_offset)
                    continue
                error = f"not a JSON object: got {json_type(value)}"
            yield RawRecord(number, text, None, error, line.end_offset)


# Bytes that are not UTF-8 survive decoding as lone surrogates (surrogateescape), so the CSV
# parser sees every line; a record holding one is then quarantined.
_SURROGATE = re.compile("[\udc80-\udcff]")

# A quoted field may span lines (ads have paragraphs), but one stray quote must not swallow the
# rest of the file: a record is read over at most this many physical lines and bytes. No real
# ad comes near either; a record that runs past them is an unclosed quote.
MAX_RECORD_LINES = 10_000
MAX_RECORD_BYTES = MAX_LINE_BYTES


def read_csv(path: str | Path) -> Iterator[RawRecord]:
    """Records of a CSV file with a header row; a quoted field may span lines.

    Every physical line ends up in exactly one record (stored or quarantined), the header, or a
    blank line. A record that runs into the end of the file (or past `MAX_RECORD_LINES`) inside
    a quoted field has an unclosed quote: its first line is quarantined with that reason and
    reading goes on from the next line, so one stray quote costs one record, not the rest of
    the file. A record spanning lines that does not parse strictly (a quote closed by the next
    record's opening quote) or comes out with more cells than the header was glued together by
    a stray quote in the same way, and is treated alike.
    """
    # The csv module refuses fields over 128 KiB by default; ads may be longer. The limit is
    # process-wide, so it is only ever raised.
    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)
    with open(path, "rb") as f:
        state = _CsvLines(f)
        header: list[str] | None = None
        while True:
            state.start_record()
            try:
                # A reader per record: after a resync the parser must start from a clean state.
                row = next(csv.reader(state))
            except StopIteration:
                return
            except csv.Error as exc:
                yield state.resync(f"invalid CSV: {exc}")
                continue
            if state.ran_out:
                yield state.resync(state.unclosed_reason())
                continue
            if state.lines > 1:
                glued = _glued(state.text(), len(row), len(header) if header else None)
                if glued:
                    yield state.resync(
                        f"unclosed quote: a quoted field opened on line {state.first_line} {glued}"
                    )
                    continue
            if state.too_long_line is not None:
                yield state.record(None, _too_long_reason(state.too_long_line))
                continue
            bad = state.bad_utf8_line()
            if bad is not None:
                yield state.record(None, f"invalid UTF-8 on line {bad}")
                continue
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip(_BOM) for cell in row]
                continue
            record, error = _csv_record(header, row)
            yield state.record(record, error)


def _glued(text: str, cells: int, header: int | None) -> str | None:
    """Why a record spanning lines was glued together by a stray quote, or None if it reads as
    one: a well-formed multi-line record parses strictly (a closing quote is followed by a comma
    or the line's end) and has no more cells than the header."""
    try:
        next(csv.reader(io.StringIO(text), strict=True))
    except csv.Error:
        return "ends only at a quote on a later line, gluing the lines between into it"
    if header is not None and cells > header:
        return f"swallowed the next lines (the record came out with {cells} cells, the header has {header})"
    return None


class _CsvLines:
    """Feeds decoded lines to `csv.reader` and remembers which lines made the current record.

    Lines of a record found broken can be handed out again (`resync`), so the parser reads on
    from the line after the broken record's first.
    """

    def __init__(self, f: BinaryIO) -> None:
        self._source = _lines(f)
        self._read = 0  # physical lines read from the file so far
        self._offset = 0
        self._replay: deque[tuple[int, _Line]] = deque()
        self._pending: list[tuple[int, _Line, str]] = []
        self._pending_bytes = 0
        self.first_line = 1
        self.too_long_line: int | None = None
        # The parser asked for more lines inside a record and got none (the end of the file, or
        # the record's bounds): it was inside a quoted field.
        self.ran_out = False
        self._cut = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._pending and (
            len(self._pending) >= MAX_RECORD_LINES or self._pending_bytes >= MAX_RECORD_BYTES
        ):
            self.ran_out = self._cut = True
            raise StopIteration
        if self._replay:
            number, line = self._replay.popleft()
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.ran_out = bool(self._pending)
                raise
            self._read += 1
            number = self._read
            self._offset = line.end_offset
        if not self._pending:
            self.first_line = number
        if line.too_long:
            self.too_long_line = self.too_long_line or number
        text = (line.data + line.ending).decode("utf-8", "surrogateescape")
        self._pending.append((number, line, text))
        self._pending_bytes += len(line.data)
        return text

    @property
    def lines(self) -> int:
        return len(self._pending)

    def text(self) -> str:
        """The current record's lines as read."""
        return "".join(text for _, _, text in self._pending)

    def start_record(self) -> None:
        self._pending = []
        self._pending_bytes = 0
        self.first_line = self._replay[0][0] if self._replay else self._read + 1
        self.too_long_line = None
        self.ran_out = self._cut = False

    def unclosed_reason(self) -> str:
        if self._cut:
            return (
                f"unclosed quote: a quoted field opened on line {self.first_line} runs past "
                f"{MAX_RECORD_LINES:,} lines or {MAX_RECORD_BYTES // (1024 * 1024)} MiB"
            )
        return f"unclosed quote: a quoted field opened on line {self.first_line} never closes"

    def resync(self, reason: str) -> RawRecord:
        """Quarantine the current record's first line alone; its other lines are read again."""
        first, *rest = self._pending
        self._replay.extendleft((number, line) for number, line, _ in reversed(rest))
        if len(rest):
            reason += f" (read on from line {rest[0][0]})"
        self._pending = [first]
        return self.record(None, reason)

    def bad_utf8_line(self) -> int | None:
        for number, _, text in self._pending:
            if _SURROGATE.search(text):
                return number
        return None

    def record(self, record: dict[str, Any] | None, error: str | None) -> RawRecord:
        raw = "".join(text for _, _, text in self._pending).rstrip("\r\n")
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return RawRecord(self.first_line, raw, record, error, self._offset)


def _csv_record(header: list[str], row: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    if len(row) > len(header):
        return None, f"row has {len(row)} cells, the header has {len(header)}"
    record: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=False):
        if cell == "":
            continue
        if name == "images":
            images = _csv_images(cell)
            if images is None:
                return None, "images: not a JSON list of strings nor |-separated paths"
            record[name] = images
        elif name == "fields":
            try:
                fields = load_json(cell)
            except (ValueError, RecursionError):
                return None, "fields: not valid JSON (CSV fields must be a JSON object)"
            record[name] = fields  # its type is validate's to check
        else:
            record[name] = cell
    return record, None


def _csv_images(cell: str) -> list[Any] | None:
    text = cell.strip()
    if text.startswith("["):
        try:
            value = load_json(text)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, list) else None
    return [part.strip() for part in text.split("|") if part.strip()]
