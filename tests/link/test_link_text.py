"""Near-duplicate text: masked sentences per ad, boilerplate, MinHash/LSH, and text links.

Ads are built here with fictional numbers only (NXX-555-01xx); stores are real DuckDB files in
tmp_path. The corpora mix one "burner" operation (a new phone and name in every city, the same
template) with independents who write from a shared pool of stock sentences and carry a site
footer: the template must join its ads into one network, the stock lines and footer must not.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from linearity import assert_linear
from threadline.cli import cli
from threadline.engine import DuckDBEngine
from threadline.extract._ad import contract_record, extract_ad
from threadline.extract.sentences import find_sentences, sentence_hash
from threadline.ingest import ingest_file
from threadline.link import LinkParams, link
from threadline.link.decisions import clear_hub_mark, mark_hub, record_merge
from threadline.link.steps import build_inputs, detect_hubs
from threadline.link.text import (
    MINHASH_PRIME,
    boilerplate_examples,
    minhash_coefficients,
    text_hub_examples,
    text_pairs,
)
from threadline.model import Ad, Found, Span
from threadline.score.scorer import score_store
from threadline.store import Store

FOOTER = "Site support: 1-800-555-0199. All advertisers are adults and agree to the terms."
# Stock lines everyone uses: each independent picks a few, so each line is in about a tenth of ads.
STOCK = [
    "Sweet and discreet.",
    "Classy, fun and easy going.",
    "Let me make your day better.",
    "Friendly, clean and respectful.",
    "No rush, relaxing time.",
    "Great conversation and a warm smile.",
    "Come see me, you won't regret it.",
    "Treat yourself today.",
    "Your secret is safe with me.",
    "Available for dinner dates.",
    "Private and comfortable place.",
    "Respectful gentlemen only.",
    "Satisfaction guaranteed every time.",
    "Pretty face and a nice smile.",
    "Unforgettable company for you.",
    "Let's have a good time.",
    "Quality over quantity always.",
    "The girl next door.",
    "Funny, sweet and very discreet.",
    "Clean and safe location.",
    "Stress relief guaranteed.",
    "Fresh and clean every time.",
    "Easy to talk to.",
    "I love to travel and meet new people.",
    "Special for first timers.",
    "Outcall and incall available.",
    "Screening required, references welcome.",
    "Deposit required for first time clients.",
    "I set my own schedule.",
    "Please read my ad before texting.",
    "No blocked calls please.",
    "Please be on time.",
    "I only see a few people a week.",
    "Independent, no agency.",
    "Ask about my weekend rates.",
    "I reply fastest by text.",
    "Serious inquiries only please.",
    "Check my reviews online.",
    "Gentlemen over thirty preferred.",
    "Best company in town!",
]
TEMPLATE = [
    "Sweet and discreet.",
    "Our girls are ready for you tonight.",
    "Private parking behind the building.",
    "Treat yourself today.",
    "Walk-ins welcome after eight in the evening.",
    "Ask about the two hour special.",
    "Real photos, no surprises.",
]
NAMES = ["Mia", "Ruby", "Jade", "Luna", "Nina", "Rose", "Gia", "Zoe", "Ivy", "Kim", "Lola", "Sasha"]
CITIES = [
    ("Denver, CO", 303),
    ("Miami, FL", 305),
    ("Dallas, TX", 214),
    ("Atlanta, GA", 404),
    ("Chicago, IL", 312),
    ("Boston, MA", 617),
    ("Seattle, WA", 206),
    ("Phoenix, AZ", 602),
]
INDEPENDENT_AREAS = [713, 832, 281]


def write_ads(path: Path, ads: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


def burner_ads(aliases: int = 1) -> list[dict[str, Any]]:
    """One operation, eight cities: a new phone each time, one of a few alias names, the same
    template."""
    ads = []
    for k, (city, area) in enumerate(CITIES):
        name = NAMES[((k % aliases) * 5) % len(NAMES)]
        town = city.split(",")[0]
        lines = list(TEMPLATE)
        if k == 3:
            lines.pop(4)  # one post drops a line
        if k == 5:
            lines[1], lines[2] = lines[2], lines[1]  # another swaps two
        ads.append(
            {
                "id": f"burner-{k}",
                "source": "site",
                "title": f"{name} - new in {town}",
                "body": f"Hi, I'm {name}, new in {town}!<br>"
                + "<br>".join(lines)
                + f"<br>Call {area}-555-01{40 + k:02d}<br><br>{FOOTER}",
                "location": city,
            }
        )
    return ads


def independent_ads(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Independents writing from the same stock sentences, each her own pick and order."""
    rng = random.Random(seed)
    ads = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        area = INDEPENDENT_AREAS[i // 100]
        lines = rng.sample(STOCK, rng.randint(4, 6))
        ads.append(
            {
                "id": f"ind-{i}",
                "source": "site",
                "title": f"{name} is available",
                "body": f"Hi, I'm {name}. " + " ".join(lines) + f" Call {area}-555-01{i % 100:02d}. {FOOTER}",
                "location": CITIES[i % len(CITIES)][0],
            }
        )
    return ads


def ingest_and_link(tmp_path: Path, ads: list[dict[str, Any]], params: LinkParams | None = None) -> Store:
    tmp_path.mkdir(exist_ok=True)
    store = Store.open(tmp_path / "store.duckdb")
    ingest_file(write_ads(tmp_path / "ads.jsonl", ads), store, workers=0)
    link(store.connection, params)
    return store


def networks(store: Store) -> dict[str, str]:
    return dict(store.connection.execute("SELECT id, network FROM ad_links").fetchall())


def persons(store: Store) -> dict[str, str]:
    return dict(store.connection.execute("SELECT id, person FROM ad_links").fetchall())


# -- sentences: masking and spans ------------------------------------------------------------------


def sentences_of(ad: Ad) -> dict[str, Found]:
    return {f.detail["text"]: f for f in extract_ad(ad, images=False).of_kind("sentence")}


def test_identifiers_names_places_and_numbers_are_masked_and_spans_point_at_the_original() -> None:
    body = "Hi, I'm Lola, new in Denver!<br>Room 12, 5'4.<br>Text 303-555-0142 for the 2 hour special."
    ad = Ad("site", "1", title="LOLA - new in Denver", body=body, location="Denver, CO")
    found = sentences_of(ad)
    assert set(found) == {
        "<name> new in <place>",
        "hi i'm <name> new in <place>",
        "text <phone> for the # hour special",
    }
    # "Room 12, 5'4" has one word left once numbers go: not a sentence.
    hi = found["hi i'm <name> new in <place>"]
    assert [s.text_of(ad) for s in hi.spans] == ["Hi, I'm Lola, new in Denver"]
    special = found["text <phone> for the # hour special"]
    assert [s.text_of(ad) for s in special.spans] == ["Text 303-555-0142 for the 2 hour special"]
    assert [s.field for s in found["<name> new in <place>"].spans] == ["title"]
    assert int(special.value) == sentence_hash("text <phone> for the # hour special")
    assert 0 <= int(special.value) < 2**63


def test_the_same_template_hashes_the_same_across_names_cities_and_phones() -> None:
    a = Ad("site", "1", body="Hi, I'm Lola, new in Denver! Ask for Lola at 303-555-0142 tonight.")
    b = Ad("site", "2", body="Hi, I'm Mia, new in Miami! Ask for Mia at 305-555-0143 tonight.")
    assert {f.value for f in sentences_of(a).values()} == {f.value for f in sentences_of(b).values()}


def test_html_splits_sentences_and_entities_invisibles_and_styles_do_not_count() -> None:
    plain = Ad("site", "1", body="Sweet and discreet. Private parking behind the building.")
    html = Ad(
        "site",
        "2",
        body="<p>Sweet&nbsp;and discreet</p><b>PRIVATE park\u200bing behind the building</b>",
    )
    styled = Ad("site", "3", body="𝐒𝐰𝐞𝐞𝐭 and discreet 💋 Private parking behind the building!!!")
    expected = {"sweet and discreet", "private parking behind the building"}
    for ad in (plain, html, styled):
        assert set(sentences_of(ad)) == expected, ad.body


def test_short_lines_are_skipped_and_repeats_are_one_value_with_every_span() -> None:
    body = "Top quality.\nCall me.\nNo rush, relaxing time.\nNO RUSH - relaxing time!!"
    found = find_sentences([("body", body)], [])
    assert [f.detail["text"] for f in found] == ["no rush relaxing time"]
    assert [body[s.start : s.end] for s in found[0].spans] == [
        "No rush, relaxing time",
        "NO RUSH - relaxing time",
    ]
    # Structured fields are not sentences.
    assert find_sentences([("fields.about", "Sweet and discreet always")], []) == []


def test_a_sentences_first_span_is_its_first_sighting_title_first() -> None:
    # Linking reads a sentence's position from its first span alone (`text._text_sentences`).
    rng = random.Random(7)
    lines = ["No rush relaxing time", "Call me for fun tonight", "Sweet and discreet always", "Ask for Mia"]
    for _ in range(200):
        title = ". ".join(rng.choices(lines, k=rng.randint(0, 3)))
        body = ". ".join(rng.choices(lines, k=rng.randint(0, 6)))
        found = find_sentences(list(Ad(source="s", id="x", title=title, body=body).texts()), [])
        for f in found:
            order = [(0 if s.field == "title" else 1, s.start) for s in f.spans]
            assert order[0] == min(order), (title, body, f.spans)
        assert len({f.value for f in found}) == len(found)


def test_masks_come_from_the_other_extractors_spans() -> None:
    text = "Ask for Sasha at the front desk"
    found = [Found("name", "Sasha", (Span("body", 8, 13),))]
    [sentence] = find_sentences([("body", text)], found)
    assert sentence.detail["text"] == "ask for <name> at the front desk"


def test_sentences_are_evidence_but_not_contract_keys() -> None:
    ad = Ad("site", "1", body="Hi, I'm Lola. Sweet and discreet. Call 303-555-0142.")
    record = contract_record(extract_ad(ad, images=False))
    assert "sentences" not in record and "sentence" not in record
    evidence = record["evidence"]
    assert isinstance(evidence, list)
    assert {"sweet and discreet", "hi i'm <name>"} <= {e["text"] for e in evidence if e["kind"] == "sentence"}


@pytest.mark.parametrize(
    "unit",
    ["Sweet and discreet. ", "a" * 50, "!" * 50 + "a", "<" + "b" * 40, "<br>", "1 ", "&amp;", "💋 ok x "],
)
def test_hostile_megabyte_is_linear(unit: str) -> None:
    text = unit * (1_000_000 // len(unit))
    assert_linear(lambda t: find_sentences([("body", t)], []), text)
    found = find_sentences([("body", text)], [])
    assert sum(len(f.spans) for f in found) <= 20 * 300


# -- linking ---------------------------------------------------------------------------------------


def test_a_template_with_a_new_name_and_phone_in_every_city_joins_nothing_on_its_own(tmp_path: Path) -> None:
    # Eight numbers beside one text, nothing else shared: as much as eight strangers who copied a
    # popular ad. The text is a hub, and alone it joins nothing (the analyst can merge).
    with ingest_and_link(tmp_path, independent_ads(240) + burner_ads(aliases=len(CITIES))) as store:
        net = networks(store)
        assert len({net[f"burner-{k}"] for k in range(len(CITIES))}) == len(CITIES)
        # Every pair is beside the eight numbers at least (the most widely held piece decides).
        [(pairs, holders)] = store.query("SELECT COUNT(*), MIN(holders) FROM link_text_pairs")
        assert pairs >= len(CITIES) - 1 and holders >= len(CITIES)


def test_burner_template_joins_one_network_across_cities_names_and_phones(tmp_path: Path) -> None:
    # The template and the alias name agree: one network over eight cities and phones.
    with ingest_and_link(tmp_path, independent_ads(240) + burner_ads()) as store:
        net, per = networks(store), persons(store)
        burner = {net[f"burner-{k}"] for k in range(len(CITIES))}
        assert len(burner) == 1
        members = [ad_id for ad_id, n in net.items() if n in burner]
        assert sorted(members) == sorted(f"burner-{k}" for k in range(len(CITIES)))
        # Text joins networks, never persons: one writer posts many persons.
        assert len({per[f"burner-{k}"] for k in range(len(CITIES))}) == len(CITIES)
        evidence = store.connection.execute(
            "SELECT kind, value, ads, detail FROM link_evidence WHERE network = ? AND kind = 'text'",
            [burner.pop()],
        ).fetchall()
        assert len(evidence) == len(CITIES) - 1  # each ad's closest partner
        assert all(detail.startswith("jaccard ") and detail.endswith(" sentences") for *_, detail in evidence)
        assert all(ads == 2 and value.startswith("site:burner-") for _, value, ads, _ in evidence)


def test_stock_sentences_and_a_footer_do_not_join_strangers(tmp_path: Path) -> None:
    ads = independent_ads(240)
    # Two strangers with the same five stock lines, in another order, and the same footer.
    ads.append(
        {"id": "x-1", "source": "site", "body": " ".join(STOCK[i] for i in (0, 1, 2, 3, 4)) + f" {FOOTER}"}
    )
    ads.append(
        {"id": "x-2", "source": "site", "body": " ".join(STOCK[i] for i in (3, 0, 4, 2, 1)) + f" {FOOTER}"}
    )
    with ingest_and_link(tmp_path, ads) as store:
        net = networks(store)
        assert len(set(net.values())) == len(ads)  # every one alone
        [(pairs,)] = store.connection.execute("SELECT COUNT(*) FROM text_pairs").fetchall()
        assert pairs == 0
    # Compared as bags of sentences, without the order and chance tests, they pair; the stock
    # lines are beside many numbers though (text hubs), so the pair joins nothing on its own.
    loose = LinkParams(text_sentence_pairs=False, text_min_shared_pairs=0, text_min_surprise=-1000.0)
    with ingest_and_link(tmp_path / "loose", ads, loose) as store:
        con = store.connection
        keys = dict(con.execute("SELECT id, ad_key FROM ad_keys WHERE id IN ('x-1', 'x-2')").fetchall())
        pair = con.execute(
            "SELECT holders FROM text_pairs WHERE ad_a = ? AND ad_b = ?", [keys["x-1"], keys["x-2"]]
        ).fetchall()
        [(own,)] = con.execute("SELECT holders FROM text_own").fetchall()
        assert pair and pair[0][0] > own
        net = networks(store)
        assert net["x-1"] != net["x-2"]
        listed = con.execute("SELECT COUNT(*) FROM link_hubs WHERE kind = 'text' AND is_hub").fetchall()
        assert listed[0][0] >= 5  # each stock line


def test_footer_is_boilerplate_of_its_site(tmp_path: Path) -> None:
    ads = independent_ads(200)
    ads += [{**ad, "id": f"other-{ad['id']}", "source": "othersite"} for ad in independent_ads(5, seed=3)]
    with ingest_and_link(tmp_path, ads) as store:
        boilerplate_examples(DuckDBEngine(store.connection))
        rows = store.connection.execute(
            "SELECT source, example, ads, share FROM text_boilerplate_examples ORDER BY source, example"
        ).fetchall()
        site = {example: (ads_, share) for source, example, ads_, share in rows if source == "site"}
        assert site["site support <phone>"] == (200, 1.0)
        assert site["all advertisers are adults and agree to the terms"] == (200, 1.0)
        # Stock lines each fill a fraction of the site's ads: kept.
        assert "sweet and discreet" not in site
        # The small site has fewer ads than a sentence needs to count as boilerplate there.
        assert not any(source == "othersite" for source, *_ in rows)
    # A lower share makes the stock lines boilerplate too.
    with ingest_and_link(tmp_path / "strict", ads, LinkParams(text_boilerplate_share=0.05)) as store:
        boilerplate_examples(DuckDBEngine(store.connection))
        con = store.connection
        examples = {e for (e,) in con.execute("SELECT example FROM text_boilerplate_examples").fetchall()}
        assert "sweet and discreet" in examples


def test_minhash_parameters_are_recorded_and_the_signatures_are_portable_arithmetic(tmp_path: Path) -> None:
    params = LinkParams()
    with ingest_and_link(tmp_path, independent_ads(120) + burner_ads(), params) as store:
        con = store.connection
        [(recorded,)] = con.execute("SELECT params FROM link_runs").fetchall()
        recorded = json.loads(recorded)
        for key in ("text_minhash_scheme", "text_minhash_seed", "text_minhash_perms", "text_minhash_rows"):
            assert recorded[key] == getattr(params, key)
        # The SQL signature equals the same arithmetic done here, for every ad compared (the
        # steps again, keeping the tables a link run drops).
        engine = DuckDBEngine(con, keep_tables=True)
        build_inputs(engine)
        detect_hubs(engine, params)
        text_pairs(engine, params)
        coefficients = minhash_coefficients(params)
        sets: dict[int, list[int]] = {}
        for ad_key, h in con.execute("SELECT ad_key, h FROM _text_sets").fetchall():
            sets.setdefault(ad_key, []).append(h)
        signatures = {row[0]: list(row[1:]) for row in con.execute("SELECT * FROM _text_minhash").fetchall()}
        assert signatures.keys() == sets.keys() and len(sets) > 50
        for ad_key, hs in sets.items():
            expected = [
                min((a * (h % MINHASH_PRIME) + b) % MINHASH_PRIME for h in hs) for a, b in coefficients
            ]
            assert signatures[ad_key] == expected
    assert all(1 <= a < MINHASH_PRIME and 0 <= b < MINHASH_PRIME for a, b in coefficients)
    assert len(coefficients) == params.text_minhash_perms
    assert minhash_coefficients(LinkParams(text_minhash_seed=1)) != coefficients
    with pytest.raises(ValueError, match="scheme"):
        minhash_coefficients(LinkParams(text_minhash_scheme="xxhash"))


def test_bands_must_divide_the_permutations(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.duckdb") as store:
        ingest_file(write_ads(tmp_path / "ads.jsonl", burner_ads()), store, workers=0)
        with pytest.raises(ValueError, match="bands"):
            link(store.connection, LinkParams(text_minhash_perms=30, text_minhash_rows=4))


def test_giant_buckets_are_joined_as_stars(tmp_path: Path) -> None:
    # With a tiny bucket limit every bucket is a star to its first ad; the burner still joins.
    params = LinkParams(text_max_bucket=2)
    with ingest_and_link(tmp_path, independent_ads(240) + burner_ads(), params) as store:
        net = networks(store)
        assert len({net[f"burner-{k}"] for k in range(len(CITIES))}) == 1
        [(pairs,)] = store.connection.execute("SELECT COUNT(*) FROM text_pairs").fetchall()
        assert pairs >= len(CITIES) - 1


# -- popular copy-paste texts are hubs: they join nothing on their own (issue 12) ------------------

# A well-performing ad that independents copy whole, each with her own name, number and city.
POPULAR = [
    "Welcome gentlemen, thank you for stopping by my page.",
    "I am a sweet and playful companion who loves good conversation.",
    "My photos are real and recent, what you see is what you get.",
    "I enjoy meeting new people and making them feel relaxed.",
    "Please text me with your name, the time and how long you would like.",
    "I do not answer blocked numbers or emails.",
    "Looking forward to meeting you soon, kisses.",
]


# In an archive of a few hundred ads the chance test (`LinkParams.text_min_surprise`) already
# refuses a text that a tenth of the ads carry; in a large one it does not. These tests turn it
# off, so that the hub rule alone has to keep the copiers apart.
LARGE = LinkParams(text_min_surprise=-1000.0)
COPIER_AREAS = [415, 510, 650]


def copier_ads(n: int, *, first_phone: int = 0, name_of: Any = None) -> list[dict[str, Any]]:
    """``n`` independents who paste the popular text, each her own name, phone and city, two ads
    each (a week apart)."""
    ads = []
    for i in range(n):
        k = first_phone + i
        name = name_of(i) if name_of else f"{NAMES[k % len(NAMES)]}{chr(65 + k // len(NAMES))}"
        city, _ = CITIES[i % len(CITIES)]
        for post in range(2):
            ads.append(
                {
                    "id": f"copy-{k}-{post}",
                    "source": "site",
                    "title": f"{name} in {city.split(',')[0]}",
                    "body": " ".join(POPULAR) + f" Call {COPIER_AREAS[k // 100]}-555-01{k % 100:02d}.",
                    "location": city,
                    "posted_at": f"2026-0{1 + post}-{1 + i % 27:02d}T20:00:00Z",
                }
            )
    return ads


def test_a_popular_text_beside_many_numbers_joins_none_of_its_copiers(tmp_path: Path) -> None:
    # More numbers beside the text than make a phone number a hub; under a fifth of the site's ads
    # (which would make it the site's boilerplate).
    copiers = 30
    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(copiers), LARGE) as store:
        net = networks(store)
        copy_nets = {net[f"copy-{i}-{p}"] for i in range(copiers) for p in range(2)}
        assert len(copy_nets) == copiers  # each copier is her own network (her two ads by phone)
        # Between two copiers, the rarest piece they share is beside every copier's number.
        [(pairs, holders)] = store.query(
            "SELECT COUNT(*), MIN(holders) FROM link_text_pairs t JOIN ad_keys a ON a.ad_key = t.ad_a"
            " JOIN ad_keys b ON b.ad_key = t.ad_b WHERE split_part(a.id, '-', 2) <> split_part(b.id, '-', 2)"
        )
        assert pairs > copiers and holders == copiers
        # A text under the hub line still joins: the burner's template, held by eight numbers.
    with ingest_and_link(
        tmp_path / "b", independent_ads(300) + copier_ads(copiers) + burner_ads(), LARGE
    ) as store:
        net = networks(store)
        assert len({net[f"burner-{k}"] for k in range(len(CITIES))}) == 1
        assert len({net[f"copy-{i}-0"] for i in range(copiers)}) == copiers


def test_a_hub_text_joins_two_copiers_that_share_a_name_too(tmp_path: Path) -> None:
    # Two of the copiers give the same unusual name: text and name agree, so they are joined;
    # the others stay apart.
    def name_of(i: int) -> str:
        return "Marisol" if i in (3, 17) else f"{NAMES[i % len(NAMES)]}{chr(65 + i // len(NAMES))}"

    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(30, name_of=name_of), LARGE) as store:
        net = networks(store)
        assert net["copy-3-0"] == net["copy-17-0"]
        assert len({net[f"copy-{i}-0"] for i in range(30)}) == 29


def ad(ad_id: str, name: str, area: int, n: int, city: str, day: int) -> dict[str, Any]:
    """One ad that pastes the popular text, under ``name`` and its own number, in March."""
    return {
        "id": ad_id,
        "source": "site",
        "title": f"{name} new in town",
        "body": " ".join(POPULAR) + f" Call {area}-555-01{n:02d}.",
        "location": city,
        "posted_at": f"2026-03-{day:02d}T21:00:00Z",
    }


def test_incremental_runs_equal_a_full_run_with_hub_texts(tmp_path: Path) -> None:
    # The text becomes a hub only as copiers arrive: pairs joined early must come apart later,
    # in an incremental run exactly as in a full one.
    # Two persons of one operation meet in a second city only in the last batch (then they join).
    # (Thirty copiers: more and the text fills a fifth of the site, its boilerplate.)
    batches = [
        [*independent_ads(300), *copier_ads(6), ad("op-a1", "Odalys", 702, 11, "Denver, CO", 3)],
        [*copier_ads(10, first_phone=6), ad("op-b1", "Yesenia", 702, 12, "Denver, CO", 4)],
        [
            *copier_ads(14, first_phone=16),
            ad("op-a2", "Odalys", 702, 11, "Miami, FL", 10),
            ad("op-b2", "Yesenia", 702, 12, "Miami, FL", 11),
        ],
    ]
    store = Store.open(tmp_path / "inc.duckdb")
    for n, batch in enumerate(batches):
        ingest_file(write_ads(tmp_path / f"b{n}.jsonl", batch), store, workers=0)
        link(store.connection, LARGE)
    incremental = store.query("SELECT id, network FROM ad_links")
    full = ingest_and_link(tmp_path / "full", [ad for batch in batches for ad in batch], LARGE)

    def groups(rows: list[tuple[str, str]]) -> set[frozenset[str]]:
        by: dict[str, set[str]] = {}
        for ad_id, network in rows:
            by.setdefault(network, set()).add(ad_id)
        return {frozenset(g) for g in by.values()}

    assert groups(incremental) == groups(full.query("SELECT id, network FROM ad_links"))
    assert len({dict(incremental)[f"copy-{i}-0"] for i in range(30)}) == 30
    assert dict(incremental)["op-a1"] == dict(incremental)["op-b1"]
    # Before the last batch the text was beside few numbers: the first copiers were joined by it.
    store.close()
    full.close()


def test_a_hub_text_joins_two_groups_seen_together_in_two_cities(tmp_path: Path) -> None:
    # Two persons of one operation paste the popular text under their own names and numbers and
    # move together: Denver, then Miami, a day apart. Two copiers who meet once, in one city,
    # are not joined.
    together = [
        ad("op-a1", "Odalys", 702, 11, "Denver, CO", 3),
        ad("op-b1", "Yesenia", 702, 12, "Denver, CO", 4),
        ad("op-a2", "Odalys", 702, 11, "Miami, FL", 10),
        ad("op-b2", "Yesenia", 702, 12, "Miami, FL", 11),
    ]
    once = [ad("x-c", "Marisol", 702, 21, "Denver, CO", 20), ad("x-d", "Graciela", 702, 22, "Denver, CO", 21)]
    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(30) + together + once, LARGE) as store:
        net = networks(store)
        assert net["op-a1"] == net["op-a2"] == net["op-b1"] == net["op-b2"]
        assert net["x-c"] != net["x-d"]
        assert len({net[f"copy-{i}-0"] for i in range(30)} | {net["op-a1"]}) == 31


