"""A number beside unrelated numbers (an agency's footer on a small corpus) is a weak link; a
booker's number beside its workers' related numbers stays a strong one (`steps.phone_groups`)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from test_link import _groups, write_ads

from threadline import read
from threadline.ingest import ingest_file
from threadline.link import LinkParams, link
from threadline.link.decisions import clear_hub_mark, mark_hub
from threadline.store import Store

ALWAYS_INCREMENTAL = LinkParams(incremental_max_share=1.0)
AGENCY = "+17135550142"
BOOKER = "+18325550177"
ADVERTISERS = [  # (name, own number, city, her own words)
    ("Mia", "(214) 555-0101", "Dallas, TX", "Sweet and classy"),
    ("Ruby", "(303) 555-0102", "Denver, CO", "Fun and bubbly"),
    ("Luna", "(305) 555-0103", "Miami, FL", "Quiet evenings only"),
    ("Nina", "(404) 555-0104", "Atlanta, GA", "Tall brunette, new here"),
    ("Rose", "(206) 555-0105", "Seattle, WA", "Visiting for a week"),
]
WORKERS = ["Jade", "Gia", "Zoe", "Ivy", "Kim", "Tia"]
# The operation's template: one writer, every worker's ads, in the same order.
TEMPLATE = [
    "Brand new girls arrive every single week at our place",
    "Private upscale location with secure parking downstairs",
    "Outcalls to every hotel in the area around the clock",
    "Reservations are confirmed by the front desk only",
    "Generous gentlemen are always treated like royalty here",
    "Specials for regulars on weekday afternoons this month",
    "Ask about our two girl specials when you call",
    "No rush services and total discretion are guaranteed",
    "Serious inquiries only please and no time wasters",
    "Please have your full name ready when calling us",
    "We also see couples who are respectful and clean",
    "Come see why our clients always come back again",
]


def _advertisers() -> list[dict[str, Any]]:
    """Five unrelated advertisers: own number, name, city and words; each prints the agency's
    footer number under her ads."""
    ads = []
    for i, (name, number, city, words) in enumerate(ADVERTISERS):
        for k in range(3):
            ads.append(
                {
                    "id": f"adv{i}-{k}",
                    "source": "site",
                    "title": f"{name}: {words}",
                    "body": f"Hi, I'm {name}. {words}. Text me at {number}. "
                    f"Listed by our agency, call +1 713 555 0142 for bookings.",
                    "location": city,
                }
            )
    return ads


def _operation() -> list[dict[str, Any]]:
    """Six workers, each with her own number, in six cities; every ad shows the booker's number
    and the operation's template."""
    ads = []
    for w, name in enumerate(WORKERS):
        for k in range(2):
            ads.append(
                {
                    "id": f"op-{w}-{k}",
                    "source": "site",
                    "title": f"{name} is here",
                    "body": f"{name} here, my line is (917) 555-01{20 + w}. "
                    + ". ".join(TEMPLATE)
                    + ". Book through the manager at (832) 555-0177.",
                    "location": [
                        "Houston, TX",
                        "Austin, TX",
                        "Chicago, IL",
                        "Boston, MA",
                        "Reno, NV",
                        "Tulsa, OK",
                    ][w],
                }
            )
    return ads


def _others(n: int) -> list[dict[str, Any]]:
    """Independents who share nothing with anyone (the archive around the two cases)."""
    return [
        {
            "id": f"ind-{i}",
            "source": "site",
            "title": f"Independent number {i}",
            "body": f"Call {i} at (512) 555-01{50 + i}. Always on time.",
            "location": "Austin, TX",
        }
        for i in range(n)
    ]


def _networks(store: Store) -> dict[str, str]:
    return dict(store.connection.execute("SELECT id, network FROM ad_links").fetchall())


def _corpus(tmp_path: Path) -> Path:
    return write_ads(tmp_path / "ads.jsonl", _advertisers() + _operation() + _others(30))


