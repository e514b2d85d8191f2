"""`threadline serve`, driven over HTTP: a real server (a subprocess on a free loopback port) on a
real store made by `threadline synth` and `ingest`, real argon2id, httpx as the client. No mocks;
nothing waits on a clock: the server is polled until it answers, a bounded number of times."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import APIRouter
from server_support import free_port as _free_port
from server_support import serving
from server_support import threadline as _threadline

from threadline.serve import CSRF_HEADER, OPEN_ROUTES, lock_path
from threadline.serve._api import router
from threadline.serve._auth import GuardedRoute, check_routes
from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

PASSWORD = "correct horse battery staple"
ADMIN = Actor("root", "os-user", "cli")
TIMEOUT = 120.0  # httpx's per-request cap: a link run on a loaded machine, never an assertion


@dataclass
class Server:
    url: str
    db: Path
    tokens: dict[str, str]
    ads: list[str]  # SOURCE:ID of some stored ads
    network: str  # a scored network
    phone: str  # a stored North American number, E.164
    totp_secret: str  # of "tom", who signs in with a second factor


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = _threadline("synth", str(folder / "corpus"), "--ads", "200", "--seed", "5", "--no-images", env=env)
    assert made.returncode == 0, made.stderr
    db = folder / "store.duckdb"
    ingested = _threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]  # the users below sign the same audit
    try:
        with Store.open(db) as store:
            for name, role in [
                ("ana", "analyst"),
                ("al", "analyst"),
                ("sue", "supervisor"),
                ("root", "admin"),
            ]:
                accounts.add_user(store, name, role, PASSWORD, by=ADMIN)
            accounts.add_user(store, "lou", "analyst", PASSWORD, by=ADMIN)  # to be locked out
            accounts.add_user(store, "tom", "supervisor", PASSWORD, by=ADMIN)
            totp_secret = pyotp.parse_uri(accounts.enrol_totp(store, "tom", by=ADMIN)).secret
            made_tokens = {
                "read": tokens.add_token(store, "ana", "read", by=ADMIN)[0],
                "push": tokens.add_token(store, "ana", "push", by=ADMIN)[0],
            }
            ads = [
                f"{s}:{i}" for s, i in store.query("SELECT source, id FROM ad_links ORDER BY ad_key LIMIT 4")
            ]
            [(network,)] = store.query("SELECT network FROM network_scores ORDER BY score DESC LIMIT 1")
            [(phone,)] = store.query(
                "SELECT min(value) FROM extractions WHERE kind = 'phone' AND value LIKE '+1%'"
            )
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    # Everything the tests do, from many threads at once, must make one unbroken signed chain.
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, made_tokens, ads, network, phone, totp_secret)


def _client(server: Server, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=TIMEOUT, **kw)


@contextmanager
def _signed_in(server: Server, name: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding ``name``'s session cookie, and the session's CSRF token."""
    with _client(server) as client:
        answer = client.post("/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        yield client, answer.json()["csrf_token"]


def _bearer(server: Server, scope: str) -> httpx.Client:
    return _client(server, headers={"Authorization": f"Bearer {server.tokens[scope]}"})


def _routes(server: Server) -> set[tuple[str, str]]:
    """Every route the server has: its own OpenAPI description's, and the API router's."""
    with _bearer(server, "read") as client:
        described = client.get("/api/v1/openapi.json").json()["paths"]
    found = {(method.upper(), path) for path, ops in described.items() for method in ops}
    from threadline.serve._api import router

    found |= {(m, r.path) for r in router.routes for m in getattr(r, "methods", ())}
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X1", path)


# -- who may ask -----------------------------------------------------------------------------------


def test_every_route_but_login_and_health_is_refused_without_a_session_or_token(server: Server) -> None:
    routes = _routes(server)
    assert ("GET", "/api/v1/networks") in routes and ("POST", "/api/v1/labels") in routes
    assert routes >= OPEN_ROUTES
    with _client(server) as client:
        for method, path in sorted(routes - OPEN_ROUTES):
            for headers in ({}, {"Authorization": "Bearer tl_not-a-token"}, {"Cookie": "threadline=forged"}):
                answer = client.request(method, _concrete(path), json={}, headers=headers)
                assert answer.status_code == 401, (method, path, headers, answer.text)
                assert answer.json()["error"], (method, path)
        assert client.get("/healthz").json() == {"status": "ok"}


def test_a_route_that_names_no_action_is_refused_when_the_app_is_built() -> None:
    check_routes(router.routes)  # the real routes all name one
    loose = APIRouter()
    loose.add_api_route("/api/v1/forgotten", lambda: {}, methods=["GET"])
    with pytest.raises(RuntimeError, match="forgotten"):
        check_routes(loose.routes)
    with pytest.raises(RuntimeError, match="forgotten"):  # the API's router refuses it at once
        APIRouter(route_class=GuardedRoute).add_api_route("/api/v1/forgotten", lambda: {}, methods=["GET"])


def test_a_strangers_body_is_not_even_parsed(server: Server) -> None:
    with _client(server) as client:
        answer = client.post(
            "/api/v1/labels", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401


def test_login_sets_a_strict_cookie_and_the_session_reads(server: Server) -> None:
    with _client(server) as client:
        answer = client.post("/login", json={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 200
        assert answer.json()["role"] == "analyst" and answer.json()["csrf_token"]
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
        assert "secure" not in cookie  # plain HTTP on loopback; over TLS or a proxy it is Secure
        queue = client.get("/api/v1/networks", params={"limit": 2})
        assert queue.status_code == 200
        assert queue.json()["total"] >= 1 and len(queue.json()["items"]) <= 2
        first = queue.json()["items"][0]
        assert 0 <= first["score"] <= 1 and first["network"].startswith("N")
        assert {"feature", "contribution"} <= set(first["parts"][0])
        headers = queue.headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_a_form_login_works_and_a_wrong_password_says_only_failed(server: Server) -> None:
    with _client(server) as client:
        assert client.post("/login", data={"name": "al", "password": PASSWORD}).status_code == 200
        wrong = client.post("/login", json={"name": "al", "password": "not the password at all"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "login failed"
        unknown = client.post("/login", json={"name": "nobody", "password": PASSWORD})
        assert unknown.status_code == 401 and unknown.json()["error"] == "login failed"
        elsewhere = {"Origin": "https://attacker.example"}
        cross_site = client.post("/login", data={"name": "al", "password": PASSWORD}, headers=elsewhere)
        assert cross_site.status_code == 403
        same_site = {"Origin": server.url}
        assert (
            client.post("/login", data={"name": "al", "password": PASSWORD}, headers=same_site).status_code
            == 200
        )


def test_logout_ends_the_session(server: Server) -> None:
    with _signed_in(server, "al") as (client, csrf):
        assert client.post("/logout", headers={CSRF_HEADER: csrf}).status_code == 200
        assert client.get("/api/v1/networks").status_code == 401


def test_a_cookie_post_without_the_csrf_token_is_refused(server: Server) -> None:
    body = {"network": server.network, "label": "unsure", "note": "csrf check"}
    with _signed_in(server, "ana") as (client, csrf):
        assert client.post("/api/v1/labels", json=body).status_code == 403
        assert client.post("/api/v1/labels", json=body, headers={CSRF_HEADER: "wrong"}).status_code == 403
        assert client.post("/logout").status_code == 403
        answer = client.post("/api/v1/labels", json=body, headers={CSRF_HEADER: csrf})
        assert answer.status_code == 201, answer.text
        assert re.fullmatch(r"L\d+", answer.json()["label"])


def test_an_analyst_is_refused_the_supervisors_and_admins_routes(server: Server) -> None:
    with (
        _signed_in(server, "ana") as (ana, _),
        _signed_in(server, "sue") as (sue, _),
        _signed_in(server, "root") as (root, _),
    ):
        assert ana.get("/api/v1/audit").status_code == 403
        assert ana.get("/api/v1/users").status_code == 403
        assert ana.get("/api/v1/tokens").status_code == 403
        assert sue.get("/api/v1/audit").status_code == 200
        assert sue.get("/api/v1/users").status_code == 403
        users = root.get("/api/v1/users")
        assert users.status_code == 200
        assert {u["name"] for u in users.json()["items"]} >= {"ana", "sue", "root"}
        assert "password_hash" not in users.text


def _audit_entries(server: Server) -> list[dict[str, Any]]:
    """Every audit entry so far, page after page, as a supervisor reads them."""
    entries: list[dict[str, Any]] = []
    with _signed_in(server, "sue") as (sue, _):
        for _ in range(1000):
            page = sue.get(
                "/api/v1/audit", params={"after": entries[-1]["seq"] if entries else 0, "limit": 500}
            )
            entries += page.json()["items"]
            if len(page.json()["items"]) < 500:
                return entries
    raise AssertionError("the audit log never ended")


def test_an_admin_manages_users_and_tokens_over_http(server: Server) -> None:
    new_user = {"name": "nia", "role": "analyst", "password": PASSWORD}
    with _signed_in(server, "ana") as (ana, ana_csrf), _signed_in(server, "root") as (root, csrf):
        assert ana.post("/api/v1/users", json=new_user, headers={CSRF_HEADER: ana_csrf}).status_code == 403
        assert root.post("/api/v1/users", json=new_user).status_code == 403  # no CSRF token
        made = root.post("/api/v1/users", json=new_user, headers={CSRF_HEADER: csrf})
        assert made.status_code == 201, made.text
        assert made.json()["user"]["role"] == "analyst" and "password" not in made.text
        again = root.post("/api/v1/users", json=new_user, headers={CSRF_HEADER: csrf})
        assert again.status_code == 409
        weak = root.post(
            "/api/v1/users",
            json={**new_user, "name": "nib", "password": "short"},
            headers={CSRF_HEADER: csrf},
        )
        assert weak.status_code == 422
        with _signed_in(server, "nia") as (nia, _):
            assert nia.get("/api/v1/networks").status_code == 200
            disabled = root.post("/api/v1/users/nia/disable", headers={CSRF_HEADER: csrf})
            assert disabled.status_code == 200 and disabled.json()["user"]["disabled"] is True
            assert nia.get("/api/v1/networks").status_code == 401  # her session ended with it
        assert root.post("/api/v1/users/root/disable", headers={CSRF_HEADER: csrf}).status_code == 409
        assert root.post("/api/v1/users/nobody/enable", headers={CSRF_HEADER: csrf}).status_code == 404
        assert root.post("/api/v1/users/nia/enable", headers={CSRF_HEADER: csrf}).status_code == 200
        changed = root.post(
            "/api/v1/users/nia/password", json={"password": PASSWORD + "!"}, headers={CSRF_HEADER: csrf}
        )
        assert changed.status_code == 200
        with _client(server) as client:
            assert client.post("/login", json={"name": "nia", "password": PASSWORD + "!"}).status_code == 200

        token = root.post(
            "/api/v1/tokens", json={"user": "nia", "scope": "read", "days": 7}, headers={CSRF_HEADER: csrf}
        )
        assert token.status_code == 201, token.text
        secret, ref = token.json()["token"], token.json()["ref"]
        listed = root.get("/api/v1/tokens").json()["items"]
        assert ref in {t["ref"] for t in listed} and secret not in str(listed)
        with _client(server, headers={"Authorization": f"Bearer {secret}"}) as machine:
            assert machine.get("/api/v1/networks").status_code == 200
            assert root.post(f"/api/v1/tokens/{ref}/revoke", headers={CSRF_HEADER: csrf}).status_code == 200
            assert machine.get("/api/v1/networks").status_code == 401
        assert root.post(f"/api/v1/tokens/{ref}/revoke", headers={CSRF_HEADER: csrf}).status_code == 422
        assert (
            root.post(
                "/api/v1/tokens", json={"user": "nia", "scope": "all"}, headers={CSRF_HEADER: csrf}
            ).status_code
            == 422
        )
    done = {(e["action"], e["object"]) for e in _audit_entries(server) if e["actor"] == "root"}
    assert {
        ("user add", "nia"),
        ("user disable", "nia"),
        ("user password", "nia"),
        ("token revoke", ref),
    } <= done


def test_repeated_failures_lock_the_account(server: Server) -> None:
    with _client(server) as client:
        for _ in range(accounts.MAX_FAILED_LOGINS):
            assert (
                client.post("/login", json={"name": "lou", "password": "wrong password!"}).status_code == 401
            )
        locked = client.post("/login", json={"name": "lou", "password": PASSWORD})
        assert locked.status_code == 401 and locked.json()["error"] == "login failed"
    with _signed_in(server, "sue") as (sue, _):
        entries = sue.get("/api/v1/audit", params={"limit": 500}).json()["items"]
    failed = [e for e in entries if e["action"] == "login failed" and e["object"] == "lou"]
    assert failed[-1]["detail"]["reason"] == accounts.LOCKED
    assert failed[-1]["origin"] == "127.0.0.1"


def test_a_read_token_reads_and_cannot_act_and_a_push_token_cannot_read(server: Server) -> None:
    with _bearer(server, "read") as reader, _bearer(server, "push") as pusher:
        assert reader.get("/api/v1/networks").status_code == 200
        assert reader.get(f"/api/v1/networks/{server.network}").status_code == 200
        assert reader.get("/api/v1/search", params={"q": "555"}).status_code == 200
        label = {"network": server.network, "label": "unsure"}
        assert reader.post("/api/v1/labels", json=label).status_code == 403
        merge = {"ads": server.ads[:2]}
        assert reader.post("/api/v1/decisions/merge", json=merge).status_code == 403
        assert pusher.get("/api/v1/networks").status_code == 403
        assert reader.get("/api/v1/audit").status_code == 403


def test_a_second_server_on_the_same_store_refuses_in_one_line(server: Server) -> None:
    second = _threadline("serve", "--db", str(server.db), "--port", str(_free_port()), timeout=120)
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "a server already runs on this store" in lines[0], second.stderr
    assert stat.S_IMODE(lock_path(server.db).stat().st_mode) == 0o600  # it names where the server listens
    # and a command that writes the store while the server owns it is handed to the server
    # (tests/serve/test_cli_through_server.py), which runs it in its writer's queue
    linked = _threadline("link", "--db", str(server.db), timeout=120)
    assert linked.returncode == 0 and linked.stdout.startswith("link: "), linked.stderr


# -- what comes in -------------------------------------------------------------------------------


def test_bad_requests_get_a_clear_4xx(server: Server) -> None:
    with _signed_in(server, "ana") as (client, csrf):
        post = {"headers": {CSRF_HEADER: csrf, "Content-Type": "application/json"}}
        malformed = client.post("/api/v1/labels", content=b'{"network": ', **post)
        assert malformed.status_code == 400 and malformed.json()["error"] == "malformed JSON"
        wrong_type = client.post(
            "/api/v1/labels", json={"network": 5, "label": "unsure"}, headers=post["headers"]
        )
        assert wrong_type.status_code == 422 and "network" in wrong_type.json()["error"]
        not_a_list = client.post("/api/v1/decisions/merge", json={"ads": "a:1"}, headers=post["headers"])
        assert not_a_list.status_code == 422
        extra = client.post(
            "/api/v1/labels", json={"network": server.network, "label": "unsure", "analyst": "x"}, **post
        )
        assert extra.status_code == 422
        bad_label = client.post("/api/v1/labels", json={"network": server.network, "label": "guilty"}, **post)
        assert bad_label.status_code == 422
        no_network = client.post("/api/v1/labels", json={"network": "N99999999", "label": "unsure"}, **post)
        assert no_network.status_code == 404 and "N99999999" in no_network.json()["error"]
        no_ad = client.post("/api/v1/decisions/merge", json={"ads": ["nosuch:1", "nosuch:2"]}, **post)
        assert no_ad.status_code == 404
        bare = client.post("/api/v1/decisions/12/revoke", json={}, **post)
        assert bare.status_code == 422 and "bare number" in bare.json()["error"]
        assert client.get("/api/v1/networks/N99999999").status_code == 404
        assert client.get("/api/v1/ads/nosuch/1").status_code == 404
        assert client.get("/api/v1/nowhere").status_code == 404
        for params in (
            {"limit": 0},
            {"limit": "many"},
            {"min_score": 2},
            {"sort": "random"},
            {"date_from": "x"},
        ):
            answer = client.get("/api/v1/networks", params=params)
            assert answer.status_code == 422, params
            assert answer.json()["error"]
        assert client.get("/api/v1/search").status_code == 422  # no q
        assert client.get("/api/v1/search", params={"q": "x", "region": "ZZ"}).status_code == 422
        assert client.delete("/api/v1/networks").status_code == 405


def test_a_huge_body_is_refused_before_it_is_read(server: Server) -> None:
    huge = b'{"network": "' + b"N" * (2 * 1024 * 1024) + b'", "label": "unsure"}'
    with _signed_in(server, "ana") as (client, csrf):
        headers = {CSRF_HEADER: csrf, "Content-Type": "application/json"}
        declared = client.post("/api/v1/labels", content=huge, headers=headers)
        assert declared.status_code == 413 and declared.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts what arrives
            for start in range(0, len(huge), 64 * 1024):
                yield huge[start : start + 64 * 1024]

        streamed = client.post("/api/v1/labels", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        login = client.post("/login", content=huge, headers={"Content-Type": "application/json"})
        assert login.status_code == 413


# -- reads and acts ------------------------------------------------------------------------------


def test_reads_answer_json_and_are_audited(server: Server) -> None:
    source, ad_id = server.ads[0].split(":", 1)
    with _signed_in(server, "al") as (client, _):
        view = client.get(f"/api/v1/networks/{server.network}", params={"ads_limit": 3})
        assert view.status_code == 200
        assert view.json()["network"] == server.network and len(view.json()["ads"]["items"]) <= 3
        detail = client.get(f"/api/v1/ads/{source}/{ad_id}")
        assert detail.status_code == 200 and detail.json()["versions"]
        found = client.get("/api/v1/search", params={"q": server.ads[0]})
        assert found.status_code == 200 and found.json()["found"]["total_ads"] >= 1
        for path in ("/api/v1/hubs", "/api/v1/decisions", "/api/v1/labels", "/api/v1/models"):
            assert client.get(path).status_code == 200, path
        spec = client.get("/api/v1/openapi.json").json()
        assert "/api/v1/networks" in spec["paths"]
    with _signed_in(server, "sue") as (sue, _):
        entries = sue.get("/api/v1/audit", params={"limit": 500}).json()["items"]
    mine = {(e["action"], e["object"]) for e in entries if e["actor"] == "al"}
    assert ("read network", server.network) in mine
    assert ("read ad", server.ads[0]) in mine
    assert ("search", server.ads[0]) in mine
    assert ("login", "al") in mine


def test_a_kept_answer_is_still_audited_and_a_write_makes_it_stale(server: Server) -> None:
    path = f"/api/v1/networks/{server.network}"
    with _signed_in(server, "al") as (al, _), _signed_in(server, "ana") as (ana, csrf):
        first = al.get(path, params={"ads_limit": 2})
        second = ana.get(path, params={"ads_limit": 2})
        assert first.status_code == second.status_code == 200
        assert second.headers["X-Threadline-Answer"] == "kept" and second.content == first.content
        before = {lab["label_id"] for lab in first.json()["labels"]}
        made = ana.post(
            "/api/v1/labels",
            json={"network": server.network, "label": "unsure", "note": "kept answers"},
            headers={CSRF_HEADER: csrf},
        )
        assert made.status_code == 201, made.text
        after = al.get(path, params={"ads_limit": 2})
        assert after.headers["X-Threadline-Answer"] == "read"  # the label was a write: read again
        assert {lab["label_id"] for lab in after.json()["labels"]} > before
        withdrawn = ana.post(
            f"/api/v1/labels/{made.json()['label']}/revoke", json={}, headers={CSRF_HEADER: csrf}
        )
        assert withdrawn.status_code == 200
    entries = _audit_entries(server)
    readers = [e["actor"] for e in entries if e["action"] == "read network" and e["object"] == server.network]
    assert readers.count("al") >= 2 and readers.count("ana") >= 1  # every read, kept answer or not


def test_a_label_posted_shows_in_the_labels_and_the_audit(server: Server) -> None:
    body = {"network": server.network, "label": "trafficking", "note": "from the API test"}
    with _signed_in(server, "ana") as (client, csrf):
        answer = client.post("/api/v1/labels", json=body, headers={CSRF_HEADER: csrf})
        assert answer.status_code == 201
        ref = answer.json()["label"]
        listed = {lab["ref"]: lab for lab in client.get("/api/v1/labels").json()["items"]}
    assert listed[ref]["analyst"] == "ana" and listed[ref]["label"] == "trafficking"
    assert listed[ref]["note"] == "from the API test"
    with _signed_in(server, "sue") as (sue, sue_csrf):
        entries = sue.get("/api/v1/audit", params={"limit": 500}).json()["items"]
        [entry] = [e for e in entries if e["action"] == "label" and e["object"] == ref]
        assert entry["actor"] == "ana" and entry["actor_kind"] == "user" and entry["origin"] == "127.0.0.1"
        assert entry["detail"]["label"] == "trafficking"
        # a supervisor withdraws another's label; an analyst may not
        with _signed_in(server, "al") as (al, al_csrf):
            refused = al.post(f"/api/v1/labels/{ref}/revoke", json={}, headers={CSRF_HEADER: al_csrf})
            assert refused.status_code == 403
        withdrawn = sue.post(
            f"/api/v1/labels/{ref}/revoke", json={"note": "check"}, headers={CSRF_HEADER: sue_csrf}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        again = sue.post(f"/api/v1/labels/{ref}/revoke", json={}, headers={CSRF_HEADER: sue_csrf})
        assert again.status_code == 409


def test_a_merge_goes_through_the_writer_and_relinks(server: Server) -> None:
    a, b = server.ads[0], server.ads[3]
    with _signed_in(server, "ana") as (client, csrf):
        answer = client.post(
            "/api/v1/decisions/merge",
            params={"wait": "true"},
            json={"ads": [a, b], "note": "same writer"},
            headers={CSRF_HEADER: csrf},
        )
        assert answer.status_code == 201, answer.text
        ref = answer.json()["decision"]
        assert answer.json()["relinked"]["link"]["ads"] >= 2
        listed = {
            d["decision"]["ref"]: d["decision"] for d in client.get("/api/v1/decisions").json()["items"]
        }
        assert listed[ref]["kind"] == "merge" and listed[ref]["analyst"] == "ana"
        networks = {
            client.get("/api/v1/search", params={"q": ad}).json()["found"]["networks"][0]["network"]
            for ad in (a, b)
        }
        assert len(networks) == 1  # the merge is in force
        revoked = client.post(f"/api/v1/decisions/{ref}/revoke", json={}, headers={CSRF_HEADER: csrf})
        assert revoked.status_code == 200 and revoked.json()["decision"] == ref


# -- beyond loopback -----------------------------------------------------------------------------


def test_a_public_address_without_tls_or_a_proxy_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    Store.open(db).close()
    answer = _threadline(
        "serve", "--db", str(db), "--host", "0.0.0.0", "--port", str(_free_port()), timeout=120
    )
    assert answer.returncode == 1
    assert len(answer.stderr.strip().splitlines()) == 1 and "TLS" in answer.stderr


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "threadline test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@contextmanager
def _bare_server(folder: Path, *extra: str, scheme: str = "http") -> Iterator[tuple[str, Path]]:
    """A server on a new store holding one analyst, ana (no ads: enough to sign in)."""
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    port = _free_port()
    log = folder / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "threadline.cli", "serve", "--db", str(db), "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        for _ in range(2000):
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, db
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, log.read_text()  # SIGTERM: a clean stop


def test_over_tls_the_cookie_is_secure_and_host_only(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with (
        _bare_server(tmp_path, "--certfile", str(cert), "--keyfile", str(key), scheme="https") as (url, _),
        httpx.Client(base_url=url, verify=False, timeout=TIMEOUT) as client,
    ):
        answer = client.post("/login", json={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-threadline=") and "secure" in cookie.lower()
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert client.get("/api/v1/networks").status_code == 200  # an empty queue


def test_behind_a_trusted_proxy_the_forwarded_client_and_scheme_count(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.23", "X-Forwarded-Proto": "https"}
    with (
        _bare_server(tmp_path, "--trusted-proxy", "127.0.0.1") as (url, db),
        httpx.Client(base_url=url, timeout=TIMEOUT, headers=forwarded) as client,
    ):
        answer = client.post("/login", json={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 200
        assert answer.headers["set-cookie"].startswith("__Host-threadline=")
        assert "secure" in answer.headers["set-cookie"].lower()
        # a proxy that forgets X-Forwarded-Proto still gets a Secure cookie
        plain = client.post(
            "/login", json={"name": "ana", "password": PASSWORD}, headers={"X-Forwarded-Proto": "http"}
        )
        assert plain.headers["set-cookie"].startswith("__Host-threadline=")
    os.environ[audit.KEY_DIR_ENV] = str(tmp_path / "keys")
    try:
        with Store.open(db, read_only=True) as store:
            logins = [e for e in audit.iter_entries(store) if e.action == "login"]
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    assert [e.origin for e in logins] == ["198.51.100.23", "198.51.100.23"]


def test_reads_go_on_while_the_writer_relinks(server: Server) -> None:
    """Readers on many threads while a merge's link and score run and a label are written: every
    read answers (no conflict between the writer's transaction and the readers' audit entries)."""
    statuses: list[int] = []
    paths = ["/api/v1/networks", f"/api/v1/networks/{server.network}", "/api/v1/search?q=555", "/api/v1/hubs"]

    def reader() -> None:
        with _bearer(server, "read") as client:
            for _ in range(5):
                statuses.extend(client.get(path).status_code for path in paths)

    with _signed_in(server, "al") as (client, csrf):
        threads = [threading.Thread(target=reader) for _ in range(4)]
        for thread in threads:
            thread.start()
        merge = client.post(
            "/api/v1/decisions/merge",
            params={"wait": "true"},
            json={"ads": [server.ads[1], server.ads[2]]},
            headers={CSRF_HEADER: csrf},
        )
        label = client.post(
            "/api/v1/labels", json={"network": server.network, "label": "unsure"}, headers={CSRF_HEADER: csrf}
        )
        for thread in threads:
            thread.join()
    assert merge.status_code == 201 and label.status_code == 201
    assert statuses == [200] * 4 * 5 * len(paths)


def test_a_second_factor_is_asked_for_and_then_works(server: Server) -> None:
    with _client(server) as client:
        asked = client.post("/login", json={"name": "tom", "password": PASSWORD})
        assert asked.status_code == 401 and asked.json()["error"] == "second factor needed"
        code = pyotp.TOTP(server.totp_secret).now()
        answer = client.post("/login", json={"name": "tom", "password": PASSWORD, "totp": code})
        assert answer.status_code == 200 and answer.json()["role"] == "supervisor"


def test_split_separate_and_hub_marks_through_the_api(server: Server) -> None:
    with _signed_in(server, "ana") as (ana, csrf):
        post = {"headers": {CSRF_HEADER: csrf}}
        view = ana.get(f"/api/v1/networks/{server.network}", params={"ads_limit": 3}).json()
        one, two, three = (f"{a['source']}:{a['id']}" for a in view["ads"]["items"])
        split = ana.post("/api/v1/decisions/split", json={"network": view["network"], "ads": [one]}, **post)
        assert split.status_code == 201, split.text
        assert split.json()["relink"] == "queued"
        separate = ana.post("/api/v1/decisions/separate", json={"a": [two], "b": [three]}, **post)
        assert separate.status_code == 201, separate.text
        # a phone typed as a person would, read as extraction stores it
        typed = f"({server.phone[2:5]}) {server.phone[5:8]}-{server.phone[8:]}"
        marked = ana.post("/api/v1/decisions/mark-hub", json={"kind": "phone", "value": typed}, **post)
        assert marked.status_code == 201, marked.text
        assert marked.json()["value"] == server.phone
        unseen = ana.post(
            "/api/v1/decisions/mark-hub", json={"kind": "phone", "value": "+1 212 555 0199"}, **post
        )
        assert unseen.status_code == 404
        nonsense = ana.post(
            "/api/v1/decisions/mark-hub", json={"kind": "email", "value": "not-an-address"}, **post
        )
        assert nonsense.status_code == 422
        cleared = ana.post(
            "/api/v1/decisions/mark-hub",
            params={"wait": "true"},
            json={"kind": "phone", "value": server.phone, "clear": True},
            **post,
        )
        assert cleared.status_code == 201 and cleared.json()["decision"] == marked.json()["decision"]
        listed = {d["decision"]["ref"]: d["decision"] for d in ana.get("/api/v1/decisions").json()["items"]}
        assert listed[split.json()["decision"]]["kind"] == "split"
        assert listed[separate.json()["decision"]]["kind"] == "separate"
        assert not listed[marked.json()["decision"]]["active"]  # cleared: revoked, kept on record
        assert ana.post("/api/v1/decisions/D99999/revoke", json={}, **post).status_code == 404
    with _signed_in(server, "al") as (al, al_csrf):
        ref = split.json()["decision"]
        refused = al.post(f"/api/v1/decisions/{ref}/revoke", json={}, headers={CSRF_HEADER: al_csrf})
        assert refused.status_code == 403 and "ana" in refused.json()["error"]
