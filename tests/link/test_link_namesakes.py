"""Persons inside an operation joined by the name a woman works under (`steps._namesakes`).

Written by hand, not by the generator: an operation whose booking number changes at each stop,
four women posting at each, one number per stop, and a manager's "new number" ads that carry two
stops' numbers and so hold the operation together as one network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_link import ALWAYS_INCREMENTAL, ingest_and_link, networks, persons, write_ads

from threadline.ingest import ingest_file
from threadline.link import link
from threadline.store import Store

FOOTER = "All advertisers are adults."
# Stops: (city, day, booking number). Troy twice: the operation came back with a new number.
STOPS = [
    ("Troy, MI", 1, "(248) 555-0131"),
    ("Miami, FL", 10, "(305) 555-0172"),
    ("Troy, MI", 20, "(248) 555-0188"),
]


def ad(ad_id: str, name: str, stop: int, k: int, age: int | None = None) -> dict[str, Any]:
    city, day, number = STOPS[stop]
    stated = f" {age} years young." if age else ""
    return {
        "id": ad_id,
        "source": "site",
        "posted_at": f"2026-09-{day + k:02d}T20:00:00Z",
        "title": f"{name} new in town",
        "body": f"Hey guys, my name is {name}.{stated} Text {number} to book. {FOOTER}",
        "location": city,
    }


def operation(stops: range) -> list[dict[str, Any]]:
    ads = []
    for stop in stops:
        for k in range(2):
            # Alexis states no age anywhere: only Troy, twice, says she is one woman.
            ads.append(ad(f"alexis-{stop}-{k}", "Alexis", stop, k))
            # Mia is 22 in Troy and Miami, and 30 when the operation is back in Troy: two women
            # who were given one name.
            ads.append(ad(f"mia-{stop}-{k}", "Mia", stop, k, age=30 if stop == 2 else 22))
            # Luna states no age and never comes back to a city: nothing says she is one woman.
            if stop < 2:
                ads.append(ad(f"luna-{stop}-{k}", "Luna", stop, k))
    for stop in stops:
        if stop:  # the manager's notice carries the old number and the new one
            _, day, new = STOPS[stop]
            old = STOPS[stop - 1][2]
            ads.append(
                {
                    "id": f"notice-{stop}",
                    "source": "site",
                    "posted_at": f"2026-09-{day:02d}T08:00:00Z",
                    "title": "New number",
                    "body": f"Our girls have a new number: {new} (not {old} anymore). {FOOTER}",
                    "location": STOPS[stop][0],
                }
            )
    return ads


def test_one_name_is_one_woman_in_an_operation_unless_ages_or_places_say_nothing(tmp_path: Path) -> None:
    # An independent also called Alexis, in Troy, with her own number: another network, never joined.
    other = {
        "id": "alexis-independent",
        "source": "site",
        "posted_at": "2026-09-02T21:00:00Z",
        "title": "Alexis in Troy",
        "body": f"Hi, my name is Alexis. Call me at (248) 555-0160. {FOOTER}",
        "location": "Troy, MI",
    }
    corpus = write_ads(tmp_path / "ads.jsonl", [*operation(range(3)), other])
    with ingest_and_link(tmp_path, "full", corpus) as store:
        net, per = networks(store), persons(store)
        assert len({net[i] for i in net if i != "alexis-independent"}) == 1
        assert net["alexis-independent"] != net["alexis-0-0"]
        # Alexis: her Troy persons (two numbers) are one; Miami joins neither (no city, no age).
        assert per["alexis-0-0"] == per["alexis-2-1"]
        assert per["alexis-1-0"] != per["alexis-0-0"]
        # Mia: the two 22-year-olds are one woman, the 30-year-old another (her name and a city in
        # common do not outweigh two ages).
        assert per["mia-0-0"] == per["mia-1-0"]
        assert per["mia-2-0"] != per["mia-0-0"]
        # Luna in Troy and in Miami: apart.
        assert per["luna-0-0"] != per["luna-1-0"]
        assert per["alexis-independent"] not in {per["alexis-0-0"], per["alexis-1-0"]}
        # The join is explained: the two persons' first ads, the name and the city both hold.
        evidence = store.connection.execute(
            "SELECT value, detail FROM link_evidence WHERE kind = 'namesake' ORDER BY value"
        ).fetchall()
        # (The two Mias of 22 are one by the ads' own name and age, before persons are compared.)
        why = "name Alexis, Troy, MI, US, no age against it"
        assert evidence == [("site:alexis-0-0 site:alexis-2-0", why)]
        full = store.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()

    # Stop by stop, incrementally: the same networks and persons as one full run.
    store_path = tmp_path / "steps"
    for stop in range(3):
        batch = [a for a in operation(range(3)) if a["id"].split("-")[1] == str(stop)]
        if stop == 0:
            batch.append(other)
        write_ads(tmp_path / f"batch-{stop}.jsonl", batch)
    with Store.open(store_path.with_suffix(".duckdb")) as store:
        for stop in range(3):
            ingest_file(tmp_path / f"batch-{stop}.jsonl", store, workers=0)
            link(store.connection, ALWAYS_INCREMENTAL)
        steps = store.connection.execute("SELECT id, network, person FROM ad_links ORDER BY id").fetchall()
    assert _partition(steps) == _partition(full)


def _partition(rows: list[tuple[str, str, str]]) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    nets: dict[str, set[str]] = {}
    pers: dict[str, set[str]] = {}
    for ad_id, net, person in rows:
        nets.setdefault(net, set()).add(ad_id)
        pers.setdefault(person, set()).add(ad_id)
    return {frozenset(v) for v in nets.values()}, {frozenset(v) for v in pers.values()}


def test_a_woman_of_no_age_does_not_chain_two_namesakes_of_different_ages(tmp_path: Path) -> None:
    # One operation in Troy with three numbers (a manager's notice lists them all); Kim posts under
    # each, and under each a Mia: 22, 30 and one who states no age.
    numbers = ["(248) 555-0141", "(248) 555-0142", "(248) 555-0143"]
    ads = []
    for i, (number, age) in enumerate(zip(numbers, (22, 30, None), strict=True)):
        for k in range(2):
            ads.append({**ad(f"mia-{i}-{k}", "Mia", 0, k, age=age), "body": _body("Mia", age, number)})
            ads.append({**ad(f"kim-{i}-{k}", "Kim", 0, k), "body": _body("Kim", None, number)})
    ads.append(_notice("Our numbers", f"Call our girls at {', '.join(numbers)}."))
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        net, per = networks(store), persons(store)
        assert len(set(net.values())) == 1
        # Kim states no age anywhere and nobody of her name states one: one woman.
        assert len({per[f"kim-{i}-{k}"] for i in range(3) for k in range(2)}) == 1
        # The three Mias stay three: 22 and 30 disagree, and the one of no age would join both.
        assert len({per[f"mia-{i}-0"] for i in range(3)}) == 3


def _notice(title: str, text: str) -> dict[str, Any]:
    """A manager's ad in Troy that states no name: the numbers it lists are the operation's."""
    return {
        "id": "notice",
        "source": "site",
        "posted_at": "2026-09-01T08:00:00Z",
        "title": title,
        "body": f"{text} {FOOTER}",
        "location": "Troy, MI",
    }


def _body(name: str, age: int | None, number: str) -> str:
    stated = f" {age} years young." if age else ""
    return f"Hey guys, my name is {name}.{stated} Text {number} to book. {FOOTER}"


def test_a_notice_listing_two_womens_own_numbers_does_not_make_them_one_person(tmp_path: Path) -> None:
    # Mia and Ruby each post under a number of their own; the manager's notice (no name) lists both
    # numbers, which makes one network, and must not make one person of the two women through it.
    mia, ruby = "(248) 555-0151", "(248) 555-0152"
    ads = [{**ad(f"mia-{k}", "Mia", 0, k, age=22), "body": _body("Mia", 22, mia)} for k in range(2)] + [
        {**ad(f"ruby-{k}", "Ruby", 0, k, age=25), "body": _body("Ruby", 25, ruby)} for k in range(2)
    ]
    ads.append(_notice("Our girls", f"Book our girls: {mia} or {ruby}."))
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", ads)) as store:
        net, per = networks(store), persons(store)
        assert len(set(net.values())) == 1
        assert per["mia-0"] == per["mia-1"] and per["ruby-0"] == per["ruby-1"]
        assert per["mia-0"] != per["ruby-0"]
        assert per["notice"] not in {per["mia-0"], per["ruby-0"]}
    # A notice carrying one woman's number only is hers.
    ads[-1] = {**ads[-1], "body": f"Book Mia's friend: {mia}. {FOOTER}"}
    with ingest_and_link(tmp_path, "one", write_ads(tmp_path / "one.jsonl", ads)) as store:
        net, per = networks(store), persons(store)
        assert per["notice"] == per["mia-0"] and net["ruby-0"] != net["mia-0"]
