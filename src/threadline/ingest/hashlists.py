"""Reading a hash list file as trust-and-safety organisations and clearinghouses exchange them.

A list is hostile input like any other: every line that is not a hash is left out with its line
number and why, and reading never stops on one. The forms read:

* one hash per line (``#`` comments and blank lines skipped), optionally with more after it
  (``md5sum``'s ``HASH  FILE``, a PDQ's ``HASH,QUALITY``): the first field is the hash;
* CSV (comma, tab or semicolon) with a header naming the hash's column (``hash``, ``value``,
  ``signal``, ``md5``, ``sha256``, ``pdq`` ...); a column named ``kind``, ``type``, ``hash_type``
  or ``signal_type`` gives each row's kind;
* a hash written ``KIND:HEX`` (``md5:…``, ``sha256:…``, ``pdq:…``).

Kinds: MD5 is 32 hex digits; PDQ and SHA-256 are both 64, so a 64-digit hash needs its kind from
``--kind``, the header (a column named ``pdq`` or ``sha256``), a kind column or its prefix;
without one it is refused (said once, with the fix).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KIND_CHOICES", "HashListError", "ReadList", "read_hash_list"]

KIND_CHOICES = ("auto", "pdq", "md5", "sha256")
MAX_LINE = 4096  # bytes of a line: a hash and a few fields
MAX_FILE = 2 * 1024**3  # bytes: the largest lists exchanged are tens of millions of hashes
MAX_SAID = 20  # malformed lines said one by one; the rest counted

_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGITS = {"md5": 32, "sha256": 64, "pdq": 64}
_SHOWN = {"md5": "MD5", "sha256": "SHA-256", "pdq": "PDQ"}
_HASH_HEADERS = {
    "hash": None,
    "hash_value": None,
    "hashvalue": None,
    "value": None,
    "signal": None,
    "signal_value": None,
    "md5": "md5",
    "md5_hash": "md5",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha_256": "sha256",
    "sha256_hash": "sha256",
    "pdq": "pdq",
    "pdq_hash": "pdq",
}
_KIND_HEADERS = ("kind", "type", "hash_type", "signal_type", "algorithm")
_KIND_NAMES = {
    "md5": "md5",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha_256": "sha256",
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "pdq_hash": "pdq",
}
_AMBIGUOUS = "64 hex digits: a PDQ or a SHA-256? say which with --kind pdq|sha256 or a header"


class HashListError(ValueError):
    """The file cannot be read as a list at all (one line)."""


@dataclass
class ReadList:
    """What a file held: (line, kind, value) of each hash (lower-case hex, each once), and each
    line left out with why."""

    entries: list[tuple[int, str, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0
    file_sha256: str = ""
    header: bool = False

    @property
    def ambiguous(self) -> int:
        return sum(1 for _, why in self.rejected if why == _AMBIGUOUS)


def _lines(path: Path, digest: hashlib._Hash) -> Iterator[tuple[int, bytes]]:
    """Numbered lines of the file, read in binary (a line over `MAX_LINE` comes cut, whole lines
    are never held beyond it)."""
    with path.open("rb") as f:
        number = 0
        while True:
            line = f.readline(MAX_LINE + 1)
            if not line:
                return
            digest.update(line)
            number += 1
            if len(line) > MAX_LINE and not line.endswith(b"\n"):
                while True:  # the rest of an overlong line: read and dropped
                    rest = f.readline(1 << 16)
                    digest.update(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield number, b"\x00overlong"
                continue
            yield number, line


def _kind_of(value: str, stated: str | None) -> tuple[str | None, str]:
    """(kind, why not) of a hash ``value`` (hex already checked), given the kind stated for it."""
    digits = len(value)
    if stated is not None:
        if digits != _DIGITS[stated]:
            return None, f"{digits} hex digits, but {_SHOWN[stated]} hashes have {_DIGITS[stated]}"
        return stated, ""
    if digits == 32:
        return "md5", ""
    if digits == 64:
        return None, _AMBIGUOUS
    return None, f"{digits} hex digits: neither an MD5 (32) nor a PDQ or SHA-256 (64)"


def _split(text: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return text.split()
    try:
        return next(csv.reader([text], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []


def _delimiter(text: str) -> str | None:
    for d in (",", "\t", ";"):
        if d in text:
            return d
    return None


def read_hash_list(path: Path, kind: str = "auto") -> ReadList:
    """Every hash of the file ``path``; ``kind``: `KIND_CHOICES` (auto: by length, header,
    kind column or prefix). HashListError if the file cannot be read or is too large."""
    if kind not in KIND_CHOICES:
        raise HashListError(f"--kind {kind}: one of {', '.join(KIND_CHOICES)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HashListError(f"{path}: {exc.strerror or exc}") from None
    if size > MAX_FILE:
        raise HashListError(f"{path}: {size:,} bytes, over the {MAX_FILE:,} a hash list may have")
    forced = None if kind == "auto" else kind
    out = ReadList()
    seen: set[tuple[str, str]] = set()
    digest = hashlib.sha256()
    delimiter: str | None = None
    column = 0
    header_kind: str | None = None
    kind_column: int | None = None
    first = True
    try:
        for number, raw in _lines(path, digest):
            if raw == b"\x00overlong":
                out.rejected.append((number, f"a line over {MAX_LINE} bytes"))
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                out.rejected.append((number, "not UTF-8 text"))
                continue
            if not text or text.startswith("#"):
                continue
            if "\x00" in text:
                out.rejected.append((number, "holds a NUL character"))
                continue
            if first:
                first = False
                delimiter = _delimiter(text)
                cells = [c.strip().lower() for c in _split(text, delimiter)]
                named = [i for i, c in enumerate(cells) if c in _HASH_HEADERS]
                if named:  # a header
                    out.header = True
                    column = named[0]
                    header_kind = _HASH_HEADERS[cells[column]]
                    kinds = [i for i, c in enumerate(cells) if c in _KIND_HEADERS]
                    kind_column = kinds[0] if kinds else None
                    continue
            cells = _split(text, delimiter)
            if column >= len(cells) or not cells[column].strip():
                out.rejected.append((number, "no hash in the hash column" if out.header else "no hash"))
                continue
            value = cells[column].strip()
            stated = forced or header_kind
            if kind_column is not None and kind_column < len(cells):
                said = cells[kind_column].strip().lower()
                if said:
                    if said not in _KIND_NAMES:
                        out.rejected.append((number, f"kind {said[:40]!r} is none of pdq, md5, sha256"))
                        continue
                    if forced is not None and _KIND_NAMES[said] != forced:
                        out.rejected.append((number, f"kind {said} but --kind {forced}"))
                        continue
                    stated = _KIND_NAMES[said]
            prefix, colon, rest = value.partition(":")
            if colon and prefix.lower() in _KIND_NAMES:
                said_kind = _KIND_NAMES[prefix.lower()]
                if stated is not None and said_kind != stated:
                    out.rejected.append((number, f"a {said_kind} hash where {stated} was said"))
                    continue
                stated, value = said_kind, rest.strip()
            if not _HEX.fullmatch(value):
                shown = value[:24] + ("…" if len(value) > 24 else "")
                out.rejected.append((number, f"not a hash in hex: {shown!r}"))
                continue
            found, why = _kind_of(value, stated)
            if found is None:
                out.rejected.append((number, why))
                continue
            value = value.lower()
            if (found, value) in seen:
                out.duplicates += 1
                continue
            seen.add((found, value))
            out.entries.append((number, found, value))
    except OSError as exc:
        raise HashListError(f"{path}: {exc.strerror or exc}") from None
    out.file_sha256 = digest.hexdigest()
    return out
