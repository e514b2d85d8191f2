"""The watchlist and the inbox in Debian's chromium (issue 16): an analyst adds a missing person
with a photo through the watchlist's form; a crawler pushes an ad carrying that photo (cropped and
saved again as JPEG) and another with her nickname and age; both alerts are in the inbox, each
saying why it matched, and the count in the bar goes down as she reads them. A real server on a
store of its own; the browser fixtures are `test_pages`'. Generated pictures, made-up names,
numbers from the fictional 555-01xx range (docs/DESIGN.md section 4)."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import test_pages
from PIL import Image
from server_support import serving
from test_pages import PASSWORD, Server, _screenshot

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor

ADMIN = Actor("root", "os-user", "cli")
PUSH: list[str] = []

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


def test_a_missing_persons_photo_and_nickname_with_age_raise_alerts_in_the_inbox(
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

    tab.goto("/watchlist")
    tab.select_option("#watch-kind", "missing")
    tab.fill("textarea[name=names]", "Rosalind\nRoz")
    tab.fill("input[name=age_min]", "15")
    tab.fill("input[name=age_max]", "17")
    tab.fill("input[name=note]", "reported missing, family contact")
    tab.set_input_files("input[name=photo]", str(tmp_path / "rosalind.png"))
    tab.click("form.watch-form button[type=submit]")
    tab.wait_for_url("**/watchlist?added=W1*")
    assert "W1 added" in tab.inner_text("main")
    row = tab.inner_text("table.watchlist tbody tr")
    assert "missing person" in row and "Rosalind, Roz" in row and "age 15–17" in row and "photo" in row
    _screenshot(tab, shots, "watchlist.png")

    # A crawler pushes three ads: her photo cropped and saved again as JPEG (no name), her
    # nickname with her age, and the nickname alone (which must not alert).
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
                "body": "Hi I'm Roz, 16 years old. 305-555-0132",
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
    _screenshot(tab, shots, "alerts.png")

    # Read one: the count in the bar goes down, and the link a delivery carries shows it.
    tab.locator("table.alerts tbody tr").first.locator("button", has_text="Mark read").click()
    tab.wait_for_url("**/alerts?marked=1")
    assert tab.inner_text("#unread-alerts") == "1"
    tab.goto("/alerts/A1")
    assert "Alert A1" in tab.inner_text("h1")
    assert dialogs == []
