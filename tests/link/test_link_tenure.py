"""Phone tenures: a recycled number links each holder's ads, never two holders together."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_link import ALWAYS_INCREMENTAL, independents, ingest_and_link, networks, persons, phone, write_ads

from threadline.engine import DuckDBEngine
from threadline.ingest import ingest_file
from threadline.link import LinkParams, link
from threadline.link.decisions import mark_hub
from threadline.link.steps import _phone_tenures
from threadline.store import Store

START = datetime(2026, 8, 1, 18, 0, tzinfo=UTC)
RECYCLED = phone(42)  # (713) 555-0142
NUMBER = "+17135550142"
HOLDERS = {
    # Two holders of one number, written differently so that only the number could join them.
    "Mia": "Sweet and discreet, new pics. Incall near the airport.",
    "Ruby": "Outcall only, no rush. Upscale gentlemen preferred.",
}


def at(day: float) -> str:
    return (START + timedelta(days=day)).isoformat()


def dated_ad(
    ad_id: str, name: str, day: float | None, *, number: str = RECYCLED, when: str = "posted_at", **extra: Any
) -> dict[str, Any]:
    """An ad of ``name`` showing ``number``, posted (or only captured) ``day`` days after START."""
    ad: dict[str, Any] = {
        "id": ad_id,
        "source": "site",
        "title": f"{name} is back",
        "body": f"I'm {name}. {HOLDERS[name]} Call {number}",
        "location": "Houston, TX",
        **extra,
    }
    if day is not None:
        ad[when] = at(day)
    return ad


def phone_values(store: Store) -> list[tuple[str, int, bool, str | None]]:
    return sorted(
        store.connection.execute(
            "SELECT value, ads, is_hub, marked_by FROM link_hubs WHERE kind = 'phone' AND value LIKE ?",
            [NUMBER + "%"],
        ).fetchall()
    )


def test_a_recycled_number_does_not_link_its_two_holders(tmp_path: Path) -> None:
    ads = [dated_ad(f"mia-{d}", "Mia", d) for d in (0, 3, 7)]
    ads += [dated_ad(f"ruby-{d}", "Ruby", d) for d in (80, 84)]  # 73 days of silence between them
    corpus = write_ads(tmp_path / "ads.jsonl", ads)
    with ingest_and_link(tmp_path, "s", corpus) as store:
        net = networks(store)
        assert net["mia-0"] == net["mia-3"] == net["mia-7"]
        assert net["ruby-80"] == net["ruby-84"]
        assert net["mia-0"] != net["ruby-80"]
        # Evidence (what `threadline explain` shows) names the number and when its holder began.
        evidence = store.connection.execute(
            "SELECT network, kind, value, ads FROM link_evidence ORDER BY value"
        ).fetchall()
        assert evidence == [
            (net["mia-0"], "phone", f"{NUMBER} from 2026-08-01", 3),
            (net["ruby-80"], "phone", f"{NUMBER} from 2026-10-20", 2),
        ]
        assert phone_values(store) == [
            (f"{NUMBER} from 2026-08-01", 3, False, None),
            (f"{NUMBER} from 2026-10-20", 2, False, None),
        ]
    # With a gap longer than the silence, the number is one identifier again: one network.
    long_gap = LinkParams(phone_tenure_gap_days=90)
    with ingest_and_link(tmp_path, "long", corpus, params=long_gap) as store:
        assert len(set(networks(store).values())) == 1


@pytest.mark.parametrize(("pause", "tenures"), [(44.9, 1), (45, 2)])
def test_a_holder_pausing_less_than_the_gap_keeps_one_tenure(
    tmp_path: Path, pause: float, tenures: int
) -> None:
    days = [0, 5, 5 + pause, 8 + pause]
    ads = [dated_ad(f"mia-{i}", "Mia", d) for i, d in enumerate(days)]
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        assert len(phone_values(store)) == tenures
        net = networks(store)
        assert len(set(net.values())) == tenures
        # The same woman all along: her name joins her persons inside each network only.
        assert len(set(persons(store).values())) == tenures


def test_hub_marks_apply_to_every_tenure_of_the_number(tmp_path: Path) -> None:
    ads = [dated_ad(f"mia-{d}", "Mia", d) for d in (0, 3, 7)]
    ads += [dated_ad(f"ruby-{d}", "Ruby", d) for d in (80, 84)]
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        con = store.connection
        # The analyst marks the plain number (as extracted, as `mark-hub` takes it).
        mark_hub(con, "phone", NUMBER, is_hub=True, analyst="kim")
        link(con)
        assert phone_values(store) == [
            (f"{NUMBER} from 2026-08-01", 3, True, "kim"),
            (f"{NUMBER} from 2026-10-20", 2, True, "kim"),
        ]
        assert len(set(networks(store).values())) == 5  # nothing links through the number now
        # A mark of one tenure (its value, as `hubs` lists it) wins over the number's.
        mark_hub(con, "phone", f"{NUMBER} from 2026-08-01", is_hub=False, analyst="lee")
        link(con)
        assert phone_values(store) == [
            (f"{NUMBER} from 2026-08-01", 3, False, "lee"),
            (f"{NUMBER} from 2026-10-20", 2, True, "kim"),
        ]
        net = networks(store)
        assert net["mia-0"] == net["mia-3"] == net["mia-7"]
        assert net["ruby-80"] != net["ruby-84"]


def test_undated_ads_are_placed_by_capture_time_or_kept_apart(tmp_path: Path) -> None:
    ads = [
        dated_ad("mia-0", "Mia", 0),
        dated_ad("mia-captured", "Mia", 4, when="captured_at"),  # no posting time: capture time
        dated_ad("ruby-80", "Ruby", 80),
        dated_ad("undated-a", "Ruby", None),  # no time at all
        dated_ad("undated-b", "Mia", None),
    ]
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        net = networks(store)
        assert net["mia-0"] == net["mia-captured"]
        # Which holder an undated ad belongs to is unknown: undated ads link only each other.
        assert net["undated-a"] == net["undated-b"]
        assert len({net["mia-0"], net["ruby-80"], net["undated-a"]}) == 3
        assert [v for v, *_ in phone_values(store)] == [
            NUMBER,
            f"{NUMBER} from 2026-08-01",
            f"{NUMBER} from 2026-10-20",
        ]


def test_tenure_gap_must_be_whole_days(tmp_path: Path) -> None:
    corpus = write_ads(tmp_path / "ads.jsonl", [dated_ad("mia-0", "Mia", 0)])
    with pytest.raises(ValueError, match="phone_tenure_gap_days"):
        ingest_and_link(tmp_path, "s", corpus, params=LinkParams(phone_tenure_gap_days=0))


def _snapshot(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    con = store.connection
    links = sorted(con.execute("SELECT source, id, version, network, person FROM ad_links").fetchall())
    evidence = sorted(con.execute("SELECT * FROM link_evidence").fetchall(), key=repr)
    return links, evidence


def _by_members(
    snapshot: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The snapshot with each network and person named by its first member instead of its id."""
    links, evidence = snapshot
    first: dict[str, tuple[str, str]] = {}
    for source, ad_id, _, network, person in links:
        for group in (network, person):
            first[group] = min(first.get(group, (source, ad_id)), (source, ad_id))
    renamed = sorted((s, i, v, first[n], first[p]) for s, i, v, n, p in links)
    return renamed, sorted(((first.get(row[0], row[0]), *row[1:]) for row in evidence), key=repr)


