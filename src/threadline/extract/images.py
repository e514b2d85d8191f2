"""Image fingerprints: PDQ, a second perceptual hash, and an exact SHA-256 (and an MD5, for hash lists).

PDQ is the perceptual hash that trust-and-safety organisations exchange (hash lists a unit receives
can be matched against it). pHash (DCT based, from `imagehash`) is kept beside it as a second opinion
for near copies that PDQ places further apart. SHA-256 finds byte-identical files, such as one stock
image re-used across unrelated ads.

Each file is read once: `image_sha256` (what ingest hashes an ad's content with) keeps the bytes
it read for `hash_image` to fingerprint, and remembers each file's SHA-256 by its identity and
version (path, device, inode, size, modification time), so a file referenced again and again,
in one ad or many, is looked at with one ``stat`` and not read again while it is unchanged.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

from threadline.model import Found, Span

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "PDQ_MIN_QUALITY",
    "hash_image",
    "hash_images",
    "hex_bits",
    "image_sha256",
    "pdq_bits_sql",
    "phash_bits_sql",
    "read_image_file",
]

# PDQ's authors treat quality below 50 as too featureless (flat colour, tiny) to match on.
PDQ_MIN_QUALITY = 50
# The most of a file read as an image: ingest's limit (`threadline.ingest.validate.MAX_IMAGE_BYTES`,
# kept equal by a test), enforced again here since a file can grow after it was validated.
MAX_IMAGE_BYTES = 32 * 1024 * 1024
# Hostile files: refuse images whose header claims more pixels than a real ad photo could have.
MAX_PIXELS = 40_000_000
# PDQ downsamples to 64x64 anyway; shrinking big photos first keeps hashing fast and stable.
_WORK_SIZE = 512


def hex_bits(bits: np.ndarray) -> str:
    """A 0/1 vector as hex, most significant bit first (the PDQ hash-list convention)."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hash_image(path: str | Path) -> dict[str, object]:
    """Fingerprints of one image file; on a file that does not decode, its SHA-256 and the error.

    OSError when the file cannot be read, is not a regular file or is over `MAX_IMAGE_BYTES`.
    """
    name = os.fspath(path)
    key = _stat_key(name, os.stat(name))
    sha256 = _SHA256.get(key)
    # Bytes `image_sha256` read for this content (taken: fingerprinted at most once from here).
    data = _CONTENTS.pop(sha256, None) if sha256 is not None else None
    if sha256 is None or (sha256 not in _SEEN and data is None):
        key, data = _read(name)  # not read yet, or changed, or its bytes were not kept
        sha256 = _remember(key, data)
    # The same photo is posted again and again: fingerprint each content once per process.
    known = _SEEN.get(sha256)
    if known is None:
        known = _fingerprints(data or b"")
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.pop(next(iter(_SEEN)))  # oldest first: dicts keep insertion order
        _SEEN[sha256] = known
    return {"sha256": sha256, "bytes": key[3], **known}


def image_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of one image file, read once while it is unchanged (see the module).

    Its bytes are kept (within a budget) for `hash_image`, which then fingerprints them without
    reading the file again. OSError as for `hash_image`.
    """
    name = os.fspath(path)
    sha256 = _SHA256.get(_stat_key(name, os.stat(name)))
    if sha256 is not None:
        return sha256
    key, data = _read(name)
    sha256 = _remember(key, data)
    if sha256 not in _SEEN and len(data) <= _CONTENTS_BUDGET:
        _CONTENTS.pop(sha256, None)
        while _CONTENTS and sum(map(len, _CONTENTS.values())) + len(data) > _CONTENTS_BUDGET:
            _CONTENTS.pop(next(iter(_CONTENTS)))  # oldest first
        _CONTENTS[sha256] = data
    return sha256


# A file's identity and version: path, device, inode, size, modification time (ns).
_FileKey = tuple[str, int, int, int, int]

_SEEN: dict[str, dict[str, object]] = {}  # SHA-256 -> fingerprints
_SEEN_MAX = 50_000  # a few hundred bytes each
_SHA256: dict[_FileKey, str] = {}  # file -> SHA-256 of its content, for files read in this process
_SHA256_MAX = 50_000  # some 250 bytes each
# Bytes read by `image_sha256` and not fingerprinted yet (an ad's images, between hashing the ad
# and extracting it); an ad whose content is already stored is never extracted, and its images'
# bytes wait here until pushed out.
_CONTENTS: dict[str, bytes] = {}
_CONTENTS_BUDGET = 2 * MAX_IMAGE_BYTES


def _stat_key(path: str, found: os.stat_result) -> _FileKey:
    return (path, found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def _too_large(path: str) -> OSError:
    limit = MAX_IMAGE_BYTES // (1024 * 1024)
    return OSError(errno.EFBIG, f"over the {limit} MiB limit for an image", path)


def _read(path: str) -> tuple[_FileKey, bytes]:
    """One regular file's bytes, and its key as opened: never more than `MAX_IMAGE_BYTES` read.

    Opened without blocking, and checked on the open file, so a FIFO or a device put in place of
    the image after validation is refused, not waited on or read for ever.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", buffering=0) as f:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        if found.st_size > MAX_IMAGE_BYTES:
            raise _too_large(path)
        data = _read_up_to(f, found.st_size + 1)
        if len(data) > found.st_size:  # grown since: read on, never past the limit
            data += _read_up_to(f, MAX_IMAGE_BYTES + 1 - len(data))
            if len(data) > MAX_IMAGE_BYTES:
                raise _too_large(path)
    return _stat_key(path, found), data


