"""The watchlist, the inbox and a case in Debian's chromium (issue 16), as one analyst's session:
she makes a case, and a missing-person entry with a photo that belongs to it (chosen among the
open cases); a crawler pushes an ad carrying that photo (cropped and saved again as JPEG) and
another with her nickname and age; both alerts are in the inbox, each saying why it matched; she
adds the network the two ads are in to the case with a note, and the case page shows its alerts
(read or not); the crawler reports one ad gone through the API, and its page says "removed on".
All of it is in the audit. A real server on a store of its own; the browser fixtures are
`test_pages`'. Generated pictures, made-up names, numbers from the fictional 555-01xx range
(docs/DESIGN.md section 4)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import test_pages
from PIL import Image
from server_support import serving, threadline
from test_pages import PASSWORD, Server, _screenshot

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor

ADMIN = Actor("root", "os-user", "cli")
PUSH: list[str] = []
ENV: dict[str, str] = {}
POLLS = 600  # bounded waits (each 0.1 s): a count, never a clock in an assertion

browser = test_pages.browser
shots = test_pages.shots
dialogs = test_pages.dialogs
tab = test_pages.tab


def picture(seed: int, size: int = 320) -> Image.Image:
    """A generated picture: smooth colour blobs (no person)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((12, 12, 3)) * 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BICUBIC
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("watch-pages")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    ENV.update(env)
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        from threadline.store import Store

        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            PUSH.append(tokens.add_token(store, "ana", "push", by=ADMIN)[0])
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log", "--link-after", "0.2") as url:
        yield Server(url, db, "")


