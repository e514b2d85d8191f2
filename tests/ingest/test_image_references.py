"""Image references amplify no work: validation stats each reference once and refuses folders,
FIFOs, files over `MAX_IMAGE_BYTES`, ads with more than `MAX_IMAGES_PER_AD` references and the
input file itself; the worker reads each file once (hash and fingerprints), never past the limit.

Every image here is generated noise, never a photo of a person; every ad is made up.
"""

from __future__ import annotations

import builtins
import os
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_image_links import NAMES, junk, noise_photo, unrelated_ads, write_ads

from threadline.extract import images as image_module
from threadline.extract.images import hash_image, hash_images
from threadline.ingest import ingest_file, validate
from threadline.ingest._work import hash_ad
from threadline.ingest.validate import MAX_IMAGE_BYTES, MAX_IMAGES_PER_AD, Invalid
from threadline.model import Ad
from threadline.store import Store


def check(record: dict[str, Any], corpus: Path, input_file: Path | None = None) -> str:
    """The reason ``record`` is refused."""
    with pytest.raises(Invalid) as refused:
        validate(record, corpus=corpus, default_source="feed", input_file=input_file)
    return refused.value.reason


def ad(images: list[str]) -> dict[str, Any]:
    return {"id": "x", "body": "Call (713) 555-0142", "images": images}


def test_an_ad_with_too_many_image_references_is_refused_before_any_is_looked_at(tmp_path: Path) -> None:
    noise_photo(tmp_path / "a.jpg", seed=1)
    reason = check(ad(["a.jpg"] * 100_000), tmp_path)
    assert reason == f"images lists 100,000 files, over the limit of {MAX_IMAGES_PER_AD} per ad"
    assert MAX_IMAGES_PER_AD == 64
    # The limit itself is allowed.
    valid = validate(ad(["a.jpg"] * MAX_IMAGES_PER_AD), corpus=tmp_path, default_source="feed")
    assert len(valid.images) == MAX_IMAGES_PER_AD


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with open(tmp_path / "huge.jpg", "wb") as f:
        f.truncate(3 * 1024**3)  # sparse: no disk used
    assert check(ad(["huge.jpg"]), tmp_path) == (
        "images[0] is 3,221,225,472 bytes, over the 32 MiB limit for an image: 'huge.jpg'"
    )
    with open(tmp_path / "limit.jpg", "wb") as f:
        f.truncate(MAX_IMAGE_BYTES)
    validate(ad(["limit.jpg"]), corpus=tmp_path, default_source="feed")  # the limit itself is allowed


def test_the_input_file_is_not_an_image(tmp_path: Path) -> None:
    ads = write_ads(tmp_path / "ads.jsonl", [ad(["ads.jsonl"])])
    os.link(ads, tmp_path / "photo.jpg")  # under another name, too
    for name in ("ads.jsonl", "./ads.jsonl", str(ads), "photo.jpg"):
        reason = check(ad([name]), tmp_path, input_file=ads)
        assert reason == f"images[0] is the input file itself, not an image: {name!r}"


