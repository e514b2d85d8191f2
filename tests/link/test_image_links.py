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
    # ... under her one name and age (a photo beside two numbers where numbers go alone joins on
    # its own only with something else that agrees: see section 2)
    ads[1]["title"] = ads[0]["title"]
    ads[1]["body"] = ads[1]["body"].replace(NAMES[1], NAMES[0]).replace(", 22.", ", 21.")
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
        # An icon, let in on purpose: a value ads share (beside six numbers where one number goes
        # alone: a weak link, which nothing corroborates here).
        [(ads_with, beside)] = store.query("SELECT ads, co_phones FROM link_hubs WHERE kind = 'image'")
        assert (ads_with, beside) == (6, 6)


# -- 2. an exact image beside more numbers than one owner's photos is a weak link ------------------
#
# A stock photo many unrelated advertisers use is a hub once it is beside 20 numbers; on a smaller
# archive it is beside fewer, and an exact match of it must not glue strangers. An exact image links
# on its own only while it is beside no more numbers than one writer's text may be (``text_own``,
# measured on the data); beside more, it joins two groups only when something independent agrees.

STOCK_CITIES = ["Houston, TX", "Dallas, TX", "Austin, TX", "Denver, CO", "Miami, FL", "Atlanta, GA"]


def stock_advertisers(
    photo: str, names: list[str], first: int = 0, ages: list[int] | None = None
) -> list[dict[str, Any]]:
    """Independent advertisers, each with her own two numbers (call and text: where numbers go in
    pairs, one owner's photo may be beside two), name, age (``ages``, else 21 + her number) and
    city, all showing one stock ``photo``."""
    return [
        {
            "id": f"adv-{i}",
            "source": "site",
            "title": f"{name} in {STOCK_CITIES[i % 6]}",
            "body": f"Hi, I'm {name}, {ages[i - first] if ages else 21 + i}. "
            f"Call (415) 555-01{i:02d} or text (628) 555-01{i:02d}.",
            "location": STOCK_CITIES[i % 6],
            "posted_at": f"2026-02-{1 + i:02d}T20:00:00Z",
            "images": [photo],
        }
        for i, name in enumerate(names, start=first)
    ]


def her_ads(photo: str) -> list[dict[str, Any]]:
    """One woman under two names and in two cities, months apart: her number in January, the same
    number again in June (a second tenure: the number alone does not link them) beside her new one,
    both times with her own photo."""
    return [
        {
            "id": "her-jan",
            "source": "site",
            "title": "Kiki, new in Houston",
            "body": "Sweet and discreet, I'm Kiki. Call (832) 555-0177.",
            "location": "Houston, TX",
            "posted_at": "2026-01-05T20:00:00Z",
            "images": [photo],
        },
        {
            "id": "her-jun",
            "source": "site",
            "title": "Coco visiting Dallas",
            "body": "Back again, call me Coco. New (469) 555-0188, old one (832) 555-0177 still works.",
            "location": "Dallas, TX",
            "posted_at": "2026-06-20T20:00:00Z",
            "images": [photo],
        },
    ]


def _sha(con: Any, name: str) -> str:
    [(sha,)] = con.execute("SELECT DISTINCT sha256 FROM ad_images WHERE path LIKE ?", [f"%{name}"]).fetchall()
    return str(sha)


