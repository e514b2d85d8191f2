"""Ads' images in the workspace: blurred by the server, the original only on an audited reveal.

An ad's photos may show a victim, a minor or worse: an analyst must not see them by accident, and
a page must not download them just to blur them in the browser. So the server sends a blurred,
shrunk, re-encoded JPEG (nothing of the original file's bytes, metadata or format reaches the
browser), and the original only when the analyst asks for it, each time audited ("reveal image",
with the ad it was asked for) and sent with ``Cache-Control: no-store``.

Some images are never sent at all (issue 15, `threadline.store.hashlists`): one matching a hash
list of known abuse material, to anyone, ever; one an ad states an age under 18 beside, not even
blurred: only a supervisor or an admin reveals it, with a reason the audit keeps (`hidden`).

Bytes are served only for an image the store knows (its SHA-256 is an ad's image), read from a
file whose bytes still hash to it (a file replaced since ingest is not served), and only if Pillow
reads it as an image (a polyglot or an HTML file named .jpg is refused).
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from pathlib import Path

import duckdb
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from threadline.extract.images import MAX_PIXELS
from threadline.store import kept_images

__all__ = [
    "BLURRED_SIZE",
    "HIDDEN_REASONS",
    "SHA256",
    "ImageRefused",
    "blurred",
    "hidden",
    "image_bytes",
    "media_type",
]

SHA256 = re.compile(r"[0-9a-f]{64}\Z")
BLURRED_SIZE = 320  # the longer side of a blurred copy, pixels
_MEDIA = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


class ImageRefused(ValueError):
    """The bytes are not an image the workspace shows."""


# What a refused request is told, by why the image is hidden.
HIDDEN_REASONS = {
    "hash_list": (
        "this image matches a hash list of known child sexual abuse material: it is never shown, "
        "revealed or exported (it is flagged for mandatory reporting)"
    ),
    "minor": (
        "this image is hidden: an ad showing it states an age under 18 (possible minor); only a "
        "supervisor may reveal it, with a reason"
    ),
}


def hidden(cur: duckdb.DuckDBPyConnection, sha256: str) -> str | None:
    """Why the image ``sha256`` is hidden ("hash_list", "minor"), None if it is not."""
    from threadline.store.hashlists import hidden_images

    if not SHA256.fullmatch(sha256):
        return None
    return hidden_images(cur, [sha256]).get(sha256)


def image_bytes(cur: duckdb.DuckDBPyConnection, store_file: Path, sha256: str) -> bytes | None:
    """The bytes of the image ``sha256`` of some ad: the store's kept copy, else a path an ad gave
    that still holds exactly them (`kept_images.image_bytes`); None if no ad has it, or no file."""
    if not SHA256.fullmatch(sha256):
        return None
    paths = [
        path
        for (path,) in cur.execute(
            "SELECT DISTINCT path FROM ad_images WHERE sha256 = ? ORDER BY path LIMIT 20", [sha256]
        ).fetchall()
    ]
    for k, path in enumerate(paths):
        data = kept_images.image_bytes(store_file if k == 0 else None, sha256, path)
        if data is not None:
            return data
    return None


def _open(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ImageRefused(f"{img.width}x{img.height} pixels: too large to show")
        return img
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageRefused(f"not an image the workspace shows ({type(exc).__name__})") from None


def media_type(data: bytes) -> str:
    """The media type of an image Pillow reads (ImageRefused for anything else)."""
    with _open(data) as img:
        kind = _MEDIA.get(img.format or "")
    if kind is None:
        raise ImageRefused("not an image format the workspace shows")
    return kind


_BLURRED: OrderedDict[str, bytes] = OrderedDict()  # the last blurred copies made, by hash
_BLURRED_MAX = 512
_BLURRED_LOCK = threading.Lock()


def blurred(sha256: str, data: bytes) -> bytes:
    """A blurred JPEG of the image: shrunk to `BLURRED_SIZE`, blurred so that no face or tattoo
    can be made out, re-encoded without metadata."""
    with _BLURRED_LOCK:
        if sha256 in _BLURRED:
            _BLURRED.move_to_end(sha256)
            return _BLURRED[sha256]
    with _open(data) as img:
        img.draft("RGB", (BLURRED_SIZE * 2, BLURRED_SIZE * 2))
        rgb = ImageOps.exif_transpose(img).convert("RGB")
    rgb.thumbnail((BLURRED_SIZE, BLURRED_SIZE))
    radius = max(6, max(rgb.size) // 14)
    out = io.BytesIO()
    rgb.filter(ImageFilter.GaussianBlur(radius)).save(out, format="JPEG", quality=60)
    made = out.getvalue()
    with _BLURRED_LOCK:
        _BLURRED[sha256] = made
        while len(_BLURRED) > _BLURRED_MAX:
            _BLURRED.popitem(last=False)
    return made
