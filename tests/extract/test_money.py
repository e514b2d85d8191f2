"""Prices: coded and plain forms, rate tables, per-hour normalisation, numbers that are not prices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.money import find_prices


def prices(text: str, currency: str = "USD") -> list[tuple[str, int, int | None]]:
    """(per-hour value, amount, minutes) of each price in ``text``."""
    return [
        (f.value, f.detail["amount"], f.detail["minutes"]) for f in find_prices([("body", text)], currency)
    ]


@pytest.mark.parametrize(
    ("written", "value", "amount", "minutes", "coded"),
    [
        ("$150", "150", 150, None, False),
        ("$ 150", "150", 150, None, False),
        ("$150.00", "150", 150, None, False),
        ("150 roses", "150", 150, None, True),
        ("150🌹", "150", 150, None, True),
        ("150 roses/hr", "150", 150, 60, True),
        ("$200/hr", "200", 200, 60, False),
        ("80hh", "160", 80, 30, True),
        ("80 hh", "160", 80, 30, True),
        ("hh 80", "160", 80, 30, True),
        ("150 hr", "150", 150, 60, False),
        ("hr: 150", "150", 150, 60, False),
        ("qv 60", "240", 60, 15, True),
        ("100 for 30 min", "200", 100, 30, False),
        ("30 min 100", "200", 100, 30, False),
        ("200 per hour", "200", 200, 60, False),
        ("150 an hour", "150", 150, 60, False),
        ("1 hr - $200", "200", 200, 60, False),
        ("2hrs 300", "150", 300, 120, False),
        ("half hour 90", "180", 90, 30, True),
        ("½ hr 90", "180", 90, 30, True),
        ("150 donation", "150", 150, None, True),
        ("150 usd", "150", 150, None, False),
        # Spanish and Italian ads: "la hora", "x hora", "media hora", "all'ora", "mezz'ora".
        ("150 euros la hora", "150", 150, 60, False),
        ("200 x hora", "200", 200, 60, False),
        ("hora 1500 pesos", "1500", 1500, 60, False),
        ("600 pesos media hora", "1200", 600, 30, True),
        ("150 all'ora", "150", 150, 60, False),
        ("80 euro mezz'ora", "160", 80, 30, True),
        ("100€ 30 minutos", "200", 100, 30, False),
    ],
)
def test_price_forms(written: str, value: str, amount: int, minutes: int | None, coded: bool) -> None:
    text = f"Sweet and discreet. {written}. No blocked calls"
    found = find_prices([("body", text)])
    assert [(f.value, f.detail["amount"], f.detail["minutes"]) for f in found] == [(value, amount, minutes)]
    assert found[0].detail["coded"] is coded
    assert found[0].detail["per_hour"] == float(value)
    (span,) = found[0].spans
    assert text[span.start : span.end] == written


def test_currency_words_of_the_ads_country() -> None:
    (mxn,) = find_prices([("body", "1000 pesos la hora")], currency="MXN")
    assert mxn.detail["currency"] == "MXN"
    (inr,) = find_prices([("body", "5000 rupees per hour")])
    assert inr.detail["currency"] == "INR"
    (eur,) = find_prices([("body", "150 euros")])
    assert eur.detail["currency"] == "EUR"


def test_currency_signs_and_default() -> None:
    (gbp,) = find_prices([("body", "£150 per hour")])
    assert gbp.detail["currency"] == "GBP"
    (eur,) = find_prices([("body", "€120/h")])
    assert eur.detail["currency"] == "EUR"
    # "$" and coded words take the currency of the ad's country, passed by the caller.
    (cad,) = find_prices([("body", "$150 hh")], currency="CAD")
    assert (cad.value, cad.detail["currency"]) == ("300", "CAD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Durations first or amounts first: each duration belongs to the amount it is next to.
        ("hh 80 hr 150", [("160", 80, 30), ("150", 150, 60)]),
        ("80 hh 150 hr", [("160", 80, 30), ("150", 150, 60)]),
        ("Rates: hh 80 roses, hr 150 roses, 2hr 280", [("160", 80, 30), ("150", 150, 60), ("140", 280, 120)]),
        ("qv 60 | hh 100 | hr 160", [("240", 60, 15), ("200", 100, 30), ("160", 160, 60)]),
        ("$80 hh / $150 hr", [("160", 80, 30), ("150", 150, 60)]),
        # An amount, a slash and its duration is a rate, not a date's first group: "$200" after
        # it must not take the "30min" that belongs to "$120".
        ("$120/30min $200/hr", [("240", 120, 30), ("200", 200, 60)]),
        ("120/30 min, 200/1hr", [("240", 120, 30), ("200", 200, 60)]),
    ],
)
def test_rate_tables(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert prices(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "24 yo",
        "I'm 24",
        "5'4 120lbs",
        "36DD",
        "call 713-555-0143",
        "713.555.0143",
        "available 24/7",
        "24 hr",
        "open 24 hours",
        "48 hrs notice",
        "10:30pm",
        "10pm-4am",
        "$5",
        "2 girls",
        "mia_rose22",
        "in 60 min",
        "100% real",
        "room 212",
        "since 2019",
        "🌹 24yo 🌹",  # a decorative rose is not money when an age follows
        "$$$ 36dd",
        "🌹 10pm",
        "WhatsApp 215🌹555🌹0143",  # a phone number split by roses
        "text 725 • 555 • 0164",
        "call 555 0143",
        "on 12/30 at noon",
        "24/7 outcall",
    ],
)
def test_numbers_that_are_not_prices(text: str) -> None:
    assert prices(f"Hi. {text}. Bye") == []


def test_same_rate_twice_is_one_value_with_two_spans() -> None:
    found = find_prices([("title", "80hh special"), ("body", "hh 80, or 160 roses/hr")])
    assert [(f.value, len(f.spans)) for f in found] == [("160", 3)]
    # The detail is that of the first occurrence.
    assert found[0].detail["minutes"] == 30


def test_spans_point_at_the_original_text() -> None:
    text = "✨ ＨＨ ８０ ✨ ｈｒ １５０"
    found = find_prices([("body", text)])
    assert [(f.value, text[f.spans[0].start : f.spans[0].end]) for f in found] == [
        ("160", "ＨＨ ８０"),
        ("150", "ｈｒ １５０"),
    ]


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=40, max_value=2000),
    form=st.sampled_from(
        [
            ("${}", None),
            ("{} roses", None),
            ("${}/hr", 60),
            ("{}hh", 30),
            ("hh {}", 30),
            ("qv {}", 15),
            ("{} for 30 min", 30),
            ("45 min {}", 45),
            ("{} per hour", 60),
            ("2 hrs {}", 120),
        ]
    ),
)
def test_per_hour_is_amount_over_duration(amount: int, form: tuple[str, int | None]) -> None:
    pattern, minutes = form
    if amount in (48, 72, 96) and "$" not in pattern and "roses" not in pattern:
        return  # bare "48 hr" reads as hours
    found = find_prices([("body", "Rates: " + pattern.format(amount) + ". Text me")])
    assert len(found) == 1
    assert found[0].detail["amount"] == amount
    assert found[0].detail["minutes"] == minutes
    assert found[0].value == str(round(amount * 60 / (minutes or 60)))


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


_HOSTILE = {
    "digits": "7" * 1_000_000,
    "at-signs": "@" * 1_000_000,
    "at-words": "at " * 333_333,
    "spaced-dots": ". " * 500_000,
    "digit-groups": "713 " * 250_000,
    "dollars": "$" * 1_000_000,
    "dollar-ones": "$1 " * 333_333,
    "prices": "150 hr " * 142_857,
    "table": "hh 80 " * 166_666,
    "durations": "hh hr qv " * 111_111,
    "separators": ". . " * 250_000,
    "one-letter": "a" * 1_000_000,
    "emoji": "🌹ab" * 333_333,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_is_fast_and_linear(kind: str) -> None:
    text = _HOSTILE[kind]
    # Fresh strings each time: the normalisation cache must not make the second run free.
    assert_linear(lambda t: find_prices([("body", t)]), text)
