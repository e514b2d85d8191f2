"""Price ranges and per-duration prices as advertisers write them (made-up examples in the shape
of real rate lines, written here independently of the generator), and the `rates` key of the
`extract` output that states each price with a minimum, a maximum and a duration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.extract import contract_record, extract_ad
from threadline.extract.money import find_prices
from threadline.model import Ad


def _prices(text: str) -> list[tuple[int, int, int | None, str]]:
    """(amount, amount_max, minutes, text of the span) of every price in ``text``."""
    out = []
    for f in find_prices([("body", text)]):
        [span] = f.spans[:1]
        out.append(
            (f.detail["amount"], f.detail["amount_max"], f.detail["minutes"], text[span.start : span.end])
        )
    return out


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("150-200/hr", [(150, 200, 60, "150-200/hr")]),
        ("rates $150-$200 per hour", [(150, 200, 60, "$150-$200 per hour")]),
        ("$150 - 200 hh", [(150, 200, 30, "$150 - 200 hh")]),
        ("hh 100-120, hr 180-200", [(100, 120, 30, "hh 100-120"), (180, 200, 60, "hr 180-200")]),
        ("donation 150 to 200 roses", [(150, 200, None, "150 to 200 roses")]),
        ("1hr: 200-250", [(200, 250, 60, "1hr: 200-250")]),
        ("£120–£150 an hour", [(120, 150, 60, "£120–£150 an hour")]),
    ],
)
def test_ranges_are_one_price_with_a_minimum_and_a_maximum(text: str, want: list[object]) -> None:
    assert _prices(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("80 hh / 150 h", [(80, 80, 30, "80 hh"), (150, 150, 60, "150 h")]),
        ("80hh/150h", [(80, 80, 30, "80hh"), (150, 150, 60, "150h")]),
        ("$200 half hour", [(200, 200, 30, "$200 half hour")]),
        ("120 qv", [(120, 120, 15, "120 qv")]),
        (
            "qv 100, hh 140, 1 hr 220",
            [(100, 100, 15, "qv 100"), (140, 140, 30, "hh 140"), (220, 220, 60, "1 hr 220")],
        ),
        ("$300 for 2 hrs", [(300, 300, 120, "$300 for 2 hrs")]),
        # "half" alone in a rate table is half an hour; "half day" and "half price" are not.
        (
            "$100 qv / $160 half / $250 hr",
            [(100, 100, 15, "$100 qv"), (160, 160, 30, "$160 half"), (250, 250, 60, "$250 hr")],
        ),
        ("half: $120", [(120, 120, 30, "half: $120")]),
        ("$100 half day special", [(100, 100, None, "$100")]),
        ("half price $100 for new clients", [(100, 100, None, "$100")]),
    ],
)
def test_per_duration_prices(text: str, want: list[object]) -> None:
    assert _prices(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "call 212-555-0143 anytime",  # a phone number's groups, increasing
        "text 310-555-0177 hr",  # even with a duration after it
        "here 2019-2021 hr",  # years
        "open 24-48 hrs notice",  # hours, not money
        "ages 21-25 yrs",  # ages
        "$20-2000",  # too far apart to be one rate
        "room 120-130",  # bare numbers
    ],
)
def test_not_ranges(text: str) -> None:
    assert [p for p in _prices(text) if p[0] != p[1]] == []
    if "$" not in text:
        assert _prices(text) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("27 - $100/hr - 24 hrs", [(100, 100, 60, "$100/hr")]),  # age, price, hours
        ("36-26-38 - Aug 29 - 100hh", [(100, 100, 30, "100hh")]),
        ("Mia 75 - $250/hr - 5'4", [(250, 250, 60, "$250/hr")]),
    ],
)
def test_a_spaced_dash_separates_a_list(text: str, want: list[object]) -> None:
    assert _prices(text) == want


@settings(max_examples=150, deadline=None)
@given(
    low=st.integers(40, 900),
    step=st.integers(1, 300),
    dash=st.sampled_from(["-", " - ", "–", " to ", "~"]),
    sign=st.sampled_from(["", "$"]),
    unit=st.sampled_from(
        [("/hr", 60), (" hr", 60), (" per hour", 60), (" hh", 30), (" half hour", 30), (" qv", 15)]
    ),
    lead=st.sampled_from(["", "Rates: ", "incall ", "💋 "]),
)
def test_any_range_is_read_whole(
    low: int, step: int, dash: str, sign: str, unit: tuple[str, int], lead: str
) -> None:
    high = low + step
    if high > 4 * low or (not sign and low in (48, 72, 96)):
        return  # too far apart; "48 hrs", "72 hours" are notice, not money
    if not sign and dash.strip() != dash and dash != " to ":
        return  # "75 - 250/hr" is a list ("age - price"); see test_a_spaced_dash_separates_a_list
    text = f"{lead}{sign}{low}{dash}{sign if dash != '~' else ''}{high}{unit[0]} incall only"
    got = _prices(text)
    assert [(a, b, m) for a, b, m, _ in got] == [(low, high, unit[1])], text
    assert got[0][3] == text[len(lead) : text.index(" incall only")]


def test_extract_writes_rates_beside_the_per_hour_prices() -> None:
    ad = Ad("site", "1", body="Incall 150-200/hr, 80 hh, outcall $250 for 2 hours")
    record = contract_record(extract_ad(ad, images=False))
    assert record["prices"] == [150.0, 160.0, 125.0]  # per hour, as before (a range's lower end)
    assert record["rates"] == [
        {"min": 150, "max": 200, "minutes": 60, "currency": "USD"},
        {"min": 80, "max": 80, "minutes": 30, "currency": "USD"},
        {"min": 250, "max": 250, "minutes": 120, "currency": "USD"},
    ]
    range_evidence = next(e for e in record["evidence"] if e["kind"] == "price")  # type: ignore[attr-defined]
    assert range_evidence["value"] == "150-200"
    span = range_evidence["spans"][0]
    assert ad.body[span["start"] : span["end"]] == "150-200/hr"


@pytest.mark.parametrize(
    ("location", "currency"),
    [("Madrid, Spain", "EUR"), ("Roma, Italy", "EUR"), ("Ciudad de México", "MXN"), ("Mumbai, India", "INR")],
)
def test_bare_amounts_take_the_currency_of_the_ads_country(location: str, currency: str) -> None:
    ad = Ad("site", "1", body="150 x hora, media hora 80", location=location)
    record = contract_record(extract_ad(ad, images=False))
    assert [r["currency"] for r in record["rates"]] == [currency, currency]  # type: ignore[index]


def test_extract_ad_returns_its_values_in_the_order_of_kinds() -> None:
    """`extract_ad` relies on calling the extractors in the order of KINDS (it does not sort)."""
    from threadline.model import KINDS

    ad = Ad(
        "site",
        "2",
        title="Mary Jane 24 💋 new in Dallas",
        body="Hi I'm Mary Jane, twenty four yo. Call 713-555-0142 or mj@example.com, ig: @mj_x. "
        "150-200/hr, 80 hh. Incall near downtown Dallas, TX 🌹🌹 new girl, visiting this week only. " * 3,
        location="Dallas, TX",
        fields={"age": "24", "name": "Mary Jane"},
    )
    kinds = [f.kind for f in extract_ad(ad, images=False).found]
    assert {"phone", "email", "handle", "name", "age", "price", "place", "emoji", "sentence"} <= set(kinds)
    assert kinds == sorted(kinds, key=KINDS.index)


_HOSTILE = {
    "ranges": "150-200/hr " * 90_909,
    "chained dashes": "150-" * 250_000,
    "spaced ranges": "$150 - $200 " * 83_333,
    "to chain": "150 to 200 to " * 71_428,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_of_ranges_is_linear(kind: str) -> None:
    from linearity import assert_linear

    assert_linear(lambda t: find_prices([("body", t)]), _HOSTILE[kind])
