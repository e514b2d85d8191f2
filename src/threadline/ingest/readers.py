"""Readers: stream an input file record by record, with line numbers, never the whole file.

Both formats are read as bytes and decoded line by line, so one line of invalid UTF-8 becomes one
quarantined record instead of an exception that stops the file. Each `RawRecord` is either a parsed
record (a dict shaped like the JSON Lines input contract) or the reason it could not be parsed;
checking the record against the contract is `validate`'s job.

CSV uses the same column names as JSON Lines. All CSV cells are strings, and an empty cell means
the field is absent (CSV cannot tell the two apart). ``images`` is a JSON list or ``|``-separated
paths; ``fields`` is a JSON object.

JSON is read by the standard library: ``NaN``/``Infinity`` are refused (not JSON, and not storable),
and an object with a repeated key keeps the last value, as every JSON reader analysts use does.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from threadline.ingest.validate import json_type

__all__ = ["MAX_LINE_BYTES", "RawRecord", "read_csv", "read_jsonl", "read_records"]

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
                value = json.loads(text, parse_constant=_reject_constant)
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


def read_csv(path: str | Path) -> Iterator[RawRecord]:
    """Records of a CSV file with a header row; a quoted field may span lines."""
    # The csv module refuses fields over 128 KiB by default; ads may be longer. The limit is
    # process-wide, so it is only ever raised.
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES)
    with open(path, "rb") as f:
        state = _CsvLines(f)
        reader = csv.reader(state)
        header: list[str] | None = None
        while True:
            state.start_record()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield state.record(None, f"invalid CSV: {exc}")
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


class _CsvLines:
    """Feeds decoded lines to `csv.reader` and remembers which lines made the current record."""

    def __init__(self, f: BinaryIO) -> None:
        self._lines = _lines(f)
        self._number = 0
        self._offset = 0
        self._pending: list[str] = []
        self.first_line = 1
        self.too_long_line: int | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._number += 1
        self._offset = line.end_offset
        if line.too_long:
            self.too_long_line = self.too_long_line or self._number
        text = (line.data + line.ending).decode("utf-8", "surrogateescape")
        self._pending.append(text)
        return text

    def start_record(self) -> None:
        self._pending = []
        self.first_line = self._number + 1
        self.too_long_line = None

    def bad_utf8_line(self) -> int | None:
        for i, text in enumerate(self._pending):
            if _SURROGATE.search(text):
                return self.first_line + i
        return None

    def record(self, record: dict[str, Any] | None, error: str | None) -> RawRecord:
        raw = "".join(self._pending).rstrip("\r\n")
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
                fields = json.loads(cell, parse_constant=_reject_constant)
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
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, list) else None
    return [part.strip() for part in text.split("|") if part.strip()]
