"""The workspace's pages, in a real browser: Playwright driving Debian's chromium
(``/usr/bin/chromium``; ``make browser`` installs it) against a real server (a subprocess on a
free loopback port) on a store made by `threadline synth` and `ingest`, with a few hostile ads
ingested beside the synthetic ones.

Without the browser the browser tests skip with one line saying why, except under ``CI=true``,
where they fail: CI installs it. The tests before them (ad text made inert, sign-in and
sign-out over HTTP) need no browser.

The screenshots of the queue, a network and an ad (a hostile one too) are written under the
test's temporary folder, and with THREADLINE_SCREENSHOTS=1 (`make screenshots`) to
``docs/screenshots/``, which the README shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from server_support import serving
from server_support import threadline as _threadline

from threadline.serve._auth import local_path
from threadline.serve._markup import Span, describe, highlight, source_link, visible
from threadline.service import accounts, audit
from threadline.service._common import Actor

PASSWORD = "correct horse battery staple"
ADMIN = Actor("root", "os-user", "cli")
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = "(718) 555-0143"  # fictional range
PAYLOAD = "<script>window.__pwned=1</script>"
# Ads written by someone who wants the analyst's browser: scripts, event handlers, javascript: and
# data: addresses, broken and nested HTML, CSS, bidi overrides and zero-width characters.
HOSTILE = [
    {
        "id": "x1",
        "source": "evil",
        "url": "javascript:window.__pwned=1",
        "posted_at": "2026-10-20T12:00:00Z",
        "title": PAYLOAD + "New in town",
        "body": (
            'Hi <img src=x onerror="window.__pwned=1;alert(1)"> call ' + PHONE + " now<br>"
            '<a href="javascript:window.__pwned=1">click</a> \u202eevil text\u202c zero\u200bwidth '
            "<style>body{display:none}</style><div><p>broken <b>nested</div></p>"
            '<iframe src="data:text/html,<script>parent.__pwned=1</script>"></iframe>'
            "<svg onload=window.__pwned=1>"
        ),
        "location": "Houston, TX",
        "images": ["noise.png"],
        "fields": {"name": "<b onmouseover=alert(1)>Eve</b>"},
    },
    {
        "id": 'x2"><svg onload=window.__pwned=1>',
        "source": "evil",
        "url": "data:text/html,<script>window.__pwned=1</script>",
        "posted_at": "2026-10-21T12:00:00Z",
        "title": "Sweet <u>Eve</u> \u200f\u2066back\u2069",
        "body": "Text " + PHONE + " java\tscript:alert(1) <script src=//evil.example/x.js></script>",
        "location": "Houston, TX",
    },
    {
        "id": "x3",
        "source": "evil",
        "url": " JAVASCRIPT:window.__pwned=1",
        "posted_at": "2026-10-22T12:00:00Z",
        "title": "Eve again",
        "body": "Call " + PHONE + " ask for the manager",
        "location": "Houston, TX",
    },
]


# -- ad text made inert (no server, no browser) -----------------------------------------------------


def test_ad_text_is_escaped_and_hidden_characters_are_shown() -> None:
    shown = str(visible('<script>alert(1)</script> a\u202eb c\u200bd <img src=x onerror="x()">'))
    assert "<script" not in shown and "<img" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "\u202e" not in shown and "\u200b" not in shown
    assert "⟨U+202E⟩" in shown and "right-to-left override" in shown and "⟨U+200B⟩" in shown
    assert "onerror=&#34;x()&#34;" in shown
    # the <br> an ad carries is shown as written, then breaks the line
    assert str(visible("a<br>b")) == 'a<span class="tag">&lt;br&gt;</span>\nb'


def test_extracted_values_are_marked_with_what_they_are() -> None:
    text = "Call (718) 555-0143, ask for the manager <b>"
    phone = Span(5, 19, "phone", describe("phone", "+17185550143", '{"obfuscated":true,"styles":["spaced"]}'))
    inside = Span(6, 9, "price", "price 718")  # overlaps the phone: its label joins the phone's
    cue = Span(
        21,
        40,
        "indicator",
        describe("indicator", "third_party.ask_for_manager", '{"category":"third_party"}'),
    )
    marked = str(highlight(text, [cue, inside, phone, Span(90, 99, "name", "beyond the text")]))
    assert marked.count("<mark") == 2
    assert 'title="phone +17185550143, obscured (spaced); price 718">(718) 555-0143</mark>' in marked
    assert 'class="x-indicator"' in marked and "indicator: third party" in marked
    assert marked.endswith(" &lt;b&gt;")


def test_only_plain_http_addresses_become_links() -> None:
    link = str(source_link("https://site.example/a?b=1&c=<2>"))
    assert link.startswith('<a class="source" href="https://site.example/a?b=1&amp;c=&lt;2&gt;"')
    assert 'rel="noreferrer noopener"' in link
    for hostile in [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://site.example/\u202eexe.txt",
        "http://site.example/a b",
        "//evil.example",
    ]:
        shown = str(source_link(hostile))
        assert "<a" not in shown and "href" not in shown, hostile
        assert "<script" not in shown
    assert "none" in str(source_link(None))


def test_a_login_goes_on_only_to_a_path_of_this_site() -> None:
    assert local_path("/networks/N1?offset=50") == "/networks/N1?offset=50"
    for elsewhere in [None, "", "https://evil.example/", "//evil.example", "/\\evil.example", "/a\nb", "x"]:
        assert local_path(elsewhere) == "/"


def test_the_templates_and_static_files_ship_in_the_package() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["threadline.serve"]
    serve = ROOT / "src" / "threadline" / "serve"
    shipped = {path for pattern in globs for path in serve.glob(pattern)}
    on_disk = {
        path for folder in ("templates", "static") for path in (serve / folder).rglob("*") if path.is_file()
    }
    assert on_disk and on_disk <= shipped, sorted(str(p) for p in on_disk - shipped)


# -- a server on a store with hostile ads ---------------------------------------------------------


@dataclass
class Server:
    url: str
    db: Path
    network: str  # the top of the queue


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("pages")
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
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]  # the users below sign the same audit
    try:
        from threadline.store import Store

        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            [(network,)] = store.query(
                "SELECT network FROM network_scores ORDER BY logit DESC, network LIMIT 1"
            )
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    # Everything the tests do, from many threads at once, must make one unbroken signed chain.
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, network)


def _login_token(page: httpx.Response) -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _form_login(client: httpx.Client, password: str = PASSWORD, next_path: str = "/") -> httpx.Response:
    form = client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={"login_token": _login_token(form), "next": next_path, "name": "ana", "password": password},
    )


# -- sign in and out over HTTP (no browser) -------------------------------------------------------


def test_a_page_without_a_session_goes_to_the_sign_in_page_and_the_api_still_answers_401(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.url) as client:
        for path in ["/", f"/networks/{server.network}", "/ads/evil/x1", "/?place=houston"]:
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        assert client.get("/api/v1/networks").status_code == 401
        assert client.get("/api/v1/networks").json()["error"]
        login = client.get("/login")
        assert login.status_code == 200 and "<form" in login.text
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert client.get("/static/workspace.css").status_code == 200  # the sign-in page's style


def test_the_sign_in_form_says_why_it_failed_and_goes_on_to_the_page_asked_for(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        wrong = _form_login(client, password="not the password at all", next_path="/ads/evil/x1")
        assert wrong.status_code == 303 and "error=failed" in wrong.headers["location"]
        again = client.get(wrong.headers["location"])
        assert "Sign-in failed" in again.text and 'value="/ads/evil/x1"' in again.text
        right = _form_login(client, next_path="/ads/evil/x1")
        assert right.status_code == 303 and right.headers["location"] == "/ads/evil/x1"
        page = client.get("/ads/evil/x1")
        assert page.status_code == 200 and "ana" in page.text and "analyst" in page.text
        assert client.get("/login").status_code == 303  # signed in already
    with httpx.Client(base_url=server.url) as client:  # a form this browser was not given
        forged = client.post(
            "/login", data={"login_token": "forged", "next": "/", "name": "ana", "password": PASSWORD}
        )
        assert forged.status_code == 303 and "error=expired" in forged.headers["location"]
        elsewhere = _form_login(client, next_path="https://evil.example/")
        assert elsewhere.headers["location"] == "/"


def test_signing_out_needs_the_pages_csrf_token_and_ends_the_session(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        _form_login(client)
        queue = client.get("/")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
        assert csrf
        refused = client.post("/signout", data={"csrf_token": "wrong"})
        assert refused.status_code == 403 and client.get("/").status_code == 200
        done = client.post("/signout", data={"csrf_token": csrf.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/login?signed_out=1"
        assert client.get("/").status_code == 303


def test_pages_are_audited_as_the_apis_reads(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        _form_login(client)
        assert client.get("/?place=houston").status_code == 200
        assert client.get(f"/networks/{server.network}").status_code == 200
        assert client.get("/ads/evil/x3").status_code == 200
        assert client.get("/networks/N999999999").status_code == 404
        assert client.get("/?min_score=lots").status_code == 200  # said on the page, not a 422
    keys = {**os.environ, audit.KEY_DIR_ENV: str(server.db.parent / "keys")}
    log = _threadline("audit", "export", "--db", str(server.db), env=keys, timeout=120)  # through the server
    assert log.returncode == 0, log.stderr
    entries = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    mine = [(e["action"], e["object"]) for e in entries if e["actor"] == "ana"]
    assert ("read ad", "evil:x3") in mine
    assert any(a == "read network" for a, _ in mine)
    assert any(a == "read queue" for a, _ in mine)


def test_a_network_page_shows_its_text_hubs_as_sentences_not_hashes(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        _form_login(client)
        shown = None
        for row in client.get("/api/v1/networks", params={"limit": 100}).json()["items"]:
            view = client.get(f"/api/v1/networks/{row['network']}").json()
            texts = [hub[1] for hub in view["hubs"] if hub[0] == "text"]
            if texts:
                shown = row["network"], texts[0]
                break
        assert shown is not None, "the corpus copies texts: some network has a text hub"
        network, value = shown
        page = client.get(f"/networks/{network}", params={"hubs": "all"})
    assert page.status_code == 200
    cell = re.search(rf'title="sentences {value}">([^<]*)<', page.text)
    assert cell is not None, page.text
    assert " / " in cell.group(1) and not re.fullmatch(r"[\d ]+", cell.group(1))  # two masked sentences


def test_a_network_page_lists_its_hubs_with_most_ads_and_all_on_asking(server: Server) -> None:
    shown_at_most = 3  # ?hubs=3 (the page's default is 25: more hubs than this corpus gives one network)
    with httpx.Client(base_url=server.url) as client:
        _form_login(client)
        counts = {
            row["network"]: len(client.get(f"/api/v1/networks/{row['network']}").json()["hubs"])
            for row in client.get("/api/v1/networks", params={"limit": 100}).json()["items"]
        }
        network = max(counts, key=lambda n: counts[n])
        total = counts[network]
        assert total > shown_at_most, f"the corpus copies texts: a network touches several hubs ({total})"
        pages = {how: client.get(f"/networks/{network}", params=how).text for how in ("hubs=3", "hubs=all")}

    def hub_rows(page: str) -> list[int]:
        table = page.split('id="hubs"', 1)[1].split("</table>", 1)[0]
        return [int(n) for n in re.findall(r'<td class="num">(\d+)</td><td class="num">\d+</td>', table)]

    shown, everything = hub_rows(pages["hubs=3"]), hub_rows(pages["hubs=all"])
    assert len(shown) == shown_at_most and len(everything) == total
    assert shown == everything[:shown_at_most] and shown == sorted(shown, reverse=True)  # most ads first
    assert f"the 3 with most ads of {total}" in pages["hubs=3"]
    assert "list all</a>" in pages["hubs=3"] and "list all</a>" not in pages["hubs=all"]


def _read_networks(server: Server, network: str) -> int:
    keys = {**os.environ, audit.KEY_DIR_ENV: str(server.db.parent / "keys")}
    log = _threadline("audit", "export", "--db", str(server.db), env=keys, timeout=120)  # through the server
    assert log.returncode == 0, log.stderr
    entries = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    mine = [(e["actor"], e["action"], e["object"]) for e in entries]
    return mine.count(("ana", "read network", network))


def test_a_network_page_read_again_is_audited_each_time_and_an_act_on_it_shows_at_once(
    server: Server,
) -> None:
    """Its reads are kept (`_pages._kept`) until a commit touches what they read: the same page
    twice is the same page, audited twice; an analyst's act shows on the next one."""
    with httpx.Client(base_url=server.url) as client:
        _form_login(client)
        network = client.get("/api/v1/networks", params={"limit": 2}).json()["items"][1]["network"]
        before = _read_networks(server, network)
        first, again = (client.get(f"/networks/{network}") for _ in range(2))
        assert first.status_code == again.status_code == 200
        assert _read_networks(server, network) == before + 2
        assert first.text == again.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', again.text)
        assert csrf
        done = client.post(
            f"/networks/{network}/label",
            data={"csrf_token": csrf.group(1), "label": "unsure", "note": "kept pages, read again"},
        )
        assert done.status_code == 303, done.text
        after = client.get(done.headers["location"])
    assert after.status_code == 200 and "kept pages, read again" in after.text
    assert "kept pages, read again" not in again.text


