"""Watchlists (issue 16): which ads raise which alerts, and why.

Ads are ingested into a real store (extraction in this process) and matched as `Store.write_batch`
stores them; entries made later are matched once against what is stored. Made-up names, numbers
from the fictional 555-01xx range, generated pictures (docs/DESIGN.md section 4)."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from threadline import watch
from threadline.ingest import ingest_file
from threadline.store import Store
from threadline.store.schema import utc_now


def picture(seed: int, size: int = 320) -> Image.Image:
    """A generated picture: smooth colour blobs (no person)."""
    rng = np.random.default_rng(seed)
    base = (rng.random((12, 12, 3)) * 255).astype(np.uint8)
    return Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def cropped_jpeg(img: Image.Image, path: Path) -> Path:
    """The picture cropped by a few pixels on each side and saved again as JPEG."""
    w, h = img.size
    img.crop((6, 5, w - 4, h - 6)).save(path, format="JPEG", quality=80)
    return path


def ad(n: int, body: str, **more: Any) -> dict[str, Any]:
    return {"id": f"a{n}", "source": "boardW", "title": f"Listing {n}", "body": body, **more}


def ingest(store: Store, folder: Path, records: list[dict[str, Any]], name: str = "ads") -> None:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    ingest_file(path, store, workers=0)


def alerts_of(store: Store, entry: watch.Entry) -> dict[str, tuple[str, ...]]:
    found, _ = watch.alerts(store.connection, "tester", limit=500)
    return {a.ad: a.parts for a in found if a.entry == entry.entry}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store.open(tmp_path / "store.duckdb") as s:
        yield s


def test_a_phone_written_differently_matches(store: Store, tmp_path: Path) -> None:
    entry, raised = watch.add_entry(
        store.connection, "identifiers", {"values": ["(713) 555-0143", "@lexi_xo"]}, owner="tester"
    )
    assert raised == []  # nothing stored yet
    ingest(
        store,
        tmp_path,
        [
            ad(1, "call 713.555.0143 now"),
            ad(2, "text +1 713 555 0143"),
            ad(3, "text 713 555 0144, a different number"),
            ad(4, "insta @lexi_xo for pics"),
        ],
    )
    found = alerts_of(store, entry)
    assert set(found) == {"boardW:a1", "boardW:a2", "boardW:a4"}
    assert found["boardW:a1"] == ("identifier",)
    [first] = [a for a in watch.alerts(store.connection, "tester")[0] if a.ad == "boardW:a1"]
    assert first.why == ({"part": "identifier", "value": "+17135550143"},)


def test_a_nickname_alone_does_not_alert_but_with_the_age_range_it_does(store: Store, tmp_path: Path) -> None:
    entry, _ = watch.add_entry(
        store.connection,
        "missing",
        {"names": ["Rosalind", "Roz"], "age_min": 15, "age_max": 17},
        owner="tester",
    )
    ingest(
        store,
        tmp_path,
        [
            ad(1, "Hi I'm Roz, sweet and fun. Call 212-555-0101"),  # the nickname alone
            ad(2, "Hi I'm Roz, 16 years old, new here. Call 212-555-0102"),  # nickname and age
            ad(3, "Hi I'm Roz, 34 years old. Call 212-555-0103"),  # age outside the range
            ad(4, "Hi I'm Tamsin, 16 years old. Call 212-555-0104"),  # the age alone
        ],
    )
    found = alerts_of(store, entry)
    assert set(found) == {"boardW:a2"}
    assert found["boardW:a2"] == ("age", "name")


def test_a_name_with_the_last_known_place_matches(store: Store, tmp_path: Path) -> None:
    entry, _ = watch.add_entry(
        store.connection, "missing", {"names": ["Roz"], "place": "Houston, TX"}, owner="tester"
    )
    ingest(
        store,
        tmp_path,
        [
            ad(1, "Hi I'm Roz. Call 212-555-0111", location="Houston, TX"),
            ad(2, "Hi I'm Roz. Call 212-555-0112", location="Denver, CO"),
        ],
    )
    assert alerts_of(store, entry) == {"boardW:a1": ("name", "place")}


def test_a_photo_cropped_and_saved_again_as_jpeg_still_matches(store: Store, tmp_path: Path) -> None:
    original = picture(seed=3)
    entry, _ = watch.add_entry(
        store.connection, "photo", {"photo": base64.b64encode(png_bytes(original)).decode()}, owner="tester"
    )
    cropped_jpeg(original, tmp_path / "seen.jpg")
    picture(seed=99).save(tmp_path / "other.jpg", format="JPEG")
    ingest(
        store,
        tmp_path,
        [ad(1, "new pics", images=["seen.jpg"]), ad(2, "other pics", images=["other.jpg"])],
    )
    found = alerts_of(store, entry)
    assert set(found) == {"boardW:a1"}
    [alert] = [a for a in watch.alerts(store.connection, "tester")[0] if a.entry == entry.entry]
    assert alert.why[0]["part"] == "photo" and "PDQ distance" in alert.why[0]["value"]


def test_a_missing_persons_photo_matches_alone(store: Store, tmp_path: Path) -> None:
    original = picture(seed=5)
    entry, _ = watch.add_entry(
        store.connection,
        "missing",
        {
            "names": ["Roz"],
            "age_min": 15,
            "age_max": 17,
            "photo": base64.b64encode(png_bytes(original)).decode(),
        },
        owner="tester",
    )
    cropped_jpeg(original, tmp_path / "seen.jpg")
    ingest(store, tmp_path, [ad(1, "no names here, call 212-555-0121", images=["seen.jpg"])])
    assert alerts_of(store, entry) == {"boardW:a1": ("photo",)}


def test_a_new_entry_is_matched_once_against_the_archive(store: Store, tmp_path: Path) -> None:
    ingest(store, tmp_path, [ad(1, "call 646-555-0150"), ad(2, "call 646-555-0151")])
    entry, raised = watch.add_entry(
        store.connection, "identifiers", {"values": ["6465550150"]}, owner="tester"
    )
    assert len(raised) == 1
    assert set(alerts_of(store, entry)) == {"boardW:a1"}
    # The same ad arriving again, or in a new version, raises no second alert.
    ingest(store, tmp_path, [ad(1, "call 646-555-0150 today only")], name="again")
    assert len(watch.alerts(store.connection, "tester")[0]) == 1


def test_a_saved_search_needs_every_part_it_gives(store: Store, tmp_path: Path) -> None:
    entry, _ = watch.add_entry(
        store.connection,
        "search",
        {"words": "new girl", "place": "Houston", "age_min": 18, "age_max": 20},
        owner="tester",
    )
    ingest(
        store,
        tmp_path,
        [
            ad(1, "new girl, 19 years old", location="Houston, TX"),
            ad(2, "new girl, 19 years old", location="Denver, CO"),
            ad(3, "new girl, 25 years old", location="Houston, TX"),
            ad(4, "a girl, 19 years old", location="Houston, TX"),
        ],
    )
    assert set(alerts_of(store, entry)) == {"boardW:a1"}
    with pytest.raises(ValueError, match="needs words, a place or a name"):
        watch.add_entry(store.connection, "search", {"age_min": 18, "age_max": 20}, owner="tester")


def test_removed_and_expired_entries_raise_nothing(store: Store, tmp_path: Path) -> None:
    kept, _ = watch.add_entry(store.connection, "identifiers", {"values": ["212-555-0160"]}, owner="tester")
    removed, _ = watch.add_entry(
        store.connection, "identifiers", {"values": ["212-555-0160"]}, owner="tester"
    )
    watch.remove_entry(store.connection, removed.entry, by="tester", may_others=False)
    watch.add_entry(
        store.connection,
        "identifiers",
        {"values": ["212-555-0160"]},
        owner="tester",
        expires_at=utc_now() + timedelta(milliseconds=1),
    )
    with pytest.raises(PermissionError):
        watch.remove_entry(store.connection, kept.entry, by="someone else", may_others=False)
    ingest(store, tmp_path, [ad(1, "call 212-555-0160")])
    assert {a.entry for a in watch.alerts(store.connection, "tester")[0]} == {kept.entry}


def test_alerts_are_read_per_user(store: Store, tmp_path: Path) -> None:
    watch.add_entry(store.connection, "identifiers", {"values": ["212-555-0170"]}, owner="tester")
    ingest(store, tmp_path, [ad(1, "call 212-555-0170"), ad(2, "or 212.555.0170")])
    assert watch.unread_count(store.connection, "ana") == 2
    [first, _] = watch.alerts(store.connection, "ana")[0]
    assert watch.mark_read(store.connection, [first.alert], "ana") == 1
    assert watch.mark_read(store.connection, [first.alert], "ana") == 0
    assert watch.unread_count(store.connection, "ana") == 1
    assert watch.unread_count(store.connection, "ben") == 2
    with pytest.raises(LookupError):
        watch.mark_read(store.connection, [999], "ana")


def test_rule_table() -> None:
    assert not watch.rule("missing", [], {"name"})
    assert watch.rule("missing", [], {"name", "date"})
    assert not watch.rule("missing", [], {"age", "place"})
    assert watch.rule("missing", [], {"photo"})
    assert not watch.rule("search", ["place", "word:new"], {"place"})
    assert watch.rule("search", ["place", "word:new"], {"place", "word:new", "age"})


def test_an_entrys_case_is_an_open_case(store: Store) -> None:
    from threadline.link.cases import create_case, set_status

    con = store.connection
    open_case = create_case(con, "Rosalind", analyst="tester")
    closed = create_case(con, "Done with", analyst="tester")
    set_status(con, closed, "closed")
    made, _ = watch.add_entry(
        con, "identifiers", {"values": ["212-555-0181"]}, owner="tester", case_id=f"c{open_case}"
    )
    assert (made.case_id, made.case_ref) == (f"C{open_case}", f"C{open_case}")
    for wrong, said in (
        ("C99", "no case C99"),
        (f"C{closed}", "closed"),
        ("N3", "not a case"),
        ("7", "bare"),
    ):
        with pytest.raises(ValueError, match=said):
            watch.add_entry(con, "identifiers", {"values": ["212-555-0182"]}, owner="tester", case_id=wrong)
    assert [e.entry for e in watch.entries(con)] == [made.entry]  # nothing stored for the refused
    assert watch.case_ref("a case from before cases") is None


def test_a_case_has_the_alerts_of_its_entries_and_of_its_ads(store: Store, tmp_path: Path) -> None:
    from threadline.link.cases import add_ads, create_case

    con = store.connection
    watched, holding, other = (create_case(con, name, analyst="tester") for name in ("W", "H", "O"))
    by_case, _ = watch.add_entry(
        con, "identifiers", {"values": ["212-555-0183"]}, owner="tester", case_id=f"C{watched}"
    )
    plain, _ = watch.add_entry(con, "identifiers", {"values": ["212-555-0184"]}, owner="tester")
    ingest(store, tmp_path, [ad(1, "call 212-555-0183"), ad(2, "call 212-555-0184"), ad(3, "nothing")])
    add_ads(con, holding, [("boardW", "a2"), ("boardW", "a3")], analyst="tester")
    add_ads(con, watched, [("boardW", "a1")], analyst="tester")

    def shown(case: int, user: str = "ana") -> tuple[list[tuple[str, int, bool, bool, bool]], int, int]:
        found, total, unread = watch.case_alerts(con, case, user)
        return [(c.alert.ad, c.alert.entry, c.by_entry, c.by_ad, c.alert.read) for c in found], total, unread

    assert shown(watched) == ([("boardW:a1", by_case.entry, True, True, False)], 1, 1)
    assert shown(holding) == ([("boardW:a2", plain.entry, False, True, False)], 1, 1)
    assert shown(other) == ([], 0, 0)
    [alert] = watch.case_alerts(con, holding, "ana")[0]
    watch.mark_read(con, [alert.alert.alert], "ana")
    assert shown(holding)[1:] == (1, 0) and shown(holding, "ben")[1:] == (1, 1)
