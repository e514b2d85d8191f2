"""Phone extraction: hand-written cases of every obfuscation, distractors, spans, and properties."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.phones import find_phones
from threadline.synth.obfuscate import STYLES as SYNTH_STYLES
from threadline.synth.obfuscate import render_phone


def phones(text: str, region: str = "US") -> list[str]:
    return sorted(f.value for f in find_phones([("body", text)], region))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call or text (713) 555-0142.", "+17135550142"),
        ("713-555-0142", "+17135550142"),
        ("713.555.0142", "+17135550142"),
        ("7135550142", "+17135550142"),
        ("+1 713 555 0142", "+17135550142"),
        ("1-713-555-0142", "+17135550142"),
        ("txt seven one three, five five five, oh one four two", "+17135550142"),
        ("SeVeN oNe ThReE fIvE fIvE fIvE zErO oNe FoUr TwO", "+17135550142"),
        ("seven1eight five5five 0one4two", "+17185550142"),
        ("sevenoneeight fivefivefive zeroonefourtwo", "+17185550142"),
        ("siete uno tres cinco cinco cinco cero uno cuatro dos", "+17135550142"),
        ("SIETE 1 tres 555 cero uno 4 dos", "+17135550142"),
        ("7l3-555-Ol42", "+17135550142"),
        ("7I3 555 OI42", "+17135550142"),
        ("7 1 3 5 5 5 0 1 4 2", "+17135550142"),
        ("7.1.3.5.5.5.0.1.4.2", "+17135550142"),
        ("713~555~0142", "+17135550142"),
        ("[713]*555*0142", "+17135550142"),
        ("713 / 555 / 0142", "+17135550142"),
        ("713_555_0142", "+17135550142"),
        ("2️⃣1️⃣4️⃣5️⃣5️⃣5️⃣0️⃣1️⃣9️⃣9️⃣", "+12145550199"),
        ("７１３５５５０１４２", "+17135550142"),
        ("𝟕𝟏𝟑 𝟓𝟓𝟓 𝟎𝟏𝟒𝟐", "+17135550142"),
        ("⑦①③ ⑤⑤⑤ ⓪①④②", "+17135550142"),
        ("٧١٣٥٥٥٠١٤٢", "+17135550142"),
        ("713 💋 555 💋 0142", "+17135550142"),
        ("713 dash 555 dash 0142", "+17135550142"),
        ("seven one three triple five zero one four two", "+17135550142"),
        ("7\u200b1\u200b3\u200b5\u200b5\u200b5\u200b0\u200b1\u200b4\u200b2", "+17135550142"),
        ("call713-555-0142now", "+17135550142"),
    ],
)
def test_obfuscated_us_numbers_are_recovered(text: str, expected: str) -> None:
    assert phones(f"Sweet and discreet. {text} No blocked calls.") == [expected]


def test_region_comes_from_the_caller() -> None:
    assert phones("text 020 7946 0311", "GB") == ["+442079460311"]
    assert phones("+44 20 7946 0311") == ["+442079460311"]
    # A UK-shaped national number in a US ad is still read as the UK number it must be.
    assert phones("text 020 7946 0311", "US") == ["+442079460311"]
    # ... and a US number in a UK ad as a US number.
    assert phones("call 713 555 0142", "GB") == ["+17135550142"]


@pytest.mark.parametrize(
    "text",
    [
        "Nothing to see: size 4, 5'6, 11/24, zip 77002, $200 special.",
        "Open 24/7, room 1208, 150 roses/hr, 80hh, $300/hr",
        "I'm 24 yo, 5 ft 4, 34C, 120 lbs, available 10:30pm to 4am",
        "posted 2026-10-01 14:35, ref 4471-2203, order #555 0142",
        "specials: 100 for 30 min, 150 hr, 250 for 2 hrs, 24 hours",
        "call me maybe. one two three, like the song",
        "1234567890123456789012345678901234567890",
    ],
)
def test_number_like_text_is_not_a_phone(text: str) -> None:
    assert phones(text) == []


def test_several_numbers_and_fields_with_spans() -> None:
    title = "Mia ⭐ 713-555-0142"
    body = "or my friend at two one four five five five zero one nine nine"
    found = find_phones([("title", title), ("body", body), ("fields.phone", "(832) 555-0177")])
    by_value = {f.value: f for f in found}
    assert set(by_value) == {"+17135550142", "+12145550199", "+18325550177"}
    texts = {"title": title, "body": body, "fields.phone": "(832) 555-0177"}
    for f in found:
        for span in f.spans:
            shown = texts[span.field][span.start : span.end]
            assert shown[0].isalnum() or shown[0] in "(+"
            assert shown[-1].isalnum()
    assert texts["body"][by_value["+12145550199"].spans[0].start :].startswith("two one four")
    assert by_value["+12145550199"].detail == {"obfuscated": True, "styles": ["words_en"]}
    assert by_value["+18325550177"].detail == {"obfuscated": False, "styles": []}


def test_same_number_twice_is_one_value_with_two_spans() -> None:
    [f] = find_phones([("body", "713-555-0142 ... again: seven one three 555 0142")])
    assert len(f.spans) == 2
    assert f.detail["obfuscated"] is True


def test_keycap_span_covers_the_whole_emoji() -> None:
    text = "x 2️⃣1️⃣4️⃣5️⃣5️⃣5️⃣0️⃣1️⃣9️⃣9️⃣ y"
    [f] = find_phones([("body", text)])
    span = f.spans[0]
    assert text[span.start : span.end] == "2️⃣1️⃣4️⃣5️⃣5️⃣5️⃣0️⃣1️⃣9️⃣9️⃣"
    assert "keycap" in f.detail["styles"]


# --- Properties -------------------------------------------------------------------------------

_AREA_CODES = [
    a for a in range(201, 990) if phonenumbers.is_valid_number(phonenumbers.parse(f"{a}5550150", "US"))
]
_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_ES = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
_FILLER_WORDS = "sweet discreet call text new visiting tonight ask for upscale real pics no drama".split()


def _render_digit(d: str, how: str, rng: random.Random) -> str:
    if how == "en":
        word = _EN[int(d)] if d != "0" or rng.random() < 0.5 else rng.choice(["oh", "o"])
        return rng.choice([word, word.upper(), word.capitalize()])
    if how == "es":
        return rng.choice([_ES[int(d)], _ES[int(d)].upper()])
    if how == "letter":
        return {"0": rng.choice("Oo"), "1": rng.choice("lI")}.get(d, d)
    if how == "keycap":
        return d + "\ufe0f\u20e3"
    if how == "fullwidth":
        return chr(0xFF10 + int(d))
    if how == "bold":
        return chr(0x1D7CE + int(d))
    return d


def render(digits: str, style: str, rng: random.Random) -> str:
    groups = [digits[:3], digits[3:6], digits[6:]]
    if style in ("plain", "letter", "fullwidth", "bold", "keycap"):
        how = style
        rendered = ["".join(_render_digit(d, how, rng) for d in g) for g in groups]
        if how == "letter" and not any(c in "OolI" for c in "".join(rendered)):
            how = "plain"
        sep = rng.choice(["-", ".", " ", "", " - ", "~", "*", " / "])
        if style == "plain" and rng.random() < 0.3:
            return f"({rendered[0]}) {rendered[1]}-{rendered[2]}"
        return sep.join(rendered)
    if style in ("en", "es"):
        sep = rng.choice([" ", "  ", "-", ", "])
        words = [" ".join(_render_digit(d, style, rng) for d in g) for g in groups]
        return sep.join(words)
    if style == "mixed":
        out = []
        for g in groups:
            out.append("".join(_render_digit(d, rng.choice(["en", "plain"]), rng) for d in g))
        return " ".join(out)
    if style == "spaced":
        return rng.choice([" ", ".", "-"]).join(digits)
    # filler between the groups
    filler = rng.choice([" 💋 ", " dash ", "🌹", " ✨✨ ", " - "])
    return filler.join(groups)


STYLES = ["plain", "letter", "fullwidth", "bold", "keycap", "en", "es", "mixed", "spaced", "filler"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    area=st.sampled_from(_AREA_CODES),
    line=st.integers(100, 199),
    style=st.sampled_from(STYLES),
    before=st.lists(st.sampled_from(_FILLER_WORDS), max_size=6),
    after=st.lists(st.sampled_from(_FILLER_WORDS), max_size=6),
    seed=st.integers(0, 2**32),
)
def test_any_fictional_number_in_any_style_is_recovered(
    area: int, line: int, style: str, before: list[str], after: list[str], seed: int
) -> None:
    digits = f"{area}555{line:04d}"
    text = " ".join([*before, render(digits, style, random.Random(seed)), *after])
    assert phones(text) == [f"+1{digits}"], text


_DISTRACTORS = st.one_of(
    st.integers(40, 900).map(lambda n: f"${n}"),
    st.integers(40, 900).map(lambda n: f"{n} roses"),
    st.integers(40, 400).map(lambda n: f"{n}hh"),
    st.integers(18, 60).map(lambda n: f"{n} yo"),
    st.integers(18, 60).map(lambda n: f"age {n}"),
    st.tuples(st.integers(4, 6), st.integers(0, 11)).map(lambda t: f"{t[0]}'{t[1]}"),
    st.tuples(st.integers(1, 12), st.integers(1, 28)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.integers(1, 12), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}pm"),
    st.integers(100, 4999).map(lambda n: f"room {n}"),
    st.integers(10000, 99999).map(lambda n: f"zip {n}"),
    st.just("24/7"),
    st.integers(2020, 2030).map(lambda y: f"{y}-10-01"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_DISTRACTORS, st.sampled_from([", ", " ", ". ", " and ", " - "])), max_size=10))
def test_number_like_text_never_yields_a_phone(parts: list[tuple[str, str]]) -> None:
    text = "".join(d + sep for d, sep in parts)
    assert phones(text) == [], text


# --- Hostile input ----------------------------------------------------------------------------

_HOSTILE = {
    "digits": "7" * 1_000_000,
    "digit groups": "713 555 " * 125_000,
    "separators": "-.-( )" * 170_000,
    "emoji": "💋🌹1️⃣" * 100_000,  # the same mixture throughout: its first quarter is like the rest
    "words": "seven one " * 100_000,
    "lookalikes": "o l i " * 170_000,
    "letters": "a" * 1_000_000,
}


@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_is_fast_and_linear(kind: str) -> None:
    text = _HOSTILE[kind]
    assert_linear(lambda t: find_phones([("body", t)]), text)


# The synthetic corpus's own renderer is a second, independent author of obfuscations: every one of
# its styles, for US and London numbers, must read back.
@settings(max_examples=300, deadline=None)
@given(
    country=st.sampled_from(["US", "GB"]),
    area=st.sampled_from(_AREA_CODES),
    line=st.integers(0, 999),
    style=st.sampled_from(SYNTH_STYLES),
    before=st.lists(st.sampled_from(_FILLER_WORDS), max_size=5),
    after=st.lists(st.sampled_from(_FILLER_WORDS), max_size=5),
    seed=st.integers(0, 2**32),
)
def test_every_style_of_the_corpus_generator_is_recovered(
    country: str, area: int, line: int, style: str, before: list[str], after: list[str], seed: int
) -> None:
    if country == "US":
        national = f"{area}555{line % 100 + 100:04d}"
        e164 = f"+1{national}"
    else:
        national = f"0207946{line:04d}"
        e164 = f"+44{national[1:]}"
    text = " ".join([*before, render_phone(national, country, style, random.Random(seed)), *after])
    assert phones(text, country) == [e164], text