def test_two_groups_that_meet_twice_but_mostly_post_apart_are_not_joined(tmp_path: Path) -> None:
    # Two copiers of the popular text meet in Denver and in Miami within a day, but each posts
    # four more times in other cities at other times: two women touring one region, not one
    # operation moving its persons together (at least half the smaller group's posts must be).
    tours = {
        "a": (
            "Odalys",
            11,
            [("Austin, TX", 14), ("Dallas, TX", 17), ("Houston, TX", 20), ("Phoenix, AZ", 23)],
        ),
        "b": (
            "Yesenia",
            12,
            [("Boston, MA", 15), ("Chicago, IL", 18), ("Seattle, WA", 21), ("Portland, OR", 24)],
        ),
    }
    met = [
        ad("t-a1", "Odalys", 702, 11, "Denver, CO", 3),
        ad("t-b1", "Yesenia", 702, 12, "Denver, CO", 4),
        ad("t-a2", "Odalys", 702, 11, "Miami, FL", 10),
        ad("t-b2", "Yesenia", 702, 12, "Miami, FL", 11),
    ]
    apart = [
        ad(f"t-{who}{k}", name, 702, n, city, day)
        for who, (name, n, stops) in tours.items()
        for k, (city, day) in enumerate(stops, 3)
    ]
    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(30) + met + apart, LARGE) as store:
        net = networks(store)
        assert len({net[f"t-a{k}"] for k in range(1, 7)}) == 1
        assert len({net[f"t-b{k}"] for k in range(1, 7)}) == 1
        assert net["t-a1"] != net["t-b1"]


