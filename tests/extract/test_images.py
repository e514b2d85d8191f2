"""Image fingerprints on generated images (shapes and noise, never photos of people)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from threadline.extract.images import PDQ_MIN_QUALITY, hash_image, hash_images


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def _picture(seed: int, size: int = 320) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = (rng.random((size // 8, size // 8, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = (int(v) for v in rng.integers(0, size - 60, 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x, y, x + 40 + x % 50, y + 30 + y % 40), fill=colour)
    return img


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    original = _picture(1)
    paths = {
        "original": tmp_path / "a.png",
        "copy": tmp_path / "copy.png",
        "resized": tmp_path / "resized.jpg",
        "recompressed": tmp_path / "recompressed.jpg",
        "cropped": tmp_path / "cropped.png",
        "other": tmp_path / "other.png",
    }
    original.save(paths["original"])
    original.save(paths["copy"])
    original.resize((200, 200)).save(paths["resized"], quality=80)
    original.save(paths["recompressed"], quality=35)
    original.crop((12, 12, 308, 308)).save(paths["cropped"])
    _picture(2).save(paths["other"])
    return paths


def test_near_copies_are_close_and_other_images_far(photos: dict[str, Path]) -> None:
    h = {name: hash_image(path) for name, path in photos.items()}
    assert h["original"]["sha256"] == h["copy"]["sha256"]
    assert h["original"]["sha256"] != h["resized"]["sha256"]
    assert int(h["original"]["pdq_quality"]) >= PDQ_MIN_QUALITY  # type: ignore[call-overload]
    for near in ("resized", "recompressed"):
        # PDQ's authors call up to 31 of 256 bits a match.
        assert _hamming(str(h["original"]["pdq"]), str(h[near]["pdq"])) <= 31, near
    # PDQ is sensitive to cropping; pHash (64 bits) still matches a copy with 4% cut off each
    # side, which is why it is kept beside PDQ.
    for near in ("resized", "recompressed", "cropped"):
        assert _hamming(str(h["original"]["phash"]), str(h[near]["phash"])) <= 10, near
    assert _hamming(str(h["original"]["pdq"]), str(h["other"]["pdq"])) > 80
    assert _hamming(str(h["original"]["phash"]), str(h["other"]["phash"])) > 20


def test_hash_images_keeps_order_and_paths(photos: dict[str, Path]) -> None:
    paths = (str(photos["other"]), str(photos["original"]))
    found = hash_images(paths)
    assert [f.detail["path"] for f in found] == list(paths)
    assert [f.spans[0].field for f in found] == ["images[0]", "images[1]"]
    assert all(f.kind == "image" and len(f.value) == 64 for f in found)


def test_unreadable_and_hostile_files_are_reported_not_raised(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff not really a jpeg" * 10)
    result = hash_image(junk)
    assert "error" in result and "pdq" not in result
    assert len(str(result["sha256"])) == 64
    # A tiny file whose header claims a huge canvas must be refused before decoding.
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, optimize=True)
    result = hash_image(bomb)
    assert "too large" in str(result["error"]) or "DecompressionBomb" in str(result["error"])


def test_same_content_under_two_names_is_fingerprinted_alike(photos: dict[str, Path]) -> None:
    a, b = hash_image(photos["original"]), hash_image(photos["copy"])
    assert {k: v for k, v in a.items()} == {k: v for k, v in b.items()}


def test_the_hash_distance_sql_counts_every_bit_of_a_pdq() -> None:
    import duckdb

    from threadline.extract.images import pdq_bits_sql, phash_bits_sql

    a, b = "f" * 64, "0" * 64  # every bit differs: 256, past a TINYINT's 127
    mixed = "0f" * 32
    [(far, half, same, ph)] = duckdb.sql(
        f"SELECT {pdq_bits_sql(repr(a), repr(b))}, {pdq_bits_sql(repr(a), repr(mixed))},"
        f" {pdq_bits_sql(repr(a), repr(a))}, {phash_bits_sql(repr('f' * 16), repr('0' * 16))}"
    ).fetchall()
    assert (far, half, same, ph) == (256, 128, 0, 64)
