"""E-mail and handle extraction: obfuscated forms, distractors, spans into the original text, speed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.contacts import find_emails, find_handles


def emails(text: str) -> list[str]:
    return [f.value for f in find_emails([("body", text)])]


def handles(text: str) -> list[str]:
    return [f.value for f in find_handles([("body", text)])]


# ---------------------------------------------------------------------------------------------
# E-mails
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("ruby@example.com", "ruby@example.com"),
        ("Ruby.Lane@Example.COM", "ruby.lane@example.com"),
        ("ruby-lane+ads@example.net", "ruby-lane+ads@example.net"),
        ("ruby at example dot com", "ruby@example.com"),
        ("ruby AT example DOT com", "ruby@example.com"),
        ("ruby [at] example [dot] com", "ruby@example.com"),
        ("ruby(at)example(.)com", "ruby@example.com"),
        ("ruby (at) example (dot) com", "ruby@example.com"),
        ("ruby {at} example {dot} org", "ruby@example.org"),
        ("ruby @ example . com", "ruby@example.com"),
        ("ruby at example.com", "ruby@example.com"),
        ("ruby at example dot co dot uk", "ruby@example.co.uk"),
        ("ｒｕｂｙ＠ｅｘａｍｐｌｅ．ｃｏｍ", "ruby@example.com"),
        ("ru\u200bby@exam\u200bple.com", "ruby@example.com"),
    ],
)
def test_addresses_plain_and_spelled_out(written: str, expected: str) -> None:
    text = f"Sweet and discreet. Write {written} for details."
    found = find_emails([("body", text)])
    assert [f.value for f in found] == [expected]
    (span,) = found[0].spans
    # The span covers the address exactly as the advertiser wrote it.
    assert text[span.start : span.end] == written


@pytest.mark.parametrize(
    "text",
    [
        "meet me at home. Call me later",
        "text @ 8pm. Text first",
        "find me at mysite.example.net",  # a site, not an address
        "a@b.c",
        "100% real, me @ 9. thanks",
        "I'm at the hotel.Call first",
        "rates at 150.00 per hour",
        "@@@@ .... at at dot dot",
        "ruby@",
        "@example.com",
        "ruby@@example.com",
        "x" * 80 + "@example.com",  # a local part longer than 64 characters
    ],
)
def test_sentences_are_not_addresses(text: str) -> None:
    assert emails(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email candy22 at gmail for pics", ["candy22@gmail.com"]),
        ("Candy22 @ Yahoo only", ["candy22@yahoo.com"]),
        ("mail: candy.22 (at) hotmail, no calls", ["candy.22@hotmail.com"]),
        ("candy22 at gmail dot com", ["candy22@gmail.com"]),  # read once, as the full address
        ("meet me at gmail", []),
        ("snap at gmail", []),
        ("I use gmail and yahoo", []),
    ],
)
def test_a_known_provider_without_its_domain(text: str, expected: list[str]) -> None:
    found = find_emails([("body", text)])
    assert [f.value for f in found] == expected
    for f in found:
        written = text[f.spans[0].start : f.spans[0].end].lower()
        assert written.startswith(f.value.split("@")[0]) and f.value.split("@")[1].split(".")[0] in written


def test_a_full_stop_ends_the_address() -> None:
    text = "email ruby@example.com. Me too"
    (found,) = find_emails([("body", text)])
    assert found.value == "ruby@example.com"
    assert text[found.spans[0].start : found.spans[0].end] == "ruby@example.com"


def test_same_address_in_two_fields_is_one_value_with_two_spans() -> None:
    found = find_emails(
        [("title", "ruby@example.com"), ("body", "mail RUBY at example dot com or ruby@example.com")]
    )
    assert [f.value for f in found] == ["ruby@example.com"]
    assert [(s.field, s.start) for s in found[0].spans] == [("title", 0), ("body", 5), ("body", 32)]
    assert found[0].detail == {"obfuscated": False}


def test_obfuscation_is_recorded() -> None:
    (found,) = find_emails([("body", "ruby at example dot com")])
    assert found.detail["obfuscated"] is True


# Local parts as ads write them (a name with digits or a separator), so that none is an ordinary
# word: "me at home dot com" is deliberately not read as an address.
_LOCAL = st.from_regex(r"[a-z]{2,8}(?:[0-9]{1,3}|[._][a-z]{2,6})", fullmatch=True)
_DOMAIN = st.from_regex(r"[a-z][a-z0-9]{1,12}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(
    local=_LOCAL,
    domain=_DOMAIN,
    tld=st.sampled_from(["com", "net", "org", "co.uk", "io"]),
    style=st.sampled_from(
        ["{l}@{d}.{t}", "{l} at {d} dot {t}", "{l} [at] {d} [dot] {t}", "{l}(at){d}(.){t}", "{l} @ {d} . {t}"]
    ),
    before=st.sampled_from(["", "Text me. ", "email: ", "☎ "]),
    after=st.sampled_from(["", " ok", ". Bye", " 🌹"]),
)
def test_any_address_in_any_style_is_recovered(
    local: str, domain: str, tld: str, style: str, before: str, after: str
) -> None:
    if domain in {"at", "dot"}:
        return  # "ruby at at dot com" is unreadable by people too
    dot = {"{l} at {d} dot {t}": " dot ", "{l} [at] {d} [dot] {t}": " [dot] ", "{l}(at){d}(.){t}": "(.)"}
    written = style.format(
        l=local, d=domain, t=tld.replace(".", dot.get(style, " . " if " @ " in style else "."))
    )
    text = before + written + after
    found = find_emails([("body", text)])
    assert [f.value for f in found] == [f"{local}@{domain}.{tld}"]
    span = found[0].spans[0]
    assert text[span.start : span.end] == written


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab.@ -_()[]", "at", "dot", "com", "\u200b", "＠", "snap:", "👻"]), max_size=30
    ).map("".join)
)
def test_spans_always_lie_inside_the_text(text: str) -> None:
    for f in [*find_emails([("body", text)]), *find_handles([("body", text)])]:
        for span in f.spans:
            assert 0 <= span.start < span.end <= len(text)


# ---------------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snap: ruby_lane", ["snapchat:ruby_lane"]),
        ("Snapchat - Ruby.Lane99", ["snapchat:ruby.lane99"]),
        ("sc: ruby_lane", ["snapchat:ruby_lane"]),
        ("👻 ruby_lane", ["snapchat:ruby_lane"]),
        ("👻: ruby_lane", ["snapchat:ruby_lane"]),
        ("snapchat.com/add/ruby_lane", ["snapchat:ruby_lane"]),
        ("IG @ruby.lane", ["instagram:ruby.lane"]),
        ("insta: ruby_lane", ["instagram:ruby_lane"]),
        ("instagram.com/ruby.lane", ["instagram:ruby.lane"]),
        ("https://www.instagram.com/ruby_lane/", ["instagram:ruby_lane"]),
        ("t.me/rubylane", ["telegram:rubylane"]),
        ("telegram: @rubylane", ["telegram:rubylane"]),
        ("tg: rubylane", ["telegram:rubylane"]),
        ("wa.me/15555550123", ["whatsapp:+15555550123"]),
        ("https://api.whatsapp.com/send?phone=447946000123", ["whatsapp:+447946000123"]),
        ("twitter @ruby_x", ["twitter:ruby_x"]),
        ("X: @ruby.lane", ["twitter:ruby.lane"]),  # kept as written, though X refuses dots
        ("snap: elite_bookings61", ["snapchat:elite_bookings61"]),  # longer than Snapchat allows
        ("Telegram: ruby.lane53", ["telegram:ruby.lane53"]),
        ("twitter.com/ruby_x/status/1", ["twitter:ruby_x"]),
        ("x.com/ruby_x", ["twitter:ruby_x"]),
        ("onlyfans.com/rubylane", ["onlyfans:rubylane"]),
        ("OF: rubylane", ["onlyfans:rubylane"]),
        ("FOLLOW MY OF -> rubylane", ["onlyfans:rubylane"]),
        ("wickr: ruby_lane", ["wickr:ruby_lane"]),
        ("Wickr me - ruby_lane", ["wickr:ruby_lane"]),
        ("kik: ruby_lane", ["kik:ruby_lane"]),
        ("SC/IG: ruby_lane", ["snapchat:ruby_lane", "instagram:ruby_lane"]),
        ("mysite.example.net", ["site:mysite.example.net"]),
        ("www.ruby-example.party", ["site:ruby-example.party"]),
        ("see https://ruby.example.org/about-me", ["site:ruby.example.org"]),
        ("linktr.ee/RubyLane", ["site:linktr.ee/rubylane"]),
    ],
)
def test_handles_and_sites(text: str, expected: list[str]) -> None:
    assert handles(f"New in town. {text} . Serious only") == expected


@pytest.mark.parametrize(
    "text",
    [
        "one of rubylane",  # "of" is the word; only "OF:" is OnlyFans
        "PROOF: realpics",  # "OF" ends a word
        "TIRED OF: games",  # the word "of" in capitals
        "Columbia, SC area",  # a state code, not Snapchat
        "tg rubylane",  # ambiguous cue without punctuation
        "snap me",
        "IG below",
        "disc: ruby",  # "sc" inside a word
        "big: ruby",
        "Hi.Call me",
        "available.Now",
        "instagram.com",  # the platform, nobody's profile
        "instagram.com/p/abc123",  # a post, not a profile
        "linktr.ee",
        "a.m. p.m. i.e. e.g.",
        "5.5 stars",
        "IG: 24",
        "2 x 150",
        "box: ruby",
    ],
)
def test_things_that_are_not_handles(text: str) -> None:
    assert handles(text) == []


def test_an_address_is_not_a_handle_or_a_site() -> None:
    text = "snap: ruby@example.com"
    assert handles(text) == []
    assert emails(text) == ["ruby@example.com"]
    assert handles("email ruby@example.com, snap: ruby_lane") == ["snapchat:ruby_lane"]


def test_handle_spans_point_at_the_original_text() -> None:
    text = "🌹 Snap: Ruby_Lane ｜ ｉｇ＠ruby.lane"
    found = find_handles([("body", text)])
    assert {f.value: [text[s.start : s.end] for s in f.spans] for f in found} == {
        "snapchat:ruby_lane": ["Ruby_Lane"],
        "instagram:ruby.lane": ["＠ruby.lane"],
    }


def test_same_handle_twice_is_one_value() -> None:
    found = find_handles([("title", "snap: ruby_lane"), ("fields.snapchat", "👻 ruby_lane")])
    assert [(f.value, [s.field for s in f.spans]) for f in found] == [
        ("snapchat:ruby_lane", ["title", "fields.snapchat"])
    ]


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


_HOSTILE = {
    "digits": "7" * 1_000_000,
    "at-signs": "@" * 1_000_000,
    "spaced-dots": ". " * 500_000,
    "at-words": "at " * 333_333,
    "addresses": "a@a." * 250_000,
    "dotted": "a." * 500_000,
    "one-letter": "a" * 1_000_000,
    "cues": "snap: " * 166_666,
    "ghosts": "👻 " * 500_000,
    "emoji": "🌹ab" * 333_333,
    "providers": "ab at gmail " * 83_333,
    "providers-and-addresses": "a@b.com gmail " * 71_428,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
@pytest.mark.parametrize("fn", [find_emails, find_handles], ids=["emails", "handles"])
def test_hostile_megabyte_is_fast_and_linear(fn: object, kind: str) -> None:
    text = _HOSTILE[kind]
    # Fresh strings each time: the normalisation cache must not make the second run free.
    assert_linear(lambda t: fn([("body", t)]), text)