def test_text_hubs_are_listed_explained_and_an_analysts_mark_decides(tmp_path: Path) -> None:
    copiers = 30
    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(copiers), LARGE) as store:
        con = store.connection
        rows = con.execute(
            "SELECT value, ads, co_phones FROM link_hubs WHERE kind = 'text' AND is_hub AND marked_by IS NULL"
        ).fetchall()
        examples = text_hub_examples(con, [value for value, *_ in rows])
        # Every pair of consecutive sentences of the popular text is a hub, in every copier's ads.
        pasted = {
            value: (ads, phones)
            for value, ads, phones in rows
            if any(POPULAR[i][:-1].lower() in examples[value].lower() for i in range(len(POPULAR)))
        }
        assert len(pasted) >= len(POPULAR) - 1
        assert all(ads == 2 * copiers and phones == copiers for ads, phones in pasted.values())
        # Each listed as its two sentences, in order.
        [value] = [v for v in pasted if examples[v].lower().startswith("welcome gentlemen")]
        assert "sweet and playful" in examples[value].split(" / ")[1]

        # The analyst knows better: one writer, thirty numbers. The text joins them on its own.
        mark_hub(con, "text", value, is_hub=False, analyst="kim", note="one agency")
        link(con, LARGE)
        assert len({networks(store)[f"copy-{i}-0"] for i in range(copiers)}) == 1
        [(marked,)] = con.execute(
            "SELECT marked_by FROM link_hubs WHERE kind = 'text' AND value = ?", [value]
        ).fetchall()
        assert marked == "kim"
        # Withdrawn, the data decides again: thirty writers (the incremental run equals a full one).
        clear_hub_mark(con, "text", value, analyst="kim")
        link(con, LARGE)
        incremental = networks(store)
        link(con, LARGE, full=True)
        assert networks(store) == incremental
        score_store(con, inputs_built=True)  # as every command that links does: the views read it
        assert len({incremental[f"copy-{i}-0"] for i in range(copiers)}) == copiers

    # The CLI lists the text hub with its sentences, explains it in a copier's network, and marks
    # it by the value it lists.
    db = str(tmp_path / "store.duckdb")
    listed = CliRunner().invoke(cli, ["hubs", "--db", db, "--limit", "200"])
    assert listed.exit_code == 0, listed.output
    assert value in listed.output and examples[value] in listed.output
    with Store.open(Path(db), read_only=True) as store:
        query = "SELECT network FROM ad_links WHERE id = 'copy-4-0'"
        [(copier_net,)] = store.connection.execute(query).fetchall()
    explained = CliRunner().invoke(cli, ["explain", copier_net, "--db", db, "--limit", "200"])
    assert explained.exit_code == 0, explained.output
    assert value in explained.output and examples[value] in explained.output
    typed = "welcome gentlemen"
    refused = CliRunner().invoke(cli, ["mark-hub", "text", typed, "--db", db, "--analyst", "kim"])
    assert refused.exit_code != 0 and "not a text" in refused.output
    marked = CliRunner().invoke(cli, ["mark-hub", "text", value, "--db", db, "--analyst", "kim"])
    assert marked.exit_code == 0, marked.output
    assert f"text {value} is a hub" in marked.output


