"""Case packages (`threadline evidence C…`) and masking outside the case (`--mask-outside-case`),
end to end on a hand-made synthetic corpus whose identifiers are known:

* network A: ads a1, a2, a3 share the phone +12125550101; a3 alone carries +12125550177,
  outside.only@example.com and the name Zelda. The case holds a1 and a2 (added alone), so a3 is
  outside it, and an analyst's label on A names Zelda and her phone in its note;
* network B: ads b1, b2 share +17135550142; the case follows B (added as a network). b2 carries a
  picture of 8000 x 6000 pixels (a few kilobytes of PNG: a decompression bomb to a blur);
* c1: a stranger, in no case.

The case package is built once with its PDF and checked by `threadline verify`, bagit's validator
and `ssh-keygen -Y verify`; every other package here skips the PDF (WeasyPrint is slow)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import bagit
import pytest
from PIL import Image, ImageDraw

from threadline.service import audit
from threadline.store import Store

CI = os.environ.get("CI") == "true"

IN_CASE = {"site:a1", "site:a2", "site:b1", "site:b2"}
OUTSIDE_ONLY = (b"+12125550177", b"outside.only@example.com", b"Zelda", b"site:a3", b"555-0177", b"5550177")
INSIDE = (b"+12125550101", b"+17135550142", b"Ruby", b"Jade")


@dataclass
class Made:
    folder: Path
    db: Path
    env: dict[str, str]
    case: str
    network_a: str
    network_b: str
    package: Path
    public_key: Path


def _ads(corpus: Path) -> list[dict[str, object]]:
    image = Image.new("RGB", (96, 96), (240, 240, 240))
    ImageDraw.Draw(image).ellipse((10, 20, 80, 90), fill=(200, 30, 30))
    image.save(corpus / "red.png")
    Image.new("1", (8000, 6000)).save(corpus / "bomb.png")  # 48 million pixels
    day = "2026-09-0{}T10:00:00Z"
    return [
        {"id": "a1", "source": "site", "title": "Ruby", "body": "My name is Ruby. Call 212-555-0101 today.",
         "location": "Manhattan, NY", "images": ["red.png"], "posted_at": day.format(1)},
        {"id": "a2", "source": "site", "title": "Ruby", "body": "Ruby here, text 212-555-0101 anytime.",
         "location": "Manhattan, NY", "posted_at": day.format(2)},
        {"id": "a3", "source": "site", "title": "New",
         "body": "My name is Zelda. Call 212-555-0101 or 212-555-0177, outside.only@example.com",
         "location": "Manhattan, NY", "posted_at": day.format(3)},
        {"id": "b1", "source": "site", "title": "Jade", "body": "My name is Jade. Text 713-555-0142.",
         "location": "Houston, TX", "posted_at": day.format(4)},
        {"id": "b2", "source": "site", "title": "Jade", "body": "Jade, new in town. Text 713-555-0142.",
         "location": "Houston, TX", "images": ["bomb.png"], "posted_at": day.format(5)},
        {"id": "c1", "source": "site", "title": "Opal", "body": "My name is Opal. Call 646-555-0190.",
         "location": "Bronx, NY", "posted_at": day.format(6)},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    from threadline.link import cases
    from threadline.store._tx import transaction

    folder = tmp_path_factory.mktemp("case-package")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "ads.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in _ads(corpus)))
    db = folder / "store.duckdb"
    for args in (
        ("ingest", str(corpus / "ads.jsonl"), "--db", str(db), "-q"),
        ("keys", "init", "--db", str(db)),
    ):
        done = threadline(*args, env=env)
        assert done.returncode == 0, done.stderr
    shutil.rmtree(corpus)  # the package's images come from the store's kept copies
    with Store.open(db) as store:
        networks = dict(store.query("SELECT id, network FROM ad_links"))
        assert networks["a1"] == networks["a2"] == networks["a3"] != networks["b1"] == networks["b2"]
        assert networks["c1"] not in (networks["a1"], networks["b1"])
        con = store.connection
        with transaction(con):
            case_id = cases.create_case(con, "Operation Midtown", analyst="ana", tags=["nyc", "houston"])
            cases.add_ads(con, case_id, [("site", "a1"), ("site", "a2")], analyst="ana")
            cases.add_network(con, case_id, networks["b1"], analyst="ana")
            cases.note(con, case_id, "Ruby and Jade share a driver.", analyst="ana")
    note = "the same as Zelda, +12125550177 (212-555-0177)"
    done = threadline(
        "label", networks["a1"], "unsure", "--db", str(db), "--analyst", "al", "--note", note, env=env
    )
    assert done.returncode == 0, done.stderr
    shown = threadline("keys", "show", "--db", str(db), env=env)
    assert shown.returncode == 0, shown.stderr
    public_key = folder / "evidence.pub"
    public_key.write_text(shown.stdout)
    package = folder / "package"
    done = threadline("evidence", f"C{case_id}", "--db", str(db), "-o", str(package), env=env)
    assert done.returncode == 0, done.stderr
    return Made(folder, db, env, f"C{case_id}", networks["a1"], networks["b1"], package, public_key)


def threadline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, env=env
    )


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if CI:
            pytest.fail(f"{name} is missing: `make evidence-deps` installs it")
        pytest.skip(f"{name} is missing (make evidence-deps)")
    return found


def _bagit_valid(package: Path) -> bool:
    try:
        bagit.Bag(str(package)).validate(processes=1)
    except bagit.BagError:
        return False
    return True


def _ssh_verify(made: Made, package: Path) -> subprocess.CompletedProcess[bytes]:
    """OpenSSH's own check of the tag manifest's signature (no Threadline code)."""
    keygen = _tool("ssh-keygen")
    allowed = package.parent / "allowed_signers"
    allowed.write_text(f"threadline {made.public_key.read_text().strip()}\n")
    with (package / "tagmanifest-sha256.txt").open("rb") as message:
        return subprocess.run(
            [keygen, "-Y", "verify", "-f", str(allowed), "-I", "threadline", "-n", "threadline-evidence",
             "-s", str(package / "tagmanifest-sha256.txt.sig")],
            stdin=message,
            capture_output=True,
        )  # fmt: skip


def _verify(made: Made, package: Path) -> None:
    verified = threadline("verify", str(package), "--key", str(made.public_key), env=made.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signed by the key given" in verified.stdout


def _rows(package: Path, name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (package / "data" / f"{name}.jsonl").read_text().splitlines()]


def _every_byte(package: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(package.rglob("*")) if p.is_file())


def _export(made: Made, out: Path, *args: str) -> None:
    done = threadline("evidence", *args, "--db", str(made.db), "-o", str(out), "--no-pdf", env=made.env)
    assert done.returncode == 0, done.stderr


# -- a case package ------------------------------------------------------------------------------


def test_a_case_package_verifies_with_threadline_bagit_and_ssh_keygen(made: Made) -> None:
    _verify(made, made.package)
    assert _bagit_valid(made.package)
    ssh = _ssh_verify(made, made.package)
    assert ssh.returncode == 0, ssh.stderr
    assert b'Good "threadline-evidence" signature for threadline' in ssh.stdout + ssh.stderr
    assert (made.package / "report.pdf").read_bytes().startswith(b"%PDF")
    pdftotext = _tool("pdftotext")
    text = subprocess.run([pdftotext, str(made.package / "report.pdf"), "-"], capture_output=True, text=True)
    assert "Operation Midtown" in text.stdout and "Statement of method" in text.stdout


def test_its_data_holds_exactly_the_cases_ads_and_bag_info_names_the_case(made: Made) -> None:
    assert {r["ad"] for r in _rows(made.package, "links")} == IN_CASE
    assert {r["ad"] for r in _rows(made.package, "ads")} == IN_CASE
    assert {r["ad"] for r in _rows(made.package, "extractions")} == IN_CASE
    assert {r["ad"] for r in _rows(made.package, "scores")} <= IN_CASE
    members = {r["ad"]: r for r in _rows(made.package, "case_members")}
    assert set(members) == IN_CASE
    assert members["site:a1"]["via"] is None and members["site:b1"]["via"] == made.network_b
    info = bagit.Bag(str(made.package)).info
    assert info["External-Identifier"] == made.case
    assert info["Case"].startswith(f"{made.case} (Operation Midtown; open)")
    assert info["Case-Name"] == "Operation Midtown"
    assert set(info["Network"].split(", ")) == {made.network_a, made.network_b}
    case = json.loads((made.package / "data" / "case.json").read_text())
    assert case["name"] == "Operation Midtown" and case["status"] == "open"
    assert case["tags"] == ["nyc", "houston"] and case["analysts"] == ["ana"]
    assert [n["body"] for n in case["notes"]] == ["Ruby and Jade share a driver."]
    assert {m["network"] for m in case["networks"] if m["followed"]} == {made.network_b}
    # Both networks' link evidence, and the images of the case's ads, from the store's copies.
    assert {r["network"] for r in _rows(made.package, "link_evidence")} == {made.network_a, made.network_b}
    images = _rows(made.package, "images")
    assert len(images) == 2 and all(r["file"] for r in images)


def test_the_report_tells_the_cases_story_by_network(made: Made) -> None:
    html = (made.package / "report.html").read_text()
    assert "Evidence package: case " + made.case in html
    assert "Ruby and Jade share a driver." in html and "nyc, houston" in html
    headings = {n: html.index(f"Network {n}: 2 ads of the case") for n in (made.network_a, made.network_b)}
    for ref in IN_CASE:  # each ad under its own network's heading
        at = html.index(f"<h4>{ref}")
        under = max((pos, n) for n, pos in headings.items() if pos < at)[1]
        assert under == (made.network_a if ref.startswith("site:a") else made.network_b), ref
    assert "label: unsure" in html
    # Unmasked, the network around the case is shown as the store knows it: a3's phone too.
    assert "+12125550177" in html


def test_the_graph_has_the_case_its_networks_and_only_its_ads(made: Made) -> None:
    root = ET.parse(made.package / "data" / "network.graphml").getroot()
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    ids = {n.get("id") for n in root.iterfind(".//g:node", ns)}
    assert {made.case, made.network_a, made.network_b} | IN_CASE <= ids
    assert "site:a3" not in ids and "site:c1" not in ids
    with (made.package / "data" / "i2_entities.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == len(ids)


# -- masking outside the case ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def masked(made: Made) -> Path:
    out = made.folder / "masked"
    _export(made, out, made.case, "--mask-outside-case", "--blur-images")
    return out


def test_identifiers_only_outside_the_case_appear_in_no_file_of_the_bag(made: Made, masked: Path) -> None:
    _verify(made, masked)
    assert _bagit_valid(masked)
    every = _every_byte(masked)
    for value in OUTSIDE_ONLY:
        assert value not in every, value
    for value in INSIDE:
        assert value in every, value
    for name in ("report.html", "data/network.graphml", "data/i2_entities.csv", "data/link_evidence.csv"):
        assert b"[masked " in (masked / name).read_bytes() or name == "data/link_evidence.csv", name
    html = (masked / "report.html").read_text()
    assert "[masked phone 1]" in html and "[masked email 1]" in html and "[masked name 1]" in html
    labels = _rows(masked, "labels")
    assert labels and labels[0]["note"] == "the same as [masked name 1], [masked phone 1] ([masked phone 1])"
    assert {r["ad"] for r in _rows(masked, "ads")} == IN_CASE  # the case's ads, as captured


def test_outside_ads_are_masked_stubs_and_the_report_counts_what_was_masked(made: Made, masked: Path) -> None:
    stubs = _rows(masked, "outside_case")
    assert stubs == [
        {"ad": "[ad outside the case 1]", "network": made.network_a, "person": stubs[0]["person"]}
    ]
    root = ET.parse(masked / "data" / "network.graphml").getroot()
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    assert "[ad outside the case 1]" in {n.get("id") for n in root.iterfind(".//g:node", ns)}
    html = (masked / "report.html").read_text()
    counts = "1 phone, 1 e-mail, 0 handles, 1 name; 1 ad outside case"
    assert counts in html, html[html.index("<h2>Redaction") : html.index("<h2>Redaction") + 1500]
    assert counts in bagit.Bag(str(masked)).info["Redaction"]


def test_a_decompression_bomb_is_never_blurred_and_the_report_says_why(made: Made, masked: Path) -> None:
    rows = {r["file"] is None: r for r in _rows(masked, "images")}
    bomb = rows[True]
    assert bomb["withheld"].startswith("could not be blurred: 8000x6000 pixels, more than 40,000,000")
    assert rows[False]["blurred"] and rows[False]["file"].endswith(".blurred.png")
    html = (masked / "report.html").read_text()
    assert "1 images withheld: could not be blurred (8000x6000 pixels" in html


def test_blur_refuses_more_pixels_than_the_workspace_shows() -> None:
    from threadline.evidence.package import Unblurrable, _blur

    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(Unblurrable, match="8000x6000 pixels"):
        _blur(bomb.getvalue())
    small = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(small, format="PNG")
    assert Image.open(io.BytesIO(_blur(small.getvalue()))).size == (64, 48)


def test_a_network_package_masks_outside_a_case_it_is_given(made: Made, tmp_path: Path) -> None:
    refused = threadline(
        "evidence", made.network_a, "--db", str(made.db), "-o", str(tmp_path / "r"), "--mask-outside-case",
        env=made.env,
    )  # fmt: skip
    assert refused.returncode == 1 and "--case" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not (tmp_path / "r").exists()
    out = tmp_path / "network"
    _export(made, out, made.network_a, "--mask-outside-case", "--case", made.case)
    _verify(made, out)
    assert {r["ad"] for r in _rows(out, "links")} == {"site:a1", "site:a2"}
    every = _every_byte(out)
    for value in OUTSIDE_ONLY:
        assert value not in every, value
    info = bagit.Bag(str(out)).info
    assert info["External-Identifier"] == made.network_a and made.case in info["Case"]
    # Unmasked, the same network package holds a3 and its phone (the masking test can fail).
    plain = tmp_path / "plain"
    _export(made, plain, made.network_a)
    assert b"+12125550177" in _every_byte(plain) and b"site:a3" in _every_byte(plain)


def test_bad_case_exports_are_refused_in_one_line(made: Made, tmp_path: Path) -> None:
    for args, said in (
        (("C999",), "no case C999"),
        (("X1",), "not a case (C...) or network (N...)"),
        ((made.case, "--case", made.case), "--case goes with --mask-outside-case"),
    ):
        done = threadline("evidence", *args, "--db", str(made.db), "-o", str(tmp_path / "x"), env=made.env)
        assert done.returncode == 1 and said in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_the_cli_export_of_a_case_is_audited(made: Made, masked: Path) -> None:
    with Store.open(made.db, read_only=True) as store:
        rows = store.query(
            "SELECT object, detail FROM audit_log WHERE action = 'export evidence' ORDER BY seq"
        )
    objects = [o for o, _ in rows]
    assert made.case in objects
    masked = [json.loads(d) for o, d in rows if o == made.case and "mask_outside_case" in (d or "")]
    assert masked and masked[0]["masked"] == {"phone": 1, "email": 1, "handle": 0, "name": 1, "ad": 1}


# -- from the case page --------------------------------------------------------------------------


def test_the_case_page_exports_a_masked_package_audited_as_the_user(made: Made, tmp_path: Path) -> None:
    import httpx

    from serve.server_support import serving
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
        login = client.post("/login", json={"name": "eve", "password": password})
        assert login.status_code == 200, login.text
        token = login.json()["csrf_token"]
        page = client.get(f"/cases/{made.case}")
        assert page.status_code == 200
        assert f'action="/cases/{made.case}/evidence"' in page.text and 'name="mask"' in page.text
        network_page = client.get(f"/networks/{made.network_a}").text
        assert 'name="mask_case"' in network_page and f'<option value="{made.case}">' in network_page
        form = {"mask": "1", "no_pdf": "1", "blur": "1"}
        stale = client.post(f"/cases/{made.case}/evidence", data=form)
        assert stale.status_code == 403  # no CSRF token: refused
        answer = client.post(f"/cases/{made.case}/evidence", data={"csrf_token": token, **form})
        assert answer.status_code == 200, answer.text[:500]
        assert answer.headers["content-type"] == "application/zip"
        # A date window from the form: "to" a day takes the whole day.
        window = {"csrf_token": token, "no_pdf": "1", "since": "2026-09-01", "until": "2026-09-02"}
        windowed = client.post(f"/cases/{made.case}/evidence", data=window)
        assert windowed.status_code == 200, windowed.text[:500]
        bad = client.post(
            f"/cases/{made.case}/evidence",
            data={"csrf_token": token, "since": "soon"},
            follow_redirects=False,
        )
        assert bad.status_code == 303 and "problem" in bad.headers["location"]
        api = client.post(
            "/api/v1/cases/C999/evidence", params={"pdf": "false"}, headers={"X-CSRF-Token": token}
        )
        assert api.status_code == 404
        # The command line hands a case's export to the running server (which holds the store).
        by_cli = tmp_path / "by-cli"
        _export(made, by_cli, made.case, "--mask-outside-case")
        _verify(made, by_cli)
        assert {r["ad"] for r in _rows(by_cli, "links")} == IN_CASE
    with zipfile.ZipFile(io.BytesIO(windowed.content)) as zipped:
        zipped.extractall(tmp_path / "windowed")
    in_window = tmp_path / "windowed" / f"evidence-{made.case}"
    assert {r["ad"] for r in _rows(in_window, "links")} == {"site:a1", "site:a2"}
    assert "2 of 4 ads dropped" in (in_window / "report.html").read_text()
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zipped:
        zipped.extractall(tmp_path / "unzipped")
    package = tmp_path / "unzipped" / f"evidence-{made.case}"
    _verify(made, package)
    assert bagit.Bag(str(package)).info["Exported-By"].startswith("eve (user")
    every = _every_byte(package)
    for value in OUTSIDE_ONLY:
        assert value not in every, value
    with Store.open(made.db, read_only=True) as store:
        rows = store.query(
            "SELECT actor, object, detail FROM audit_log WHERE action = 'export evidence' ORDER BY seq"
        )
    eve = [json.loads(d) for a, o, d in rows if a == "eve" and o == made.case]
    assert len(eve) == 2 and eve[1]["until"].startswith("2026-09-02T23:59:59")
    eve = [e for e in eve if "mask_outside_case" in e]
    assert len(eve) == 1 and eve[0]["mask_outside_case"] == made.case and eve[0]["blur_images"] is True
    assert eve[0]["masked"] == {"phone": 1, "email": 1, "handle": 0, "name": 1, "ad": 1}
    # ... and the command line's, which the server ran.
    assert any(json.loads(d).get("output") == str(by_cli.resolve()) for _, o, d in rows if o == made.case)