def _bits_sql(a: str, b: str) -> str:
    """DuckDB SQL: the bits that differ between two 64-bit hashes held as 16 hex digits."""
    # bit_count gives a TINYINT: summed over a PDQ's four words it overflows past 127 bits.
    return f"CAST(bit_count(xor(CAST(('0x' || {a}) AS UBIGINT), CAST(('0x' || {b}) AS UBIGINT))) AS INTEGER)"


def pdq_bits_sql(a: str, b: str) -> str:
    """DuckDB SQL: the Hamming distance of two PDQ hashes (64 hex digits) named by ``a`` and ``b``."""
    return " + ".join(
        _bits_sql(f"substr({a}, {16 * w + 1}, 16)", f"substr({b}, {16 * w + 1}, 16)") for w in range(4)
    )


def phash_bits_sql(a: str, b: str) -> str:
    """DuckDB SQL: the Hamming distance of two pHashes (16 hex digits) named by ``a`` and ``b``."""
    return _bits_sql(a, b)


def read_image_file(path: str | Path) -> bytes:
    """An image file's bytes, read as ingest reads them: a regular file only, never more than
    `MAX_IMAGE_BYTES`, never blocking on a FIFO put in its place (OSError otherwise)."""
    return _read(str(path))[1]


def _read_up_to(f: io.RawIOBase, size: int) -> bytes:
    """``size`` bytes of ``f``, fewer only at its end."""
    chunks = []
    while size > 0:
        chunk = f.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _remember(key: _FileKey, data: bytes) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    if len(_SHA256) >= _SHA256_MAX:
        _SHA256.pop(next(iter(_SHA256)))
    _SHA256[key] = sha256
    return sha256


def _fingerprints(data: bytes) -> dict[str, object]:
    # MD5 is no fingerprint of ours, but some hash lists of known abuse material give only MD5s.
    result: dict[str, object] = {"md5": hashlib.md5(data, usedforsecurity=False).hexdigest()}
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"image of {img.width}x{img.height} pixels is too large")
            result["width"], result["height"] = img.width, img.height
            # JPEG can decode straight to a smaller scale, far faster than decoding in full.
            img.draft("RGB", (_WORK_SIZE, _WORK_SIZE))
            rgb = img.convert("RGB")
            rgb.thumbnail((_WORK_SIZE, _WORK_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:200]
        return result
    bits, quality = pdqhash.compute(np.asarray(rgb))
    result["pdq"] = hex_bits(bits)
    result["pdq_quality"] = int(quality)
    # pHash works on a 32x32 grey image; shrinking to it in one reducing step is much faster than
    # letting imagehash resample the full working image.
    grey = rgb.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    result["phash"] = str(imagehash.phash(grey))
    return result


def hash_images(paths: tuple[str, ...] | list[str]) -> list[Found]:
    """One `Found` per image of an ad (kind "image", value the SHA-256), in the ad's order; a file
    listed many times is hashed once."""
    found = []
    hashed: dict[str, dict[str, object]] = {}
    for i, path in enumerate(paths):
        name = str(path)
        if name not in hashed:
            hashed[name] = hash_image(path)
        detail = {**hashed[name], "path": name}
        found.append(Found("image", str(detail["sha256"]), (Span(f"images[{i}]", 0, 0),), detail))
    return found
