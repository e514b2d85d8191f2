"""Reading hash lists (`threadline.ingest.hashlists`) and loading them into a store with no server
running (`threadline hashlist load`): malformed lines are left out and named by their line
numbers, a 64-digit hash needs its kind said, and a list matches the images stored before it and
those stored after. Every list here is planted: hashes of generated images and made-up values."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from threadline.ingest.hashlists import MAX_LINE, HashListError, read_hash_list
from threadline.link.steps import LinkParams
from threadline.service import audit
from threadline.store import Store, hashlists

MD5 = "0123456789abcdef0123456789abcdef"
HEX64 = "ab" * 32


def _threadline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_pdq_radius_is_linkings() -> None:
    assert LinkParams().pdq_radius == hashlists.PDQ_RADIUS


def test_one_hash_a_line_with_comments_and_malformed_lines_named_by_number(tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_bytes(
        b"# a planted list\n"  # 1
        + MD5.upper().encode() + b"\n"  # 2: upper case is read as lower
        + b"\n"  # 3
        + b"not-a-hash\n"  # 4
        + b"abc123\n"  # 5: too short
        + b"\xff\xfe\xfa bad bytes\n"  # 6
        + b"x" * (MAX_LINE + 10) + b"\n"  # 7: overlong
        + MD5.encode() + b"  some/file.jpg\n"  # 8: md5sum's form, the same hash again
        + b"md5:" + b"f" * 32 + b"\n"  # 9: with its kind
        + b"sha256:" + b"f" * 32 + b"\n"  # 10: a kind its length belies
        + b"zz\x00zz\n"  # 11
    )  # fmt: skip
    read = read_hash_list(listed)
    assert read.entries == [(2, "md5", MD5), (9, "md5", "f" * 32)]
    assert read.duplicates == 1
    rejected = dict(read.rejected)
    assert sorted(rejected) == [4, 5, 6, 7, 10, 11]
    assert "not a hash in hex" in rejected[4] and "6 hex digits" in rejected[5]
    assert rejected[6] == "not UTF-8 text" and "over" in rejected[7]
    assert "SHA-256 hashes have 64" in rejected[10] and "NUL" in rejected[11]
    assert read.file_sha256 == hashlib.sha256(listed.read_bytes()).hexdigest()


def test_a_64_digit_hash_needs_its_kind_said(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text(f"{HEX64}\n{'cd' * 32}\n")
    unsaid = read_hash_list(plain)
    assert unsaid.entries == [] and unsaid.ambiguous == 2 and [n for n, _ in unsaid.rejected] == [1, 2]
    assert [k for _, k, _ in read_hash_list(plain, "sha256").entries] == ["sha256", "sha256"]
    assert [k for _, k, _ in read_hash_list(plain, "pdq").entries] == ["pdq", "pdq"]
    wrong = read_hash_list(plain, "md5")
    assert wrong.entries == [] and "MD5 hashes have 32" in wrong.rejected[0][1]
    with pytest.raises(HashListError):
        read_hash_list(plain, "crc32")
    with pytest.raises(HashListError):
        read_hash_list(tmp_path / "missing.txt")


def test_csv_with_a_header_names_the_hash_column_and_its_kind(tmp_path: Path) -> None:
    pdq = tmp_path / "pdq.csv"
    pdq.write_text(f"id,PDQ,quality\n1,{HEX64},100\n2,,90\n3,{'cd' * 32},80\n")
    read = read_hash_list(pdq)
    assert read.header and read.entries == [(2, "pdq", HEX64), (4, "pdq", "cd" * 32)]
    assert read.rejected == [(3, "no hash in the hash column")]
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text(f"hash\tsignal_type\n{HEX64}\tsha256\n{MD5}\tmd5\n{HEX64}\tpdq\n{MD5}\tcrc\n")
    read = read_hash_list(mixed)
    assert read.entries == [(2, "sha256", HEX64), (3, "md5", MD5), (4, "pdq", HEX64)]
    assert read.rejected[0][0] == 5 and "crc" in read.rejected[0][1]
    # --kind and a row that says otherwise: the row is left out
    assert [n for n, _ in read_hash_list(mixed, "sha256").rejected] == [3, 4, 5]


def _picture(path: Path, seed: int) -> None:
    image = Image.new("RGB", (200, 160), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    for k in range(6):
        x, y = (seed * 37 + k * 29) % 150, (seed * 17 + k * 41) % 110
        draw.ellipse((x, y, x + 40, y + 40), fill=((seed * 60 + k * 30) % 256, 40 * k % 256, 200 - 20 * k))
    image.save(path)


def test_loading_matches_the_archive_and_later_ingests_and_refuses_a_list_of_nothing(tmp_path: Path) -> None:
    env = {**os.environ, audit.KEY_DIR_ENV: str(tmp_path / "keys")}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(4):
        _picture(corpus / f"{n}.png", n + 1)
    ads = [
        {
            "id": str(n),
            "source": "site",
            "title": "New",
            "body": f"Sweet, 24 years old {n}",
            "images": [f"{n}.png"],
        }
        for n in range(2)
    ]
    (corpus / "first.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in ads))
    later = [
        {"id": "9", "source": "site", "title": "Back", "body": "Here again", "images": ["2.png", "3.png"]}
    ]
    (corpus / "later.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in later))
    db = tmp_path / "store.duckdb"
    done = _threadline("ingest", str(corpus / "first.jsonl"), "--db", str(db), "-q", env=env)
    assert done.returncode == 0, done.stderr
    with Store.open(db) as store:  # as a store made before images' MD5s were kept
        store.connection.execute("DELETE FROM image_md5")
    data = {n: (corpus / f"{n}.png").read_bytes() for n in range(4)}
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in data.items()}
    md5 = {n: hashlib.md5(b).hexdigest() for n, b in data.items()}
    listed = tmp_path / "planted.txt"
    listed.write_text(f"md5:{md5[0]}\nsha256:{sha[2]}\nnot a hash\n{md5[3]}\n")
    loaded = _threadline("hashlist", "load", str(listed), "--db", str(db), "--name", "planted", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert f"{listed}:3: left out: not a hash in hex" in loaded.stderr
    assert "3 hashes loaded (2 MD5, 1 SHA-256), 1 lines left out" in loaded.stdout
    assert "1 images of the store match it" in loaded.stdout  # image 0 by its MD5
    with Store.open(db, read_only=True) as store:
        assert store.query("SELECT sha256, kind FROM hash_matches") == [(sha[0], "md5")]
    done = _threadline("ingest", str(corpus / "later.jsonl"), "--db", str(db), "-q", env=env)
    assert done.returncode == 0, done.stderr
    with Store.open(db, read_only=True) as store:
        con = store.connection
        assert sorted(store.query("SELECT sha256, kind FROM hash_matches")) == sorted(
            [(sha[0], "md5"), (sha[2], "sha256"), (sha[3], "md5")]
        )
        assert hashlists.hidden_images(con, sha.values()) == {
            sha[0]: "hash_list",
            sha[2]: "hash_list",
            sha[3]: "hash_list",
        }
        assert hashlists.flagged_ads(con, [("site", "0"), ("site", "1"), ("site", "9")]) == {
            ("site", "0"): 1,
            ("site", "9"): 2,
        }
    matches = _threadline("hashlist", "matches", "--db", str(db), env=env)
    assert matches.returncode == 0 and matches.stdout.count("TO REPORT") == 3, matches.stdout
    reported = _threadline(
        "hashlist", "reported", sha[0], "--note", "CyberTipline 1234 (planted)", "--db", str(db), env=env
    )
    assert reported.returncode == 0, reported.stderr
    left = _threadline("hashlist", "matches", "--to-report", "--db", str(db), env=env)
    assert sha[0] not in left.stdout and left.stdout.count("TO REPORT") == 2
    nothing = tmp_path / "nothing.txt"
    nothing.write_text(f"{'ab' * 32}\n")
    refused = _threadline("hashlist", "load", str(nothing), "--db", str(db), env=env)
    assert refused.returncode == 1 and "--kind pdq or --kind sha256" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 2  # the line left out, then why nothing loaded
    unknown = _threadline("hashlist", "reported", "f" * 64, "--note", "x", "--db", str(db), env=env)
    assert unknown.returncode == 1 and "matches a loaded hash list" in unknown.stderr
    listing = _threadline("hashlist", "list", "--db", str(db), env=env)
    assert listing.stdout.startswith("HL1\tplanted\t3\t1\t3\t"), listing.stdout
