"""Images that may show a child (issue 15), over loopback HTTP against a real server: images
matching a planted hash list (one by its SHA-256, one by its MD5, one by the PDQ of a re-encoded,
shrunk and cropped copy) are refused on every route to everyone, never in an evidence package, and
flag their ad, network and the queue for mandatory reporting; an image beside an ad stating an age
under 18 is hidden from an analyst and revealed by a supervisor only with a reason, which the
audit keeps. Every image is generated (gradients and shapes), every list planted.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_pages
from PIL import Image, ImageDraw
from server_support import serving
from server_support import threadline as _threadline

from threadline.extract.images import hash_image
from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor

PASSWORD = "correct horse battery staple"
ADMIN = Actor("root", "os-user", "cli")
USERS = {"ana": "analyst", "sam": "supervisor", "ada": "admin"}
PHONE = "212-555-0142"  # fictional range
LISTED = ("by_sha", "by_md5", "by_pdq")  # the images a planted list names

# The browser fixtures of `test_pages` (its ``tab`` reads the URL of this module's ``server``).
browser = test_pages.browser
dialogs = test_pages.dialogs
tab = test_pages.tab
shots = test_pages.shots


def _picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A made-up picture with structure (a gradient, shapes), as PDQ expects of a photo."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=(y % 256, (80 + y // 3 + seed * 20) % 256, (200 - y // 2) % 256))
    for _ in range(8):
        x, y = rng.randrange(0, w - 40), rng.randrange(0, h - 40)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)], fill=colour)
    return img


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Served:
    url: str
    db: Path
    env: dict[str, str]
    images: dict[str, bytes]  # name -> the file's bytes
    sha: dict[str, str]  # name -> its SHA-256
    pdq_bits: int  # how far the listed PDQ is from the stored picture's
    read_token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("hashlists")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    corpus = folder / "corpus"
    corpus.mkdir()
    names = ("by_sha", "by_md5", "by_pdq", "minor", "plain", "late", "later")
    images = {name: _png(_picture(seed)) for seed, name in enumerate(names, start=11)}
    for name in ("by_sha", "by_md5", "by_pdq", "minor", "plain"):
        (corpus / f"{name}.png").write_bytes(images[name])
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in images.items()}
    body = f"Sweet and fun, 24 years old. Text {PHONE}"
    ads = [
        {"id": "a1", "source": "site", "title": "Lily", "body": body, "images": ["by_sha.png"]},
        {"id": "a2", "source": "site", "title": "Rose", "body": body, "images": ["by_md5.png"]},
        {"id": "a3", "source": "site", "title": "Ivy", "body": body, "images": ["by_pdq.png"]},
        {"id": "m1", "source": "site", "title": "New", "body": f"New in town, I am 16 years old, {PHONE}",
         "images": ["minor.png"]},
        {"id": "p1", "source": "site", "title": "Fern", "body": body, "images": ["plain.png"]},
    ]  # fmt: skip
    (corpus / "ads.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in ads))
    # The planted lists: a SHA-256 (and the SHA-256 of an image pushed later), an MD5, and the PDQ
    # of a copy of the third picture shrunk, cropped and saved again as JPEG.
    copy = _picture(13).resize((300, 225)).crop((3, 2, 297, 222))
    copy_file = folder / "copy.jpg"
    copy.save(copy_file, format="JPEG", quality=80)
    listed_pdq = str(hash_image(copy_file)["pdq"])
    stored_pdq = str(hash_image(corpus / "by_pdq.png")["pdq"])
    bits = bin(int(listed_pdq, 16) ^ int(stored_pdq, 16)).count("1")
    lists = folder / "lists"
    lists.mkdir()
    (lists / "sha256.txt").write_text(
        f"# planted for the tests\n{sha['by_sha']}\n{sha['late']}\nnot-a-hash\n{'0' * 63}\n"
    )
    (lists / "md5.txt").write_text(hashlib.md5(images["by_md5"]).hexdigest() + "\n")
    (lists / "pdq.csv").write_text(f"pdq,quality\n{listed_pdq},100\n")
    db = folder / "store.duckdb"
    steps = [
        ("ingest", str(corpus / "ads.jsonl"), "--db", str(db), "-q"),
        ("keys", "init", "--db", str(db)),
        ("hashlist", "load", str(lists / "sha256.txt"), "--kind", "sha256", "--db", str(db)),
        ("hashlist", "load", str(lists / "md5.txt"), "--db", str(db)),
        ("hashlist", "load", str(lists / "pdq.csv"), "--name", "pdq list", "--db", str(db)),
    ]
    for args in steps:
        done = _threadline(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        if args[1:2] == (str(lists / "sha256.txt"),):
            said = done.stderr.splitlines()
            assert said[0].endswith("sha256.txt:4: left out: not a hash in hex: 'not-a-hash'"), said
            assert said[1].endswith("sha256.txt:5: left out: 63 hex digits, but SHA-256 hashes have 64")
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        from threadline.store import Store

        with Store.open(db) as store:
            for name, role in USERS.items():
                accounts.add_user(store, name, role, PASSWORD, by=ADMIN)
            read_token = tokens.add_token(store, "sam", "read", by=ADMIN)[0]
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Served(url, db, env, images, sha, bits, read_token)


@contextmanager
def _client(served: Served, name: str) -> Iterator[httpx.Client]:
    """A client signed in through the sign-in form, as a browser is."""
    with httpx.Client(base_url=served.url, timeout=120) as client:
        form = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        signed = client.post(
            "/login", data={"login_token": token.group(1), "next": "/", "name": name, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text
        yield client


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _api_csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/search/image").text)
    assert found
    return found.group(1)


def _no_image(answer: httpx.Response, served: Served) -> None:
    """Refused, and nothing of any image in the answer."""
    assert answer.status_code in (403, 404), (answer.status_code, answer.text[:200])
    assert not answer.headers.get("content-type", "").startswith("image/")
    assert all(data not in answer.content for data in served.images.values())


def _audit(served: Served) -> list[dict[str, Any]]:
    """The whole audit chain, read by the supervisor a page at a time."""
    entries: list[dict[str, Any]] = []
    with _client(served, "sam") as sam:
        while True:
            after = entries[-1]["seq"] if entries else 0
            page = sam.get("/api/v1/audit", params={"after": after, "limit": 500}).json()["items"]
            entries += page
            if len(page) < 500:
                return entries


def _network(served: Served) -> str:
    with _client(served, "ana") as client:
        ad = client.get("/api/v1/ads/site/p1").json()
    network: str = ad["network"]
    assert network
    return network


def test_the_planted_pdq_is_a_near_copy_not_the_same_hash(served: Served) -> None:
    assert 0 < served.pdq_bits <= 31  # found within linking's radius, not by equality


def test_matching_images_are_refused_on_every_route_to_every_role(served: Served) -> None:
    for name in ("ana", "sam", "ada"):
        with _client(served, name) as client:
            csrf = _api_csrf(client)
            for image in LISTED:
                sha = served.sha[image]
                _no_image(client.get(f"/images/{sha}/blurred"), served)
                _no_image(client.get(f"/images/{sha}/original", params={"ad": "site:a1"}), served)
                _no_image(client.get(f"/api/v1/images/{sha}"), served)
                _no_image(
                    client.post(f"/images/{sha}/reveal", data={"csrf_token": csrf, "reason": "court"}), served
                )
                _no_image(
                    client.post(
                        f"/api/v1/images/{sha}/reveal",
                        json={"reason": "court"},
                        headers={"X-CSRF-Token": csrf},
                    ),
                    served,
                )
            # the control: an image no list names and no minor's ad shows comes blurred
            plain = client.get(f"/images/{served.sha['plain']}/blurred")
            assert plain.status_code == 200 and plain.headers["content-type"] == "image/jpeg"
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {served.read_token}"}) as token:
        _no_image(token.get(f"/images/{served.sha['by_sha']}/blurred"), served)
    refused = [e for e in _audit(served) if e["action"] == "image refused"]
    assert {e["object"] for e in refused} >= {served.sha[i] for i in LISTED}
    listed = {served.sha[i] for i in LISTED}
    assert all(e["detail"]["hidden"] == "hash_list" for e in refused if e["object"] in listed)


def test_the_ad_the_network_and_the_queue_flag_mandatory_reporting(served: Served) -> None:
    network = _network(served)
    with _client(served, "ana") as client:
        for ad, image in (("a1", "by_sha"), ("a2", "by_md5"), ("a3", "by_pdq")):
            page = client.get(f"/ads/site/{ad}")
            assert page.status_code == 200
            assert "Mandatory reporting" in page.text and "Hidden: matches a hash list" in page.text
            assert f"/images/{served.sha[image]}/" not in page.text
        plain = client.get("/ads/site/p1")
        assert (
            "Mandatory reporting" not in plain.text and f"/images/{served.sha['plain']}/blurred" in plain.text
        )
        net = client.get(f"/networks/{network}")
        assert "Mandatory reporting" in net.text and "3 images of this network" in net.text
        queue = client.get("/")
        row = re.search(rf'<tr data-network="{network}">(.*?)</tr>', queue.text, re.S)
        assert row and "to report" in row.group(1)
        items = client.get("/api/v1/networks", params={"limit": "200"}).json()["items"]
        flags = {item["network"]: item["hash_matched_images"] for item in items}
        assert flags[network] == 3 and sum(flags.values()) == 3
        graph = client.get(f"/api/v1/networks/{network}/graph").json()
        hidden = {
            n["data"]["id"]: n["data"]["hidden"] for n in graph["nodes"] if n["data"]["kind"] == "image"
        }
        assert {hidden.get(f"image:{served.sha[i]}") for i in LISTED} == {"hash_list"}
        assert hidden.get(f"image:{served.sha['minor']}") == "minor"
        assert hidden.get(f"image:{served.sha['plain']}") is None
        assert client.get("/hash-matches").status_code == 403  # an analyst does not see the list


def test_a_supervisor_lists_the_matches_and_records_a_report(served: Served) -> None:
    with _client(served, "sam") as sam:
        page = sam.get("/hash-matches")
        assert page.status_code == 200
        for image in LISTED:
            assert served.sha[image] in page.text and f"/images/{served.sha[image]}" not in page.text
        assert served.sha["plain"] not in page.text and "pdq list" in page.text
        csrf = _csrf(page)
        unsaid = sam.post(
            "/hash-matches", data={"sha256": served.sha["by_md5"], "note": " ", "csrf_token": csrf}
        )
        assert unsaid.status_code == 422
        forged = sam.post("/hash-matches", data={"sha256": served.sha["by_md5"], "note": "x"})
        assert forged.status_code == 403  # no CSRF token
        done = sam.post(
            "/hash-matches",
            data={"sha256": served.sha["by_md5"], "note": "CyberTipline 000 (planted)", "csrf_token": csrf},
        )
        assert done.status_code == 303
        listed = sam.get("/api/v1/hash-matches").json()["items"]
    by_sha = {m["sha256"]: m for m in listed}
    assert set(by_sha) >= {served.sha[i] for i in LISTED}
    assert by_sha[served.sha["by_md5"]]["report_note"] == "CyberTipline 000 (planted)"
    assert by_sha[served.sha["by_md5"]]["reported_by"] == "sam"
    assert (
        by_sha[served.sha["by_pdq"]]["kinds"] == ["pdq"]
        and 0 < by_sha[served.sha["by_pdq"]]["distance"] <= 31
    )
    assert by_sha[served.sha["by_sha"]]["ads"] == ["site:a1"]
    with _client(served, "sam") as sam:  # still hidden once reported
        _no_image(sam.get(f"/images/{served.sha['by_md5']}/blurred"), served)
    reports = [e for e in _audit(served) if e["action"] == "report hash match"]
    assert (
        reports and reports[-1]["actor"] == "sam" and reports[-1]["detail"]["note"].startswith("CyberTipline")
    )
    cli = _threadline(
        "hashlist", "matches", "--db", str(served.db), env=served.env, timeout=120
    )  # through the server
    assert cli.returncode == 0 and cli.stdout.count("TO REPORT") == 2, cli.stdout + cli.stderr


def test_a_minor_image_is_hidden_and_only_a_supervisor_reveals_it_with_a_reason(served: Served) -> None:
    sha = served.sha["minor"]
    with _client(served, "ana") as ana:
        page = ana.get("/ads/site/m1")
        assert "Hidden, not blurred" in page.text and f"/images/{sha}/" not in page.text
        for answer in (
            ana.get(f"/images/{sha}/blurred"),
            ana.get(f"/images/{sha}/original"),
            ana.get(f"/api/v1/images/{sha}"),
            ana.post(f"/images/{sha}/reveal", data={"csrf_token": _csrf(page), "reason": "curious"}),
        ):
            _no_image(answer, served)
    with _client(served, "sam") as sam:
        page = sam.get("/ads/site/m1")
        assert f'action="/images/{sha}/reveal"' in page.text and f"/images/{sha}/blurred" not in page.text
        csrf = _csrf(page)
        _no_image(sam.get(f"/images/{sha}/blurred"), served)  # hidden, not blurred, even for a supervisor
        _no_image(sam.get(f"/images/{sha}/original"), served)  # only through a reveal with a reason
        unsaid = sam.post(f"/images/{sha}/reveal", data={"csrf_token": csrf, "reason": "  ", "ad": "site:m1"})
        assert unsaid.status_code == 422 and served.images["minor"] not in unsaid.content
        forged = sam.post(f"/images/{sha}/reveal", data={"reason": "no token", "ad": "site:m1"})
        assert forged.status_code == 403
        reason = "identify the victim for the referral to child protection"
        shown = sam.post(
            f"/images/{sha}/reveal", data={"csrf_token": csrf, "reason": reason, "ad": "site:m1"}
        )
        assert shown.status_code == 200 and shown.content == served.images["minor"]
        assert shown.headers["cache-control"] == "no-store"
        by_api = sam.post(
            f"/api/v1/images/{sha}/reveal", json={"reason": "second look"}, headers={"X-CSRF-Token": csrf}
        )
        assert by_api.status_code == 200 and by_api.content == served.images["minor"]
        assert (
            sam.post(f"/api/v1/images/{sha}/reveal", json={}, headers={"X-CSRF-Token": csrf}).status_code
            == 422
        )
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {served.read_token}"}) as token:
        _no_image(token.post(f"/api/v1/images/{sha}/reveal", json={"reason": "a script"}), served)
    reveals = [e for e in _audit(served) if e["action"] == "reveal hidden image" and e["object"] == sha]
    assert [(e["actor"], e["detail"]["reason"]) for e in reveals] == [("sam", reason), ("sam", "second look")]
    assert reveals[0]["detail"]["ad"] == "site:m1"


def test_images_arriving_after_a_list_and_a_list_loaded_through_the_server_are_matched(
    served: Served,
) -> None:
    with _client(served, "ana") as ana:
        csrf = _api_csrf(ana)
        ads = [
            {"id": name, "source": "push", "title": "Back", "body": "Call 212-555-0143",
             "images": [{"name": f"{name}.png", "data": base64.b64encode(served.images[name]).decode()}]}
            for name in ("late", "later")
        ]  # fmt: skip
        pushed = ana.post("/api/v1/ads", json=ads, headers={"X-CSRF-Token": csrf})
        assert pushed.status_code == 200, pushed.text
        assert [r["status"] for r in pushed.json()["records"]] == ["new", "new"]
        _no_image(ana.get(f"/images/{served.sha['late']}/blurred"), served)  # listed before it came
        assert ana.get(f"/images/{served.sha['later']}/blurred").status_code == 200
        listed = served.db.parent / "lists" / "later.txt"
        listed.write_text(f"{hashlib.md5(served.images['later']).hexdigest()}\n")
        loaded = _threadline(
            "hashlist", "load", str(listed), "--db", str(served.db), env=served.env, timeout=120
        )
        assert loaded.returncode == 0, loaded.stderr
        assert "1 images of the store match it" in loaded.stdout
        _no_image(ana.get(f"/images/{served.sha['later']}/blurred"), served)
    loads = [e for e in _audit(served) if e["action"] == "load hash list"]
    assert loads and loads[-1]["actor_kind"] == "os-user" and loads[-1]["detail"]["matches"] == 1


def test_an_evidence_package_leaves_out_matches_and_minor_images_whatever_the_options(served: Served) -> None:
    network = _network(served)
    with _client(served, "ana") as ana:
        csrf = _api_csrf(ana)
        packages = [
            ana.post(f"/api/v1/networks/{network}/evidence", params=params, headers={"X-CSRF-Token": csrf})
            for params in ({"pdf": "false"}, {"pdf": "false", "blur_images": "true"})
        ]
    for answer in packages:
        assert answer.status_code == 200, answer.text
        with zipfile.ZipFile(io.BytesIO(answer.content)) as zipped:
            files = {name: zipped.read(name) for name in zipped.namelist()}
        everything = b"".join(files.values())
        for image in LISTED:
            assert served.sha[image].encode() not in everything  # not even its hash
            assert served.images[image] not in everything
        assert served.images["minor"] not in everything
        rows = {
            r["sha256"]: r
            for name, data in files.items()
            if name.endswith("data/images.jsonl")
            for r in map(json.loads, data.decode().splitlines())
        }
        assert set(rows) == {served.sha["minor"], served.sha["plain"]}
        assert (
            rows[served.sha["minor"]]["file"] is None and "under 18" in rows[served.sha["minor"]]["withheld"]
        )
        assert rows[served.sha["plain"]]["file"]
        report = next(data.decode() for name, data in files.items() if name.endswith("/report.html"))
        assert "3 images left out: they match a loaded hash list" in report
        ads = [
            json.loads(line)
            for name, data in files.items()
            if name.endswith("data/ads.jsonl")
            for line in data.decode().splitlines()
        ]
        assert {a["id"]: a["images_left_out"] for a in ads if a["id"] in ("a1", "a2", "a3", "p1")} == {
            "a1": 1,
            "a2": 1,
            "a3": 1,
            "p1": 0,
        }


@pytest.fixture(scope="module")
def server(served: Served) -> Served:
    return served  # for `test_pages.tab`


def test_a_supervisor_reveals_a_hidden_image_in_the_browser_with_a_reason(tab: Any, served: Served) -> None:
    tab.goto("/login")
    tab.fill("input[name=name]", "sam")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{served.url}/")
    tab.goto("/ads/site/m1")
    assert tab.locator("ul.images img").count() == 0  # hidden: not even a blurred copy
    assert "Hidden, not blurred" in tab.locator("ul.images").inner_text()
    tab.fill("form.reveal-hidden input[name=reason]", "checked in the browser for the referral")
    with tab.expect_popup() as opened:
        tab.click("form.reveal-hidden button[type=submit]")
    shown = opened.value
    shown.wait_for_load_state()
    assert shown.evaluate("document.images.length") == 1
    assert shown.evaluate("document.images[0].naturalWidth") == 320  # the original
    tab.goto("/ads/site/a1")
    assert tab.locator("ul.images img").count() == 0
    assert "Mandatory reporting" in tab.locator("main").inner_text()
    reveals = [e for e in _audit(served) if e["action"] == "reveal hidden image"]
    assert reveals[-1]["detail"]["reason"] == "checked in the browser for the referral"


# How many lines a node's text takes in the page (its boxes' distinct tops).
_LINES = """node => { const r = document.createRange(); r.selectNodeContents(node);
  return new Set([...r.getClientRects()].map(q => Math.round(q.top))).size; }"""


def test_the_hash_matches_page_and_hidden_images_in_the_browser(
    tab: Any, served: Served, shots: Path
) -> None:
    """Screenshots of the supervisor's list of matches and of the two kinds of hidden image (in
    the test's folder; docs/screenshots/ with THREADLINE_SCREENSHOTS=1)."""
    tab.goto("/login")
    tab.fill("input[name=name]", "sam")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{served.url}/")
    tab.goto("/hash-matches")
    rows = tab.locator("table.hash-matches tbody tr")
    # Each hash whole (to copy into a report), on one line or broken only between its halves; the
    # flag to report on one line.
    lines = tab.eval_on_selector_all(
        "table.hash-matches td.hash",
        f"cells => cells.map(cell => [cell.textContent, [...cell.childNodes]"
        f".filter(n => n.nodeType === Node.TEXT_NODE).map({_LINES})])",
    )
    assert {served.sha[i] for i in LISTED} <= {text for text, _ in lines}  # and those pushed later
    assert all(halves == [1, 1] for _, halves in lines), lines
    flag = tab.locator("table.hash-matches tr.to-report .report-flag").first
    assert flag.inner_text() == "to report" and flag.evaluate("f => f.getClientRects().length") == 1
    assert rows.first.locator("button").inner_text() == "Record report"
    test_pages._screenshot(tab, shots, "hash-matches.png")
    # An image hidden as possibly a minor's, and one matching a list: the heading says hidden (not
    # blurred, nothing to reveal by a click), and what was read from the ad is not cut mid-word.
    tab.goto("/ads/site/m1")
    assert tab.locator("h2", has_text="Images").inner_text() == "Images (hidden, not blurred: each says why)"
    code = tab.locator("table.found td.value", has_text="movement.new_in_town")
    assert code.evaluate(_LINES) == 1
    test_pages._screenshot(tab, shots, "ad-hidden-minor.png")
    tab.goto("/ads/site/a1")
    assert "(hidden, not blurred: each says why)" in tab.locator("h2", has_text="Images").inner_text()
    test_pages._screenshot(tab, shots, "ad-hash-matched.png")
    tab.goto("/ads/site/p1")
    assert "(blurred; revealing one shows" in tab.locator("h2", has_text="Images").inner_text()
