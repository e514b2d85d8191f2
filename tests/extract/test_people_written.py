"""Ages in words and names of two words, as advertisers write them (made-up examples in the shape
of real ads, written here independently of the generator), and what must not be read as either."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.extract.people import find_ages, find_names

_UNITS = "one two three four five six seven eight nine".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}


def _ages(text: str, field: str = "body") -> list[tuple[str, str]]:
    """(age, text of its first span) of every age in ``text``."""
    return [(f.value, text[f.spans[0].start : f.spans[0].end]) for f in find_ages([(field, text)])]


def _names(text: str, field: str = "body") -> list[tuple[str, str]]:
    return [(f.value, text[f.spans[0].start : f.spans[0].end]) for f in find_names([(field, text)])]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("sweet twenty-four yo latina", [("24", "twenty-four yo")]),
        ("new girl twenty four yo, call me", [("24", "twenty four yo")]),
        ("Twenty Four years old and ready", [("24", "Twenty Four years old")]),
        ("im twentyfive y/o", [("25", "im twentyfive y/o")]),
        ("Hola, tengo veinticuatro años", [("24", "veinticuatro años")]),
        ("chica de veintidós años", [("22", "veintidós años")]),
        ("treinta y dos años, madura", [("32", "treinta y dos años")]),
        ("Age: twenty one", [("21", "Age: twenty one")]),
        ("age - Nineteen", [("19", "age - Nineteen")]),
        ("Edad: veinte", [("20", "Edad: veinte")]),
        ("I'm twenty two and new in town", [("22", "I'm twenty two")]),
        ("I am nineteen", [("19", "I am nineteen")]),
        ("pretty city girl thirty-one y.o.", [("31", "thirty-one y.o.")]),
        ("21yrs, 5'5, 120lbs", [("21", "21yrs")]),
    ],
)
def test_ages_in_words(text: str, want: list[tuple[str, str]]) -> None:
    assert _ages(text) == want


def test_a_minor_in_words_is_flagged() -> None:
    [found] = find_ages([("body", "young seventeen yo")])
    assert found.value == "17" and found.detail["minor"] is True and found.detail["words"] is True
    [found] = find_ages([("body", "tengo quince años")])
    assert found.value == "15" and found.detail["minor"] is True


@pytest.mark.parametrize(
    "text",
    [
        "available twenty four seven",  # 24/7
        "I'm twenty four seven for you",
        "I'm twenty minutes from downtown",
        "I'm twenty four hours available",
        "call seven one three twenty one fifty five oh one four two",  # a phone in words
        "twenty one years of experience",
        "doce años de experiencia",
        "plenty one, twenty dollars off",
        "sixty nine",  # no cue, no unit
        "only fifty roses",
        "I'm twenty one 555 0142",  # a phone follows
        "I'm seventy five hundred",
    ],
)
def test_number_words_that_are_not_ages(text: str) -> None:
    assert _ages(text) == []


@settings(max_examples=200, deadline=None)
@given(
    tens=st.sampled_from(sorted(_TENS)),
    unit=st.sampled_from(["", *_UNITS]),
    joint=st.sampled_from(["-", " ", ""]),
    cased=st.sampled_from([str.lower, str.title, str.upper]),
    form=st.sampled_from(["{n} yo", "{n} years old", "age: {n}", "I'm {n} and new", "{n} y/o"]),
    before=st.sampled_from(["", "Hi! ", "sweet ", "💋 "]),
    after=st.sampled_from(["", " 💋", ", call now", ". 5'4 120lbs"]),
)
def test_any_written_age(
    tens: str, unit: str, joint: str, cased: object, form: str, before: str, after: str
) -> None:
    words = tens + (joint + unit if unit else "")
    words = cased(words)  # type: ignore[operator]
    text = before + form.format(n=words) + after
    want = _TENS[tens] + (_UNITS.index(unit) + 1 if unit else 0)
    assert [a for a, _ in _ages(text)] == [str(want)], text


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("my name is Ana Sofia and I'm new", [("Ana Sofia", "Ana Sofia")]),
        ("Hi, I'm Mary Jane 💋", [("Mary Jane", "Mary Jane")]),
        ("Mary Jane here, call me", [("Mary Jane", "Mary Jane")]),
        ("call me Ana-Sofia", [("Ana Sofia", "Ana-Sofia")]),
        ("MY NAME IS MARY JANE", [("Mary Jane", "MARY JANE")]),
        ("name: Ana Sofia", [("Ana Sofia", "Ana Sofia")]),
    ],
)
def test_names_of_two_words(text: str, want: list[tuple[str, str]]) -> None:
    assert _names(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Hi im Mia Available now", "Mia"),  # an ordinary word after the name
        ("I'm Mia Rose petals for you", "Mia"),  # a name that is also a word
        ("I'm Mia Charlotte, NC", "Mia"),  # a city with its state
        ("I'm Mia jane", "Mia"),  # not written as one name
        ("I'm Mia Jones", "Mia"),  # not a first name
        ("It's Lola in Houston", "Lola"),
        ("I'm Mia, Lola is my friend", "Mia"),  # a comma between
        ("I'm Mia New in town", "Mia"),
    ],
)
def test_a_name_is_not_glued_to_the_next_word(text: str, want: str) -> None:
    assert [v for v, _ in _names(text)] == [want]


def test_a_title_and_a_name_field_with_two_names() -> None:
    assert _names("Mary Jane 24 😘 downtown", "title") == [("Mary Jane", "Mary Jane")]
    assert [f.value for f in find_ages([("title", "Mary Jane 24 😘 downtown")])] == ["24"]
    assert _names("Ebony Valentina", "title") == [("Valentina", "Valentina")]  # a description first
    assert _names("Ana Sofia", "fields.name") == [("Ana Sofia", "Ana Sofia")]


_HOSTILE = {
    "number words": "twenty four " * 83_333,
    "glued tens": "twentytwentytwenty" * 55_555,
    "word ages": "age: twenty one yo " * 52_631,
    "ty pieces": "pretty city ty " * 66_666,
    "two names": "I'm Mary Jane " * 71_428,
    "name chain": "Mary Jane Ana Sofia " * 50_000,
    "hyphen chain": "Mary-" * 200_000,
    "here chain": "Mary Jane here " * 66_666,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
@pytest.mark.parametrize("fn", [find_names, find_ages], ids=["names", "ages"])
def test_hostile_megabyte_of_written_forms_is_linear(fn: object, kind: str) -> None:
    from linearity import assert_linear

    assert_linear(lambda t: fn([("body", t)]), _HOSTILE[kind])  # type: ignore[operator]
