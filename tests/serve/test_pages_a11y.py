"""The workspace for everyone: axe-core (vendored for the tests under ``tests/serve/vendor``, never
served) finds no serious or critical accessibility violation on the main pages, and what a page
lacks without a mouse is said and tested here: a case picker with no open case is disabled with
the reason beside it. A real server on a store of its own (synthetic ads and the hostile ones of
`test_pages`), in Debian's chromium with the fixtures of `test_pages`.

axe-core is injected with Playwright's ``add_script_tag``, which the pages' CSP (no inline script)
refuses: the context of these checks alone is made with ``bypass_csp`` (every other browser test
runs under the CSP as sent).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_pages
from PIL import Image
from server_support import serving
from server_support import threadline as _threadline
from test_pages import HOSTILE, PASSWORD, PHONE, Server, _screenshot

from threadline.service import accounts, audit
from threadline.service._common import Actor

ADMIN = Actor("root", "os-user", "cli")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SERIOUS = ("serious", "critical")

browser = test_pages.browser
shots = test_pages.shots
dialogs = test_pages.dialogs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("a11y")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = _threadline("synth", str(folder / "corpus"), "--ads", "200", "--seed", "5", "--no-images", env=env)
    assert made.returncode == 0, made.stderr
    hostile = folder / "hostile"
    hostile.mkdir()
    Image.effect_noise((64, 48), 40).convert("RGB").save(hostile / "noise.png")  # generated, no person
    (hostile / "ads.jsonl").write_text("".join(json.dumps(ad) + "\n" for ad in HOSTILE))
    db = folder / "store.duckdb"
    for corpus in (folder / "corpus" / "ads.jsonl", hostile / "ads.jsonl"):
        ingested = _threadline("ingest", str(corpus), "--db", str(db), "-q", env=env)
        assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        from threadline.store import Store

        with Store.open(db) as store:
            accounts.add_user(store, "ada", "admin", PASSWORD, by=ADMIN)  # sees every page
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            [(network,)] = store.query(
                "SELECT network FROM network_scores ORDER BY logit DESC, network LIMIT 1"
            )
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, network)


@contextmanager
def _client(server: Server, name: str = "ada") -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in through the form, and its session's CSRF token."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        form = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        signed = client.post(
            "/login", data={"login_token": token.group(1), "next": "/", "name": name, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert csrf
        yield client, csrf.group(1)


# -- a case picker with no open case ----------------------------------------------------------------

_DISABLED = re.compile(r'<button type="submit" disabled aria-describedby="no-open-case">Add to case</button>')


def test_with_no_open_case_add_to_case_is_disabled_and_says_why(
    axe_tab: Any, server: Server, shots: Path
) -> None:
    """First in this module: the store has no case yet (the next tests make one)."""
    with _client(server) as (client, _):
        pages = [client.get(p) for p in ("/", f"/networks/{server.network}", "/search?q=" + PHONE)]
    for page in pages:
        assert page.status_code == 200
        assert _DISABLED.search(page.text), page.url
        assert 'id="no-open-case">No open case to add' in page.text and 'href="/cases"' in page.text
        assert '<select name="case" disabled' in page.text
    # In the browser: the button cannot be pressed, its reason is its description, and axe agrees.
    axe_tab.goto("/login")
    _sign_in(axe_tab, server)
    axe_tab.goto(f"/networks/{server.network}")
    button = axe_tab.locator("form[action='/cases/add'] button[type=submit]")
    assert button.is_disabled()
    assert axe_tab.evaluate(
        "() => document.getElementById(document.querySelector(\"form[action='/cases/add'] button\")"
        ".getAttribute('aria-describedby')).textContent"
    ).startswith("No open case")
    assert _violations(axe_tab) == []
    axe_tab.locator("form[action='/cases/add']").screenshot(path=str(shots / "a11y-no-open-case.png"))


# -- acts that fill the pages --------------------------------------------------------------------


@pytest.fixture(scope="module")
def acted(server: Server) -> dict[str, str]:
    """A case (with the top network), a label, a text hub marked not a hub, a watchlist entry (of
    the hostile ads' phone: it alerts at once): each page has rows to check."""
    with _client(server) as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        case = client.post("/api/v1/cases", json={"name": "Harbor", "tags": ["port"]}, headers=headers)
        assert case.status_code == 201, case.text
        ref = case.json()["case"]
        added = client.post(
            f"/api/v1/cases/{ref}/members", json={"networks": [server.network]}, headers=headers
        )
        assert added.status_code == 200, added.text
        labelled = client.post(
            "/api/v1/labels",
            json={"network": server.network, "label": "unsure", "note": "needs a second look"},
            headers=headers,
        )
        assert labelled.status_code in (200, 201), labelled.text
        texts = [
            h
            for h in client.get("/api/v1/hubs", params={"limit": 500}).json()["items"]
            if h["kind"] == "text"
        ]
        assert texts, "the corpus copies texts: some text is a hub"
        marked = client.post(
            "/api/v1/decisions/mark-hub",
            json={"kind": "text", "value": texts[0]["value"], "hub": False, "note": "a stock greeting"},
            headers=headers,
        )
        assert marked.status_code in (200, 201), marked.text
        watched = client.post(
            "/api/v1/watchlist",
            json={"kind": "identifiers", "spec": {"values": [PHONE]}, "note": "the harbor phone"},
            headers=headers,
        )
        assert watched.status_code == 201, watched.text
    return {"case": ref, "text_hub": texts[0]["value"]}


def test_with_an_open_case_add_to_case_is_enabled(server: Server, acted: dict[str, str]) -> None:
    with _client(server) as (client, _):
        page = client.get(f"/networks/{server.network}")
    assert not _DISABLED.search(page.text) and "no-open-case" not in page.text
    assert f'<option value="{acted["case"]}">' in page.text


def test_the_decisions_page_names_a_text_hub_by_an_excerpt_of_its_text(
    server: Server, acted: dict[str, str]
) -> None:
    value = acted["text_hub"]
    with _client(server) as (client, _):
        page = client.get("/decisions")
    assert page.status_code == 200
    cell = re.search(r'<td class="about" title="([^"]*)">text “([^”<]*)”</td>', page.text)
    assert cell is not None, page.text
    full, short = cell.groups()
    assert value not in page.text  # its hashes are nowhere on the page
    assert short and len(short) <= 60 and " / " in full
    assert short.rstrip("…") and full.startswith(short.rstrip("…"))


# -- axe-core on the main pages ---------------------------------------------------------------------


@pytest.fixture
def axe_tab(browser: Any, server: Server, dialogs: list[str]) -> Iterator[Any]:
    """As `test_pages.tab` (nothing off the server), with the CSP bypassed so that axe can run."""
    context = browser.new_context(
        base_url=server.url, viewport={"width": 1400, "height": 900}, bypass_csp=True
    )
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page
    finally:
        context.close()
    assert elsewhere == []


def _violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on ``page`` as it is now, one line each (the
    rule, what it asks, and the first elements failing it)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ['violations'] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')),
                count: v.nodes.length,
            }));
        }"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}) x{v['count']}: {v['nodes']}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def _sign_in(page: Any, server: Server) -> None:
    page.fill("input[name=name]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def test_axe_finds_no_serious_violation_on_the_main_pages(
    axe_tab: Any, server: Server, acted: dict[str, str], shots: Path, dialogs: list[str]
) -> None:
    tab = axe_tab
    found: dict[str, list[str]] = {}
    tab.goto("/login")
    found["login"] = _violations(tab)
    _screenshot(tab, shots, "a11y-login.png")
    tab.goto("/login")
    _sign_in(tab, server)
    pages = {
        "queue": "/",
        "search": "/search?q=" + PHONE,
        "ad": "/ads/evil/x1",
        "network": f"/networks/{server.network}",
        "hubs": "/hubs",
        "decisions": "/decisions",
        "cases": "/cases",
        "case": f"/cases/{acted['case']}",
        "watchlist": "/watchlist",
        "alerts": "/alerts",
        "audit": "/audit",
        "users": "/users",
        "tokens": "/tokens",
        "password": "/password",
        "photo search": "/search/image",
    }
    for name, path in pages.items():
        answer = tab.goto(path)
        assert answer is not None and answer.status == 200, (name, path)
        if name == "network":  # its drawings done, and the graph's list open: all of it checked
            tab.locator("#graph[data-state=drawn]").wait_for(state="attached")
            tab.locator("svg#map[data-state=drawn]").wait_for(state="attached")
            tab.evaluate("document.getElementById('graph-list').open = true")
        found[name] = _violations(tab)
        _screenshot(tab, shots, f"a11y-{name.replace(' ', '-')}.png")
    bad = {name: v for name, v in found.items() if v}
    assert bad == {}, "\n".join(f"{name}: {line}" for name, lines in bad.items() for line in lines)
    assert dialogs == []
