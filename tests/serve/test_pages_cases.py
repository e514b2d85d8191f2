"""Cases in the browser (Debian's chromium through Playwright, as `test_pages`): make a case, add a
network from its page, write a note in markdown holding a script that stays text, and read the
case page. A real server on a store of its own; the browser fixtures are `test_pages`'."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_pages
from server_support import serving
from server_support import threadline as _threadline
from test_pages import PASSWORD, Server, _screenshot

from threadline.service import accounts, audit
from threadline.service._common import Actor

ADMIN = Actor("root", "os-user", "cli")
NOTE = "Seen at **the harbor** twice.\n\n- phone reused\n- <script>window.__pwned=1</script> stays text"

browser = test_pages.browser
shots = test_pages.shots
dialogs = test_pages.dialogs
tab = test_pages.tab


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("case-pages")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = _threadline("synth", str(folder / "corpus"), "--ads", "150", "--seed", "5", "--no-images", env=env)
    assert made.returncode == 0, made.stderr
    db = folder / "store.duckdb"
    ingested = _threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        from threadline.store import Store

        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            [(network,)] = store.query(
                "SELECT network FROM ad_links GROUP BY network ORDER BY COUNT(*) DESC, network LIMIT 1"
            )
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log") as url:
        yield Server(url, db, network)


def test_a_case_is_made_a_network_added_and_a_note_written_in_the_browser(
    tab: Any, server: Server, shots: Path, dialogs: list[str]
) -> None:
    tab.goto("/login")
    tab.fill("input[name=name]", "ana")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/")

    tab.click("nav >> text=Cases")
    tab.wait_for_url(f"{server.url}/cases")
    tab.fill("input[name=name]", "Operation Harbor")
    tab.fill("input[name=tags]", "port, houston")
    tab.click("form[action='/cases'] button[type=submit]")
    tab.wait_for_url(re.compile(r".*/cases/C\d+$"))
    ref = tab.url.rsplit("/", 1)[1]
    assert "No member yet" in tab.inner_text("main")

    tab.goto(f"/networks/{server.network}")
    tab.select_option("form[action='/cases/add'] select[name=case]", ref)
    tab.click("form[action='/cases/add'] button[type=submit]")
    tab.wait_for_url(re.compile(rf".*/cases/{ref}\?done=.*"))
    members = tab.inner_text("table.members")
    assert server.network in members and "yes: its new ads join" in members
    assert f"added {server.network}" in tab.inner_text("p[role=status]")

    tab.fill("#note-body", NOTE)
    tab.click("form.case-note-form button[type=submit]")
    tab.wait_for_url(re.compile(rf".*/cases/{ref}\?done=note.*"))
    note = tab.locator("article.case-note .markdown")
    assert note.locator("strong").inner_text() == "the harbor"
    assert note.locator("li").count() == 2
    assert "<script>window.__pwned=1</script> stays text" in note.inner_text()  # shown, as text
    assert note.locator("script").count() == 0
    assert tab.evaluate("window.__pwned") is None and dialogs == []
    assert "Operation Harbor" in tab.inner_text("h1") and "houston" in tab.inner_text("h1")
    _screenshot(tab, shots, "case.png")

    # Opened again: the page remembers when, and the network's page names the case.
    tab.goto(f"/cases/{ref}")
    assert "you last opened it" in tab.inner_text("p.facts")
    tab.goto(f"/networks/{server.network}")
    assert tab.locator(f".in-cases a[href='/cases/{ref}']").count() == 1
    # Its evidence form offers to keep only the case's ads: the label says what that masks, on the
    # label's line above the list (not on a line of its own under it, starting with a comma).
    mask = tab.locator("form[aria-label='Evidence package'] label.mask-case")
    assert mask.inner_text().split("\n")[0] == "only its ads in case (identifiers outside it masked)"
    hint, pick = mask.locator(".hint").bounding_box(), mask.locator("select").bounding_box()
    assert abs(hint["y"] - mask.bounding_box()["y"]) < 4 and hint["y"] + hint["height"] <= pick["y"] + 1
    assert mask.locator("select option").all_inner_texts() == ["(all its ads, no masking)", ref]

    # The queue's selection, ticked with the keyboard (x), goes to the case in one act.
    tab.goto("/")
    for key in ("j", "x", "j", "x"):
        tab.keyboard.press(key)
    assert tab.inner_text("#selection") == "2 selected"
    picked = tab.eval_on_selector_all("table.queue input:checked", "boxes => boxes.map(b => b.value)")
    tab.select_option("#to-case select[name=case]", ref)
    _screenshot(tab, shots, "queue-to-case.png")
    tab.click("#to-case button[type=submit]")
    tab.wait_for_url(re.compile(rf".*/cases/{ref}\?done=.*"))
    followed = tab.eval_on_selector_all(
        "table.members tbody tr",
        "rows => rows.filter(r => r.innerText.includes('yes:')).map(r => r.cells[0].innerText)",
    )
    assert set(followed) == {server.network, *picked}
    assert dialogs == []

    # And removed again from the network's page: its ads leave the case, which no longer follows it.
    tab.goto(f"/networks/{server.network}")
    _screenshot(tab, shots, "network-in-case.png")
    tab.click(f".in-cases button[aria-label='remove from {ref}: {server.network}']")
    tab.wait_for_url(re.compile(rf".*/cases/{ref}\?done=removed.*"))
    members = tab.inner_text("table.members") if tab.locator("table.members").count() else ""
    assert server.network not in members
    _screenshot(tab, shots, "case-after-remove.png")