def test_a_footer_number_beside_unrelated_advertisers_glues_none_of_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(_corpus(tmp_path), store, workers=0)
        link(store.connection)
        net = _networks(store)
        # Beside five numbers, far below the 20 of a hub: once a strong link, it made one network.
        assert len({net[f"adv{i}-{k}"] for i in range(5) for k in range(3)}) == 5
        assert all(len({net[f"adv{i}-{k}"] for k in range(3)}) == 1 for i in range(5))
        hub = store.connection.execute(
            "SELECT co_phones, is_hub FROM link_hubs WHERE kind = 'phone' AND value LIKE ?", [AGENCY + "%"]
        ).fetchall()
        assert hub == [(5, False)]
        # The run says why: in each advertiser's network, the number and its five groups.
        reasons = store.connection.execute(
            "SELECT network, detail FROM link_evidence WHERE kind = 'weak_phone' AND value LIKE ?",
            [AGENCY + "%"],
        ).fetchall()
        assert {n for n, _ in reasons} == {net[f"adv{i}-0"] for i in range(5)}
        assert all("5 unrelated groups" in detail for _, detail in reasons)
        # `hubs` lists it with that reason, after the hubs.
        [listed] = [h for h in read.hubs(store.connection, limit=None) if h.value.startswith(AGENCY)]
        assert not listed.is_hub and listed.weak and "5 unrelated groups" in listed.weak


def test_a_booker_beside_related_workers_joins_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(_corpus(tmp_path), store, workers=0)
        link(store.connection)
        net = _networks(store)
        # Six workers' numbers beside the booker's, joined to each other by the template.
        assert len({net[f"op-{w}-{k}"] for w in range(6) for k in range(2)}) == 1
        assert net["op-0-0"] not in {net[f"adv{i}-0"] for i in range(5)}
        weak = store.connection.execute(
            "SELECT value FROM link_evidence WHERE kind = 'weak_phone' AND value LIKE ?", [BOOKER + "%"]
        ).fetchall()
        assert weak == []


