"""Validation of one parsed record against the input contract (docs/DESIGN.md section 2), and its hash.

`validate` turns a record into an `Ad` or raises `Invalid` with a one-line reason precise enough
for an analyst to fix the feed. Decisions the contract leaves open, made here:

* ``id`` may be a JSON integer and is stored as its decimal string: crawlers often export numeric
  ids, and quarantining whole feeds over it helps nobody. Floats and booleans are refused (is
  ``1.0`` the ad ``"1"``?). An empty or whitespace-only id is refused.
* A ``null`` optional field counts as absent, and so does a blank timestamp (crawlers emit ``""``
  for "not shown"). A ``fields`` value may be a number (stored as its decimal string) or ``null``
  (stored as ``""``: the site showed the field empty); a nested list or object is refused.
* Text counts only if it is not blank: a record whose title and body are both blank is refused.
* Timestamps are ISO 8601 (as Python's ``datetime.fromisoformat`` reads them); one without an
  offset is UTC. The `Ad` keeps the offset as posted; the store keeps UTC.
* Image paths are relative to the input file's folder (the corpus folder), or absolute. Either
  way the resolved path (symlinks followed) must lie inside that folder and be an existing file:
  a hostile feed must not make the tool read, hash or show files elsewhere on the analyst's
  machine (``../../home/...``, ``/etc/...``). Each is a regular file (not a folder, FIFO or
  device), at most `MAX_IMAGE_BYTES`, and not the input file itself; an ad lists at most
  `MAX_IMAGES_PER_AD`. Every image is read whole by a worker: without these, one record can make
  it read gigabytes, or block for ever on a FIFO.
* No value may be over 1 MiB (UTF-8 bytes; for a list or object, its JSON): real ads are far
  smaller, and huge values are a denial-of-service.
* Lists and objects nest at most `MAX_NESTING` deep, and a timestamp's UTC time lies in the
  years 1 to 9999: past either, one record would break every tool that reads it.
* Strings must be valid Unicode: a JSON ``\\udXXX`` escape that leaves an unpaired surrogate is
  refused, since it cannot be stored or shown.

Unknown fields are kept verbatim in ``Ad.extra``.

A record ``{"id", "source", "gone": true, "captured_at"}`` is a crawler's report that the ad was
taken down (the site answered 404 or 410): it needs no text, and `Validator.gone` reads it as a
`Gone`; ingest keeps it as a sighting, never as a version. ``"gone": false`` (or null) is an
ordinary record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threadline.model import Ad

__all__ = [
    "CONTENT_HASH_SCHEME",
    "CONTRACT_FIELDS",
    "MAX_FIELD_BYTES",
    "MAX_IMAGES_PER_AD",
    "MAX_IMAGE_BYTES",
    "MAX_NESTING",
    "Gone",
    "Invalid",
    "Validator",
    "content_hash",
    "json_type",
    "validate",
]

CONTRACT_FIELDS = frozenset(
    (
        *("id", "source", "url", "posted_at", "captured_at", "title", "body", "location", "images"),
        *("fields", "gone"),
    )
)
MAX_FIELD_BYTES = 1024 * 1024
# Ad photos are a few MB at most (sites recompress uploads; even a 50-megapixel camera's JPEG is
# some 20 MB). A larger file is not a photo, and a worker reads each image whole into memory.
# `threadline.extract.images` reads no more than this either (a file may grow after validation).
MAX_IMAGE_BYTES = 32 * 1024 * 1024
# Real ads show at most a few dozen photos; every reference costs a stat, a read and a hash.
MAX_IMAGES_PER_AD = 64
# How deep lists and objects may nest in a record (the record itself is level 1). Crawlers' own
# metadata nests a few levels; hundreds of levels only break the tools that read them.
MAX_NESTING = 32
# Part of every content hash, so a future change of the canonical form cannot be mistaken for
# changed content silently: bump it and say what re-versioning that implies.
CONTENT_HASH_SCHEME = "threadline-content-1"

_SHOWN = 160  # characters of an offending value quoted in a reason
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Gone:
    """A crawler's report that the ad ``(source, id)`` was taken down, seen at ``captured_at``
    (None: when it arrives)."""

    source: str
    id: str
    captured_at: datetime | None


class Invalid(ValueError):
    """A record that breaks the input contract; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def json_type(value: Any) -> str:
    """How a JSON value is named in a quarantine reason ("a list", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _size(value: Any) -> int:
    if isinstance(value, str):
        # A character is at most 4 UTF-8 bytes: encode only strings that could be over the limit.
        return (
            len(value) if len(value) * 4 <= MAX_FIELD_BYTES else len(value.encode("utf-8", "surrogatepass"))
        )
    if isinstance(value, (list, dict)):
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return 0


def _check_sizes(record: Mapping[str, Any]) -> None:
    for name, value in record.items():
        if name == "fields" and isinstance(value, dict):
            for key, item in value.items():
                if _size(item) > MAX_FIELD_BYTES:
                    raise Invalid(f"fields.{key} is {_size(item):,} bytes, over the 1 MiB limit")
        size = _size(value)
        if size > MAX_FIELD_BYTES:
            raise Invalid(f"{name} is {size:,} bytes, over the 1 MiB limit")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit`` inside ``value`` (without recursion:
    the check must hold for the values it exists to refuse)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (list, dict)))
    return False


def _find_surrogate(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return where if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_surrogate(key, where) or _find_surrogate(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_surrogate(item, f"{where}[{i}]")
            if found:
                return found
    return None


def _optional_str(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    raise Invalid(f"{name} must be a string, got {json_type(value)}")


def _timestamp(record: Mapping[str, Any], name: str) -> datetime | None:
    value = _optional_str(record, name)
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{name} is not an ISO 8601 timestamp: {_shown(value)}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    # The store keeps UTC: an instant whose UTC time falls outside the years 1-9999
    # (0001-01-01T00:00+01:00) cannot be kept or compared, only refused.
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{name} is outside the years 1 to 9999 in UTC: {_shown(value)}") from None
    return parsed


def _id(record: Mapping[str, Any]) -> str:
    if "id" not in record or record["id"] is None:
        raise Invalid("missing id")
    value = record["id"]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise Invalid(f"id must be a string (or an integer), got {json_type(value)}")
    if not value.strip():
        raise Invalid("id is empty")
    return value


class _ImagePaths:
    """Resolves image paths against one corpus folder.

    Resolving a path follows every symlink on the way, one ``lstat`` per component; a corpus has
    few folders and many images, so each folder's real path is cached (for the life of one
    validator, i.e. one input file) and only the file name itself is checked for a symlink.
    """

    def __init__(self, corpus: Path, input_file: Path | None = None) -> None:
        self.root = os.path.realpath(corpus)
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self._folders: dict[str, str] = {}
        # The input file, by identity (device and inode: also under another name or a hard link).
        self._input: tuple[int, int] | None = None
        if input_file is not None:
            try:
                found = os.stat(input_file)
            except (OSError, ValueError):
                pass  # not a local file (a Spark URL) or gone: nothing an image could be
            else:
                self._input = (found.st_dev, found.st_ino)

    def resolve(self, item: str) -> str:
        joined = os.path.join(self.root, item)  # an absolute `item` replaces the root
        folder, name = os.path.split(joined)
        if name in ("", ".", ".."):
            return os.path.realpath(joined)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = os.path.realpath(folder)
            if len(self._folders) < 10_000:
                self._folders[folder] = real_folder
        path = os.path.join(real_folder, name)
        return os.path.realpath(path) if os.path.islink(path) else path

    def inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self._prefix)

    def refused(self, found: os.stat_result) -> str | None:
        """Why the file ``found`` (its ``os.stat``) cannot be an image, or None."""
        if stat.S_ISDIR(found.st_mode):
            return "is a folder, not a file"
        if not stat.S_ISREG(found.st_mode):
            return f"is {_special_kind(found.st_mode)}, not a regular file"
        if self._input is not None and (found.st_dev, found.st_ino) == self._input:
            return "is the input file itself, not an image"
        if found.st_size > MAX_IMAGE_BYTES:
            return (
                f"is {found.st_size:,} bytes, over the {MAX_IMAGE_BYTES // (1024 * 1024)} MiB limit"
                " for an image"
            )
        return None


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def _images(record: Mapping[str, Any], paths: _ImagePaths) -> tuple[str, ...]:
    value = record.get("images")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Invalid(f"images must be a list of strings, got {json_type(value)}")
    if len(value) > MAX_IMAGES_PER_AD:  # first: before any file is looked at
        raise Invalid(f"images lists {len(value):,} files, over the limit of {MAX_IMAGES_PER_AD} per ad")
    resolved_paths = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and "data" in item:
            raise Invalid(
                f"images[{i}] is an inline image whose data is not base64, or in a file (only a push,"
                " POST /api/v1/ads, takes inline images)"
            )
        if not isinstance(item, str):
            raise Invalid(f"images[{i}] must be a string, got {json_type(item)}")
        if not item.strip() or "\x00" in item:
            raise Invalid(f"images[{i}] is not a file path: {_shown(item)}")
        try:
            resolved = paths.resolve(item)
        except (OSError, ValueError) as exc:  # symlink loops, names too long
            raise Invalid(f"images[{i}] cannot be resolved: {_shown(item)}: {exc}") from None
        if not paths.inside(resolved):
            raise Invalid(
                f"images[{i}] is outside the corpus folder (the input file's folder): {_shown(item)}"
            )
        try:
            found = os.stat(resolved)  # the one look at the file: what it is, and its size
        except (FileNotFoundError, NotADirectoryError):
            raise Invalid(f"images[{i}] does not exist: {_shown(item)}") from None
        except (OSError, ValueError) as exc:  # permissions on a folder, a name too long
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise Invalid(f"images[{i}] cannot be looked at: {_shown(item)}: {reason}") from None
        refused = paths.refused(found)
        if refused:
            raise Invalid(f"images[{i}] {refused}: {_shown(item)}")
        resolved_paths.append(resolved)
    return tuple(resolved_paths)


def _fields(record: Mapping[str, Any]) -> dict[str, str]:
    value = record.get("fields")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"fields must be an object of strings, got {json_type(value)}")
    fields = {}
    for key, item in value.items():
        if isinstance(item, str):
            fields[key] = item
        elif item is None:
            fields[key] = ""
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            fields[key] = str(item)
        else:
            raise Invalid(f"fields.{key} must be a string, got {json_type(item)}")
    return fields


_TRUE = frozenset(("true", "yes", "1"))
_FALSE = frozenset(("false", "no", "0", ""))


def _flag(value: Any) -> bool:
    """``gone`` as a boolean: JSON true or false, or as a CSV cell says it (true/false, yes/no, 1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Invalid(
        f"gone must be true or false, got {_shown(value) if isinstance(value, str) else json_type(value)}"
    )


class Validator:
    """Validates the records of one input file: `validate` with the file's settings bound.

    ``corpus`` is the input file's folder; ``default_source`` the source of a record without
    one (the input file's stem); ``input_file`` the input file itself, which no record may list
    as an image. ``defaulted`` counts the records that took the default source.
    """

    def __init__(self, corpus: Path, default_source: str, *, input_file: Path | None = None) -> None:
        self._paths = _ImagePaths(corpus, input_file)
        self._default_source = default_source
        self.defaulted = 0  # records that took the default source

    def _source(self, record: Mapping[str, Any]) -> str:
        source = record.get("source")
        if source is None:
            self.defaulted += 1
            return self._default_source
        if not isinstance(source, str):
            raise Invalid(f"source must be a string, got {json_type(source)}")
        if not source.strip():
            raise Invalid("source is empty")
        return source

    def gone(self, record: Mapping[str, Any]) -> Gone | None:
        """The `Gone` report ``record`` is (``"gone": true``), None for any other record, or
        `Invalid` for a ``gone`` that is neither a boolean nor null."""
        if not isinstance(record, Mapping) or record.get("gone") is None:
            return None
        flag = _flag(record["gone"])
        if not flag:
            return None
        if _find_surrogate(dict(record), "record"):
            raise Invalid("holds an unpaired UTF-16 surrogate (invalid Unicode)")
        return Gone(self._source(record), _id(record), _timestamp(record, "captured_at"))

    def __call__(self, record: Mapping[str, Any], raw: str | None = None) -> Ad:
        """The `Ad` that ``record`` describes, or `Invalid` with the first reason it breaks the contract.

        ``raw``, the record's text as read, lets the costlier checks be skipped when they cannot
        fail (no value can be over 1 MiB in a line shorter than that; no unpaired surrogate
        without a ``\\udXXX`` escape).
        """
        # First: every later step (sizes, surrogates, pickling to a worker, JSON for the store)
        # walks values recursively, and a record nested hundreds deep would break them all.
        if _too_deep(dict(record), MAX_NESTING):
            raise Invalid(f"lists and objects nested more than {MAX_NESTING} deep")
        if raw is None or len(raw) * 4 > MAX_FIELD_BYTES:
            _check_sizes(record)
        if raw is None or _SURROGATE_ESCAPE.search(raw):
            where = _find_surrogate(dict(record), "record")
            if where:
                name = where.removeprefix("record.") if where != "record" else "a field name"
                if len(name) > _SHOWN:  # a path through deep nesting: its start says enough
                    name = name[: _SHOWN - 3] + "..."
                raise Invalid(f"{name} holds an unpaired UTF-16 surrogate (invalid Unicode)")
        ad_id = _id(record)
        if record.get("gone") is not None and _flag(record["gone"]):
            raise Invalid("reports the ad gone (no content to extract; `ingest` keeps it as a sighting)")
        source = self._source(record)
        title = _optional_str(record, "title") or ""
        body = _optional_str(record, "body") or ""
        if not title.strip() and not body.strip():
            raise Invalid("no text: title and body are both missing or blank")
        return Ad(
            source=source,
            id=ad_id,
            title=title,
            body=body,
            url=_optional_str(record, "url"),
            posted_at=_timestamp(record, "posted_at"),
            captured_at=_timestamp(record, "captured_at"),
            location=_optional_str(record, "location"),
            images=_images(record, self._paths),
            fields=_fields(record),
            extra={key: value for key, value in record.items() if key not in CONTRACT_FIELDS},
        )


def validate(
    record: Mapping[str, Any],
    *,
    corpus: Path,
    default_source: str,
    raw: str | None = None,
    input_file: Path | None = None,
) -> Ad:
    """The `Ad` that one ``record`` describes (see `Validator`; use one for a whole file)."""
    return Validator(corpus, default_source, input_file=input_file)(record, raw)


def content_hash(ad: Ad, image_sha256: Sequence[str]) -> str:
    """SHA-256 of the ad's content as a canonical JSON: what decides "same ad" vs "new version".

    Covers the contract fields an advertiser or site controls, plus unknown fields. Images count
    by their bytes (``image_sha256``, in order), so a re-crawl that saved the same photos under
    new names is unchanged and a photo replaced under the same name is a change. Left out:
    ``captured_at`` (a re-crawl of an unchanged ad is the same content), ``source`` and ``id``
    (the key the hash is compared within). Timestamps count as UTC instants.
    """
    canonical = {
        "scheme": CONTENT_HASH_SCHEME,
        "title": ad.title,
        "body": ad.body,
        "url": ad.url,
        "posted_at": ad.posted_at.astimezone(UTC).isoformat() if ad.posted_at else None,
        "location": ad.location,
        "images": list(image_sha256),
        "fields": ad.fields,
        "extra": ad.extra,
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
