"""Images kept by the store (`threadline.store.kept_images`): a synthetic corpus with images is
ingested, its folder deleted, and the store still serves every image over the API, `threadline
check` finds them all; a kept file altered or removed is named by `check`, which then exits 1."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import httpx
import pytest

from serve.server_support import serving, threadline
from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store, kept_images

ADMIN = Actor("root", "os-user", "cli")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("kept")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = threadline("synth", str(folder / "corpus"), "--ads", "50", "--seed", "3", env=env)
    assert made.returncode == 0, made.stderr
    db = folder / "store.duckdb"
    done = threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(folder / "corpus")  # the crawl folder is gone
    return db, env


def _shas(db: Path) -> list[str]:
    with Store.open(db, read_only=True) as store:
        return kept_images.referenced(store.connection)


def test_every_image_is_kept_by_its_hash_and_check_is_clean(ingested: tuple[Path, dict[str, str]]) -> None:
    db, env = ingested
    shas = _shas(db)
    assert len(shas) > 10
    for sha in shas:
        data = kept_images.kept_path(db, sha).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha
    assert kept_images.image_dir(db) == db.parent / "store.duckdb.images"
    checked = threadline("check", "--db", str(db), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(shas):,} kept" in checked.stdout


def test_the_api_serves_the_kept_images_after_the_corpus_is_gone(
    ingested: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db, env = ingested
    shas = _shas(db)
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            if not accounts.get_user(store, "ana"):
                accounts.add_user(store, "ana", "analyst", "correct horse battery staple", by=ADMIN)
            token = tokens.add_token(store, "ana", "read", by=ADMIN)[0]
            [(path,)] = store.query("SELECT MIN(path) FROM ad_images WHERE sha256 = ?", [shas[0]])
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    assert not Path(path).exists()  # the original is gone: only the kept copy can answer
    with (
        serving(db, env, tmp_path / "server.log") as url,
        httpx.Client(base_url=url, timeout=120) as client,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as dashboard,
    ):
        signed = client.post("/login", json={"name": "ana", "password": "correct horse battery staple"})
        assert signed.status_code == 200, signed.text
        for sha in shas[:5]:
            answer = client.get(f"/api/v1/images/{sha}")  # an analyst's reveal
            assert answer.status_code == 200, answer.text
            assert hashlib.sha256(answer.content).hexdigest() == sha
            assert answer.headers["content-type"].startswith("image/")
            assert client.get(f"/images/{sha}/blurred").headers["content-type"] == "image/jpeg"
        assert client.get(f"/api/v1/images/{'0' * 64}").status_code == 404
        assert client.get("/api/v1/images/not-a-hash").status_code == 422
        assert dashboard.get(f"/api/v1/images/{shas[0]}").status_code == 403  # a read token reveals nothing


def test_check_names_an_altered_and_a_missing_kept_image(ingested: tuple[Path, dict[str, str]]) -> None:
    db, env = ingested
    shas = _shas(db)
    altered, missing = kept_images.kept_path(db, shas[1]), kept_images.kept_path(db, shas[2])
    original = altered.read_bytes()
    os.chmod(altered, 0o644)
    altered.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    kept_missing = missing.read_bytes()
    missing.unlink()
    try:
        checked = threadline("check", "--db", str(db), env=env)
        assert checked.returncode == 1
        assert f"altered: {altered}" in checked.stdout
        assert f"missing: {missing}" in checked.stdout
        assert "2 of" in checked.stderr
        # An altered kept copy is never served as the image.
        assert kept_images.image_bytes(db, shas[1]) is None
    finally:
        altered.write_bytes(original)
        missing.write_bytes(kept_missing)


def test_an_image_changed_after_hashing_is_not_kept_under_the_old_hash(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfirst")
    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    image.write_bytes(b"\x89PNG\r\n\x1a\nsecond")
    store = tmp_path / "s.duckdb"
    with pytest.raises(kept_images.KeptImageError, match="changed"):
        kept_images.keep_file(store, image, sha)
    assert not kept_images.kept_path(store, sha).exists()
    # Kept once, a name is never written again, whatever is offered under it.
    new_sha = kept_images.keep_bytes(store, image.read_bytes())
    kept = kept_images.kept_path(store, new_sha)
    assert kept.read_bytes() == b"\x89PNG\r\n\x1a\nsecond"
    assert kept_images.keep_file(store, tmp_path / "gone.png", new_sha) == kept


def test_a_backup_carries_the_kept_images_and_checks_clean_elsewhere(
    ingested: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db, env = ingested
    made = threadline("backup", "--db", str(db), "-o", str(tmp_path / "copy"), env=env)
    assert made.returncode == 0, made.stderr
    copy = tmp_path / "copy" / db.name
    shas = _shas(copy)
    for sha in shas:
        assert kept_images.kept_path(copy, sha).is_file()
    checked = threadline("check", "--db", str(copy), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert str(kept_images.image_dir(copy)) in checked.stdout
