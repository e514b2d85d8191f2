"""Emoji: CLDR names, sequences (skin tones, joiners, flags), keycaps left to phones, speed."""

from __future__ import annotations

import random

import emoji as emoji_data
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.emoji import emoji_name, find_emoji


def named(text: str) -> dict[str, list[str]]:
    """Name -> the occurrences as written, via the spans."""
    return {f.value: [text[s.start : s.end] for s in f.spans] for f in find_emoji([("body", text)])}


def test_names_and_spans() -> None:
    text = "New 🌹 in town 💋 roses 🌹🌹"
    assert named(text) == {":rose:": ["🌹", "🌹", "🌹"], ":kiss_mark:": ["💋"]}
    (rose,) = [f for f in find_emoji([("body", text)]) if f.value == ":rose:"]
    assert rose.detail == {"emoji": "🌹"}


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("❤️", ":red_heart:"),
        ("❤", ":red_heart:"),  # without the presentation selector: same name
        ("👍🏽", ":thumbs_up_medium_skin_tone:"),
        ("🇺🇸", ":United_States:"),
        ("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", ":England:"),
        ("👨\u200d👩\u200d👧\u200d👦", ":family_man_woman_girl_boy:"),
        ("👩\u200d❤️\u200d👨", ":couple_with_heart_woman_man:"),
        ("🔟", ":keycap_10:"),  # a pictograph, not a digit keycap
        ("👑", ":crown:"),
        ("🍒", ":cherries:"),
    ],
)
def test_sequences_are_one_emoji(written: str, name: str) -> None:
    text = f"hi {written} bye"
    assert named(text) == {name: [written]}
    assert emoji_name(written) == name


def test_keycap_digits_are_left_to_the_phone_extractor() -> None:
    assert find_emoji([("body", "call 7️⃣1️⃣3️⃣ #️⃣ *️⃣ 7⃣")]) == []
    assert emoji_name("7️⃣") is None


def test_unlisted_sequences_fall_back_to_their_parts() -> None:
    # A skin-toned couple the data may not list: its parts are still named.
    text = "👩🏽\u200d❤️\u200d👨x"
    got = named(text)
    assert ":red_heart:" in got or any("couple" in n for n in got)
    for parts in got.values():
        assert all(p in text for p in parts)


def test_plain_text_has_no_emoji() -> None:
    assert find_emoji([("body", "Call me now!!! :) <3 100% real ~~~ ¡olé! ★ → ½")]) == []
    # The data counts a few symbols as emoji even without a presentation selector.
    assert emoji_name("©") == ":copyright:"


def test_several_fields() -> None:
    found = find_emoji([("title", "🌹 Mia"), ("body", "x 🌹")])
    assert [(f.value, [(s.field, s.start) for s in f.spans]) for f in found] == [
        (":rose:", [("title", 0), ("body", 2)])
    ]


_SINGLE = sorted(
    e
    for e, d in emoji_data.EMOJI_DATA.items()
    if not e[0].isascii() and not (0x1F3FB <= ord(e[0]) <= 0x1F3FF)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SINGLE), min_size=1, max_size=12))
def test_every_listed_emoji_is_found_with_its_name(seqs: list[str]) -> None:
    text = " . ".join(seqs)  # separated, so that neighbours cannot join into one sequence
    found = find_emoji([("body", text)])
    got = sorted((s.start, text[s.start : s.end], f.value) for f in found for s in f.spans)
    expected_names = [str(emoji_data.EMOJI_DATA[e]["en"]) for e in seqs]
    assert [name for _, _, name in got] == expected_names
    assert [written for _, written, _ in got] == seqs


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


def _emoji_megabyte() -> str:
    rng = random.Random(7)
    singles = [e for e in _SINGLE if len(e) == 1]
    # 100,000 emoji among plain text: one megabyte.
    return "".join(rng.choice(singles) + "abcdefghi" for _ in range(100_000))


_HOSTILE = {
    "emoji-100k": _emoji_megabyte(),
    "ghosts": "👻" * 500_000,
    "joiners": "👩\u200d" * 333_333,
    "selectors": "\ufe0f" * 1_000_000,
    "flags": "🇺" * 500_000,
    "skin-tones": "🏽" * 500_000,
    "keycaps": "7️⃣" * 333_333,
    "one-letter": "a" * 1_000_000,
    "digits": "7" * 1_000_000,
    "at-signs": "@" * 1_000_000,
    "at-words": "at " * 333_333,
    "spaced-dots": ". " * 500_000,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_is_fast_and_linear(kind: str) -> None:
    text = _HOSTILE[kind]
    assert_linear(lambda t: find_emoji([("body", t)]), text)
