"""The store's own copy of every image its ads referenced, kept by content.

A crawl folder is deleted, moved or cleaned long before a case comes to court; the images must
outlive it. At ingest every image file is copied into a folder beside the store,
``<store>.images/ab/cdef…`` (the file's SHA-256, its first two hex digits a subfolder), written to
a temporary file and moved into place (``os.replace``), never overwritten: a name is its content.
The store refers to an image by its SHA-256 (``ad_images.sha256``); the original path stays there
as provenance. A store moved with its ``.images`` folder keeps its images.

Readers take the kept copy first and the original path only as a fallback, and only when its
content still has the hash the store recorded. `check` re-hashes every kept file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

__all__ = [
    "KeptImageError",
    "Problem",
    "check",
    "image_bytes",
    "image_dir",
    "keep_bytes",
    "keep_file",
    "kept_path",
    "media_type",
]

_CHUNK = 1 << 20


class KeptImageError(OSError):
    """An image could not be kept: unreadable, or its content is not the hash it was given."""


def image_dir(store_file: Path) -> Path:
    """The kept-images folder of the store file ``store_file``: ``<store>.images`` beside it."""
    return store_file.with_name(store_file.name + ".images")


def _checked_sha(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 in lower-case hex: {sha256[:80]!r}")
    return sha256


def kept_path(store_file: Path, sha256: str) -> Path:
    """Where the image with ``sha256`` is (or would be) kept."""
    sha = _checked_sha(sha256)
    return image_dir(store_file) / sha[:2] / sha[2:]


def _write_new(target: Path, data: bytes) -> None:
    """``data`` to ``target`` atomically (a temporary file in its folder, then ``os.replace``)
    unless ``target`` exists already (same name, same content)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)  # a kept image is never written again
        if target.exists():  # another writer kept it meanwhile: the same content
            os.unlink(tmp)
            return
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def keep_bytes(store_file: Path, data: bytes) -> str:
    """Keep ``data`` (an image's bytes, say pushed over the API); its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    _write_new(kept_path(store_file, sha), data)
    return sha


def keep_file(store_file: Path, path: str | os.PathLike[str], sha256: str) -> Path:
    """Keep the image file ``path``, whose content must have ``sha256`` (as hashed at ingest);
    the kept file's path. Nothing is read when it is kept already. Raises `KeptImageError` when
    the file cannot be read or has changed since it was hashed."""
    target = kept_path(store_file, sha256)
    if target.exists():
        return target
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeptImageError(f"cannot be kept: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise KeptImageError("changed while it was being ingested (its SHA-256 is no longer the one read)")
    _write_new(target, data)
    return target


def image_bytes(store_file: Path | None, sha256: str, original: str | None = None) -> bytes | None:
    """The image with ``sha256``: the kept copy, else the file at ``original`` if its content
    still has that hash; None if neither. A kept copy whose content is not its name is not
    served (`check` names it)."""
    from threadline.extract.images import read_image_file  # bounded, never blocked by a FIFO

    if store_file is not None:
        try:
            data = read_image_file(kept_path(store_file, sha256))
        except (OSError, ValueError):
            data = None
        if data is not None and hashlib.sha256(data).hexdigest() == sha256:
            return data
    if original:
        try:
            data = read_image_file(original)
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None


def media_type(data: bytes) -> str:
    """The image type of ``data`` from its first bytes (never from a name or a claim)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


@dataclass(frozen=True)
class Problem:
    """A kept image that is ``missing`` or ``altered`` (its content no longer its SHA-256)."""

    sha256: str
    kind: str
    path: Path

    def line(self) -> str:
        return f"{self.kind}: {self.path} (sha256 {self.sha256})"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def referenced(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every image SHA-256 the store's ads refer to, sorted."""
    return [sha for (sha,) in con.execute("SELECT DISTINCT sha256 FROM ad_images ORDER BY sha256").fetchall()]


def check(store_file: Path, shas: Iterable[str]) -> Iterator[Problem]:
    """Each of ``shas`` whose kept file is missing or whose content is no longer its SHA-256."""
    for sha in shas:
        path = kept_path(store_file, sha)
        try:
            actual = _file_sha256(path)
        except FileNotFoundError:
            yield Problem(sha, "missing", path)
            continue
        except OSError:
            yield Problem(sha, "unreadable", path)
            continue
        if actual != sha:
            yield Problem(sha, "altered", path)