# -- in the browser ---------------------------------------------------------------------------------


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser tests need the playwright package (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"the browser tests need Debian's chromium at {CHROMIUM} (make browser)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _why_no_browser()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _screenshot(page: Any, folder: Path, name: str) -> None:
    """Into the test's folder; into docs/screenshots/ too with THREADLINE_SCREENSHOTS=1 (`make
    screenshots`), so that an ordinary test run leaves the checkout as it was."""
    path = folder / name
    page.screenshot(path=str(path))
    if os.environ.get("THREADLINE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)


@pytest.fixture
def dialogs() -> list[str]:
    """The message of every dialog (alert, confirm, prompt) a page opened."""
    return []


@pytest.fixture
def tab(browser: Any, server: Server, dialogs: list[str]) -> Iterator[Any]:
    """A fresh browser context (no cookies) and its page, refusing any request off the server."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
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
    assert elsewhere == []  # nothing loads from the network


def _sign_in(page: Any, server: Server) -> None:
    page.goto("/")
    assert "/login?next=" in page.url
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def test_signing_in_through_the_form(tab: Any, server: Server) -> None:
    tab.goto(f"/networks/{server.network}")
    assert "/login?next=" in tab.url  # no session: the sign-in page
    tab.fill("input[name=name]", "ana")
    tab.fill("input[name=password]", "not the password at all")
    tab.click("button[type=submit]")
    assert tab.locator("[role=alert]").inner_text().startswith("Sign-in failed")
    tab.fill("input[name=name]", "ana")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/networks/{server.network}")
    assert tab.locator(".bar .user").inner_text() == "ana"
    assert tab.locator(".bar .role").inner_text() == "analyst"


def test_the_queue_is_worked_with_the_keyboard(tab: Any, server: Server, shots: Path) -> None:
    _sign_in(tab, server)
    rows = tab.locator("table.queue tbody tr")
    assert rows.count() >= 3
    first, second = rows.nth(0).get_attribute("data-network"), rows.nth(1).get_attribute("data-network")
    assert first == server.network  # by priority
    assert rows.nth(0).locator("td.reasons").inner_text().strip()  # why it ranks, in one line
    tab.keyboard.press("j")
    assert tab.locator("tr.current").get_attribute("data-network") == first
    tab.keyboard.press("j")
    assert tab.locator("tr.current").get_attribute("data-network") == second
    tab.keyboard.press("x")
    assert tab.locator("#selection").inner_text() == "1 selected"
    _screenshot(tab, shots, "queue.png")  # the second row current and selected
    tab.keyboard.press("k")
    assert tab.locator("tr.current").get_attribute("data-network") == first
    tab.keyboard.press("Enter")
    tab.wait_for_url(f"{server.url}/networks/{first}")
    assert tab.locator("h1").inner_text().startswith(f"Network {first}")


def test_a_network_leads_to_its_ads(tab: Any, server: Server, shots: Path) -> None:
    _sign_in(tab, server)
    tab.goto(f"/networks/{server.network}")
    assert tab.locator("h2", has_text="Score reasons").count() == 1
    assert tab.locator("h2", has_text="Persons").count() == 1
    _screenshot(tab, shots, "network.png")
    link = tab.locator("table.ads a").first
    href = link.get_attribute("href")
    link.click()
    tab.wait_for_url(f"{server.url}{href}")
    assert tab.locator("h1").inner_text().startswith("Ad ")
    marks = tab.locator(".adtext mark")
    assert marks.count() >= 1 and marks.first.get_attribute("title")
    assert tab.locator(".bar .user").inner_text() == "ana"
    _screenshot(tab, shots, "ad.png")


def test_hostile_ads_render_inert(tab: Any, server: Server, shots: Path, dialogs: list[str]) -> None:
    _sign_in(tab, server)
    seen = []
    answer = tab.goto("/ads/evil/x1")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    text = tab.locator(".adtext").inner_text()
    assert PAYLOAD in text and "<img src=x onerror=" in text and "<iframe" in text  # shown as text
    assert tab.locator(".adtext img, .adtext iframe, .adtext script, .adtext svg, .adtext a").count() == 0
    assert tab.locator("a[href^='javascript'], a[href^='data'], a[href^=' ']").count() == 0
    assert tab.locator(".source-text").inner_text() == "javascript:window.__pwned=1"
    assert tab.locator(".hidden-char[title*='U+202E']").count() == 1  # the override, made visible
    assert tab.locator(".hidden-char[title*='U+200B']").count() == 1
    phone = tab.locator(".adtext mark.x-phone").first
    assert "phone +17185550143" in (phone.get_attribute("title") or "")
    images = tab.locator("ul.images img")  # the ad's image, blurred by the server
    assert images.count() == 1 and (images.first.get_attribute("src") or "").endswith("/blurred")
    tab.wait_for_function("() => { const i = document.querySelector('ul.images img'); return i.complete; }")
    assert tab.evaluate("document.querySelector('ul.images img').naturalWidth") > 0
    assert tab.locator("main img").count() == 1  # and no other image anywhere
    _screenshot(tab, shots, "ad-hostile.png")
    seen.append(tab.evaluate("typeof window.__pwned"))
    network = tab.locator(".facts a[href^='/networks/']").first.get_attribute("href")
    for path in [network, "/?source=evil", '/ads/evil/x2"><svg onload=window.__pwned=1>', "/ads/evil/x3"]:
        answer = tab.goto(path)
        assert answer.status == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        if path == network:  # its graph (the names its ads give) drawn from the page's data
            tab.locator("#graph[data-state=drawn]").wait_for(state="attached")
            names = tab.evaluate(
                "window.threadlineGraph.nodes('[kind = \"person\"]').map((n) => n.data('detail'))"
            )
            assert any("Eve" in name for name in names), names
        seen.append(tab.evaluate("typeof window.__pwned"))
    assert tab.locator(".source-text").inner_text().strip() == "JAVASCRIPT:window.__pwned=1"
    assert seen == ["undefined"] * len(seen)
    assert dialogs == []