def prolific_burner_ads(posts: int, names: list[str]) -> list[dict[str, Any]]:
    """The burner's template posted ``posts`` times in each city (a new phone in each city, the
    name ``names[k % len(names)]``), a day apart: an operation that advertises a lot."""
    ads = []
    for k, (city, area) in enumerate(CITIES):
        name = names[k % len(names)]
        town = city.split(",")[0]
        for post in range(posts):
            ads.append(
                {
                    "id": f"burner-{k}-{post}",
                    "source": "site",
                    "title": f"{name} - new in {town}",
                    "body": f"Hi, I'm {name}, new in {town}!<br>"
                    + "<br>".join(TEMPLATE)
                    + f"<br>Call {area}-555-01{40 + k:02d}<br><br>{FOOTER}",
                    "location": city,
                    "posted_at": f"2026-0{1 + k % 9}-{1 + post:02d}T21:00:00Z",
                }
            )
    return ads


def test_a_prolific_template_still_links_its_stops_as_a_weak_link(tmp_path: Path) -> None:
    # Posted 32 times in 332 ads (more and it is the site's boilerplate), each piece of the
    # template is common: what two of its ads share could be chance among all pairs of the
    # archive, but not among one ad's partners. The pairs are kept as weak links: with one alias
    # name they join the eight cities; with a new name in every city nothing agrees and the cities
    # stay apart.
    posts = 4
    with ingest_and_link(tmp_path, independent_ads(300) + prolific_burner_ads(posts, ["Odalys"])) as store:
        net = networks(store)
        assert len({net[f"burner-{k}-{p}"] for k in range(len(CITIES)) for p in range(posts)}) == 1
        [(pairs, chance)] = store.query(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE holders >= ?) FROM link_text_pairs t"
            " JOIN ad_keys a ON a.ad_key = t.ad_a JOIN ad_keys b ON b.ad_key = t.ad_b"
            " WHERE a.id LIKE 'burner-%' AND b.id LIKE 'burner-%'"
            " AND split_part(a.id, '-', 2) <> split_part(b.id, '-', 2)",
            [1 << 39],  # `text._CHANCE`: could be chance among all pairs of ads
        )
        assert pairs > 0 and chance == pairs
    names = [f"{n}x" for n in NAMES[: len(CITIES)]]
    with ingest_and_link(tmp_path / "b", independent_ads(300) + prolific_burner_ads(posts, names)) as store:
        net = networks(store)
        assert len({net[f"burner-{k}-0"] for k in range(len(CITIES))}) == len(CITIES)


