"""Cases over HTTP and through the command line while a real server holds the store: a case made,
networks and ads added and removed, a note whose HTML is shown as text, the queue's bulk "add to
case" form, and every one of these in the audit. A subprocess server on a free loopback port,
httpx as the client; no mocks, and nothing waits on a clock."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from server_support import serving, threadline

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

PASSWORD = "correct horse battery staple"
ADMIN = Actor("root", "os-user", "cli")
TIMEOUT = 120.0  # httpx's per-request cap on a loaded machine, never an assertion


@dataclass
class Served:
    url: str
    db: Path
    env: dict[str, str]
    read_token: str
    networks: list[str]  # the three largest networks
    ads: list[str]  # SOURCE:ID of ads in none of those networks


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("cases")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = threadline("synth", str(folder / "corpus"), "--ads", "150", "--seed", "5", "--no-images", env=env)
    assert made.returncode == 0, made.stderr
    db = folder / "store.duckdb"
    ingested = threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            for name, role in [("ana", "analyst"), ("al", "analyst"), ("sue", "supervisor")]:
                accounts.add_user(store, name, role, PASSWORD, by=ADMIN)
            read_token = tokens.add_token(store, "ana", "read", by=ADMIN)[0]
            networks = [
                n
                for (n,) in store.query(
                    "SELECT network FROM ad_links GROUP BY network ORDER BY COUNT(*) DESC, network LIMIT 3"
                )
            ]
            ads = [
                f"{s}:{i}"
                for s, i in store.query(
                    "SELECT source, id FROM ad_links WHERE network NOT IN (SELECT unnest(?)) "
                    "ORDER BY ad_key LIMIT 2",
                    [networks],
                )
            ]
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Served(url, db, env, read_token, networks, ads)


@contextmanager
def _signed_in(served: Served, name: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=served.url, timeout=TIMEOUT) as client:
        answer = client.post("/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        token = answer.json()["csrf_token"]
        client.headers["X-CSRF-Token"] = token
        yield client, token


def _ads_in(served: Served, network: str) -> set[str]:
    with _signed_in(served, "sue") as (client, _):
        view = client.get(f"/api/v1/networks/{network}", params={"ads_limit": 500}).json()
    return {f"{a['source']}:{a['id']}" for a in view["ads"]["items"]}


def _audited(served: Served, actor: str) -> set[tuple[str, str | None]]:
    with _signed_in(served, "sue") as (client, _):
        entries = client.get("/api/v1/audit", params={"limit": 500}).json()["items"]
    return {(e["action"], e["object"]) for e in entries if e["actor"] == actor}


def test_a_case_is_made_filled_emptied_and_read_over_the_api(served: Served) -> None:
    first, second, _ = served.networks
    with _signed_in(served, "ana") as (client, _):
        made = client.post("/api/v1/cases", json={"name": "Harbor", "tags": ["port", "2026"]})
        assert made.status_code == 201, made.text
        ref = made.json()["case"]
        assert re.fullmatch(r"C\d+", ref)
        added = client.post(f"/api/v1/cases/{ref}/members", json={"networks": [first], "ads": served.ads})
        assert added.status_code == 200, added.text
        assert added.json()["added"] == {first: len(_ads_in(served, first)), "ads": 2}
        view = client.get(f"/api/v1/cases/{ref}").json()
        assert view["case"]["name"] == "Harbor" and view["case"]["tags"] == ["port", "2026"]
        assert {a["ref"] for a in view["ads"]["items"]} == _ads_in(served, first) | set(served.ads)
        some = client.get(f"/api/v1/cases/{ref}", params={"ads_limit": 2, "ads_offset": 1}).json()["ads"]
        assert [a["ref"] for a in some["items"]] == [a["ref"] for a in view["ads"]["items"][1:3]]
        assert some["total"] == len(view["ads"]["items"]) and (some["offset"], some["limit"]) == (1, 2)
        assert [m["network"] for m in view["members"] if m["followed"]] == [first]
        assert {a["ref"] for a in view["single_ads"]} == set(served.ads)

        removed = client.post(f"/api/v1/cases/{ref}/members/remove", json={"ads": served.ads[:1]})
        assert removed.status_code == 200 and removed.json()["removed"] == {"ads": 1}
        listed = client.get("/api/v1/cases").json()["items"]
        assert [c["ads"] for c in listed if c["ref"] == ref] == [len(_ads_in(served, first)) + 1]

        # Refusals, each with its status.
        assert (
            client.post(f"/api/v1/cases/{ref}/members", json={"networks": ["N99999999"]}).status_code == 404
        )
        assert client.post("/api/v1/cases/C999/notes", json={"body": "x"}).status_code == 404
        assert client.get("/api/v1/cases/D1").status_code == 422
        assert client.post(f"/api/v1/cases/{ref}/members", json={"ads": ["nocolon"]}).status_code == 422
        assert client.post(f"/api/v1/cases/{ref}/status", json={"status": "done"}).status_code == 422
        assert client.post(f"/api/v1/cases/{ref}/members", json={}).status_code == 422
        del client.headers["X-CSRF-Token"]
        assert client.post(f"/api/v1/cases/{ref}/members", json={"networks": [second]}).status_code == 403
    # A read token reads cases and cannot change one.
    with httpx.Client(
        base_url=served.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {served.read_token}"}
    ) as bot:
        assert bot.get(f"/api/v1/cases/{ref}").status_code == 200
        assert bot.post("/api/v1/cases", json={"name": "no"}).status_code == 403
    assert {("create case", ref), ("add to case", ref), ("remove from case", ref), ("read case", ref)} <= (
        _audited(served, "ana")
    )


def test_a_note_with_html_is_kept_as_typed_and_shown_as_text(served: Served) -> None:
    body = (
        "Seen at **the harbor**.\n\n<script>alert('x')</script> <img src=x onerror=alert(1)>\n\n"
        "[a link](javascript:alert(1)) [another](https://example.org/x)"
    )
    with _signed_in(served, "al") as (client, _):
        ref = client.post("/api/v1/cases", json={"name": "Notes"}).json()["case"]
        noted = client.post(f"/api/v1/cases/{ref}/notes", json={"body": body})
        assert noted.status_code == 201, noted.text
        assert client.get(f"/api/v1/cases/{ref}").json()["notes"][0]["body"] == body  # as typed
        page = client.get(f"/cases/{ref}")
        assert page.status_code == 200
    notes = page.text[page.text.index('id="notes-h"') :]
    assert "<strong>the harbor</strong>" in notes
    assert "&lt;script&gt;alert(" in notes  # the tag as text
    assert "<script" not in notes and "<img" not in notes
    assert "[a link](javascript:alert(1))" in notes and 'href="javascript' not in notes  # not a link
    assert '<a href="https://example.org/x">another</a>' in notes
    assert "script-src" in page.headers["content-security-policy"]
    assert ("case note", ref) in _audited(served, "al")


def test_the_queues_selection_goes_to_a_case_in_one_form(served: Served) -> None:
    first, second, third = served.networks
    with _signed_in(served, "al") as (client, token):
        ref = client.post("/api/v1/cases", json={"name": "Bulk"}).json()["case"]
        queue = client.get("/")
        assert 'action="/cases/add"' in queue.text and f'value="{ref}"' in queue.text
        form = {"csrf_token": token, "case": ref, "network": [second, third]}
        posted = client.post("/cases/add", data=form, follow_redirects=False)
        assert posted.status_code == 303 and posted.headers["location"].startswith(f"/cases/{ref}?")
        view = client.get(f"/api/v1/cases/{ref}").json()
        assert {m["network"] for m in view["members"] if m["followed"]} == {second, third}
        # Without the form's CSRF token: refused, nothing added.
        refused = client.post("/cases/add", data={"case": ref, "network": first}, follow_redirects=False)
        assert refused.status_code == 403
        assert first not in {m["network"] for m in client.get(f"/api/v1/cases/{ref}").json()["members"]}
        # Removed again from the case page's form.
        gone = client.post(
            f"/cases/{ref}/remove", data={"csrf_token": token, "network": third}, follow_redirects=False
        )
        assert gone.status_code == 303
        view = client.get(f"/api/v1/cases/{ref}").json()
        assert {m["network"] for m in view["members"]} == {second}
        network_page = client.get(f"/networks/{second}")
        assert f'href="/cases/{ref}"' in network_page.text  # the network page names its cases


def test_the_command_line_works_on_cases_through_the_server(served: Served) -> None:
    first = served.networks[0]
    made = threadline(
        "case", "new", "Scripted", "--tag", "cli", "--analyst", "kim", "--db", str(served.db), env=served.env
    )
    assert made.returncode == 0, made.stderr
    ref = made.stdout.strip()
    assert re.fullmatch(r"C\d+", ref)
    added = threadline(
        "case", "add", ref, first, served.ads[1], "--analyst", "kim", "--db", str(served.db), env=served.env
    )
    assert added.returncode == 0, added.stderr
    assert f"{ref}: {first}: {len(_ads_in(served, first))} ads added" in added.stdout
    listed = threadline("case", "list", "--db", str(served.db), env=served.env)
    assert listed.returncode == 0 and f"{ref}\topen\t{len(_ads_in(served, first)) + 1}\t" in listed.stdout
    shown = threadline("case", "show", ref, "--db", str(served.db), env=served.env)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["case"]["tags"] == ["cli"] and served.ads[1] in {a["ref"] for a in view["ads"]}
    # The server's API sees what the command line did (one store, one writer).
    with _signed_in(served, "ana") as (client, _):
        assert client.get(f"/api/v1/cases/{ref}").json()["case"]["ads"] == view["case"]["ads"]
    for bad, why in [
        (("case", "add", ref, "nonsense"), "not a network (N…) or an ad (SOURCE:ID)"),
        (("case", "add", "D1", first), "D1 is a decision, not a case"),
        (("case", "add", "C999", first), "no case C999"),
    ]:
        refused = threadline(*bad, "--analyst", "kim", "--db", str(served.db), env=served.env)
        assert refused.returncode != 0 and why in refused.stderr, refused.stderr


def test_analysts_are_assigned_from_the_case_page_and_the_status_changes(served: Served) -> None:
    with _signed_in(served, "ana") as (client, token):
        ref = client.post("/api/v1/cases", json={"name": "Team"}).json()["case"]
        posted = client.post(
            f"/cases/{ref}/analysts", data={"csrf_token": token, "analyst": "al"}, follow_redirects=False
        )
        assert posted.status_code == 303 and "al+assigned" in posted.headers["location"]
        nobody = client.post(
            f"/cases/{ref}/analysts", data={"csrf_token": token, "analyst": "nobody"}, follow_redirects=False
        )
        assert "no+user+nobody" in nobody.headers["location"]
        closed = client.post(
            f"/cases/{ref}/status", data={"csrf_token": token, "status": "closed"}, follow_redirects=True
        )
        assert closed.status_code == 200 and "case closed" in closed.text
        view = client.get(f"/api/v1/cases/{ref}").json()["case"]
        assert view["analysts"] == ["al", "ana"] and view["status"] == "closed"
        assert ref not in {
            c["ref"] for c in client.get("/api/v1/cases", params={"status": "open"}).json()["items"]
        }
    assert {("assign case", ref), ("case status", ref)} <= _audited(served, "ana")


def test_ads_a_search_found_go_to_a_case(served: Served) -> None:
    ad = served.ads[0]
    with _signed_in(served, "al") as (client, token):
        ref = client.post("/api/v1/cases", json={"name": "Found"}).json()["case"]
        found = client.get("/search", params={"q": ad})
        assert found.status_code == 200
        assert f'name="ad" value="{ad}" form="to-case"' in found.text and f'value="{ref}"' in found.text
        posted = client.post(
            "/cases/add", data={"csrf_token": token, "case": ref, "ad": ad}, follow_redirects=True
        )
        assert posted.status_code == 200 and "added 1 single ad." in posted.text
        assert [a["ref"] for a in client.get(f"/api/v1/cases/{ref}").json()["single_ads"]] == [ad]
