"""Kept answers over HTTP, on a real server and store (`threadline.serve._answers`): a network's
view outlives commits that do not touch it (an ingest's batches, a link and scoring run that
clusters other networks again); an ingest that links an ad into a network, changing its members
and its score, makes that network's view (and its ads' views) be read again; no kept answer
differs from what a fresh read gives; an answer kept for one role is never given to another."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import serving
from server_support import threadline as _threadline

from small_networks import ads_apart, phone_of, write_jsonl
from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

ADMIN = Actor("root", "os-user", "cli")
KEPT = "X-Threadline-Answer"


@dataclass
class Served:
    url: str
    db: Path
    env: dict[str, str]
    folder: Path
    analyst: str  # read tokens
    supervisor: str
    push: str  # the analyst's push token
    joined: str  # the network the new ad joins
    ads: dict[str, str]  # network -> SOURCE/ID of one of its ads


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("kept")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    base = write_jsonl(folder / "base.jsonl", ads_apart())
    ingested = _threadline("ingest", str(base), "--db", str(db), "-q", env=env)
    assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", "correct horse battery staple", by=ADMIN)
            accounts.add_user(store, "sue", "supervisor", "correct horse battery staple", by=ADMIN)
            ana = tokens.add_token(store, "ana", "read", by=ADMIN)[0]
            sue = tokens.add_token(store, "sue", "read", by=ADMIN)[0]
            push = tokens.add_token(store, "ana", "push", by=ADMIN)[0]
            ads = {
                str(n): f"{s}/{i}"
                for n, s, i in store.query(
                    "SELECT network, min(source), min(id) FROM ad_links GROUP BY network"
                )
            }
            [(joined,)] = store.query("SELECT network FROM ad_links WHERE id = 'n3a0'")
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    # Pushes are linked only when a test says so (`threadline link`): no run at a moment of its own.
    quiet = ("--link-after", "3600", "--link-within", "3600")
    with serving(db, env, folder / "server.log", *quiet) as url:
        yield Served(url, db, env, folder, ana, sue, push, str(joined), ads)


def _client(served: Served, token: str) -> httpx.Client:
    return httpx.Client(base_url=served.url, timeout=120, headers={"Authorization": f"Bearer {token}"})


def _views(client: httpx.Client, networks: list[str]) -> dict[str, httpx.Response]:
    out = {}
    for network in networks:
        answer = client.get(f"/api/v1/networks/{network}")
        assert answer.status_code == 200, answer.text
        out[network] = answer
    return out


def _summary(view: httpx.Response) -> tuple[Any, ...]:
    summary = view.json()["summary"]
    return summary["ads"], summary["logit"], view.json()["ads"]["total"]


def test_a_network_view_is_kept_through_commits_that_do_not_touch_it_and_read_again_after_one_that_does(
    served: Served,
) -> None:
    with _client(served, served.analyst) as ana, _client(served, served.supervisor) as sue:
        networks = sorted(served.ads)
        assert len(networks) == 30 and served.joined in networks
        before = _views(ana, networks)
        again = _views(ana, networks)
        assert all(a.headers[KEPT] == "kept" and a.content == before[n].content for n, a in again.items())
        other = next(n for n in networks if n != served.joined)
        for network in (served.joined, other):
            assert ana.get(f"/api/v1/ads/{served.ads[network]}").headers[KEPT] == "read"

        # A new ad with the number of one network, and words that raise its score (youth language,
        # a new city), through the running server: its batch (ads as stored), then a link and
        # scoring run that clusters that network again and no other.
        new = {
            "id": "n3new", "source": "site0", "title": "Kabene", "location": "Chicago",
            "body": f"Zorbu kimalo fenta. Barely legal, young and fresh. Call {phone_of(3)}.",
            "posted_at": "2026-01-13T12:00:00Z",
        }  # fmt: skip
        more = write_jsonl(served.folder / "more.jsonl", [new])
        ingested = _threadline("ingest", str(more), "--db", str(served.db), "-q", env=served.env)
        assert ingested.returncode == 0, ingested.stderr

        after = _views(ana, networks)
        fresh = _views(sue, networks)  # the supervisor never read them: read now, nothing kept
        assert all(v.headers[KEPT] == "read" for v in fresh.values())
        # No kept answer differs from a fresh read (the views do not differ by role).
        for network in networks:
            assert after[network].content == fresh[network].content, network
        # The network the ad joined has one ad more and another score: read again.
        assert after[served.joined].headers[KEPT] == "read"
        was, now = _summary(before[served.joined]), _summary(after[served.joined])
        assert (now[0], now[2]) == (was[0] + 1, was[2] + 1) and now[1] > was[1]
        assert "n3new" in {ad["id"] for ad in after[served.joined].json()["ads"]["items"]}
        # Every other network kept its answer through the whole ingest.
        assert {n for n in networks if after[n].headers[KEPT] == "kept"} == set(networks) - {served.joined}

        # An ad's view is kept until a batch stores or sees that ad, or a run touches its network.
        assert ana.get(f"/api/v1/ads/{served.ads[other]}").headers[KEPT] == "kept"
        path = f"/api/v1/ads/{served.ads[served.joined]}"
        first, second = ana.get(path), ana.get(path)
        assert (first.headers[KEPT], second.headers[KEPT]) == ("read", "kept")
        assert first.json()["network_score"] == after[served.joined].json()["summary"]["score"]
        with _client(served, served.supervisor) as fresh_reader:
            assert fresh_reader.get(path).content == first.content

        # The same record ingested again is a sighting of its ad (no new version): that ad's view
        # is read again, and the views of networks nothing touched are still kept.
        new_path = "/api/v1/ads/site0/n3new"
        once = ana.get(new_path)
        assert ana.get(new_path).headers[KEPT] == "kept"
        again = _threadline("ingest", str(more), "--db", str(served.db), "-q", env=served.env)
        assert again.returncode == 0, again.stderr
        twice = ana.get(new_path)
        assert twice.headers[KEPT] == "read"
        assert twice.json()["seen"]["sightings"] == once.json()["seen"]["sightings"] + 1
        assert len(twice.json()["versions"]) == len(once.json()["versions"]) == 1
        assert ana.get(f"/api/v1/networks/{other}").headers[KEPT] == "kept"

        # A supervisor's second read is kept for supervisors.
        assert sue.get(f"/api/v1/networks/{networks[0]}").headers[KEPT] == "kept"
    exported = _threadline("audit", "export", "--db", str(served.db), env=served.env)
    entries = [json.loads(line) for line in exported.stdout.splitlines()]
    reads = [e for e in entries if e["action"] == "read network" and e["actor"] == "ana"]
    assert len(reads) == 3 * len(networks) + 1  # every read audited, kept or not


def test_a_phone_search_is_kept_through_pushes_of_other_numbers_and_read_again_for_its_own(
    served: Served,
) -> None:
    with _client(served, served.analyst) as ana, _client(served, served.supervisor) as sue:

        def search(client: httpx.Client, phone: str) -> httpx.Response:
            answer = client.get("/api/v1/search", params={"q": phone})
            assert answer.status_code == 200, answer.text
            return answer

        for k in (5, 7):
            assert search(ana, phone_of(k)).headers[KEPT] == "read"
            assert search(ana, phone_of(k)).headers[KEPT] == "kept"
        names = search(ana, "Kabene")  # words: ranked over every ad
        before = search(ana, phone_of(7)).json()["found"]["total_ads"]
        pushed = httpx.post(
            f"{served.url}/api/v1/ads",
            headers={"Authorization": f"Bearer {served.push}"},
            json=[{"id": "n7push", "source": "site1", "title": "Lotime", "location": "Reno",
                   "body": f"Vubo tesk. Call {phone_of(7)}.", "posted_at": "2026-02-17T12:00:00Z"}],
            timeout=120,
        )  # fmt: skip
        assert pushed.status_code == 200, pushed.text
        assert [r["status"] for r in pushed.json()["records"]] == ["new"]
        other, own = search(ana, phone_of(5)), search(ana, phone_of(7))
        assert other.headers[KEPT] == "kept"  # nothing the push stored carries that number
        assert own.headers[KEPT] == "read" and own.json()["found"]["total_ads"] == before + 1
        assert search(ana, "Kabene").headers[KEPT] == "read" and names.status_code == 200
        for phone, answer in ((phone_of(5), other), (phone_of(7), own)):
            assert search(sue, phone).content == answer.content  # as a fresh read gives it