def test_two_copiers_sharing_a_rare_reordering_of_a_popular_text_stay_apart(tmp_path: Path) -> None:
    # Most numbers here come in twos (an independent's call and text numbers), so one writer's
    # text is beside two numbers (`text_own`). Ten copiers paste the popular text under one number
    # each; two of them swap the same two lines, so a few pieces they share are beside their two
    # numbers only. The rest of what they share is the popular text: they are not one writer.
    background = []
    for i in range(200):
        lines = random.Random(i).sample(STOCK, 5)
        background.append(
            {
                "id": f"ind-{i}",
                "source": "site",
                "title": f"{NAMES[i % len(NAMES)]} is available",
                "body": " ".join(lines)
                + f" Call {INDEPENDENT_AREAS[i // 100]}-555-01{i % 100:02d}, text 702-555-01{i % 100:02d}.",
                "location": CITIES[i % len(CITIES)][0],
            }
        )
    swapped = [*POPULAR[:2], POPULAR[3], POPULAR[2], *POPULAR[4:]]
    copiers = []
    for i in range(10):
        text = swapped if i < 2 else POPULAR
        for post in range(2):
            copiers.append(
                {
                    "id": f"copy-{i}-{post}",
                    "source": "site",
                    "title": f"{NAMES[i]}z in town",
                    "body": " ".join(text) + f" Call 415-555-01{i:02d}.",
                    "location": CITIES[i % len(CITIES)][0],
                    "posted_at": f"2026-0{1 + post}-{1 + i:02d}T20:00:00Z",
                }
            )
    with ingest_and_link(tmp_path, background + copiers, LARGE) as store:
        measured = json.loads(store.query("SELECT params FROM link_runs")[0][0])["measured"]
        assert measured["text_own_holders"] == 2
        net = networks(store)
        assert net["copy-0-0"] != net["copy-1-0"]
        assert len({net[f"copy-{i}-0"] for i in range(10)}) == 10
        # The pair between them is kept, as a weak link: the most widely held piece decides.
        [(holders,)] = store.query(
            "SELECT MIN(holders) FROM link_text_pairs t JOIN ad_keys a ON a.ad_key = t.ad_a"
            " JOIN ad_keys b ON b.ad_key = t.ad_b WHERE a.id LIKE 'copy-0-%' AND b.id LIKE 'copy-1-%'"
        )
        assert holders == 10