def test_incremental_runs_equal_full_runs_as_late_ads_extend_bridge_and_split_tenures(tmp_path: Path) -> None:
    background = list(independents(30))  # undated independents behind a site footer (a hub)
    steps: list[list[dict[str, Any]]] = [
        # Two holders of the number, 80 days apart.
        background[:20]
        + [dated_ad(f"mia-{d}", "Mia", d) for d in (0, 3, 10)]
        + [dated_ad(f"ruby-{d}", "Ruby", d) for d in (90, 95)],
        # Late arrivals: an older ad of Mia's (her tenure now begins earlier: a new name for it),
        # a newer one of Ruby's, an ad of a holder long before both, and more background.
        [
            dated_ad("mia-old", "Mia", -30),
            dated_ad("ruby-late", "Ruby", 130),
            dated_ad("first-holder", "Ruby", -200),
            *background[20:25],
        ],
        # An ad posted in the silence: the number was never silent for 45 days, one tenure.
        [dated_ad("bridge", "Ruby", 50)],
        # ... until that ad is edited to show another number: two tenures again.
        [dated_ad("bridge", "Ruby", 50, number=phone(43)), *background[25:]],
    ]
    files = [write_ads(tmp_path / f"step{k}.jsonl", ads) for k, ads in enumerate(steps)]
    labels = []
    with Store.open(tmp_path / "daily.duckdb") as daily:
        for k, f in enumerate(files):
            ingest_file(f, daily, workers=0)
            report = link(daily.connection, ALWAYS_INCREMENTAL)
            incremental = _snapshot(daily)
            labels.append([v for v, *_ in phone_values(daily)])
            net = networks(daily)
            assert (net["mia-0"] == net["ruby-90"]) == (k == 2), k
            assert k == 0 or net["first-holder"] not in {net["mia-0"], net["ruby-90"]}
            if k:
                assert report.relinked < report.ads  # the background was not clustered again
            full = link(daily.connection, ALWAYS_INCREMENTAL, full=True)
            assert full.relinked == full.ads
            assert _snapshot(daily) == incremental, k
        final = _snapshot(daily)
    first = f"{NUMBER} from 2026-01-13"
    assert labels == [
        [f"{NUMBER} from 2026-08-01", f"{NUMBER} from 2026-10-30"],
        [first, f"{NUMBER} from 2026-07-02", f"{NUMBER} from 2026-10-30"],
        [first, f"{NUMBER} from 2026-07-02"],
        [first, f"{NUMBER} from 2026-07-02", f"{NUMBER} from 2026-10-30"],
    ]
    # ... and the same groups as one run over everything (a new store names each group by its
    # first ad; the daily store's ids follow its history, link/lineage.py).
    with ingest_and_link(tmp_path, "batch", *files, params=ALWAYS_INCREMENTAL) as batch:
        assert _by_members(_snapshot(batch)) == _by_members(final)


