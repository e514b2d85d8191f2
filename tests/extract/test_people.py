"""Names and ages: self-introduction cues, common words that must not be names, stated ages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.people import find_ages, find_names, first_names


def names(text: str) -> list[str]:
    return [f.value for f in find_names([("body", text)])]


def ages(text: str) -> list[str]:
    return [f.value for f in find_ages([("body", text)])]


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm Mia", "Mia"),
        ("I’m Mia", "Mia"),
        ("Im mia", "Mia"),
        ("I am Mia", "Mia"),
        ("my name is Mia", "Mia"),
        ("My name's Mia", "Mia"),
        ("Name: Mia", "Mia"),
        ("name:MIA", "Mia"),
        ("call me Mia", "Mia"),
        ("ask for Mia", "Mia"),
        ("it's Mia", "Mia"),
        ("Mia here", "Mia"),
        ("Hi gentlemen, Mia here!", "Mia"),
        ("this is Mia", "Mia"),
        ("soy Mia", "Mia"),
        ("me llamo Mia", "Mia"),
        ("mi nombre es Mia", "Mia"),
        ("HI IM MIA", "Mia"),
        ("My name is Xanthe", "Xanthe"),  # unknown, but strongly cued and capitalised
        ("Name: Zola", "Zola"),
        ("I'm Honey", "Honey"),  # a word-like name, capitalised
        ("Call me Ebony", "Ebony"),
        ("I'm Zoë", "Zoë"),
    ],
)
def test_self_stated_names(text: str, expected: str) -> None:
    assert names(f"Hello! {text}. Sweet and discreet") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "I'm new",
        "I'm available",
        "I'm 24",
        "I'm sweet",
        "I'm here",
        "I'm honey",  # a word, in lower case
        "I'm an angel",
        "I'm in Dallas",
        "i'm ebony and ivory",
        "my name is xanthe",  # unknown and not capitalised
        "call me now",
        "Call me Baby",
        "CALL ME ANYTIME",
        "ask for Details",
        "it's Friday",
        "this is the best",
        "new here",
        "Im here now",
        "him Mia",  # "im" inside a word
        "Thanks for reading",
    ],
)
def test_common_words_after_a_cue_are_not_names(text: str) -> None:
    assert names(text) == []


def test_name_then_is_back() -> None:
    assert names("Hi loves, Gigi is back! VIP service") == ["Gigi"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Hola amores, Ana Sofia aquí, 24 años", ["Ana Sofia"]), ("besos, Valentina aqui!!", ["Valentina"])],
)
def test_name_then_aqui(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("MEI 27 😘 MEDICAL CENTER", "Check my reviews", ["Mei"]),
        ("💕💕 LILY 💕💕", "", ["Lily"]),
        ("Sweet Crystal - city center", "", ["Crystal"]),
        ("EBONY YUKI - AVAILABLE NOW", "", ["Yuki"]),  # a description, then the name
        ("sweet crystal - city", "", []),  # a word-like name needs a capital
        ("Scranton 💕 Mei", "", []),  # the title must start with the name
        ("Sexy Latina new in town", "", []),
        # A title that starts with a city that is also a name gives way to the name the text states.
        ("CHARLOTTE 💗 LUNA", "Luna here 💗", ["Luna"]),
        # Up to five known descriptions before the name; a word-like name in lower case is one.
        ("NEW IN TOWN 🔥 Sexy Latina Mary Jane 21yo 💋", "", ["Mary Jane"]),
        ("Brand new girl Mia (age: 20)", "", ["Mia"]),
        ("ebony goddess Diamond 25 y/o", "", ["Diamond"]),
        ("Exotic Beauty Aaliyah 🌴 22", "", ["Aaliyah"]),
        ("New girl in town Scranton Mei", "", []),  # an unknown word before it: not a title name
    ],
)
def test_title_that_starts_with_a_name(title: str, body: str, expected: list[str]) -> None:
    assert [f.value for f in find_names([("title", title), ("body", body)])] == expected


def test_name_field_skips_descriptions() -> None:
    found = find_names([("fields.name", "Sexy Mia 🌹")])
    assert [f.value for f in found] == ["Mia"]
    assert found[0].spans[0].start == 5 and found[0].spans[0].end == 8


def test_name_spans_point_at_the_original_text() -> None:
    text = "🌹🌹 Ｉ'ｍ Ｍｉａ 🌹 and again: Mia here"
    found = find_names([("body", text)])
    assert [(f.value, [text[s.start : s.end] for s in f.spans]) for f in found] == [
        ("Mia", ["Ｍｉａ", "Mia"])
    ]


def test_first_names_list_is_lower_case_and_sizeable() -> None:
    listed = first_names()
    assert len(listed) > 400
    assert all(n == n.lower() and n.isalpha() for n in listed)
    assert "new" not in listed and "available" not in listed


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(first_names())),
    cue=st.sampled_from(["I'm {}", "my name is {}", "call me {}", "{} here", "ask for {}", "It's {}"]),
)
def test_any_listed_name_after_any_cue(name: str, cue: str) -> None:
    written = name.title()
    text = "Hi! " + cue.format(written) + ", text me"
    found = find_names([("body", text)])
    assert [f.value for f in found] == [written]
    assert text[found[0].spans[0].start : found[0].spans[0].end] == written


# ---------------------------------------------------------------------------------------------
# Ages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("24 yo", "24"),
        ("24yo", "24"),
        ("24yrs", "24"),
        ("24 yrs old", "24"),
        ("24 years old", "24"),
        ("24-year-old", "24"),
        ("24y/o", "24"),
        ("24 y.o.", "24"),
        ("age 24", "24"),
        ("Age: 24", "24"),
        ("age:24", "24"),
        ("aged 24", "24"),
        ("edad 24", "24"),
        ("24 años", "24"),
        ("I'm 24", "24"),
        ("I am 24", "24"),
        ("im 24", "24"),
        ("I'm 24 years old", "24"),
        ("２４ ｙｏ", "24"),
        # Stated ages under 18 are kept: they matter most.
        ("16 yo", "16"),
        ("I'm only 17", "17"),
        ("age: 15", "15"),
        ("im jus 17", "17"),
    ],
)
def test_stated_ages(written: str, expected: str) -> None:
    text = f"Sweet girl, {written}, new in town"
    found = find_ages([("body", text)])
    assert [f.value for f in found] == [expected]
    (span,) = found[0].spans
    assert text[span.start : span.end] == written
    assert found[0].detail["minor"] is (int(expected) < 18)


@pytest.mark.parametrize(
    "text",
    [
        "available 24/7",
        "I'm 24/7",
        "I'm 34D",
        "36DD 24 28",
        "I'm 5'4",
        "5'4 120lbs",
        "I'm 120 lbs",
        "165cm",
        "$24",
        "I'm 24 hrs",
        "open 24 hours",
        "10 yrs experience",
        "15 years experience",
        "call 713-555-0143",
        "12:30",
        "1/24",
        "24 yoga",
        "age 90",  # out of range
        "age 9",
        "Rates: hh 80, hr 150",
        "I'm 100% real",
    ],
)
def test_numbers_that_are_not_ages(text: str) -> None:
    assert ages(text) == []


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("MEI 27 😘 MEDICAL CENTER", ["27"]),
        ("Camila 💋 31", ["31"]),
        ("Exotic Beauty Aaliyah 🌴 22", ["22"]),  # symbols and emoji between
        ("Lexi - 22 - incall", ["22"]),
        ("Mia 24/7", []),
        ("Mia 150 roses", []),
        ("Mia in 22 minutes", []),  # a word between
    ],
)
def test_age_after_the_name_a_title_starts_with(title: str, expected: list[str]) -> None:
    assert [f.value for f in find_ages([("title", title)])] == expected
    # In running text a bare number after a name is not an age.
    assert ages(f"Ask for {title}") == []


def test_age_field() -> None:
    assert [f.value for f in find_ages([("fields.age", "24")])] == ["24"]
    assert [f.value for f in find_ages([("fields.age", "17 yrs")])] == ["17"]
    assert find_ages([("fields.age", "99")]) == []


def test_same_age_twice_is_one_value_with_two_spans() -> None:
    found = find_ages([("title", "24yo Mia"), ("body", "I'm 24, age: 24")])
    assert [(f.value, len(f.spans)) for f in found] == [("24", 3)]


@settings(max_examples=300, deadline=None)
@given(
    age=st.integers(min_value=1, max_value=120),
    form=st.sampled_from(["{} yo", "{}yrs", "age: {}", "I'm {}", "{} years old", "edad {}"]),
)
def test_ages_in_range_are_kept_and_others_dropped(age: int, form: str) -> None:
    got = ages(f"Hi, {form.format(age)}, sweet")
    assert got == ([str(age)] if 12 <= age <= 80 else [])


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


_HOSTILE = {
    "digits": "7" * 1_000_000,
    "at-signs": "@" * 1_000_000,
    "at-words": "at " * 333_333,
    "spaced-dots": ". " * 500_000,
    "two-digit-runs": "24 " * 333_333,
    "ages": "24 yo " * 166_666,
    "cues": "I'm " * 250_000,
    "names": "I'm Mia " * 125_000,
    "here": "Mia here " * 111_111,
    "separators": ". . " * 250_000,
    "one-letter": "a" * 1_000_000,
    "emoji": "🌹ab" * 333_333,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
@pytest.mark.parametrize("fn", [find_names, find_ages], ids=["names", "ages"])
def test_hostile_megabyte_is_fast_and_linear(fn: object, kind: str) -> None:
    text = _HOSTILE[kind]
    # Fresh strings each time: the normalisation cache must not make the second run free.
    assert_linear(lambda t: fn([("body", t)]), text)


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("Hi, I'm Mia, 24. Sweet and discreet.", ["24"]),
        ("my name is Ruby 21 and new in town", ["21"]),
        ("I'm Mia, 5'4 and petite", []),
        ("It's Jade, 22", ["22"]),
    ],
)
def test_age_right_after_a_self_stated_name(text: str, ages: list[str]) -> None:
    found = find_ages([("body", text)])
    assert [f.value for f in found] == ages
    for f in found:
        assert text[f.spans[0].start : f.spans[0].end] == f.value


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("NEW 🍒 Valentina (23) in town til Sunday", ["23"]),
        ("Barely legal Lexi 18, fresh and young", ["18"]),
        ("sweet Destiny ( 16 ) new", ["16"]),
        # Not an age: money or a time after the number, a place's name, a listed name in lower case,
        # a word that is no name.
        ("ask for Candy 80 hh", []),
        ("Mia 60 qv, Mia 24/7", []),
        ("Visiting Paris 24, 25 Dec", []),
        ("ruby 21, downtown", []),
        ("Suite 21, downtown", []),
        ("Valentina (23 roses)", []),
    ],
)
def test_age_alone_right_after_a_listed_name(text: str, ages: list[str]) -> None:
    found = find_ages([("body", text)])
    assert [f.value for f in found] == ages
    for f in found:
        written = text[f.spans[0].start : f.spans[0].end]
        assert written.endswith(f.value) and written[:1].isupper()


def test_words_of_an_html_tag_are_never_a_name() -> None:
    # Scraped ads keep their markup: a tag's name and attributes are not self-stated names, the
    # text between tags is; a heart "<3" is not a tag.
    cases = {
        "<b onmouseover=alert(1)>Eve</b>": "Eve",
        "<span class='Luna'>Jade</span>": "Jade",
        "Mia <3": "Mia",
    }
    for text, name in cases.items():
        [found] = find_names([("fields.name", text)])
        [span] = found.spans
        assert found.value == name and text[span.start : span.end] == name, text
    [titled] = find_names([("title", '<a href="/x" title="Ruby">Luna</a> new in town')])
    assert titled.value == "Luna"


@pytest.mark.parametrize(
    ("text", "name", "age"),
    [
        ("Meet Tiffany, 19, new in Denver", ["Tiffany"], ["19"]),
        ("Tiffany (19) just got to Houston", ["Tiffany"], ["19"]),
        ("Tiffany, 19, just arrived", ["Tiffany"], ["19"]),
        ("Call for Tiffany 19yo", ["Tiffany"], ["19"]),
        ("Come see Tiffany tonight", ["Tiffany"], []),
        ("Say hi to Tiffany", ["Tiffany"], []),
        ("Introducing Tiffany, a sweet 19 year old", ["Tiffany"], ["19"]),
        ("Meet Chelsea, 23, pretty face", ["Chelsea"], ["23"]),  # a place's name too: the cue says
        ("Madison (19) just got to San Antonio", ["Madison"], ["19"]),  # and the brackets
        # Not names: an unlisted or common word after "meet", a city or a weekday before an age.
        ("Meet me at the hotel", [], []),
        ("meet friendly girls", [], []),
        ("Houston, 22, just arrived", [], []),
        ("Monday, 12, ok", [], []),
        ("Paris, 24, 25 Dec", [], []),
    ],
)
def test_names_introduced_or_followed_by_an_age(text: str, name: list[str], age: list[str]) -> None:
    assert names(text) == name
    assert ages(text) == age