def test_folders_and_fifos_are_named_for_what_they_are(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    os.mkfifo(tmp_path / "pipe.jpg")
    assert check(ad(["photos"]), tmp_path) == "images[0] is a folder, not a file: 'photos'"
    assert check(ad(["photos/"]), tmp_path) == "images[0] is a folder, not a file: 'photos/'"
    assert check(ad(["pipe.jpg"]), tmp_path) == (
        "images[0] is a FIFO (named pipe), not a regular file: 'pipe.jpg'"
    )
    assert check(ad(["missing.jpg"]), tmp_path) == "images[0] does not exist: 'missing.jpg'"


def test_ingest_quarantines_hostile_references(tmp_path: Path) -> None:
    noise_photo(tmp_path / "a.jpg", seed=2)
    with open(tmp_path / "huge.jpg", "wb") as f:
        f.truncate(MAX_IMAGE_BYTES + 1)
    os.mkfifo(tmp_path / "pipe.jpg")
    records = [ad(["a.jpg"] * 100_000), ad(["a.jpg", "huge.jpg"]), ad(["pipe.jpg"]), ad(["a.jpg"])]
    path = write_ads(tmp_path / "ads.jsonl", records)
    with Store.open(tmp_path / "s.duckdb") as store:
        report = ingest_file(path, store, workers=0)
        assert (report.read, report.quarantined) == (4, 3)
        reasons = {q.line: q.reason for q in store.quarantine()}
    assert reasons == {
        1: "images lists 100,000 files, over the limit of 64 per ad",
        2: "images[1] is 33,554,433 bytes, over the 32 MiB limit for an image: 'huge.jpg'",
        3: "images[0] is a FIFO (named pipe), not a regular file: 'pipe.jpg'",
    }


class Opens:
    """Counts the times files under one folder are opened, by any means."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = str(folder)
        self.count: dict[str, int] = {}
        real_open, real_os_open = builtins.open, os.open

        def counting_open(file: Any, *args: Any, **kw: Any) -> Any:
            self._seen(file)
            return real_open(file, *args, **kw)

        def counting_os_open(path: Any, *args: Any, **kw: Any) -> int:
            self._seen(path)
            return real_os_open(path, *args, **kw)

        monkeypatch.setattr(builtins, "open", counting_open)
        monkeypatch.setattr(os, "open", counting_os_open)

    def _seen(self, path: Any) -> None:
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(self.folder):
            name = os.path.basename(os.fspath(path))
            self.count[name] = self.count.get(name, 0) + 1


def test_a_file_listed_many_times_is_read_once_for_hash_and_fingerprints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = tmp_path / "img"
    noise_photo(images / "a.jpg", seed=int(time.time_ns() % 2**32))  # content new to this process
    noise_photo(images / "b.jpg", seed=int(time.time_ns() % 2**32) + 1)
    path = write_ads(tmp_path / "ads.jsonl", [ad(["img/a.jpg"] * 20 + ["img/b.jpg"])])
    opens = Opens(images, monkeypatch)
    with Store.open(tmp_path / "s.duckdb") as store:
        report = ingest_file(path, store, workers=0)  # the project's extraction, in this process
        assert (report.new_ads, report.quarantined) == (1, 0)
        stored = store.connection.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM ad_images").fetchall()
        fingerprinted = store.connection.execute("SELECT COUNT(pdq) FROM images").fetchall()
    assert opens.count == {"a.jpg": 1, "b.jpg": 1}
    assert stored == [(21, 2)] and fingerprinted == [(2,)]


def test_hash_images_fingerprints_a_repeated_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = str(noise_photo(tmp_path / "img" / "a.png", seed=int(time.time_ns() % 2**32)))
    opens = Opens(tmp_path / "img", monkeypatch)
    found = hash_images([photo] * 20)
    assert opens.count == {"a.png": 1}
    assert [f.spans[0].field for f in found] == [f"images[{i}]" for i in range(20)]
    assert len({f.value for f in found}) == 1 and all(f.detail["path"] == photo for f in found)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = noise_photo(tmp_path / "a.png", seed=5)
    first = hash_image(path)["sha256"]
    noise_photo(path, seed=6)
    os.utime(path, ns=(1, 1))  # a new modification time even on a coarse clock
    assert hash_image(path)["sha256"] != first


def test_the_worker_refuses_what_changed_since_validation(tmp_path: Path) -> None:
    # Files replaced after validation: hash_ad must not block on a FIFO or read past the limit.
    os.mkfifo(tmp_path / "pipe.jpg")
    with open(tmp_path / "huge.jpg", "wb") as f:
        f.truncate(MAX_IMAGE_BYTES + 1)
    photo = str(noise_photo(tmp_path / "ok.jpg", seed=4))
    for name, reason in (
        ("pipe.jpg", "images[1] cannot be read: not a regular file"),
        ("huge.jpg", "images[1] cannot be read: over the 32 MiB limit for an image"),
    ):
        outcome = hash_ad(Ad("site", "a", body="b", images=(photo, str(tmp_path / name))))
        assert outcome.error == reason


def test_a_file_that_grows_while_read_is_not_read_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.jpg"
    path.write_bytes(b"\xff\xd8" + b"\x00" * 1000)
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        found = real_fstat(fd)
        with open(path, "r+b") as f:  # the crawler goes on writing after the size was taken
            f.truncate(3 * MAX_IMAGE_BYTES)
        return found

    monkeypatch.setattr(os, "fstat", fstat_then_grow)
    read: list[int] = []
    real_read = image_module._read_up_to

    def counting_read(f: Any, size: int) -> bytes:
        data = real_read(f, size)
        read.append(len(data))
        return data

    monkeypatch.setattr(image_module, "_read_up_to", counting_read)
    with pytest.raises(OSError, match="over the 32 MiB limit"):
        image_module.image_sha256(path)
    assert sum(read) == MAX_IMAGE_BYTES + 1


def test_the_read_limit_is_the_validation_limit() -> None:
    assert image_module.MAX_IMAGE_BYTES == MAX_IMAGE_BYTES


def test_spark_links_only_decoded_images_with_content(tmp_path: Path) -> None:
    # The same SQL steps through the Engine seam; the Spark engine builds its own images table.
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java on this machine")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from threadline.engines.spark import run_spark, spark_session

    corpus = tmp_path / "corpus"
    ads = unrelated_ads(6, list(junk(corpus).values()))
    shared = noise_photo(corpus / "img" / "photo.jpg", seed=11).name
    for record in ads[:2]:
        record["images"] = [*record["images"], f"img/{shared}"]
    # ... one woman under her one name, as in test_image_links' twin of this test (a photo beside
    # two numbers, where numbers go alone, joins only with something else that agrees)
    ads[1]["title"], ads[1]["body"] = ads[0]["title"], ads[1]["body"].replace(NAMES[1], NAMES[0])
    ads.append({**ad(["ads.jsonl"]), "id": "self"})  # the input file as an image: quarantined
    write_ads(corpus / "ads.jsonl", ads)
    spark = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    try:
        run_spark(str(corpus / "ads.jsonl"), str(tmp_path / "out"), partitions=2, spark=spark)
    finally:
        spark.stop()
    with duckdb.connect() as con:
        out = tmp_path / "out"
        rows = con.execute(
            f"SELECT id, network, person FROM read_parquet('{out}/ad_links/*.parquet')"
        ).fetchall()
        reasons = con.execute(f"SELECT reason FROM read_parquet('{out}/quarantine/*.parquet')").fetchall()
    networks = {ad_id: network for ad_id, network, _ in rows}
    assert len(rows) == 6 and len(set(networks.values())) == 5 and networks["ad-0"] == networks["ad-1"]
    assert len({person for _, _, person in rows}) == 5
    assert reasons == [("images[0] is the input file itself, not an image: 'ads.jsonl'",)]
