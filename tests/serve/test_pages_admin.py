"""The admins' pages (issue 15): users and API tokens, driven over HTTP through the sign-in form as
a browser is, and once in Debian's chromium. A real server on a real store; argon2id passwords;
every act audited. No mocks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_pages
from server_support import serving
from server_support import threadline as _threadline
from test_pages import PASSWORD, Server, _screenshot

from threadline.service import accounts, audit
from threadline.service._common import Actor
from threadline.store import Store

ADMIN = Actor("root", "os-user", "cli")
NEW = "a brand new long passphrase"

browser = test_pages.browser
shots = test_pages.shots
dialogs = test_pages.dialogs
tab = test_pages.tab


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("admin")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "root", "admin", PASSWORD, by=ADMIN)
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, "")


@contextmanager
def _client(server: Server, name: str = "root", password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        form = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        signed = client.post(
            "/login", data={"login_token": token.group(1), "next": "/", "name": name, "password": password}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/", (name, signed.text)
        yield client


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _can_sign_in(server: Server, name: str, password: str) -> bool:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        return client.post("/login", json={"name": name, "password": password}).status_code == 200


def _audit_actions(server: Server) -> list[tuple[str, str, str | None]]:
    import json

    keys = {**os.environ, audit.KEY_DIR_ENV: str(server.db.parent / "keys")}
    log = _threadline("audit", "export", "--db", str(server.db), env=keys, timeout=120)
    assert log.returncode == 0, log.stderr
    entries = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    return [(e["actor"], e["action"], e["object"]) for e in entries]


def test_only_an_admin_sees_the_users_and_tokens_pages(server: Server) -> None:
    with _client(server, "ana") as ana:
        assert ana.get("/users").status_code == 403 and ana.get("/tokens").status_code == 403
        assert 'href="/users"' not in ana.get("/").text
    with _client(server) as root:
        listed = root.get("/users")
        assert listed.status_code == 200 and "ana" in listed.text and "analyst" in listed.text
        assert 'href="/users"' in root.get("/").text and 'href="/tokens"' in root.get("/").text


def test_an_admin_adds_disables_enables_and_resets_a_user(server: Server) -> None:
    with _client(server) as root:
        csrf = _csrf(root.get("/users"))
        refused = root.post("/users", data={"do": "add", "name": "nia", "role": "analyst", "password": NEW})
        assert refused.status_code == 403  # no CSRF token
        added = root.post(
            "/users",
            data={"csrf_token": csrf, "do": "add", "name": "nia", "role": "analyst", "password": NEW},
        )
        assert added.status_code == 303 and "nia+added" in added.headers["location"]
        assert "nia" in root.get("/users").text
        assert _can_sign_in(server, "nia", NEW)
        weak = root.post(
            "/users",
            data={"csrf_token": csrf, "do": "add", "name": "zed", "role": "analyst", "password": "short"},
        )
        assert weak.status_code == 422 and "password" in weak.text.lower()
        root.post("/users", data={"csrf_token": csrf, "do": "disable", "name": "nia"})
        assert not _can_sign_in(server, "nia", NEW)
        root.post("/users", data={"csrf_token": csrf, "do": "enable", "name": "nia"})
        assert _can_sign_in(server, "nia", NEW)
        other = NEW + " again"
        reset = root.post(
            "/users", data={"csrf_token": csrf, "do": "password", "name": "nia", "password": other}
        )
        assert reset.status_code == 303
        assert _can_sign_in(server, "nia", other) and not _can_sign_in(server, "nia", NEW)
        page = root.get("/users")
        assert NEW not in page.text and other not in page.text  # a password is never shown
    done = [(action, obj) for actor, action, obj in _audit_actions(server) if actor == "root"]
    for action in ("user add", "user disable", "user enable", "user password"):
        assert any(a == action and o == "nia" for a, o in done), (action, done)


def test_a_token_is_shown_once_works_and_stops_when_revoked(server: Server) -> None:
    with _client(server) as root:
        csrf = _csrf(root.get("/tokens"))
        made = root.post(
            "/tokens", data={"csrf_token": csrf, "do": "add", "user": "ana", "scope": "read", "days": "7"}
        )
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        token = re.search(r'id="new-token">(tl_[^<]+)<', made.text)
        assert token, made.text
        secret = token.group(1)
        assert secret not in root.get("/tokens").text  # never shown again
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {secret}"}) as dashboard:
            assert dashboard.get("/api/v1/networks").status_code == 200
            ref = re.findall(r'name="ref" value="(T\d+)"', root.get("/tokens").text)[-1]
            revoked = root.post("/tokens", data={"csrf_token": csrf, "do": "revoke", "ref": ref})
            assert revoked.status_code == 303
            assert dashboard.get("/api/v1/networks").status_code == 401
        bound = root.post(
            "/tokens",
            data={
                "csrf_token": csrf,
                "do": "add",
                "user": "ana",
                "scope": "push",
                "sources": "site-a, site-b",
            },
        )
        assert bound.status_code == 200 and "site-a, site-b" in bound.text
        wrong = root.post(
            "/tokens",
            data={"csrf_token": csrf, "do": "add", "user": "ana", "scope": "read", "sources": "site-a"},
        )
        assert wrong.status_code == 422 and "only a push token" in wrong.text


def test_the_admin_pages_in_the_browser(tab: Any, server: Server, shots: Path) -> None:
    tab.goto("/login")
    tab.fill("input[name=name]", "root")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/")
    tab.click("nav a[href='/users']")
    tab.wait_for_url(f"{server.url}/users")
    assert tab.locator("table.users tbody tr").count() >= 2
    _screenshot(tab, shots, "users.png")
    tab.click("nav a[href='/tokens']")
    tab.wait_for_url(f"{server.url}/tokens")
    tab.select_option("select[name=scope]", "push")
    tab.fill("input[name=sources]", "site-a")
    tab.click("button[value=add]")
    assert tab.locator("#new-token").inner_text().startswith("tl_")
    _screenshot(tab, shots, "tokens.png")
