"""Watchlists and alerts over HTTP (issue 16), on a real server on loopback: an analyst's entry,
ads pushed by a crawler that match it, the inbox read per user, and the alert delivered to a
webhook receiver this test starts, signed with HMAC-SHA256 and carrying a link, never the
identifiers. A receiver that refuses connections does not stop pushes, and its deliveries are
retried. Made-up ads; numbers from the fictional 555-01xx range (docs/DESIGN.md section 4)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import free_port, serving, threadline

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

ADMIN = Actor("root", "os-user", "cli")
PASSWORD = "a long enough password"
TIMEOUT = 120.0  # httpx's per-request cap on a loaded machine, never an assertion
SECRET = "a shared secret for the test webhook"
POLLS = 1200  # bounded waits (each 0.05 s): a count, never a clock in an assertion


@dataclass
class Receiver:
    """A webhook receiver on loopback that keeps what it was sent."""

    server: HTTPServer
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def start_receiver() -> Receiver:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Receiver(server, received)


@dataclass
class Served:
    url: str
    db: Path
    env: dict[str, str]
    push_token: str
    receiver: Receiver
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("watch")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            accounts.add_user(store, "ben", "analyst", PASSWORD, by=ADMIN)
            push = tokens.add_token(store, "ana", "push", by=ADMIN)[0]
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    receiver = start_receiver()
    try:
        with serving(db, env, folder / "server.log", "--link-after", "0.2", "--alert-retry", "0.05") as url:
            yield Served(url, db, env, push, receiver, folder)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@contextmanager
def _signed_in(s: Served, name: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=s.url, timeout=TIMEOUT) as client:
        answer = client.post("/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        yield client, answer.json()["csrf_token"]


def _push(s: Served, records: list[dict[str, Any]]) -> httpx.Response:
    with httpx.Client(
        base_url=s.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {s.push_token}"}
    ) as c:
        return c.post("/api/v1/ads", json=records)


def _config(s: Served, *args: str) -> None:
    """`threadline alerts config` while the server runs: handed to it (an admin's command)."""
    secret = s.folder / "secret"
    secret.write_text(SECRET)
    done = threadline(
        "alerts", "config", *args, "--webhook-secret-file", str(secret), "--db", str(s.db), env=s.env
    )
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout  # the settings are shown without the secret


def _poll(check: Any) -> Any:
    for _ in range(POLLS):
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("never happened")


def test_a_pushed_ad_matching_an_entry_raises_an_alert_delivered_signed(served: Served) -> None:
    _config(served, "--webhook", served.receiver.url)
    with _signed_in(served, "ana") as (ana, csrf):
        made = ana.post(
            "/api/v1/watchlist",
            json={
                "kind": "identifiers",
                "spec": {"values": ["(713) 555-0150"]},
                "note": "tip from a hotline",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201, made.text
        entry = made.json()["entry"]["entry"]
        assert made.json()["alerts"] == []
        pushed = _push(
            served,
            [
                {"id": "w1", "source": "boardH", "title": "New in town", "body": "text 713.555.0150 now"},
                {"id": "w2", "source": "boardH", "title": "New in town", "body": "text 713.555.0199 now"},
            ],
        )
        assert [r["status"] for r in pushed.json()["records"]] == ["new", "new"]
        inbox = ana.get("/api/v1/alerts").json()
        assert inbox["unread"] == 1 and len(inbox["items"]) == 1
        [alert] = inbox["items"]
        assert alert["entry"] == entry and alert["source"] == "boardH" and alert["id"] == "w1"
        assert alert["why"] == [{"part": "identifier", "value": "+17135550150"}]

        # The webhook got it, signed; it names the alert and links to it, and nothing else.
        headers, body = _poll(lambda: served.receiver.got[:1] and served.receiver.got[0])
        stamp = headers["x-threadline-timestamp"]
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        assert hmac.compare_digest(headers["x-threadline-signature"], expected)
        sent = json.loads(body)
        assert sent["alert"] == alert["alert"] and sent["entry"] == entry
        assert (
            sent["url"] == f"{served.url}/alerts/{alert['alert']}"
            and sent["path"] == f"/alerts/{alert['alert']}"
        )
        assert set(sent) == {"alert", "entry", "raised_at", "path", "url"}
        # (The time and the URL left out of this look: a clock's or a port's digits may hold 555.)
        said = json.dumps({k: v for k, v in sent.items() if k not in ("raised_at", "url")})
        assert "555" not in said and "hotline" not in said and "boardH" not in said
        detail = _poll(
            lambda: (
                (d := ana.get(f"/api/v1/alerts/{alert['alert']}").json())["deliveries"][0]["status"] == "sent"
                and d
            )
        )
        assert detail["deliveries"][0]["attempts"] == 1

        # Read per user: ana's read leaves ben's inbox unread.
        assert ana.post(
            "/api/v1/alerts/read", json={"alerts": [alert["alert"]]}, headers={"X-CSRF-Token": csrf}
        ).json() == {"marked": 1}
        assert ana.get("/api/v1/alerts").json()["unread"] == 0
    with _signed_in(served, "ben") as (ben, _):
        assert ben.get("/api/v1/alerts").json()["unread"] == 1
    verified = threadline("audit", "export", "--db", str(served.db), env=served.env)
    logged = [json.loads(line) for line in verified.stdout.splitlines()]
    actions = [e["action"] for e in logged]
    assert "watch add" in actions and "mark alerts read" in actions and "read alerts" in actions
    # The delivery is in the audit too, as the server's own act: the alert, the channel, the
    # outcome; nothing of what matched.
    [delivered] = [e for e in logged if e["action"] == "deliver alert" and e["object"] == alert["alert"]]
    assert (delivered["actor_kind"], delivered["origin"]) == ("os-user", "server")
    assert delivered["detail"] == {
        "entry": entry,
        "channel": "webhook",
        "attempt": 1,
        "outcome": "sent",
        "status": "sent",
    }


def test_an_entrys_case_is_an_open_case_and_the_case_shows_its_alerts(served: Served) -> None:
    with _signed_in(served, "ana") as (ana, csrf):
        headers = {"X-CSRF-Token": csrf}

        def case(name: str) -> str:
            made = ana.post("/api/v1/cases", json={"name": name}, headers=headers)
            assert made.status_code == 201, made.text
            ref: str = made.json()["case"]
            return ref

        def add(values: list[str], case: str | None) -> httpx.Response:
            return ana.post(
                "/api/v1/watchlist",
                json={"kind": "identifiers", "spec": {"values": values}, "case": case},
                headers=headers,
            )

        mine, other, closed = case("Watched"), case("Holds an ad"), case("Closed already")
        assert ana.post(
            f"/api/v1/cases/{closed}/status", json={"status": "closed"}, headers=headers
        ).is_success
        # Unknown, closed, or not a case's id at all: refused, and nothing stored.
        before = len(ana.get("/api/v1/watchlist").json()["items"])
        for wrong, said in (("C999", "no case C999"), (closed, "closed"), ("N12", "not a case")):
            refused = add(["(646) 555-0121"], wrong)
            assert refused.status_code == 422 and said in refused.json()["error"], refused.text
        # The watchlist's form offers the open cases only, and checks what it is sent as the API does.
        page = ana.get("/watchlist").text
        assert f'<option value="{mine}">' in page and f'<option value="{closed}">' not in page
        form = {"csrf_token": csrf, "kind": "identifiers", "values": "(646) 555-0121", "case": closed}
        posted = ana.post("/watchlist", data=form)
        assert posted.status_code == 422 and "is closed" in posted.text
        assert len(ana.get("/api/v1/watchlist").json()["items"]) == before

        # Given in any case (c4 for C4), kept as the case's id and shown so.
        made = add(["(646) 555-0121"], mine.lower())
        assert made.status_code == 201, made.text
        assert (made.json()["entry"]["case_id"], made.json()["entry"]["case"]) == (mine, mine)
        plain = add(["(646) 555-0122"], None)
        assert plain.status_code == 201 and plain.json()["entry"]["case"] is None
        pushed = _push(
            served,
            [
                {"id": "c1", "source": "boardC", "title": "Hi", "body": "call 646-555-0121"},
                {"id": "c2", "source": "boardC", "title": "Hi", "body": "call 646-555-0122"},
            ],
        )
        assert [r["status"] for r in pushed.json()["records"]] == ["new", "new"]
        raised = {
            a["id"]: a for a in ana.get("/api/v1/alerts?limit=500").json()["items"] if a["source"] == "boardC"
        }
        assert set(raised) == {"c1", "c2"}
        # c2's entry has no case; its ad joins the other case, which then shows that alert.
        assert ana.post(
            f"/api/v1/cases/{other}/members", json={"ads": ["boardC:c2"]}, headers=headers
        ).is_success

        def alerts_of(ref: str) -> dict[str, Any]:
            shown: dict[str, Any] = ana.get(f"/api/v1/cases/{ref}").json()["alerts"]
            return shown

        by_entry, by_ad = alerts_of(mine), alerts_of(other)
        assert [(a["alert"], a["by_entry"], a["by_ad"], a["read"]) for a in by_entry["items"]] == [
            (raised["c1"]["alert"], True, False, False)
        ]
        assert [(a["alert"], a["by_entry"], a["by_ad"]) for a in by_ad["items"]] == [
            (raised["c2"]["alert"], False, True)
        ]
        assert (by_entry["total"], by_entry["unread"]) == (1, 1)
        assert by_ad["items"][0]["why"] == [{"part": "identifier", "value": "+16465550122"}]
        ana.post("/api/v1/alerts/read", json={"alerts": [raised["c1"]["alert"]]}, headers=headers)
        after = alerts_of(mine)
        assert after["unread"] == 0 and after["items"][0]["read"] is True
        assert alerts_of(closed)["items"] == []


def test_an_analyst_removes_only_their_own_entries(served: Served) -> None:
    with _signed_in(served, "ana") as (ana, csrf), _signed_in(served, "ben") as (ben, ben_csrf):
        made = ana.post(
            "/api/v1/watchlist",
            json={"kind": "missing", "spec": {"names": ["Roz"], "age_min": 15, "age_max": 17}},
            headers={"X-CSRF-Token": csrf},
        ).json()["entry"]["entry"]
        refused = ben.post(f"/api/v1/watchlist/{made}/remove", headers={"X-CSRF-Token": ben_csrf})
        assert refused.status_code == 403
        bad = ana.post(
            "/api/v1/watchlist", json={"kind": "missing", "spec": {}}, headers={"X-CSRF-Token": csrf}
        )
        assert bad.status_code == 422 and "needs a name" in bad.text
        removed = ana.post(f"/api/v1/watchlist/{made}/remove", headers={"X-CSRF-Token": csrf})
        assert removed.status_code == 200 and removed.json()["entry"]["removed_by"] == "ana"
        listed = ana.get("/api/v1/watchlist").json()["items"]
        assert made not in [e["entry"] for e in listed]
    # A push token cannot read the inbox, nor add entries.
    with httpx.Client(
        base_url=served.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {served.push_token}"}
    ) as c:
        assert c.get("/api/v1/alerts").status_code == 403
        assert c.post("/api/v1/watchlist", json={"kind": "photo", "spec": {}}).status_code == 403


def test_a_refusing_receiver_does_not_stop_pushes_and_is_retried(served: Served) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there: connection refused
    _config(served, "--webhook", dead)
    with _signed_in(served, "ana") as (ana, csrf):
        ana.post(
            "/api/v1/watchlist",
            json={"kind": "identifiers", "spec": {"values": ["212-555-0177"]}},
            headers={"X-CSRF-Token": csrf},
        )
        answers = [
            _push(
                served,
                [{"id": f"r{n}", "source": "boardR", "title": "Hi", "body": f"call 212 555 0177 ({n})"}],
            )
            for n in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.json()["counts"]["new"] for a in answers] == [1, 1, 1]
        raised = [a for a in ana.get("/api/v1/alerts?limit=500").json()["items"] if a["source"] == "boardR"]
        assert len(raised) == 3

        def retried() -> Any:
            d = ana.get(f"/api/v1/alerts/{raised[0]['alert']}").json()["deliveries"]
            return d and d[0]["attempts"] >= 3 and d

        [delivery] = _poll(retried)
        assert delivery["status"] in ("pending", "failed") and "Connect" in delivery["last_error"]
        # Meanwhile pushes go on being answered at once.
        later = _push(served, [{"id": "r9", "source": "boardR", "title": "Hi", "body": "nothing to see"}])
        assert later.status_code == 200 and later.json()["counts"]["new"] == 1
