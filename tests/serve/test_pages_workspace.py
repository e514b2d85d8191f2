"""The workspace's pages beyond the queue, a network and an ad: search (a box on every page, "/"
to reach it), hubs (marked and unmarked with a reason, through the writer), decisions, the audit
(supervisors and admins only) and changing one's password. A real server on a store of its own
(synthetic ads and the hostile ones of `test_pages`), driven over HTTP and in Debian's chromium,
as `test_pages` does; its browser fixtures are shared from there.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import test_pages
from PIL import Image
from server_support import serving
from server_support import threadline as _threadline
from test_pages import HOSTILE, PASSWORD, Server, _screenshot

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor

ADMIN = Actor("root", "os-user", "cli")
# Users of this module's store: an analyst, a supervisor, and two who change their password.
USERS = {"ana": "analyst", "sam": "supervisor", "pat": "analyst", "max": "analyst"}
NEW_PASSWORD = "a much longer passphrase now"
READ_TOKEN: list[str] = []  # a dashboard's token (scope read) for ana, made with the store

# The browser fixtures of `test_pages` (its ``tab`` uses this module's ``server``).
browser = test_pages.browser
shots = test_pages.shots
dialogs = test_pages.dialogs
tab = test_pages.tab


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("workspace")
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
            for name, role in USERS.items():
                accounts.add_user(store, name, role, PASSWORD, by=ADMIN)
            READ_TOKEN.append(tokens.add_token(store, "ana", "read", by=ADMIN)[0])
            [(network,)] = store.query(
                "SELECT network FROM network_scores ORDER BY logit DESC, network LIMIT 1"
            )
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, network)


@contextmanager
def _client(server: Server, name: str = "ana", password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A client signed in through the sign-in form (as a browser is)."""
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        signed = client.post(
            "/login", data={"login_token": token.group(1), "next": "/", "name": name, "password": password}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/", signed.headers
        yield client


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _sign_in(page: Any, server: Server, name: str = "ana", password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def _audit_of(server: Server, actor: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    keys = {**os.environ, audit.KEY_DIR_ENV: str(server.db.parent / "keys")}
    log = _threadline("audit", "export", "--db", str(server.db), env=keys, timeout=120)  # through the server
    assert log.returncode == 0, log.stderr
    entries = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    return [(e["action"], e["object"], e["detail"]) for e in entries if e["actor"] == actor]


# -- search ---------------------------------------------------------------------------------------


def test_search_reads_a_phone_typed_in_any_format_and_groups_what_it_found(server: Server) -> None:
    with _client(server) as client:
        typed = ["(718) 555-0143", "718.555.0143", "+17185550143"]
        pages = [client.get("/search", params={"q": q}) for q in typed]
        empty = client.get("/search", params={"q": "   "})
        nothing = client.get("/search", params={"q": "zzyzx qqqq"})
        hostile = client.get("/search", params={"q": "<script>window.__pwned=1</script>"})
    for found in pages:
        assert found.status_code == 200
        assert "+17185550143" in found.text  # read as the phone
        assert "/ads/evil/x3" in found.text and "/networks/N" in found.text
    assert pages[0].text.count("<tr>") == pages[1].text.count("<tr>")  # the same hits, however typed
    assert empty.status_code == 200 and "Type an identifier" in empty.text
    assert nothing.status_code == 200 and "Nothing found" in nothing.text
    assert "<script>window" not in hostile.text and "&lt;script&gt;window.__pwned=1" in hostile.text
    searched = [obj for action, obj, _ in _audit_of(server, "ana") if action == "search"]
    assert "(718) 555-0143" in searched and "zzyzx qqqq" in searched


def test_the_networks_and_persons_a_search_touches_come_a_page_at_a_time(
    server: Server, tab: Any, shots: Path
) -> None:
    # A hub's number touches thousands of networks: the page and the API list them a page at a time
    # (highest priority first), with the totals. Here: the self-stated name most networks share.
    with _client(server) as client:
        queue = client.get("/api/v1/networks", params={"limit": 40}).json()
        names = set()
        for row in queue["items"]:
            view = client.get(f"/api/v1/networks/{row['network']}").json()
            names.update(name for _, _, said in view["persons"] for name in said)
        found = {
            name: client.get("/api/v1/search", params={"q": name}).json()["found"] for name in sorted(names)
        }
        name, whole = max(found.items(), key=lambda kv: (kv[1]["total_networks"], kv[0]))
        assert whole["total_networks"] == len(whole["networks"]) >= 2
        rest = client.get("/api/v1/search", params={"q": name, "groups": 1, "groups_offset": 1}).json()[
            "found"
        ]
        first = client.get("/search", params={"q": name})
        second = client.get("/search", params={"q": name, "groups": 1})
    assert (rest["total_networks"], rest["total_persons"]) == (
        whole["total_networks"],
        whole["total_persons"],
    )
    assert rest["networks"] == whole["networks"][1:2] and rest["persons"] == whole["persons"][1:2]
    assert first.status_code == second.status_code == 200
    listed = [re.findall(r'href="/networks/(N\d+)"', _networks_table(page.text)) for page in (first, second)]
    assert listed[0] == [n["network"] for n in whole["networks"]] and 'rel="prev"' not in first.text
    # a page from the second network on links back and still counts them all
    assert listed[1] == [n["network"] for n in whole["networks"][1:]]
    assert (
        'rel="prev"' in second.text and f'<span class="count">{whole["total_networks"]}</span>' in second.text
    )
    # in the browser: the pager's links move through the networks
    _sign_in(tab, server)
    tab.goto("/search?" + urlencode({"q": name, "groups": 1}))
    assert tab.locator("table.networks tbody tr").count() == min(whole["total_networks"] - 1, 50)
    _screenshot(tab, shots, "search-networks-paged.png")
    tab.locator("a[rel=prev]").first.click()
    tab.wait_for_url(re.compile(r".*/search\?.*"))
    assert tab.locator("table.networks tbody tr").count() == min(whole["total_networks"], 50)
    searched = [d for action, obj, d in _audit_of(server, "ana") if action == "search" and obj == name]
    assert {"groups": 1} in [{k: v for k, v in d.items() if k == "groups"} for d in searched]


def _networks_table(html: str) -> str:
    found = re.search(r'<table class="hits networks">.*?</table>', html, re.S)
    assert found, html
    return found.group(0)


def test_the_search_box_is_on_every_page_and_slash_reaches_it(
    tab: Any, server: Server, shots: Path, dialogs: list[str]
) -> None:
    _sign_in(tab, server)
    tab.goto("/ads/evil/x1")
    tab.keyboard.press("/")
    assert tab.evaluate("document.activeElement.id") == "search"
    tab.keyboard.type("(718) 555-0143")
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r".*/search\?q=.*"))
    assert tab.locator("h1").inner_text().startswith("Search")
    assert tab.locator("#search").input_value() == "(718) 555-0143"  # the box keeps the query
    networks = tab.locator("table.networks tbody tr")
    assert networks.count() >= 1
    ads = tab.locator("table.ads a[href^='/ads/evil/']")
    assert ads.count() == 3  # the three hostile ads share the phone
    _screenshot(tab, shots, "search.png")
    # a hostile query finds the hostile ad by its words, and both are shown as text
    tab.goto("/search?q=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert tab.locator("h1").inner_text() == "Search <img src=x onerror=alert(1)>"
    assert tab.locator("table.words a", has_text="evil:x1").count() == 1
    assert tab.locator("main img, main svg, main script").count() == 0
    tab.goto("/search?q=zzyzx")
    assert "Nothing found" in tab.locator("main").inner_text()
    tab.goto("/search?q=houston")
    assert tab.locator("table.places a").count() >= 1
    place = tab.locator("table.places a").first
    place.click()
    tab.wait_for_url(re.compile(r".*/\?place=.*"))
    assert tab.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    # "/" typed into a field is a character, not the shortcut
    tab.fill("input[name=place]", "")
    tab.focus("input[name=place]")
    tab.keyboard.type("a/b")
    assert tab.locator("input[name=place]").input_value() == "a/b"


# -- hubs -----------------------------------------------------------------------------------------


def _hub_row(page: httpx.Response, value: str) -> str | None:
    for row in re.findall(r"<tr class=\"(?:is-hub|not-hub)\">(.*?)</tr>", page.text, re.S):
        if f'name="value" value="{value}' in row:  # a phone's tenure follows its number
            return str(row)
    return None


def _until(client: httpx.Client, path: str, done: Any) -> httpx.Response:
    """GET ``path`` until ``done(answer)`` (the link run after an act takes a moment); bounded."""
    for _ in range(200):
        answer = client.get(path)
        if done(answer):
            return answer
        time.sleep(0.1)
    raise AssertionError(f"{path} never showed the change: {answer.text}")


def test_a_hub_is_marked_and_cleared_with_a_reason_through_the_writer(server: Server) -> None:
    with _client(server) as client:
        listed = client.get("/hubs")
        assert listed.status_code == 200 and "hub, detected" in listed.text
        csrf = _csrf(listed)
        mark = {"kind": "phone", "value": "(718) 555-0143", "do": "hub", "note": "the agency's switchboard"}
        assert client.post("/hubs", data=mark).status_code == 403  # no CSRF token: refused
        unsaid = client.post("/hubs", data={**mark, "note": "  ", "csrf_token": csrf})
        assert unsaid.status_code == 422 and "reason: say why" in unsaid.text
        hostile = {"kind": "email", "value": "<img src=x onerror=alert(1)>", "do": "hub", "note": "x"}
        refused = client.post("/hubs", data={**hostile, "csrf_token": csrf})
        assert (
            refused.status_code == 422
            and "<img src=x" not in refused.text
            and "&lt;img src=x" in refused.text
        )
        done = client.post("/hubs", data={**mark, "csrf_token": csrf})
        assert done.status_code == 303 and done.headers["location"].startswith("/hubs?done=D")
        said = client.get(done.headers["location"])
        assert "marked a hub by ana" in said.text and "the agency&#39;s switchboard" in said.text
        marked = _until(client, "/hubs", lambda a: "hub, marked by ana" in a.text)
        row = _hub_row(marked, "+17185550143") or ""
        assert "hub, marked by ana" in row and "the agency&#39;s switchboard" in row
        cleared = client.post(
            "/hubs", data={**mark, "do": "clear", "note": "was a mistake", "csrf_token": csrf}
        )
        assert cleared.status_code == 303
        assert "is cleared" in client.get(cleared.headers["location"]).text
        _until(client, "/hubs", lambda a: _hub_row(a, "+17185550143") is None)
    acts = [(action, obj, detail.get("note")) for action, obj, detail in _audit_of(server, "ana")]
    assert ("mark hub", acts[-1][1], "the agency's switchboard") in acts or any(
        a == "mark hub" and n == "the agency's switchboard" for a, _, n in acts
    )
    assert any(a == "clear hub mark" and n == "was a mistake" for a, _, n in acts)
    assert any(a == "read hubs" for a, _, _ in acts)


def test_a_read_token_sees_the_hubs_but_no_form_and_cannot_mark(server: Server) -> None:
    headers = {"Authorization": f"Bearer {READ_TOKEN[0]}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        listed = client.get("/hubs")
        assert listed.status_code == 200 and "hub, detected" in listed.text
        assert 'action="/hubs"' not in listed.text and 'name="do"' not in listed.text
        posted = client.post(
            "/hubs", data={"kind": "phone", "value": "+17185550143", "do": "hub", "note": "x"}
        )
        assert posted.status_code == 403


def test_marking_a_hub_in_the_browser(tab: Any, server: Server, shots: Path, dialogs: list[str]) -> None:
    _sign_in(tab, server, "sam")
    tab.click("nav >> text=Hubs")
    tab.wait_for_url(f"{server.url}/hubs")
    rows = tab.locator("table.hubs tbody tr.is-hub")
    assert rows.count() >= 1
    row = rows.first
    value = row.locator("input[name=value]").get_attribute("value")
    assert row.locator("td.why").inner_text().strip()  # every hub says why
    _screenshot(tab, shots, "hubs.png")
    row.locator("input[name=note]").fill("a known escort agency's line, not one poster")
    row.locator("input[name=note]").press("Enter")  # the row's first button: "Not a hub"
    tab.wait_for_url(re.compile(r".*/hubs\?done=D\d+.*"))
    status = tab.locator("[role=status]").first.inner_text()
    assert "marked not a hub by sam" in status and "escort agency" in status
    for _ in range(100):  # the link run after the act
        tab.goto("/hubs")
        row = tab.locator("table.hubs tbody tr", has=tab.locator(f"input[name=value][value='{value}']"))
        if row.count() and "marked by sam" in row.first.locator("td.state").inner_text():
            break
        time.sleep(0.1)
    assert "not a hub, marked by sam" in row.first.locator("td.state").inner_text()
    assert row.first.locator("button[value=clear]").count() == 1
    assert dialogs == [] and tab.evaluate("typeof window.__pwned") == "undefined"


# -- decisions and the audit ------------------------------------------------------------------------

HOSTILE_NOTE = '<img src=x onerror="window.__pwned=1">seen twice'


def test_the_decisions_page_lists_decisions_and_labels_newest_first(server: Server) -> None:
    with _client(server) as client:
        csrf = _csrf(client.get("/"))
        labelled = client.post(
            "/api/v1/labels",
            json={"network": server.network, "label": "trafficking", "note": HOSTILE_NOTE},
            headers={"X-CSRF-Token": csrf},
        )
        assert labelled.status_code == 201, labelled.text
        listed = client.get("/decisions")
        mine = client.get("/decisions", params={"by": "sam"})
    assert listed.status_code == 200
    rows = re.findall(r'<tr class="(?:revoked|in-force)">(.*?)</tr>', listed.text, re.S)
    assert len(rows) >= 3  # the label, ana's cleared hub mark, sam's mark
    newest = rows[0]
    assert labelled.json()["label"] in newest and "trafficking" in newest
    assert f'href="/networks/{server.network}"' in newest
    assert "<img src=x" not in listed.text and "&lt;img src=x onerror=" in newest
    cleared = next(r for r in rows if "the agency&#39;s switchboard" in r)
    assert "revoked by ana" in cleared and "was a mistake" in cleared and "phone +17185550143" in cleared
    assert "in force" in next(r for r in rows if "escort agency" in r)
    assert mine.status_code == 200 and "by sam" in mine.text and "switchboard" not in mine.text
    assert any(a == "read decisions" for a, _, _ in _audit_of(server, "ana"))


def test_only_supervisors_and_admins_read_the_audit(server: Server) -> None:
    with _client(server) as client:
        refused = client.get("/audit")
        assert refused.status_code == 403 and "may not read audit" in refused.text
        assert 'href="/audit"' not in client.get("/").text  # not offered either
    with _client(server, "sam") as client:
        newest = client.get("/audit", params={"limit": 20})
        assert newest.status_code == 200
        seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>\s*<td class="when">', newest.text)]
        assert len(seqs) == 20 and seqs == sorted(seqs, reverse=True)  # a full page, newest first
        older = re.search(r'<a href="([^"]+)" rel="next">older', newest.text)
        assert older, "more than a page of entries by now"
        second = client.get(older.group(1).replace("&amp;", "&"))
        more = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>\s*<td class="when">', second.text)]
        assert more and max(more) < min(seqs)
        filtered = client.get("/audit", params={"user": "ana", "action": "mark hub"})
        rows = re.findall(r"<tr>\s*<td class=\"num\">\d+</td>(.*?)</tr>", filtered.text, re.S)
        assert len(rows) == 1 and "switchboard" in rows[0] and "ana" in rows[0]
        hostile = client.get("/audit", params={"user": "<script>x</script>", "action": "label"})
        assert (
            hostile.status_code == 200
            and "<script>x" not in hostile.text
            and "No entry matches" in hostile.text
        )
        labels = client.get("/audit", params={"action": "label"})
        assert "&lt;img src=x onerror=" in labels.text and "<img src=x" not in labels.text
    read = [(a, d) for a, _, d in _audit_of(server, "sam") if a == "read audit"]
    assert {"user": "ana", "of_action": "mark hub"} in [d for _, d in read]


def test_the_decisions_and_audit_pages_in_the_browser(
    tab: Any, server: Server, shots: Path, dialogs: list[str]
) -> None:
    _sign_in(tab, server, "sam")
    tab.goto(f"/networks/{server.network}")  # a label of sam's, the newest act
    form = tab.locator("form[aria-label='Label this network']")
    form.locator("input[name=note]").fill("second look: no sign of control")
    form.locator("button[value=independent]").click()
    tab.wait_for_url(re.compile(r".*\?done=L\d+.*"))
    tab.click("nav >> text=Decisions")
    tab.wait_for_url(f"{server.url}/decisions")
    assert "second look" in tab.locator("table.acts tbody tr").first.inner_text()
    _screenshot(tab, shots, "decisions.png")
    tab.locator("table.acts tbody tr").first.locator("a[href^='/networks/']").click()
    tab.wait_for_url(re.compile(r".*/networks/N\d+"))
    tab.click("nav >> text=Audit")
    tab.wait_for_url(f"{server.url}/audit")
    tab.select_option("select[name=user]", "sam")
    tab.select_option("select[name=action]", "label")
    tab.click("form.filters button[type=submit]")
    tab.wait_for_url(re.compile(r".*/audit\?.*action=label.*"))
    assert tab.locator("table.audit tbody tr").count() == 1
    tab.goto("/audit")
    _screenshot(tab, shots, "audit.png")
    assert dialogs == [] and tab.evaluate("typeof window.__pwned") == "undefined"


# -- one's own password (pat's: the last tests, as they change it) ----------------------------------


def test_changing_ones_password_ends_every_other_session(server: Server) -> None:
    with _client(server, "pat") as elsewhere, _client(server, "pat") as here:
        form = here.get("/password")
        assert form.status_code == 200 and 'name="current"' in form.text
        csrf = _csrf(form)
        fields = {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD, "csrf_token": csrf}
        assert here.post("/password", data={**fields, "csrf_token": "forged"}).status_code == 403
        differ = here.post("/password", data={**fields, "again": NEW_PASSWORD + "!"})
        assert differ.status_code == 422 and "differ" in differ.text
        short = here.post("/password", data={**fields, "new": "short", "again": "short"})
        assert short.status_code == 422 and "at least 12 characters" in short.text
        wrong = here.post("/password", data={**fields, "current": "not the password at all"})
        assert wrong.status_code == 422 and "current password is wrong" in wrong.text
        done = here.post("/password", data=fields)
        assert done.status_code == 303 and done.headers["location"] == "/password?changed=1"
        assert "Every other session of yours has ended" in here.get(done.headers["location"]).text
        assert here.get("/").status_code == 200  # this browser was signed in again
        assert elsewhere.get("/").status_code == 303  # the other one is signed out
    with httpx.Client(base_url=server.url) as client:
        old = client.post("/login", json={"name": "pat", "password": PASSWORD})
        assert old.status_code == 401
    with _client(server, "pat", NEW_PASSWORD) as client:
        assert client.get("/").status_code == 200
    acts = [a for a, _, _ in _audit_of(server, "pat")]
    assert "user password" in acts and acts.count("login failed") >= 2
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {READ_TOKEN[0]}"}) as client:
        assert client.get("/password").status_code == 403  # a token has no password here


def test_changing_ones_password_in_the_browser(tab: Any, server: Server, shots: Path) -> None:
    _sign_in(tab, server, "max")
    tab.click(".bar a.user")
    tab.wait_for_url(f"{server.url}/password")
    # autofocus is applied once the page renders, which a loaded machine may do after "load"
    tab.wait_for_function("document.activeElement && document.activeElement.name === 'current'")
    assert tab.evaluate("document.activeElement.name") == "current"
    tab.keyboard.type(PASSWORD)
    tab.keyboard.press("Tab")
    tab.keyboard.type(NEW_PASSWORD)
    tab.keyboard.press("Tab")
    tab.keyboard.type(NEW_PASSWORD)
    tab.keyboard.press("Enter")
    tab.wait_for_url(f"{server.url}/password?changed=1")
    assert "Password changed" in tab.locator("[role=status]").inner_text()
    _screenshot(tab, shots, "password.png")
    tab.goto("/")
    assert tab.locator(".bar .user").inner_text() == "max"  # still signed in here


# -- acts on a network page -----------------------------------------------------------------------

X2 = 'evil:x2"><svg onload=window.__pwned=1>'


def _network_of(client: httpx.Client, ad: str) -> str:
    source, ad_id = ad.split(":", 1)
    found: str = client.get(f"/api/v1/ads/{source}/{quote(ad_id, safe='')}").json()["network"]
    return found


def test_a_network_is_labelled_separated_and_revoked_from_its_page(server: Server) -> None:
    with _client(server) as client:
        network = _network_of(client, "evil:x1")
        assert _network_of(client, X2) == network  # the three hostile ads share a phone
        here = f"/networks/{network}"
        page = client.get(here)
        csrf = _csrf(page)
        assert f'action="{here}/label"' in page.text and f'action="{here}/separate"' in page.text
        assert 'value="evil:x2&#34;&gt;&lt;svg onload=window.__pwned=1&gt;"' in page.text  # a tick's value
        unsaid = client.post(f"{here}/label", data={"label": "unsure", "note": " ", "csrf_token": csrf})
        assert unsaid.status_code == 422 and "a reason is required" in unsaid.text
        labelled = client.post(
            f"{here}/label", data={"label": "unsure", "note": HOSTILE_NOTE, "csrf_token": csrf}
        )
        assert labelled.status_code == 303 and "done=L" in labelled.headers["location"]
        shown = client.get(labelled.headers["location"])
        ref = re.search(r"(L\d+) recorded", shown.text)
        assert ref and "<img src=x" not in shown.text and "&lt;img src=x onerror=" in shown.text
        assert f'name="ref" value="{ref.group(1)}"' in shown.text  # it can be revoked from here
        revoked = client.post(
            f"{here}/revoke", data={"ref": ref.group(1), "note": "wrong one", "csrf_token": csrf}
        )
        assert revoked.status_code == 303
        assert f'name="ref" value="{ref.group(1)}"' not in client.get(here).text  # no longer in force
        one_side = client.post(f"{here}/separate", data={"a": "evil:x1", "note": "x", "csrf_token": csrf})
        assert one_side.status_code == 422 and "one as B" in one_side.text
        separated = client.post(
            f"{here}/separate",
            data={"a": "evil:x1", "b": ["evil:x3", X2], "note": "different writers", "csrf_token": csrf},
        )
        assert separated.status_code == 303 and "done=D" in separated.headers["location"]
        decision = re.search(r"done=(D\d+)", separated.headers["location"])
        assert decision
        for _ in range(200):  # the link run after it
            if _network_of(client, "evil:x1") != _network_of(client, "evil:x3"):
                break
            time.sleep(0.1)
        assert _network_of(client, "evil:x1") != _network_of(client, "evil:x3")
        # sam's decision (a hub mark) is not ana's to revoke: no form, and a forged post is refused
        theirs = client.get("/decisions", params={"by": "sam"})
        sams = re.search(r'<td class="ref-cell">(D\d+)</td>', theirs.text)
        assert sams
        forged = client.post(
            f"{here}/revoke", data={"ref": sams.group(1), "note": "mine now", "csrf_token": csrf}
        )
        assert forged.status_code == 403 and "may revoke only its own" in forged.text
    with _client(server, "sam") as client:  # a supervisor revokes an analyst's separation
        here = f"/networks/{_network_of(client, 'evil:x1')}"
        page = client.get(here)
        assert f'name="ref" value="{decision.group(1)}"' in page.text
        done = client.post(
            f"{here}/revoke",
            data={"ref": decision.group(1), "note": "same writer after all", "csrf_token": _csrf(page)},
        )
        assert done.status_code == 303
    acts = [(a, o) for a, o, _ in _audit_of(server, "ana")]
    assert ("label", ref.group(1)) in acts and ("revoke label", ref.group(1)) in acts
    assert ("separate", decision.group(1)) in acts
    assert ("revoke", decision.group(1)) in [(a, o) for a, o, _ in _audit_of(server, "sam")]


def test_labelling_and_separating_in_the_browser(
    tab: Any, server: Server, shots: Path, dialogs: list[str]
) -> None:
    _sign_in(tab, server)
    tab.goto(f"/networks/{server.network}")
    form = tab.locator("form[aria-label='Label this network']")
    form.locator("input[name=note]").fill("controlled: one manager for every woman")
    form.locator("button[value=trafficking]").click()
    tab.wait_for_url(re.compile(r".*\?done=L\d+.*"))
    assert "recorded" in tab.locator("[role=status]").first.inner_text()
    assert tab.locator("table.labels td", has_text="controlled: one manager").count() == 1
    _screenshot(tab, shots, "network-acts.png")
    rows = tab.locator("table.ads tbody tr")
    rows.nth(0).locator("input[name=a]").check()
    rows.nth(1).locator("input[name=b]").check()
    tab.locator("#separate input[name=note]").fill("two writers")
    tab.locator("#separate button:not([formaction])").click()
    tab.wait_for_url(re.compile(r".*\?done=D\d+.*"))
    assert "Linking runs again" in tab.locator("[role=status]").first.inner_text()
    assert dialogs == [] and tab.evaluate("typeof window.__pwned") == "undefined"


def _noise_sha(server: Server) -> str:
    import hashlib

    return hashlib.sha256((server.db.parent / "hostile" / "noise.png").read_bytes()).hexdigest()


def test_images_come_blurred_and_the_original_only_on_an_audited_reveal(server: Server) -> None:
    import hashlib
    import io

    sha = _noise_sha(server)
    original = (server.db.parent / "hostile" / "noise.png").read_bytes()
    with _client(server) as client:
        blurred = client.get(f"/images/{sha}/blurred")
        assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/jpeg"
        assert blurred.content != original and hashlib.sha256(blurred.content).hexdigest() != sha
        with Image.open(io.BytesIO(blurred.content)) as small, Image.open(io.BytesIO(original)) as big:
            assert max(small.size) <= 320

            # Blurred: neighbouring pixels differ far less than in the noise it was made from.
            def roughness(img: Image.Image) -> float:
                grey = img.convert("L").tobytes()
                return sum(abs(a - b) for a, b in itertools.pairwise(grey)) / len(grey)

            assert roughness(small) < roughness(big) / 4
        revealed = client.get(f"/images/{sha}/original", params={"ad": "evil:x1"})
        assert revealed.status_code == 200 and revealed.content == original
        assert (
            revealed.headers["content-type"] == "image/png"
            and revealed.headers["cache-control"] == "no-store"
        )
        assert client.get(f"/images/{'0' * 64}/original").status_code == 404  # no ad's image
        assert client.get("/images/not-a-hash/blurred").status_code == 404
    with _client(server, "sam") as supervisor:
        entries: list[dict[str, Any]] = []
        while True:  # the whole chain, a page at a time (each read of it adds an entry)
            after = entries[-1]["seq"] if entries else 0
            page = supervisor.get("/api/v1/audit", params={"after": after, "limit": 500}).json()["items"]
            entries += page
            if len(page) < 500:
                break
        reveals = [e for e in entries if e["action"] == "reveal image" and e["object"] == sha]
        assert reveals and reveals[-1]["actor"] == "ana" and reveals[-1]["detail"]["ad"] == "evil:x1"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {READ_TOKEN[0]}"}) as dashboard:
        assert dashboard.get(f"/images/{sha}/original").status_code == 403  # a read token reveals nothing
        assert dashboard.get(f"/images/{sha}/blurred").status_code == 200


def test_an_image_file_changed_after_ingest_is_not_served(server: Server, tmp_path: Path) -> None:
    from threadline.store import kept_images

    sha = _noise_sha(server)
    original, kept = server.db.parent / "hostile" / "noise.png", kept_images.kept_path(server.db, sha)
    saved = original.read_bytes()
    kept.chmod(0o644)
    try:
        original.write_bytes(b"<html><script>alert(1)</script></html>")
        with _client(server) as client:
            assert client.get(f"/images/{sha}/original").content == saved  # the store's own copy
            kept.write_bytes(b"<html><script>alert(1)</script></html>")
            assert client.get(f"/images/{sha}/original").status_code == 404  # neither holds it now
    finally:
        original.write_bytes(saved)
        kept.write_bytes(saved)


def test_revealing_an_image_in_the_browser(tab: Any, server: Server, shots: Path) -> None:
    _sign_in(tab, server)
    tab.goto("/ads/evil/x1")
    image = tab.locator("ul.images img").first
    assert (image.get_attribute("src") or "").endswith("/blurred")
    tab.locator("a.reveal").first.click()
    shown = "() => { const i = document.querySelector('ul.images img');"
    tab.wait_for_function(shown + " return i.complete && i.src.includes('/original'); }")
    assert tab.evaluate("document.querySelector('ul.images img').naturalWidth") == 64  # the original's
    assert "revealed (audited)" in tab.locator("ul.images figcaption").first.inner_text()
    _screenshot(tab, shots, "ad-image-revealed.png")
    tab.click("header a.by-photo")
    tab.wait_for_url(f"{server.url}/search/image")
    photo = (server.db.parent / "hostile" / "noise.png").read_bytes()
    tab.set_input_files(
        "input[name=photo]", files=[{"name": "me.png", "mimeType": "image/png", "buffer": photo}]
    )
    tab.click("form[action='/search/image'] button[type=submit]")
    tab.wait_for_selector("table.image-search")
    assert tab.locator("table.image-search a[href='/ads/evil/x1']").count() == 1
    _screenshot(tab, shots, "image-search.png")


def _picture(seed: int) -> Image.Image:
    """A made-up picture with structure (a gradient, shapes), as photos have and noise has not:
    PDQ is meant for such images; a crop of random noise saved as JPEG is another image to it."""
    import random

    from PIL import ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (320, 240))
    draw = ImageDraw.Draw(img)
    for y in range(240):
        draw.line([(0, y), (320, y)], fill=(y, 80 + y // 3, 200 - y // 2))
    for _ in range(8):
        x, y = rng.randrange(0, 280), rng.randrange(0, 200)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)], fill=colour)
    return img


def test_search_by_photo_finds_the_ad_whose_image_was_cropped_and_saved_again(server: Server) -> None:
    import base64
    import io

    from threadline.serve import CSRF_HEADER

    original = io.BytesIO()
    _picture(7).save(original, format="PNG")
    cropped = io.BytesIO()
    _picture(7).crop((6, 5, 314, 236)).save(cropped, format="JPEG", quality=85)
    other = io.BytesIO()
    _picture(8).save(other, format="PNG")
    with httpx.Client(base_url=server.url, timeout=120) as api:  # an analyst pushes an ad with the picture
        signed = api.post("/login", json={"name": "ana", "password": PASSWORD})
        ad = {
            "id": "pic1",
            "source": "photos",
            "title": "New pics",
            "body": "call 713-555-0161",
            "images": [{"name": "a.png", "data": base64.b64encode(original.getvalue()).decode()}],
        }
        pushed = api.post("/api/v1/ads", json=[ad], headers={CSRF_HEADER: signed.json()["csrf_token"]})
        assert pushed.status_code == 200 and pushed.json()["records"][0]["status"] == "new", pushed.text
    with _client(server) as client:
        form = client.get("/search/image")
        assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
        csrf = _csrf(form)
        found = client.post(
            "/search/image",
            data={"csrf_token": csrf},
            files={"photo": ("me.jpg", cropped.getvalue(), "image/jpeg")},
        )
        assert found.status_code == 200, found.text
        import hashlib

        sha = hashlib.sha256(original.getvalue()).hexdigest()
        assert f"/images/{sha}/blurred" in found.text and "/ads/photos/pic1" in found.text
        none = client.post(
            "/search/image",
            data={"csrf_token": csrf},
            files={"photo": ("x.png", other.getvalue(), "image/png")},
        )
        assert none.status_code == 200 and "/ads/photos/pic1" not in none.text
        junk = client.post(
            "/search/image",
            data={"csrf_token": csrf},
            files={"photo": ("x.jpg", b"<html>not an image", "image/jpeg")},
        )
        assert junk.status_code == 422 and "could not be read as an image" in junk.text
        forged = client.post("/search/image", files={"photo": ("me.jpg", cropped.getvalue(), "image/jpeg")})
        assert forged.status_code == 403  # no CSRF token
    searches = [(a, o) for a, o, _ in _audit_of(server, "ana") if a == "image search"]
    assert len(searches) >= 2


def test_an_ad_is_split_out_of_a_network_and_merged_back_from_the_pages(server: Server) -> None:
    with _client(server) as client:
        here = f"/networks/{server.network}"
        page = client.get(here)
        csrf = _csrf(page)
        ticks = re.findall(r'name="a" value="([^"]+)"', page.text)
        assert (
            len(ticks) >= 2
            and f'formaction="{here}/split"' in page.text
            and f'action="{here}/merge"' in page.text
        )
        ad = ticks[-1]
        nothing = client.post(f"{here}/split", data={"note": "x", "csrf_token": csrf})
        assert nothing.status_code == 422 and "Tick the ads" in nothing.text
        split = client.post(f"{here}/split", data={"a": ad, "note": "another writer", "csrf_token": csrf})
        assert split.status_code == 303 and "done=D" in split.headers["location"]
        for _ in range(300):  # the link run after it
            if _network_of(client, ad) != server.network:
                break
            time.sleep(0.1)
        apart = _network_of(client, ad)
        assert apart != server.network and _network_of(client, ticks[0]) == server.network
        unknown = client.post(f"{here}/merge", data={"other": "N99999999", "note": "x", "csrf_token": csrf})
        assert unknown.status_code == 404
        # Merging with another network (not the part split off: the split keeps that apart until
        # it is revoked) brings its ads here.
        others = [
            n
            for n in re.findall(r"/networks/(N\d+)", client.get("/").text)
            if n not in (server.network, apart)
        ]
        other_page = client.get(f"/networks/{others[0]}")
        their_ad = re.findall(r'name="a" value="([^"]+)"', other_page.text)[0]
        merged = client.post(
            f"{here}/merge", data={"other": others[0], "note": "same writer after all", "csrf_token": csrf}
        )
        assert merged.status_code == 303 and "done=D" in merged.headers["location"]
        for _ in range(300):
            if _network_of(client, their_ad) == _network_of(client, ticks[0]):
                break
            time.sleep(0.1)
        assert _network_of(client, their_ad) == _network_of(client, ticks[0])
        assert _network_of(client, ad) != _network_of(client, ticks[0])  # the split still holds
    kinds = [a for a, _, _ in _audit_of(server, "ana")]
    assert "split" in kinds and "merge" in kinds