def _push(server: Server, records: list[dict[str, Any]]) -> list[str]:
    with httpx.Client(base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {PUSH[0]}"}) as c:
        answer = c.post("/api/v1/ads", json=records)
    assert answer.status_code == 200, answer.text
    return [r["status"] for r in answer.json()["records"]]


def test_a_missing_persons_alerts_reach_the_inbox_and_her_case_and_a_gone_ad_says_so(
    tab: Any, server: Server, shots: Path, dialogs: list[str], tmp_path: Path
) -> None:
    photo = picture(seed=11)
    photo.save(tmp_path / "rosalind.png")
    tab.goto("/login")
    tab.fill("input[name=name]", "ana")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/")
    assert tab.inner_text("#unread-alerts") == "0"

    # A case for her, then the entry, which belongs to it: chosen among the open cases.
    tab.goto("/cases")
    tab.fill("form[action='/cases'] input[name=name]", "Rosalind, missing since May")
    tab.click("form[action='/cases'] button[type=submit]")
    tab.wait_for_url(re.compile(r".*/cases/C\d+$"))
    case = tab.url.rsplit("/", 1)[1]
    tab.goto("/watchlist")
    tab.select_option("#watch-kind", "missing")
    tab.fill("textarea[name=names]", "Rosalind\nRoz")
    tab.fill("input[name=age_min]", "15")
    tab.fill("input[name=age_max]", "17")
    tab.fill("input[name=note]", "reported missing, family contact")
    assert tab.locator("form.watch-form select[name=case] option").all_inner_texts() == [
        "none",
        f"{case} Rosalind, missing since May",
    ]
    tab.select_option("form.watch-form select[name=case]", case)
    tab.set_input_files("input[name=photo]", str(tmp_path / "rosalind.png"))
    tab.click("form.watch-form button[type=submit]")
    tab.wait_for_url("**/watchlist?added=W1*")
    assert "W1 added" in tab.inner_text("main")
    row = tab.inner_text("table.watchlist tbody tr")
    assert "missing person" in row and "Rosalind, Roz" in row and "age 15–17" in row and "photo" in row
    assert tab.locator(f"table.watchlist tbody tr a[href='/cases/{case}']").inner_text() == case
    _screenshot(tab, shots, "watchlist.png")

    # A crawler pushes three ads: her photo cropped and saved again as JPEG (no name), her
    # nickname with her age (the same phone: one network), and the nickname alone (which must
    # not alert).
    w, h = photo.size
    seen = io.BytesIO()
    photo.crop((7, 4, w - 5, h - 8)).save(seen, format="JPEG", quality=75)
    statuses = _push(
        server,
        [
            {
                "id": "m1",
                "source": "boardM",
                "title": "New pics",
                "body": "Call 305-555-0131",
                "images": [{"name": "a.jpg", "data": base64.b64encode(seen.getvalue()).decode()}],
            },
            {
                "id": "m2",
                "source": "boardM",
                "title": "Sweet",
                "body": "Hi I'm Roz, 16 years old. 305-555-0131",
            },
            {"id": "m3", "source": "boardM", "title": "Sweet", "body": "Hi I'm Roz, call 305-555-0133"},
        ],
    )
    assert statuses == ["new", "new", "new"]

    tab.goto("/alerts")
    assert tab.inner_text("#unread-alerts") == "2"
    rows = tab.locator("table.alerts tbody tr")
    assert rows.count() == 2
    by_ad = {rows.nth(i).locator("td").nth(2).inner_text(): rows.nth(i).inner_text() for i in range(2)}
    assert set(k.split()[0] for k in by_ad) == {"boardM:m1", "boardM:m2"}
    photo_row = next(v for k, v in by_ad.items() if k.startswith("boardM:m1"))
    name_row = next(v for k, v in by_ad.items() if k.startswith("boardM:m2"))
    assert "photo" in photo_row and "PDQ distance" in photo_row and "name or nickname" not in photo_row
    assert "age in range + name or nickname" in name_row and "Roz" in name_row and "16" in name_row
    assert f"case {case}" in photo_row and f"case {case}" in name_row
    # Each names its watchlist entry with a link to the entry's row there.
    assert rows.locator("td.entry a[href='/watchlist#W1']").all_inner_texts() == ["W1", "W1"]
    inbox = {  # the cells a case's page shows the same (one macro): raised, ad, entry, why, state
        rows.nth(i).locator("td").nth(2).inner_text().split()[0]: [
            rows.nth(i).locator("td").nth(k).inner_text() for k in (1, 2, 3, 4, 5)
        ]
        for i in range(2)
    }
    _screenshot(tab, shots, "alerts.png")

    # The network the two ads are in (once the link run after the push has taken them in) goes
    # into her case from its page, and the case gets a note.
    network = None
    for _ in range(POLLS):
        tab.goto("/ads/boardM/m2")
        linked = tab.locator("main p.facts a[href^='/networks/']")
        if linked.count():
            network = linked.first.inner_text()
            break
        time.sleep(0.1)
    assert network is not None, "the pushed ads were never linked"
    tab.goto(f"/networks/{network}")
    tab.select_option("form[action='/cases/add'] select[name=case]", case)
    tab.click("form[action='/cases/add'] button[type=submit]")
    tab.wait_for_url(re.compile(rf".*/cases/{case}\?done=.*"))
    assert tab.locator(f"table.members a[href='/networks/{network}']").count() == 1
    tab.fill("#note-body", "Both ads are **hers**: the photo, and the nickname with her age.")
    tab.click("form.case-note-form button[type=submit]")
    tab.wait_for_url(re.compile(rf".*/cases/{case}\?done=note.*"))
    assert "Both ads are hers" in tab.inner_text("article.case-note .markdown")

    # The case page shows its alerts, unread, each with why it matched and why it is here,
    # linking to the ad.
    alerts = tab.locator("table.case-alerts tbody tr")
    assert alerts.count() == 2
    assert "2 not read by you" in tab.inner_text("#alerts-h")
    shown = {alerts.nth(i).locator("td").nth(2).inner_text().split()[0]: alerts.nth(i) for i in range(2)}
    assert set(shown) == {"boardM:m1", "boardM:m2"}
    assert shown["boardM:m1"].get_attribute("class") == "unread"
    assert "photo" in shown["boardM:m1"].inner_text()
    assert "age in range + name or nickname" in shown["boardM:m2"].inner_text()
    assert "its entry is this case's, and its ad is in the case" in shown["boardM:m2"].inner_text()
    assert shown["boardM:m2"].locator("a[href='/ads/boardM/m2']").count() == 1
    for ad, row in shown.items():  # the inbox's row, with why it is here
        assert [row.locator("td").nth(k).inner_text() for k in (1, 2, 3, 4, 6)] == inbox[ad], ad
        assert "unread" in row.locator("td").nth(6).inner_text()
    _screenshot(tab, shots, "case-alerts.png")
    shown["boardM:m2"].locator("button", has_text="Mark read").click()
    tab.wait_for_url(re.compile(rf".*/cases/{case}\?done=1\+alert.*"))
    assert "1 not read by you" in tab.inner_text("#alerts-h")
    assert tab.inner_text("#unread-alerts") == "1"
    read_row = tab.locator("table.case-alerts tbody tr", has=tab.locator("a[href='/ads/boardM/m2']"))
    assert read_row.get_attribute("class") == "read"
    # Its entry, W1, is a link to the entry's row on the watchlist (marked as the one sought).
    read_row.locator("td.entry a", has_text="W1").click()
    tab.wait_for_url(f"{server.url}/watchlist#W1")
    assert tab.evaluate("document.querySelector('tr:target').id") == "W1"
    assert "Rosalind, Roz" in tab.inner_text("tr:target")

    # The crawler finds m2 taken down and says so through the API; its page says when.
    # (When the crawler found it gone: after it was last seen on show, which was at its push.)
    gone_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    tab.goto("/ads/boardM/m2")
    assert "removed on" not in tab.inner_text("main")
    report = {"id": "m2", "source": "boardM", "gone": True, "captured_at": gone_at.isoformat()}
    assert _push(server, [report]) == ["gone"]
    tab.goto("/ads/boardM/m2")
    assert f"removed on {gone_at:%Y-%m-%d %H:%M}" in tab.inner_text("p.sightings")
    tab.goto("/alerts/A1")
    assert "Alert A1" in tab.inner_text("h1")
    assert dialogs == []

    # Everything above is in the audit.
    exported = threadline("audit", "export", "--db", str(server.db), env=ENV)
    assert exported.returncode == 0, exported.stderr
    done = [(e["action"], e["object"]) for e in map(json.loads, exported.stdout.splitlines())]
    for step in (
        ("create case", case),
        ("watch add", "W1"),
        ("read alerts", None),
        ("add to case", case),
        ("case note", case),
        ("read case", case),
        ("mark alerts read", None),
        ("read ad", "boardM:m2"),
    ):
        assert step in done, step
    assert sum(action == "push" for action, _ in done) == 2
