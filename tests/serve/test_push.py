"""Crawlers push ads (issue 16): ``POST /api/v1/ads`` driven over HTTP on loopback against a real
server on a real store. Idempotency, per-record answers, rate limits, an oversize body, bad and
wrong tokens, tokens bound to sources, inline images, crawlers' reports of ads gone, and linking
that follows. Made-up ads; numbers from the fictional 555-01xx range (docs/DESIGN.md section 4)."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from server_support import serving

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

ADMIN = Actor("root", "os-user", "cli")
TIMEOUT = 120.0  # httpx's per-request cap on a loaded machine, never an assertion
MAX_PUSH = 200_000


@dataclass
class Pushing:
    url: str
    tokens: dict[str, str]
    folder: Path


@pytest.fixture(scope="module")
def pushing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushing]:
    folder = tmp_path_factory.mktemp("push")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "crawler", "analyst", "a long enough password", by=ADMIN)
            made = {
                "push": tokens.add_token(store, "crawler", "push", by=ADMIN)[0],
                "burst": tokens.add_token(store, "crawler", "push", by=ADMIN)[0],
                "boardA": tokens.add_token(store, "crawler", "push", by=ADMIN, sources=["boardA"])[0],
                "read": tokens.add_token(store, "crawler", "read", by=ADMIN)[0],
                "client": tokens.add_token(store, "crawler", "push", by=ADMIN)[0],
            }
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    extra = (
        "--push-rate",
        "2",
        "--push-burst",
        "12",
        "--link-after",
        "0.2",
        "--max-push-body",
        str(MAX_PUSH),
    )
    with serving(db, env, folder / "server.log", *extra) as url:
        yield Pushing(url, made, folder)


def _client(p: Pushing, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=p.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {p.tokens[token]}"}
    )


def _push(p: Pushing, records: Any, token: str = "push", **kw: Any) -> httpx.Response:
    with _client(p, token) as client:
        return client.post("/api/v1/ads", json=records, **kw)


def _ad(p: Pushing, source: str, ad_id: str) -> dict[str, Any]:
    with _client(p, "read") as client:
        answer = client.get(f"/api/v1/ads/{source}/{ad_id}")
        assert answer.status_code == 200, answer.text
        detail: dict[str, Any] = answer.json()
        return detail


def _statuses(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["status"] for r in answer.json()["records"]]


def _ad_record(n: int, source: str = "boardA", **more: Any) -> dict[str, Any]:
    return {
        "id": f"p{n}",
        "source": source,
        "title": f"Sweet girl {n} new in town",
        "body": f"Text me at 713-555-01{n:02d}, incall only",
        "captured_at": "2026-11-02T10:00:00Z",
        **more,
    }


def test_a_batch_answers_per_record_and_sending_it_twice_stores_nothing_new(pushing: Pushing) -> None:
    batch = [_ad_record(1), _ad_record(2), {"source": "boardA", "title": "no id"}, _ad_record(3)]
    first = _push(pushing, batch)
    assert _statuses(first) == ["new", "new", "quarantined: missing id", "new"]
    assert first.json()["counts"]["new"] == 3 and first.json()["counts"]["quarantined"] == 1
    again = _push(pushing, batch)
    assert _statuses(again) == ["seen", "seen", "quarantined: missing id", "seen"]
    assert again.json()["batch"] == first.json()["batch"]
    seen = _ad(pushing, "boardA", "p1")["seen"]
    assert seen["sightings"] == 1 and len(seen["pushed_by"]) == 1  # the resend is not a sighting
    assert len(_ad(pushing, "boardA", "p1")["versions"]) == 1
    # The same ad in another batch is a sighting, not a version; changed content is a version.
    other = _push(pushing, [_ad_record(1, captured_at="2026-11-03T10:00:00Z")])
    assert _statuses(other) == ["seen"]
    assert _ad(pushing, "boardA", "p1")["seen"]["sightings"] == 2
    changed = _push(pushing, [_ad_record(2, body="Text me at 713-555-0102, outcall too")])
    assert _statuses(changed) == ["new version"] and changed.json()["records"][0]["version"] == 2


def test_json_lines_with_a_broken_line_and_the_ads_object_form(pushing: Pushing) -> None:
    lines = "\n".join([json.dumps(_ad_record(10)), "{not json", json.dumps(_ad_record(11))])
    with _client(pushing, "push") as client:
        answer = client.post(
            "/api/v1/ads", content=lines.encode(), headers={"Content-Type": "application/x-ndjson"}
        )
    statuses = _statuses(answer)
    assert statuses[0] == "new" and statuses[2] == "new"
    assert statuses[1].startswith("quarantined: not JSON")
    assert _statuses(_push(pushing, {"ads": [_ad_record(12)]})) == ["new"]


def test_a_push_reads_json_as_file_ingest_does(pushing: Pushing) -> None:
    # Duplicate keys (which id is meant?) and NaN are refused per line, as a file's reader does.
    twice = '{"id": "p20", "id": "p21", "source": "boardA", "body": "Text me at 713-555-0120"}'
    nan = '{"id": "p22", "source": "boardA", "body": "Text me at 713-555-0122", "age": NaN}'
    lines = "\n".join([twice, nan, json.dumps(_ad_record(23))])
    with _client(pushing, "push") as client:
        answer = client.post(
            "/api/v1/ads", content=lines.encode(), headers={"Content-Type": "application/x-ndjson"}
        )
    statuses = _statuses(answer)
    assert statuses[0].startswith("quarantined: not JSON") and "'id' appears twice" in statuses[0]
    assert statuses[1].startswith("quarantined: not JSON") and "NaN" in statuses[1]
    assert statuses[2] == "new"
    with _client(pushing, "push") as client:
        whole = client.post(
            "/api/v1/ads", content=f"[{twice}]".encode(), headers={"Content-Type": "application/json"}
        )
    assert whole.status_code == 400 and "appears twice" in whole.text


def test_a_crawler_reports_an_ad_gone_and_its_view_says_removed_on(pushing: Pushing) -> None:
    assert _statuses(_push(pushing, [_ad_record(20)])) == ["new"]
    gone = {"id": "p20", "source": "boardA", "gone": True, "captured_at": "2026-11-05T08:00:00Z"}
    assert _statuses(_push(pushing, [gone])) == ["gone"]
    seen = _ad(pushing, "boardA", "p20")["seen"]
    assert seen["removed_on"] == "2026-11-05T08:00:00Z"
    unknown = _statuses(_push(pushing, [{"id": "never", "source": "boardA", "gone": True}]))
    assert unknown == ["quarantined: reports gone an ad not stored"]


def test_inline_images_are_kept_by_their_hash(pushing: Pushing) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(picture, format="PNG")
    data = base64.b64encode(picture.getvalue()).decode()
    good = _ad_record(30, images=[{"name": "me.png", "data": data}])
    bad = _ad_record(31, images=[{"name": "x.png", "data": "not base64 at all!"}])
    statuses = _statuses(_push(pushing, [good, bad]))
    assert statuses[0] == "new"
    assert statuses[1].startswith("quarantined: images[0] is an inline image") and "base64" in statuses[1]
    images = _ad(pushing, "boardA", "p30")["images"]
    import hashlib

    assert [i["sha256"] for i in images] == [hashlib.sha256(picture.getvalue()).hexdigest()]
    assert images[0]["width"] == 64
    # Kept by the store too, beside it by hash (issue 17), not only in the push spool.
    from threadline.store import kept_images

    kept = kept_images.kept_path(pushing.folder / "store.duckdb", images[0]["sha256"])
    assert kept.read_bytes() == picture.getvalue()


def test_an_oversize_body_is_refused_before_it_is_read(pushing: Pushing) -> None:
    huge = [_ad_record(40, body="x" * (MAX_PUSH + 10))]
    answer = _push(pushing, huge)
    assert answer.status_code == 413
    with _client(pushing, "push") as client:  # chunked, no Content-Length: counted as it arrives
        chunks = iter([b"[" + b" " * 100_000, b" " * 100_000, b" " * 100_000 + b"]"])
        assert client.post("/api/v1/ads", content=chunks).status_code == 413


def test_tokens_wrong_missing_or_of_the_wrong_scope_are_refused(pushing: Pushing) -> None:
    with httpx.Client(base_url=pushing.url, timeout=TIMEOUT) as client:
        assert client.post("/api/v1/ads", json=[_ad_record(50)]).status_code == 401
        bad = client.post("/api/v1/ads", json=[_ad_record(50)], headers={"Authorization": "Bearer tl_nope"})
        assert bad.status_code == 401
    assert _push(pushing, [_ad_record(50)], token="read").status_code == 403
    with _client(pushing, "push") as client:  # and a push token cannot read
        assert client.get("/api/v1/networks").status_code == 403


def test_a_token_bound_to_a_source_pushes_only_that_source(pushing: Pushing) -> None:
    statuses = _statuses(_push(pushing, [_ad_record(60), _ad_record(61, source="boardB")], token="boardA"))
    assert statuses == ["new", "quarantined: this token may not push ads of source 'boardB'"]


def test_a_token_past_its_rate_gets_429_with_retry_after(pushing: Pushing) -> None:
    answers = []
    with _client(pushing, "burst") as client:
        for _ in range(30):  # burst 12, 2 a second: 30 at once cannot all pass
            answers.append(client.post("/api/v1/ads", json=[]))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert all(a.status_code in (422, 429) for a in answers)  # the empty batch, when let through


def test_pushed_ads_are_linked_soon_after(pushing: Pushing) -> None:
    assert _statuses(_push(pushing, [_ad_record(70), _ad_record(71, body="Text me at 713-555-0170 now")]))
    for _ in range(600):  # a link run on a loaded machine; bounded, never a clock in an assertion
        first, second = _ad(pushing, "boardA", "p70"), _ad(pushing, "boardA", "p71")
        if first["network"] is not None and second["network"] is not None:
            break
        time.sleep(0.2)
    assert first["network"] is not None and first["network"] == second["network"]  # one phone


def test_the_push_client_sends_a_file_in_batches_and_goes_on_after_an_interruption(
    pushing: Pushing, tmp_path: Path
) -> None:
    from server_support import threadline

    from threadline.push_client import push_file, state_file

    Image.new("RGB", (40, 40), (10, 120, 200)).save(tmp_path / "one.jpg")
    records = [_ad_record(n, source="crawlfile") for n in range(80, 100)]
    records[3]["images"] = ["one.jpg"]
    records[10] = {"id": "bad", "source": "crawlfile", "title": 5}  # quarantined, not lost
    ads = tmp_path / "crawl.jsonl"
    ads.write_text("".join(json.dumps(r) + "\n" for r in records) + "{broken\n", encoding="utf-8")

    class Interrupted(Exception):
        pass

    def stop_after_two(report: Any) -> None:
        if report.batches == 2:
            raise Interrupted

    token = pushing.tokens["client"]
    with pytest.raises(Interrupted):
        push_file(
            ads, pushing.url, token, batch_size=3, progress=stop_after_two, sleep=lambda s: time.sleep(s)
        )
    assert json.loads(state_file(ads).read_text())["offset"] > 0
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    done = threadline(
        "push", str(ads), "--url", pushing.url, "--token-file", str(token_file), "--batch-size", "3"
    )
    assert done.returncode == 0, done.stderr
    # 21 records: 6 sent before the interruption, 15 now (the first batch of the rerun starts after them).
    assert "15 records: 13 new ads" in done.stdout and "2 quarantined" in done.stdout, done.stdout
    assert "went on from byte" in done.stdout
    assert "title must be a string" in done.stderr and "not JSON" in done.stderr
    assert not state_file(ads).exists()
    assert [i["width"] for i in _ad(pushing, "crawlfile", "p83")["images"]] == [40]
    assert _ad(pushing, "crawlfile", "p99")["seen"]["sightings"] == 1


def test_the_push_client_waits_out_the_rate_limit(pushing: Pushing, tmp_path: Path) -> None:
    from threadline.push_client import push_file

    ads = tmp_path / "many.jsonl"
    ads.write_text("".join(json.dumps(_ad_record(n, source="ratefile")) + "\n" for n in range(30)))
    report = push_file(ads, pushing.url, pushing.tokens["client"], batch_size=1)
    assert report.counts["new"] == 30 and report.batches == 30
    assert report.retries > 0  # burst 12 at 2 a second: some batches had to wait


def _linked(p: Pushing, source: str, ad_id: str) -> dict[str, Any]:
    for _ in range(600):  # a link run on a loaded machine; bounded, never a clock in an assertion
        detail = _ad(p, source, ad_id)
        if detail["network"] is not None:
            return detail
        time.sleep(0.2)
    raise AssertionError(f"{source}:{ad_id} was never linked")


def test_the_queue_finds_networks_with_ads_removed_and_the_ad_page_says_when(pushing: Pushing) -> None:
    assert _statuses(_push(pushing, [_ad_record(90, source="gonefile"), _ad_record(91, source="gonefile")]))
    gone = {"id": "p90", "source": "gonefile", "gone": True, "captured_at": "2026-11-20T08:30:00Z"}
    assert _statuses(_push(pushing, [gone])) == ["gone"]
    removed_network = _linked(pushing, "gonefile", "p90")["network"]
    kept_network = _linked(pushing, "gonefile", "p91")["network"]
    assert removed_network != kept_network  # two phones, two networks
    with _client(pushing, "read") as client:
        for _ in range(600):  # the link run after the report scores the network
            listed = client.get("/api/v1/networks", params={"removed_since": "2026-11-20T00:00:00Z"})
            assert listed.status_code == 200, listed.text
            found = [row["network"] for row in listed.json()["items"]]
            if found:
                break
            time.sleep(0.2)
        assert found == [removed_network]
        later = client.get("/api/v1/networks", params={"removed_since": "2026-11-21T00:00:00Z"})
        assert later.json()["items"] == []
    with httpx.Client(base_url=pushing.url, timeout=TIMEOUT) as browser:
        signed = browser.post("/login", json={"name": "crawler", "password": "a long enough password"})
        assert signed.status_code == 200, signed.text
        page = browser.get("/ads/gonefile/p90")
        assert page.status_code == 200
        assert "removed on 2026-11-20 08:30" in page.text and "first seen" in page.text
        assert "removed on" not in browser.get("/ads/gonefile/p91").text
