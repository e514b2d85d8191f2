"""Image fingerprints: PDQ, a second perceptual hash, and an exact SHA-256.

PDQ is the perceptual hash that trust-and-safety organisations exchange (hash lists a unit receives
can be matched against it). pHash (DCT based, from `imagehash`) is kept beside it as a second opinion
for near copies that PDQ places further apart. SHA-256 finds byte-identical files, such as one stock
image re-used across unrelated ads.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

from threadline.model import Found, Span

__all__ = ["PDQ_MIN_QUALITY", "hash_image", "hash_images", "hex_bits"]

# PDQ's authors treat quality below 50 as too featureless (flat colour, tiny) to match on.
PDQ_MIN_QUALITY = 50
# Hostile files: refuse images whose header claims more pixels than a real ad photo could have.
_MAX_PIXELS = 40_000_000
# PDQ downsamples to 64x64 anyway; shrinking big photos first keeps hashing fast and stable.
_WORK_SIZE = 512


def hex_bits(bits: np.ndarray) -> str:
    """A 0/1 vector as hex, most significant bit first (the PDQ hash-list convention)."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hash_image(path: str | Path) -> dict[str, object]:
    """Fingerprints of one image file; on an unreadable file, its SHA-256 and the error."""
    data = Path(path).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    # The same photo is posted again and again: fingerprint each content once per process.
    known = _SEEN.get(sha256)
    if known is None:
        known = _fingerprints(data)
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.pop(next(iter(_SEEN)))  # oldest first: dicts keep insertion order
        _SEEN[sha256] = known
    return {"sha256": sha256, "bytes": len(data), **known}


_SEEN: dict[str, dict[str, object]] = {}
_SEEN_MAX = 50_000  # a few hundred bytes each


def _fingerprints(data: bytes) -> dict[str, object]:
    result: dict[str, object] = {}
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > _MAX_PIXELS:
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
    """One `Found` per image of an ad (kind "image", value the SHA-256), in the ad's order."""
    found = []
    for i, path in enumerate(paths):
        detail = hash_image(path)
        detail["path"] = str(path)
        found.append(Found("image", str(detail["sha256"]), (Span(f"images[{i}]", 0, 0),), detail))
    return found
