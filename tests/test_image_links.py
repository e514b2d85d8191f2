"""Only decoded images with real content link ads: a failed download (an empty file, an HTML error
page saved as .jpg), a tracking pixel, an icon or a near-uniform placeholder is provenance, never
evidence (`LinkParams.pdq_min_quality`, `LinkParams.image_min_side`).

Every image here is generated (noise, flat colour, text on a flat background), never a photo of
a person; every ad is made up, with fictional numbers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from threadline.extract.images import hash_image
from threadline.ingest import ingest_file
from threadline.link import LinkParams, link
from threadline.store import Store

AREAS = [713, 214, 512, 303, 305, 404]
CITIES = ["Houston, TX", "Dallas, TX", "Austin, TX", "Denver, CO", "Miami, FL", "Atlanta, GA"]
NAMES = ["Mia", "Ruby", "Jade", "Luna", "Nina", "Rose"]


def noise_photo(path: Path, seed: int, size: int = 240) -> Path:
    """A generated picture: smooth colour blobs and noise."""
    rng = np.random.default_rng(seed)
    base = (rng.random((24, 24, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=90)
    return path


def flat(path: Path, size: int = 400, grey: int = 128, noise: int = 0, seed: int = 0) -> Path:
    """A flat grey picture, with +-``noise`` of pixel noise."""
    rng = np.random.default_rng(seed)
    pixels = grey + rng.integers(-noise, noise + 1, (size, size, 3))
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def no_photo(path: Path) -> Path:
    """A site's "no photo" placeholder: a line of text on a flat background."""
    img = Image.new("RGB", (400, 400), (240, 240, 240))
    ImageDraw.Draw(img).text((150, 190), "No photo available", fill=(0, 0, 0))
    img.save(path, quality=90)
    return path


def junk(corpus: Path) -> dict[str, str]:
    """Files that are not photos, as a crawler saves them (name -> path relative to the corpus)."""
    folder = corpus / "img"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")  # a failed download
    (folder / "forbidden.jpg").write_text(
        "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1>"
        "<hr><center>nginx</center></body></html>\n"
    )
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(folder / "pixel.png")  # a tracking pixel
    flat(folder / "grey.jpg")
    # High PDQ quality, but an icon: refused by its size alone.
    noise_photo(folder / "icon.png", seed=7, size=16)
    no_photo(folder / "no-photo.jpg")
    return {name: f"img/{name}" for name in sorted(os.listdir(folder))}


def unrelated_ads(n: int, images: list[str]) -> list[dict[str, Any]]:
    """``n`` independent advertisers: their own phone, name, city and words."""
    return [
        {
            "id": f"ad-{i}",
            "source": "site",
            "title": f"{NAMES[i]} in {CITIES[i]}",
            "body": f"Hi, I'm {NAMES[i]}, {21 + i}. Call ({AREAS[i]}) 555-01{i:02d}.",
            "location": CITIES[i],
            "images": images,
        }
        for i in range(n)
    ]


def write_ads(path: Path, ads: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


def linked(tmp_path: Path, ads_file: Path) -> Store:
    store = Store.open(tmp_path / "s.duckdb")
    report = ingest_file(ads_file, store, workers=0)
    assert report.quarantined == 0
    link(store.connection)
    return store


def clusters(store: Store, column: str) -> dict[str, str]:
    rows = store.connection.execute(f"SELECT id, {column} FROM ad_links").fetchall()
    return {ad_id: value for ad_id, value in rows}


# -- 1. only decoded images with real content link ------------------------------------------------


def test_pdq_quality_of_flat_near_flat_and_noisy_pictures(tmp_path: Path) -> None:
    # What LinkParams.pdq_min_quality is measured against (see its comment).
    minimum = LinkParams().pdq_min_quality
    for noise in (0, 1, 3, 8):
        assert hash_image(flat(tmp_path / f"flat-{noise}.jpg", noise=noise))["pdq_quality"] == 0
    assert int(hash_image(no_photo(tmp_path / "no-photo.jpg"))["pdq_quality"]) < minimum  # type: ignore[call-overload]
    assert hash_image(noise_photo(tmp_path / "noise.jpg", seed=3))["pdq_quality"] == 100
    icon = hash_image(noise_photo(tmp_path / "icon.png", seed=3, size=16))
    assert icon["pdq_quality"] == 100 and icon["width"] == 16  # only its size tells it apart


@pytest.mark.parametrize(
    "name", ["empty.jpg", "forbidden.jpg", "pixel.png", "grey.jpg", "icon.png", "no-photo.jpg"]
)
def test_ads_sharing_one_junk_file_stay_apart(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "corpus"
    path = junk(corpus)[name]
    with linked(tmp_path, write_ads(corpus / "ads.jsonl", unrelated_ads(6, [path]))) as store:
        assert len(set(clusters(store, "network").values())) == 6
        assert len(set(clusters(store, "person").values())) == 6


def test_junk_images_are_provenance_never_evidence(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    files = junk(corpus)
    shared = noise_photo(corpus / "img" / "photo.jpg", seed=11).name
    ads = unrelated_ads(6, list(files.values()))
    for ad in ads[:2]:  # two ads of one person also show one real photo
        ad["images"] = [*ad["images"], f"img/{shared}"]
    with linked(tmp_path, write_ads(corpus / "ads.jsonl", ads)) as store:
        networks, persons = clusters(store, "network"), clusters(store, "person")
        assert networks["ad-0"] == networks["ad-1"] and persons["ad-0"] == persons["ad-1"]
        assert len(set(networks.values())) == 5 and len(set(persons.values())) == 5
        con = store.connection
        # The photo is the only image evidence; the junk is stored, with its path, as provenance.
        evidence = con.execute("SELECT kind, ads FROM link_evidence WHERE kind LIKE '%image%'").fetchall()
        assert evidence == [("image", 2)]
        [(rows, files_stored)] = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT sha256) FROM ad_images"
        ).fetchall()
        assert rows == 6 * len(files) + 2 and files_stored == len(files) + 1
        empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        assert con.execute("SELECT pdq FROM images WHERE sha256 = ?", [empty_sha]).fetchall() == [(None,)]
        # Not even a hub: what never links is not counted as a value ads share.
        assert con.execute("SELECT COUNT(*) FROM link_hubs WHERE kind = 'image'").fetchall() == [(1,)]


def test_image_admission_thresholds_are_parameters(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    icon = junk(corpus)["icon.png"]
    ads = write_ads(corpus / "ads.jsonl", unrelated_ads(6, [icon]))
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(ads, store, workers=0)
        link(store.connection, LinkParams(image_min_side=16))
        assert len(set(clusters(store, "network").values())) == 1  # an icon, let in on purpose