def test_an_analysts_mark_overrides_the_groups(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(_corpus(tmp_path), store, workers=0)
        link(store.connection)
        # "Not a hub": trusted, a strong link again: the five advertisers are one network.
        mark_hub(store.connection, "phone", AGENCY, analyst="ana", is_hub=False)
        link(store.connection)
        net = _networks(store)
        assert len({net[f"adv{i}-0"] for i in range(5)}) == 1
        # A hub: never used for linking.
        mark_hub(store.connection, "phone", AGENCY, analyst="ana", is_hub=True)
        link(store.connection)
        net = _networks(store)
        assert len({net[f"adv{i}-0"] for i in range(5)}) == 5
        assert store.connection.execute(
            "SELECT COUNT(*) FROM link_evidence WHERE kind = 'weak_phone'"
        ).fetchall() == [(0,)]


def test_incremental_runs_equal_a_full_run(tmp_path: Path) -> None:
    # The footer number becomes weak only on the third day (three advertisers beside it), and
    # the operation's workers arrive one day apart.
    ads = _advertisers() + _operation() + _others(30)
    random.Random(3).shuffle(ads)
    days = [write_ads(tmp_path / f"day{d}.jsonl", ads[d * 19 : (d + 1) * 19]) for d in range(3)]
    with Store.open(tmp_path / "daily.duckdb") as store:
        for day in days:
            ingest_file(day, store, workers=0)
            link(store.connection, ALWAYS_INCREMENTAL)
        incremental = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        evidence = sorted(store.connection.execute("SELECT * FROM link_evidence").fetchall())
        link(store.connection, ALWAYS_INCREMENTAL, full=True)
        full = store.connection.execute("SELECT source, id, network, person FROM ad_links").fetchall()
        assert sorted(full) == sorted(incremental)
        assert sorted(store.connection.execute("SELECT * FROM link_evidence").fetchall()) == evidence
    assert len(_groups(full)[0]) == 5 + 1 + 30


def test_a_number_that_turns_strong_joins_holders_no_change_touched(tmp_path: Path) -> None:
    # A booker's number beside three workers whose only other tie is one e-mail address in one
    # ad each. While an analyst calls the address a hub, the workers are unrelated and the number
    # weak; once the mark is cleared, the number is strong again and joins every ad that shows
    # it, also those (the booker's own ads) that neither show the address nor changed.
    ads = [
        {
            "id": f"w{w}-{k}",
            "source": "site",
            "title": f"{name} tonight",
            "body": f"{name} here, call me at (917) 555-01{30 + w} or the desk (832) 555-0177."
            + (" Write to desk.bookings@example.org" if k == 0 else ""),
            "location": ["Houston, TX", "Chicago, IL", "Reno, NV"][w],
        }
        for w, name in enumerate(["Jade", "Gia", "Zoe"])
        for k in range(2)
    ]
    ads += [
        {"id": f"desk-{k}", "source": "site", "body": "Call the desk (832) 555-0177 now."} for k in range(2)
    ]
    ads += _others(10)
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(write_ads(tmp_path / "a.jsonl", ads), store, workers=0)
        mark_hub(store.connection, "email", "desk.bookings@example.org", analyst="ana", is_hub=True)
        link(store.connection, ALWAYS_INCREMENTAL)
        net = _networks(store)
        assert len({net[f"w{w}-0"] for w in range(3)}) == 3
        clear_hub_mark(store.connection, "email", "desk.bookings@example.org", analyst="ana")
        link(store.connection, ALWAYS_INCREMENTAL)
        incremental = sorted(store.connection.execute("SELECT id, network, person FROM ad_links").fetchall())
        link(store.connection, ALWAYS_INCREMENTAL, full=True)
        full = sorted(store.connection.execute("SELECT id, network, person FROM ad_links").fetchall())
        assert full == incremental
        net = _networks(store)
        assert (
            len({net[f"w{w}-{k}"] for w in range(3) for k in range(2)} | {net["desk-0"], net["desk-1"]}) == 1
        )


def test_one_holder_has_two_numbers_even_where_most_numbers_stand_alone(tmp_path: Path) -> None:
    # An archive where nearly every number is alone in its ads (the median holder is beside no
    # other number), and a booking line whose ads show, once, the number it replaced ("NEW
    # NUMBER ... (old ...)") and, once, a worker's own number: two groups. One holder's numbers
    # are two at least (call and text, an old number and its new one), so that is no more than
    # one holder's and the line stays a strong link: its eight ads are one network.
    words = ["Sweet", "Classy", "Quiet", "Bubbly", "Tall", "Petite", "Curvy", "Shy"]
    booking = [
        {
            "id": f"book-{i}",
            "source": "site",
            "title": f"{word} girl in Dallas",
            "body": f"{word} and {words[i - 1].lower()} {i}. Call (469) 555-0160.",
            "location": "Dallas, TX",
            "posted_at": f"2026-03-{10 + i:02d}T20:00:00Z",
        }
        for i, word in enumerate(words)
    ]
    booking[0]["body"] += " NEW NUMBER, old (972) 555-0187."
    booking[1]["body"] += " My own line (214) 555-0190."
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(write_ads(tmp_path / "ads.jsonl", booking + _others(30)), store, workers=0)
        link(store.connection)
        net = _networks(store)
        assert len({net[f"book-{i}"] for i in range(8)}) == 1
        assert len({net[f"ind-{i}"] for i in range(30)}) == 30
        [(params,)] = store.connection.execute("SELECT params FROM link_runs").fetchall()
        assert '"text_own_holders": 2' in params
        weak = store.connection.execute(
            "SELECT value FROM link_evidence WHERE kind = 'weak_phone' AND value LIKE '+14695550160%'"
        ).fetchall()
        assert weak == []
