"""Evidence packages (`threadline evidence`, `threadline verify`, `threadline keys`), end to end:
a synthetic corpus with images is ingested and its folder deleted, a network's package is built by
the command line, and then checked by `threadline verify`, by the bagit library's own validator and
by OpenSSH's `ssh-keygen -Y verify` (no Threadline code in that check). One byte of an image, one
character of the report, one line of a manifest are changed in turn, and each check fails naming
the file. The PDF is read back with poppler's pdftotext and rendered with pdftoppm.

Debian's poppler-utils and openssh-client come from `make evidence-deps` (run by `make test` and
`.ci/run`); without them those checks skip, except under CI=true, where they fail."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import bagit
import pytest
from markupsafe import escape

from threadline.service import audit
from threadline.store import Store

CI = os.environ.get("CI") == "true"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if CI:
            pytest.fail(f"{name} is missing: `make evidence-deps` installs it")
        pytest.skip(f"{name} is missing (make evidence-deps)")
    return found


def threadline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, env=env
    )


@dataclass
class Made:
    folder: Path
    db: Path
    env: dict[str, str]
    network: str
    package: Path
    public_key: Path
    phones: list[str]
    figures: dict[str, object]


FIGURES = {
    "measured_on": "synthetic data",
    "linking": {
        "corpus": {"synthetic": True, "ads": 1234, "seed": 99, "images": True},
        "measured_at": "2026-01-02T03:04:05+00:00",
        "network_bcubed": {"precision": 0.9123, "recall": 0.8765, "f1": 0.8940},
        "person_bcubed": {"precision": 0.8111, "recall": 0.7222, "f1": 0.7641},
        "baseline_phone_union_find_bcubed": {"precision": 0.3333, "recall": 0.99, "f1": 0.5},
    },
    "scoring": {
        "corpus": {"synthetic": True, "ads": 4321, "seed": 77, "images": True},
        "measured_at": "2026-01-02T03:04:05+00:00",
        "with_indicator_text": {
            "ad_ap": 0.6543,
            "network_ap": 0.7654,
            "ad_positive_share": 0.3,
            "network_positive_share": 0.05,
        },
        "structure_only": {
            "ad_ap": 0.5432,
            "network_ap": 0.6421,
            "ad_positive_share": 0.3,
            "network_positive_share": 0.05,
        },
    },
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    folder = tmp_path_factory.mktemp("evidence")
    figures = folder / "figures.json"
    figures.write_text(json.dumps(FIGURES))
    env = {
        **os.environ,
        audit.KEY_DIR_ENV: str(folder / "keys"),
        # Figures a test wrote: the report must quote what the file says, not a template.
        "THREADLINE_BENCHMARK_FIGURES": str(figures),
    }
    done = threadline("synth", str(folder / "corpus"), "--ads", "120", "--seed", "3", env=env)
    assert done.returncode == 0, done.stderr
    db = folder / "store.duckdb"
    done = threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(folder / "corpus")  # the crawl is gone: the package must come from the store
    with Store.open(db, read_only=True) as store:
        [(network,)] = store.query(
            "SELECT network FROM ad_links GROUP BY network ORDER BY count(*) DESC, network LIMIT 1"
        )
        phones = [
            v
            for (v,) in store.query(
                "SELECT DISTINCT e.value FROM extractions e JOIN ad_links l"
                " ON l.source = e.source AND l.id = e.ad_id AND l.version = e.version"
                " WHERE e.kind = 'phone' AND l.network = ?",
                [network],
            )
        ]
    assert phones
    done = threadline(
        "label", network, "unsure", "--db", str(db), "--analyst", "ana", "--note", "to check", env=env
    )
    assert done.returncode == 0, done.stderr
    done = threadline("keys", "init", "--db", str(db), env=env)
    assert done.returncode == 0, done.stderr
    public_key = folder / "evidence.pub"
    shown = threadline("keys", "show", "--db", str(db), env=env)
    assert shown.returncode == 0, shown.stderr
    public_key.write_text(shown.stdout)
    assert shown.stdout.strip() == done.stdout.splitlines()[-1].strip()
    package = folder / "package"
    done = threadline("evidence", network, "--db", str(db), "-o", str(package), env=env)
    assert done.returncode == 0, done.stderr
    return Made(folder, db, env, network, package, public_key, phones, FIGURES)


def _copy(made: Made, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(made.package, copy)
    return copy


def _verify(made: Made, package: Path) -> subprocess.CompletedProcess[str]:
    return threadline("verify", str(package), "--key", str(made.public_key), env=made.env)


def _ssh_verify(made: Made, package: Path) -> subprocess.CompletedProcess[bytes]:
    keygen = _tool("ssh-keygen")
    allowed = package.parent / "allowed_signers"
    allowed.write_text(f"threadline {made.public_key.read_text().strip()}\n")
    with (package / "tagmanifest-sha256.txt").open("rb") as message:
        return subprocess.run(
            [
                keygen,
                "-Y",
                "verify",
                "-f",
                str(allowed),
                "-I",
                "threadline",
                "-n",
                "threadline-evidence",
                "-s",
                str(package / "tagmanifest-sha256.txt.sig"),
            ],
            stdin=message,
            capture_output=True,
        )


def _bagit_valid(package: Path) -> bool:
    try:
        bagit.Bag(str(package)).validate(processes=1)
    except bagit.BagError:
        return False
    return True


# -- a package as built -------------------------------------------------------------------------


def test_the_package_verifies_with_threadline_bagit_and_ssh_keygen(made: Made) -> None:
    verified = _verify(made, made.package)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signed by the key given" in verified.stdout
    assert _bagit_valid(made.package)
    ssh = _ssh_verify(made, made.package)
    assert ssh.returncode == 0, ssh.stderr
    assert b'Good "threadline-evidence" signature for threadline' in ssh.stdout + ssh.stderr


def test_the_bag_holds_the_contract_files_and_bag_info(made: Made) -> None:
    p = made.package
    for name in (
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha256.txt.sig",
        "report.html",
        "report.pdf",
    ):
        assert (p / name).is_file(), name
    for name in ("ads", "extractions", "links", "scores", "link_evidence", "images"):
        assert (p / "data" / f"{name}.jsonl").is_file() and (p / "data" / f"{name}.csv").is_file(), name
    info = bagit.Bag(str(p)).info
    assert info["Network"] == made.network
    assert info["Exported-By"]
    assert info["Export-Time"].endswith("Z")
    assert info["Store"] == str(made.db)
    assert info["Store-Schema-Version"].isdigit()
    assert info["Software"].startswith("Threadline ")
    assert info["Signing-Key"] == made.public_key.read_text().strip()
    tagged = (p / "tagmanifest-sha256.txt").read_text()
    assert "report.html" in tagged and "report.pdf" in tagged and "bag-info.txt" in tagged


def test_every_image_comes_from_the_store_after_the_corpus_is_gone(made: Made) -> None:
    rows = [json.loads(line) for line in (made.package / "data" / "images.jsonl").read_text().splitlines()]
    assert rows
    for row in rows:
        assert row["file"], row  # the corpus folder is deleted: the kept copy answered
        data = (made.package / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert not Path(row["original_paths"][0]).exists()
    html = (made.package / "report.html").read_text()
    assert f'src="{rows[0]["file"]}"' in html


def test_the_report_tells_the_story_and_quotes_the_measured_figures(made: Made) -> None:
    html = (made.package / "report.html").read_text()
    for phone in made.phones:
        assert phone in html
    assert "Statement of method" in html
    assert "synthetic data" in html
    # The figures file's numbers, not a template's (the test wrote distinctive ones).
    for figure in ("0.9123", "0.8765", "0.7654", "0.6421", "1,234"):
        assert figure in html, figure
    assert "label: unsure" in html and "to check" in html  # the analyst's label, who and when
    # Every score reason with the public source its weight cites.
    reasons = [
        json.loads(line) for line in (made.package / "data" / "network_score.jsonl").read_text().splitlines()
    ]
    assert reasons and all(r["source"] for r in reasons)
    assert all(str(escape(r["reason"])) in html for r in reasons)
    assert "<script" not in html.lower() and "http://" not in html.split("<body>")[0]
    # Ad text is shown escaped: the synthetic ads carry <br> markup, never a live tag.
    assert "&lt;br&gt;" in html and '<br>\n<span class="mono">' in html


def test_the_pdf_holds_the_phones_and_the_statement_of_method(made: Made, tmp_path: Path) -> None:
    pdftotext, pdftoppm = _tool("pdftotext"), _tool("pdftoppm")
    text = subprocess.run(
        [pdftotext, "-layout", str(made.package / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(text.split())
    for phone in made.phones:
        assert phone in flat, phone
    assert "Statement of method" in flat
    assert "synthetic data" in flat
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            str(made.package / "report.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].read_bytes().startswith(b"\x89PNG")


def test_no_csv_cell_starts_a_formula(made: Made) -> None:
    checked = 0
    for path in (made.package / "data").glob("*.csv"):
        with path.open(newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    assert not cell.startswith(("=", "+", "-", "@")), (path.name, cell)
                    checked += 1
    with (made.package / "data" / "extractions.csv").open(newline="") as f:
        phones = [r["value"] for r in csv.DictReader(f) if r["kind"] == "phone"]
    assert phones and all(p.startswith("'+") for p in phones)  # neutralised, still readable
    assert checked > 100


def test_the_graph_opens_as_graphml_and_i2_tables(made: Made) -> None:
    root = ET.parse(made.package / "data" / "network.graphml").getroot()
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    ids = {n.get("id") for n in root.iterfind(".//g:node", ns)}
    assert made.network in ids
    assert {f"phone:{p}" for p in made.phones} <= ids
    edges = list(root.iterfind(".//g:edge", ns))
    assert edges and all(e.get("source") in ids and e.get("target") in ids for e in edges)
    with (made.package / "data" / "i2_entities.csv").open(newline="") as f:
        entities = list(csv.DictReader(f))
    with (made.package / "data" / "i2_links.csv").open(newline="") as f:
        links = list(csv.DictReader(f))
    entity_ids = {e["Entity ID"] for e in entities}
    assert len(entities) == len(ids) and len(links) == len(edges)
    assert all(x["From Entity ID"] in entity_ids and x["To Entity ID"] in entity_ids for x in links)


def test_the_export_is_audited_with_the_os_user(made: Made) -> None:
    with Store.open(made.db, read_only=True) as store:
        rows = store.query("SELECT actor, actor_kind, object FROM audit_log WHERE action = 'export evidence'")
    assert rows and rows[-1][1] == "os-user" and rows[-1][2] == made.network
    verified = threadline("audit", "verify", "--db", str(made.db), env=made.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


# -- tampering ------------------------------------------------------------------------------------


def _flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_byte_of_an_image_changed_is_named(made: Made, tmp_path: Path) -> None:
    copy = _copy(made, tmp_path)
    image = sorted((copy / "data" / "images").iterdir())[0]
    _flip_byte(image, len(image.read_bytes()) // 2)
    verified = _verify(made, copy)
    assert verified.returncode == 1
    assert f"altered: data/images/{image.name}" in verified.stdout
    assert not _bagit_valid(copy)
    # The signature covers the manifests, not each file directly: ssh-keygen still accepts the
    # tag manifest, and the manifest (which the tag manifest covers) names the changed image.
    assert _ssh_verify(made, copy).returncode == 0


def test_one_character_of_the_report_changed_is_named(made: Made, tmp_path: Path) -> None:
    copy = _copy(made, tmp_path)
    report = copy / "report.html"
    text = report.read_text()
    at = text.index(made.phones[0]) + len(made.phones[0]) - 1
    changed = "0" if text[at] != "0" else "1"
    report.write_text(text[:at] + changed + text[at + 1 :])
    verified = _verify(made, copy)
    assert verified.returncode == 1
    assert "altered: report.html" in verified.stdout
    assert not _bagit_valid(copy)


def test_one_line_of_the_manifest_changed_is_named(made: Made, tmp_path: Path) -> None:
    copy = _copy(made, tmp_path)
    manifest = copy / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines()
    digest, name = lines[0].split(" ", 1)
    lines[0] = ("0" if digest[0] != "0" else "1") + digest[1:] + " " + name
    manifest.write_text("\n".join(lines) + "\n")
    verified = _verify(made, copy)
    assert verified.returncode == 1
    assert "altered: manifest-sha256.txt" in verified.stdout  # against the tag manifest
    assert f"altered: {name.strip()}" in verified.stdout  # its entry no longer matches the file
    assert not _bagit_valid(copy)


def test_one_line_of_the_tag_manifest_changed_breaks_the_signature(made: Made, tmp_path: Path) -> None:
    copy = _copy(made, tmp_path)
    tagmanifest = copy / "tagmanifest-sha256.txt"
    lines = tagmanifest.read_text().splitlines()
    report = next(i for i, line in enumerate(lines) if line.endswith(" report.html"))
    report_text = (copy / "report.html").read_text()
    (copy / "report.html").write_text(report_text.replace("Statement of method", "Statement of methods", 1))
    lines[report] = hashlib.sha256((copy / "report.html").read_bytes()).hexdigest() + " report.html"
    tagmanifest.write_text("\n".join(lines) + "\n")
    # The forger made the manifests agree with the altered report: only the signature is left.
    assert _bagit_valid(copy)
    verified = _verify(made, copy)
    assert verified.returncode == 1
    assert "signature: tagmanifest-sha256.txt" in verified.stdout
    assert _ssh_verify(made, copy).returncode != 0


def test_an_added_and_a_missing_file_are_named(made: Made, tmp_path: Path) -> None:
    copy = _copy(made, tmp_path)
    (copy / "data" / "extra.txt").write_text("planted")
    (copy / "data" / "links.csv").unlink()
    verified = _verify(made, copy)
    assert verified.returncode == 1
    assert "added: data/extra.txt" in verified.stdout
    assert "missing: data/links.csv" in verified.stdout


def test_another_key_is_refused_and_no_key_says_so(made: Made, tmp_path: Path) -> None:
    other_env = {**made.env, audit.KEY_DIR_ENV: str(tmp_path / "other-keys")}
    made_key = threadline("keys", "init", "--db", str(made.db), env=other_env)
    assert made_key.returncode == 0, made_key.stderr
    other = tmp_path / "other.pub"
    other.write_text(made_key.stdout.splitlines()[-1])
    verified = threadline("verify", str(made.package), "--key", str(other), env=made.env)
    assert verified.returncode == 1
    assert "another key" in verified.stdout
    unkeyed = threadline("verify", str(made.package), env=made.env)
    assert unkeyed.returncode == 0
    assert "NOT checked against a key you hold" in unkeyed.stdout


# -- keys, refusals, redaction ---------------------------------------------------------------------


def test_the_key_is_readable_by_its_owner_only(made: Made) -> None:
    key = made.folder / "keys" / "threadline-evidence.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (made.folder / "keys" / "threadline-audit.key").samefile(key)


def test_bad_ids_and_a_missing_key_are_refused_in_one_line(made: Made, tmp_path: Path) -> None:
    case = threadline("evidence", "C1", "--db", str(made.db), "-o", str(tmp_path / "c"), env=made.env)
    assert case.returncode == 1 and "no case C1" in case.stderr and len(case.stderr.splitlines()) == 1
    nokey_env = {**made.env, audit.KEY_DIR_ENV: str(tmp_path / "no-keys")}
    nokey = threadline(
        "evidence", made.network, "--db", str(made.db), "-o", str(tmp_path / "n"), env=nokey_env
    )
    assert nokey.returncode == 1 and "keys init" in nokey.stderr
    gone = threadline("evidence", "N99999999", "--db", str(made.db), "-o", str(tmp_path / "g"), env=made.env)
    assert gone.returncode == 1 and "no network" in gone.stderr
    assert not (tmp_path / "g").exists() and not list(tmp_path.glob(".g.tmp-*"))
    busy = threadline("evidence", made.network, "--db", str(made.db), "-o", str(made.package), env=made.env)
    assert busy.returncode == 1 and "not an empty folder" in busy.stderr


def test_blurred_images_and_a_date_window_are_listed_as_redacted(made: Made, tmp_path: Path) -> None:
    with Store.open(made.db, read_only=True) as store:
        [(middle,)] = store.query(
            "SELECT quantile_disc(COALESCE(a.posted_at, a.captured_at), 0.5) FROM latest_ads a"
            " JOIN ad_links l ON l.source = a.source AND l.id = a.id WHERE l.network = ?",
            [made.network],
        )
    out = tmp_path / "redacted"
    done = threadline(
        "evidence",
        made.network,
        "--db",
        str(made.db),
        "-o",
        str(out),
        "--blur-images",
        "--since",
        middle.strftime("%Y-%m-%d %H:%M:%S"),
        "--no-pdf",
        env=made.env,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (out / "data" / "images.jsonl").read_text().splitlines()]
    assert rows and all(r["blurred"] and r["file"].endswith(".blurred.png") for r in rows)
    for r in rows:
        assert hashlib.sha256((out / r["file"]).read_bytes()).hexdigest() != r["sha256"]
    assert not [p for p in (out / "data" / "images").iterdir() if not p.name.endswith(".blurred.png")]
    kept = {json.loads(line)["ad"] for line in (out / "data" / "links.jsonl").read_text().splitlines()}
    every = {
        json.loads(line)["ad"] for line in (made.package / "data" / "links.jsonl").read_text().splitlines()
    }
    assert kept and kept < every
    html = (out / "report.html").read_text()
    assert "every image blurred" in html
    assert f"{len(every) - len(kept):,} of {len(every):,} ads dropped" in html
    assert _verify(made, out).returncode == 0


# -- from the workspace ------------------------------------------------------------------------------


def test_the_workspace_exports_a_package_as_the_signed_in_user(made: Made, tmp_path: Path) -> None:
    import zipfile

    import httpx

    from serve.server_support import serving
    from threadline.serve import CSRF_HEADER
    from threadline.service import accounts
    from threadline.service._common import Actor

    password = "correct horse battery staple"
    os.environ[audit.KEY_DIR_ENV] = made.env[audit.KEY_DIR_ENV]
    try:
        with Store.open(made.db) as store:
            accounts.add_user(store, "eve", "analyst", password, by=Actor("root", "os-user", "cli"))
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with (
        serving(made.db, made.env, tmp_path / "server.log") as url,
        httpx.Client(base_url=url, timeout=600) as client,
    ):
        refused = client.post(f"/api/v1/networks/{made.network}/evidence")
        assert refused.status_code == 401
        login = client.post("/login", json={"name": "eve", "password": password})
        assert login.status_code == 200, login.text
        headers = {CSRF_HEADER: login.json()["csrf_token"]}
        answer = client.post(
            f"/api/v1/networks/{made.network}/evidence", params={"pdf": "false"}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        missing = client.post("/api/v1/networks/N99999999/evidence", params={"pdf": "false"}, headers=headers)
        assert missing.status_code == 404
        # The command line hands its export to the running server (which holds the store).
        by_cli = tmp_path / "by-cli"
        done = threadline(
            "evidence", made.network, "--db", str(made.db), "-o", str(by_cli), "--no-pdf", env=made.env
        )
        assert done.returncode == 0, done.stderr
        assert _verify(made, by_cli).returncode == 0
    archive = tmp_path / "package.zip"
    archive.write_bytes(answer.content)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path / "unzipped")
    package = tmp_path / "unzipped" / f"evidence-{made.network}"
    verified = _verify(made, package)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert bagit.Bag(str(package)).info["Exported-By"].startswith("eve (user")
    with Store.open(made.db, read_only=True) as store:
        rows = store.query(
            "SELECT actor, object FROM audit_log WHERE action = 'export evidence' ORDER BY seq"
        )
    assert ("eve", made.network) in rows[-2:]
    assert len(rows) >= 3  # the file export, eve's, the command line's through the server


def test_minor_images_are_never_included_and_a_removal_is_reported(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    env = {**os.environ, audit.KEY_DIR_ENV: str(tmp_path / "keys")}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, colour in (("a.png", (200, 30, 30)), ("b.png", (30, 30, 200))):
        image = Image.new("RGB", (96, 96), (240, 240, 240))
        ImageDraw.Draw(image).ellipse((10, 20, 80, 90), fill=colour)
        image.save(corpus / name)
    minor = "New in town, I am 16 years old. Text 212-555-0142"
    adult = "Sweet and fun, 24 years old. Text 212-555-0142"
    ads = [
        {"id": "1", "source": "site", "title": "Lily", "body": minor, "images": ["a.png"],
         "captured_at": "2026-09-01T09:00:00Z"},
        {"id": "2", "source": "site", "title": "Rose", "body": adult, "images": ["b.png"],
         "captured_at": "2026-09-01T10:00:00Z"},
        {"id": "2", "source": "site", "gone": True, "captured_at": "2026-09-05T08:00:00Z"},
    ]  # fmt: skip
    (corpus / "ads.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in ads))
    db = tmp_path / "store.duckdb"
    for args in (
        ("ingest", str(corpus / "ads.jsonl"), "--db", str(db), "-q"),
        ("keys", "init", "--db", str(db)),
    ):
        done = threadline(*args, env=env)
        assert done.returncode == 0, done.stderr
    with Store.open(db, read_only=True) as store:
        [(network,)] = store.query("SELECT DISTINCT network FROM ad_links")
        shas = dict(store.query("SELECT ad_id, sha256 FROM ad_images"))
    out = tmp_path / "package"
    done = threadline("evidence", network, "--db", str(db), "-o", str(out), "--no-pdf", env=env)
    assert done.returncode == 0, done.stderr
    rows = {r["sha256"]: r for r in map(json.loads, (out / "data" / "images.jsonl").read_text().splitlines())}
    assert rows[shas["1"]]["file"] is None and "under 18" in rows[shas["1"]]["withheld"]
    assert rows[shas["2"]]["file"] and (out / rows[shas["2"]]["file"]).is_file()
    assert [p.name for p in (out / "data" / "images").iterdir()] == [Path(rows[shas["2"]]["file"]).name]
    html = (out / "report.html").read_text()
    assert "1 images withheld" in html
    # Sightings and the crawler's removal report are part of the story.
    assert "reported removed on 2026-09-05 08:00 UTC" in html
    versions = [json.loads(line) for line in (out / "data" / "ads.jsonl").read_text().splitlines()]
    assert [v["ad_removed_on"] for v in versions if v["id"] == "2"] == ["2026-09-05T08:00:00Z"]


def test_the_report_draws_the_itinerary_as_a_map_and_a_timeline(made: Made) -> None:
    with Store.open(made.db, read_only=True) as store:
        places = [
            p for (p,) in store.query(
                "SELECT place FROM score_itineraries"
                " WHERE unit_kind = 'network' AND unit = ? ORDER BY stay_no",
                [made.network],
            )
        ]  # fmt: skip
    assert places
    html = (made.package / "report.html").read_text()
    svgs = html.split('aria-label="itinerary map">')[1].split("</svg>")[0]
    assert svgs.count("<circle") == len(places)
    timeline = html.split('aria-label="timeline">')[1].split("</svg>")[0]
    assert timeline.count("<rect") == len(places)
    assert f"1 {places[0]}" in timeline