class _WindowEngine(DuckDBEngine):
    """DuckDB running the steps as an engine without as-of joins would (Spark: a window)."""

    dialect = "window"


def test_the_as_of_join_gives_the_tenures_a_running_window_gives() -> None:
    # DuckDB places each sighting in its tenure with an as-of join; other engines with a running
    # maximum. Random sightings, with many at one instant and silences around the gap, must come
    # out the same both ways (and the gap must matter: several tenures per number).
    rng = random.Random(11)
    rows = []
    for ad_key in range(3000):
        number = f"+1713555{rng.randrange(300):04d}"
        day = rng.choice([rng.randrange(0, 900), rng.randrange(0, 900) + 0.5, 45 * rng.randrange(20)])
        seen = None if rng.random() < 0.05 else START.replace(tzinfo=None) + timedelta(days=day)
        rows.append((ad_key, "phone", number, seen))
        if rng.random() < 0.1:
            rows.append((ad_key, "email", f"x{ad_key % 7}@example.com", seen))
    got = []
    for engine_type in (DuckDBEngine, _WindowEngine):
        con = duckdb.connect()
        con.execute(
            "CREATE TEMP TABLE link_sightings (ad_key BIGINT, kind VARCHAR, plain VARCHAR, seen_at TIMESTAMP)"
        )
        con.executemany("INSERT INTO link_sightings VALUES (?, ?, ?, ?)", rows)
        _phone_tenures(engine_type(con), LinkParams())
        got.append(sorted(con.execute("SELECT * FROM link_ids").fetchall(), key=repr))
    assert got[0] == got[1]
    tenures = {value for _, kind, value, _ in got[0] if kind == "phone" and " from " in value}
    assert len(tenures) > 2 * len({number for _, kind, number, _ in rows if kind == "phone"})