def test_a_popular_text_inside_a_network_is_no_sign_of_one_writer(tmp_path: Path) -> None:
    # Three copiers merged by an analyst are one network of three persons sharing the popular
    # text: the text is beside more numbers than the network holds, so `shared_text_persons` does
    # not count it. The burner's template, beside its own eight numbers (and the site's footer
    # number), counts all eight persons.
    with ingest_and_link(tmp_path, independent_ads(300) + copier_ads(30) + burner_ads(), LARGE) as store:
        con = store.connection
        record_merge(con, ("site", "copy-3-0"), ("site", "copy-17-0"), ("site", "copy-25-0"), analyst="kim")
        link(con, LARGE)
        score_store(con, inputs_built=False)
        net = networks(store)
        assert net["copy-3-0"] == net["copy-17-0"] == net["copy-25-0"]
        assert len({persons(store)[f"copy-{i}-0"] for i in (3, 17, 25)}) == 3

        def shared_text_persons(network: str) -> float | None:
            rows = con.execute(
                "SELECT value FROM score_parts WHERE level = 'network' AND unit = ?"
                " AND feature = 'shared_text_persons'",
                [network],
            ).fetchall()
            return rows[0][0] if rows else None

        assert shared_text_persons(net["copy-3-0"]) is None
        assert shared_text_persons(net["burner-0"]) == len(CITIES)
