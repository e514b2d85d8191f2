"""Generated stand-ins for ad photos: gradients, shapes and noise, never pictures of people.

Each synthetic person owns a few *base* images. Ads show them again and again, sometimes exactly
(the same file), sometimes as a *variant*: resized, cropped by a few percent, re-compressed at
another JPEG quality, or slightly brighter or darker, as happens when photos are re-uploaded to
another site or saved from a screenshot. A perceptual hash should match variants of the same base
and nothing else. One stock image (a site's "no photo" placeholder) is shared by many unrelated ads.

File names are opaque hashes, so nothing about the person can be read from a path. Each distinct
file is written once, on first use.
"""

from __future__ import annotations

import hashlib
import io
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

__all__ = ["BASE_SIZE", "STOCK_IMAGE", "ImageStore", "base_image"]

BASE_SIZE = 160  # pixels; small so that a 100k-ad corpus writes in minutes
STOCK_IMAGE = "images/stock/placeholder.jpg"


def _seed_of(*parts: object) -> int:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@lru_cache(maxsize=64)
def base_image(seed: int, person: int, base: int) -> Image.Image:
    """The ``base``-th picture of ``person``: a gradient, a handful of shapes, a little noise.

    Large, high-contrast shapes dominate the low frequencies that perceptual hashes look at, so two
    different bases differ clearly while the variants of one base stay close. Cached because posts
    of one person come in a run and reuse the same few bases.
    """
    rng = np.random.default_rng(_seed_of(seed, "person", person, base))
    size = BASE_SIZE
    # A linear gradient between two random colours along a random direction.
    # Plain Python floats keep the arrays float32 (a NumPy float64 scalar would promote them, and
    # float64 is several times slower here); one plane per channel avoids a slow trailing axis of 3.
    angle = float(rng.uniform(0, 2 * math.pi))
    axis = np.arange(size, dtype=np.float32) / size
    t = (math.cos(angle) * axis[None, :] + math.sin(angle) * axis[:, None] + 1.5) / 3.0
    c0 = [int(v) for v in rng.integers(0, 256, 3)]
    c1 = [int(v) for v in rng.integers(0, 256, 3)]
    pixels = np.dstack([(c0[i] + (c1[i] - c0[i]) * t).astype(np.uint8) for i in range(3)])
    image = Image.fromarray(pixels, "RGB")

    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = (int(v) for v in rng.integers(-20, size, 2))
        w, h = (int(v) for v in rng.integers(25, 90, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            points = [(int(px), int(py)) for px, py in rng.integers(-10, size + 10, (3, 2))]
            draw.polygon(points, fill=colour)

    # Sensor-like grain; uniform integer noise is several times cheaper than Gaussian here.
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-10, 11, (size, size, 3), dtype=np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB")


def _variant(image: Image.Image, seed: int) -> tuple[Image.Image, int]:
    """A re-upload of ``image``: cropped a few percent, resized, brightness nudged; and its quality."""
    rng = np.random.default_rng(seed)
    w, h = image.size
    crop = rng.uniform(0.0, 0.04, 4)
    box = (int(w * crop[0]), int(h * crop[1]), w - int(w * crop[2]), h - int(h * crop[3]))
    out = image.crop(box)
    scale = rng.uniform(0.75, 1.3)
    out = out.resize((max(48, int(w * scale)), max(48, int(h * scale))), Image.Resampling.BILINEAR)
    if rng.random() < 0.6:
        out = ImageEnhance.Brightness(out).enhance(float(rng.uniform(0.9, 1.1)))
    return out, int(rng.integers(45, 90))


class ImageStore:
    """Writes each distinct image file once under ``out_dir/images`` and returns relative paths."""

    def __init__(self, out_dir: Path, seed: int) -> None:
        self._out_dir = out_dir
        self._seed = seed
        self._written: set[str] = set()
        self._dirs: set[Path] = set()

    @property
    def files_written(self) -> int:
        return len(self._written)

    def has_written(self, rel: str) -> bool:
        return rel in self._written

    def person_image(self, person: int, base: int, variant: int) -> str:
        """Path (relative to the corpus folder) of one variant of one base; 0 is the original."""
        name = f"{_seed_of(self._seed, 'file', person, base, variant):016x}"
        rel = f"images/{name[:2]}/{name}.jpg"
        if rel not in self._written:
            image = base_image(self._seed, person, base)
            quality = 80 + (person + base) % 15  # each camera/phone saves at its own quality
            if variant:
                image, quality = _variant(image, _seed_of(self._seed, "variant", person, base, variant))
            self._write(rel, image, quality)
        return rel

    def stock_image(self) -> str:
        """The site placeholder many unrelated ads show: concentric rings on a flat background."""
        rel = STOCK_IMAGE
        if rel not in self._written:
            size = BASE_SIZE
            image = Image.new("RGB", (size, size), (230, 225, 235))
            draw = ImageDraw.Draw(image)
            for i, r in enumerate(range(70, 5, -13)):
                shade = (200 - 25 * i % 200, 120 + 20 * i, 160)
                draw.ellipse((80 - r, 80 - r, 80 + r, 80 + r), fill=shade)
            self._write(rel, image, 85)
        return rel

    def _write(self, rel: str, image: Image.Image, quality: int) -> None:
        path = self._out_dir / rel
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        path.write_bytes(buffer.getvalue())
        self._written.add(rel)