def test_a_stock_photo_of_unrelated_advertisers_needs_corroboration(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    corpus = tmp_path / "corpus"
    stock = noise_photo(corpus / "img" / "stock.jpg", seed=21).name
    mine = noise_photo(corpus / "img" / "kiki.jpg", seed=22).name
    ads = stock_advertisers(f"img/{stock}", NAMES) + her_ads(f"img/{mine}")
    db = tmp_path / "s.duckdb"
    ran = CliRunner().invoke(cli, ["ingest", str(write_ads(corpus / "ads.jsonl", ads)), "--db", str(db)])
    assert ran.exit_code == 0, ran.output
    with Store.open(db, read_only=True) as store:
        con = store.connection
        networks, persons = clusters(store, "network"), clusters(store, "person")
        # Six strangers stay six networks; her two ads, two names, two cities and two tenures of her
        # number, are one network and one person through her own photo.
        assert len({networks[f"adv-{i}"] for i in range(6)}) == 6
        assert len({persons[f"adv-{i}"] for i in range(6)}) == 6
        assert networks["her-jan"] == networks["her-jun"] and persons["her-jan"] == persons["her-jun"]
        assert networks["her-jan"] not in {networks[f"adv-{i}"] for i in range(6)}
        [(params,)] = con.execute("SELECT params FROM link_runs ORDER BY finished DESC LIMIT 1").fetchall()
        assert json.loads(params)["measured"]["text_own_holders"] == 2
        stock_sha, her_sha = _sha(con, stock), _sha(con, mine)
        rows = con.execute(
            "SELECT value, ads, co_phones, is_hub FROM link_hubs WHERE kind = 'image' ORDER BY ads DESC"
        ).fetchall()
        assert rows == [(stock_sha, 6, 12, False), (her_sha, 2, 2, False)]
        evidence = con.execute(
            "SELECT network, kind, value, ads FROM link_evidence WHERE kind = 'image'"
        ).fetchall()
        assert evidence == [(networks["her-jan"], "image", her_sha, 2)]
        # Not a hub (fewer than 20 numbers): `hubs` lists none.
        assert con.execute("SELECT COUNT(*) FROM link_hubs WHERE is_hub AND kind = 'image'").fetchall() == [
            (0,)
        ]

    # `explain` shows the stock photo in each advertiser's network as needing other evidence, and
    # her photo as what links her ads.
    explained = CliRunner().invoke(cli, ["explain", networks["adv-0"], "--db", str(db)])
    assert explained.exit_code == 0, explained.output
    hubs_part = explained.output.split("hubs in these ads")[1]
    assert "only with other evidence" in hubs_part
    assert stock_sha in hubs_part and "seen with 12 phones in 6 ads" in hubs_part
    mine_explained = CliRunner().invoke(cli, ["explain", networks["her-jan"], "--db", str(db)])
    assert mine_explained.exit_code == 0, mine_explained.output
    assert "hubs in these ads" not in mine_explained.output and "kiki.jpg" in mine_explained.output

    # An analyst who knows the six are one agency marks the photo no hub: it links them on its own.
    marked = CliRunner().invoke(
        cli, ["mark-hub", "image", stock_sha, "--not-hub", "--analyst", "kim", "--db", str(db)]
    )
    assert marked.exit_code == 0, marked.output
    with Store.open(db) as store:
        assert len({clusters(store, "network")[f"adv-{i}"] for i in range(6)}) == 1
        incremental = clusters(store, "network")
        link(store.connection, full=True)
        assert clusters(store, "network") == incremental


def test_a_stock_photo_joins_two_groups_only_with_something_that_agrees(tmp_path: Path) -> None:
    # Two of the stock photo's users state the same name and age ("Mia", 24, in Houston and in
    # Miami): the photo and the name agree, and they are joined; the others stay apart. The
    # holders of the photo are judged pairwise, not only against its first holder.
    corpus = tmp_path / "corpus"
    stock = f"img/{noise_photo(corpus / 'img' / 'stock.jpg', seed=21).name}"
    names = ["Ruby", "Mia", "Jade", "Luna", "Mia", "Rose"]
    ages = [21, 24, 22, 23, 24, 26]
    with linked(
        tmp_path, write_ads(corpus / "ads.jsonl", stock_advertisers(stock, names, ages=ages))
    ) as store:
        networks = clusters(store, "network")
        assert networks["adv-1"] == networks["adv-4"]
        assert len({networks[f"adv-{i}"] for i in range(6)}) == 5
        [(ads,)] = store.query("SELECT ads FROM link_evidence WHERE kind = 'image'")
        assert ads == 2


@pytest.mark.parametrize(("age", "joined"), [(24, True), (25, False), (31, False)])
def test_a_shared_name_agrees_only_with_the_same_age(tmp_path: Path, age: int, joined: bool) -> None:
    # Two Mias with the stock photo: of the same age they may be one woman; of 25 or 31 beside
    # 24, two women who both call themselves Mia.
    corpus = tmp_path / "corpus"
    stock = f"img/{noise_photo(corpus / 'img' / 'stock.jpg', seed=21).name}"
    names = ["Ruby", "Mia", "Jade", "Luna", "Mia", "Rose"]
    ages = [21, 24, 22, 23, age, 26]
    with linked(
        tmp_path, write_ads(corpus / "ads.jsonl", stock_advertisers(stock, names, ages=ages))
    ) as store:
        networks = clusters(store, "network")
        assert (networks["adv-1"] == networks["adv-4"]) is joined
        assert len({networks[f"adv-{i}"] for i in range(6)}) == (5 if joined else 6)


def test_incremental_runs_equal_a_full_run_as_a_photo_turns_weak(tmp_path: Path) -> None:
    # First one advertiser shows the photo beside her two numbers: hers, a strong link between
    # her ads. Then five more show it: beside twelve numbers, a weak one; her ads stay together
    # (her numbers link them), the newcomers stay apart; then one reposts and one more shows it.
    # Incremental runs equal a full one.
    corpus = tmp_path / "corpus"
    stock = f"img/{noise_photo(corpus / 'img' / 'stock.jpg', seed=21).name}"
    first = stock_advertisers(stock, NAMES[:1])
    first += [{**first[0], "id": "adv-0b", "posted_at": "2026-02-02T20:00:00Z"}]
    nina = stock_advertisers(stock, NAMES[4:5], 4)
    batches = [
        first + stock_advertisers(f"img/{noise_photo(corpus / 'img' / 'x.jpg', seed=23).name}", ["Zoe"], 9),
        stock_advertisers(stock, NAMES[1:6], 1)
        + her_ads(f"img/{noise_photo(corpus / 'img' / 'k.jpg', seed=22).name}"),
        [
            *({**ad, "id": f"{ad['id']}-again", "posted_at": "2026-02-20T20:00:00Z"} for ad in nina),
            *stock_advertisers(stock, ["Jade"], 6, ages=[23]),  # the age of the first Jade (adv-2)
        ],
    ]
    params = LinkParams(incremental_max_share=1.0)
    with Store.open(tmp_path / "inc.duckdb") as store:
        for n, batch in enumerate(batches):
            ingest_file(write_ads(corpus / f"b{n}.jsonl", batch), store, workers=0)
            link(store.connection, params)
            if n == 0:
                own = store.query("SELECT value, co_phones FROM link_hubs WHERE kind = 'image' AND ads = 2")
                assert [co for _, co in own] == [2]
        incremental = clusters(store, "network")
        link(store.connection, params, full=True)
        assert clusters(store, "network") == incremental
    with Store.open(tmp_path / "full.duckdb") as full:
        for n in range(len(batches)):
            ingest_file(corpus / f"b{n}.jsonl", full, workers=0)
        link(full.connection, params)
        once = clusters(full, "network")

    def groups(networks: dict[str, str]) -> set[frozenset[str]]:
        by: dict[str, set[str]] = {}
        for ad_id, network in networks.items():
            by.setdefault(network, set()).add(ad_id)
        return {frozenset(g) for g in by.values()}

    assert groups(incremental) == groups(once)
    assert incremental["adv-0"] == incremental["adv-0b"] and incremental["her-jan"] == incremental["her-jun"]
    # Nina (adv-4) posted again under the same numbers: one network, apart from the others; a
    # second Jade (adv-6) shows the photo in the last run: name and age agree, she joins the first.
    assert incremental["adv-4"] == incremental["adv-4-again"]
    assert len({incremental[f"adv-{i}"] for i in range(6)}) == 6
    assert incremental["adv-6"] == incremental["adv-2"]
