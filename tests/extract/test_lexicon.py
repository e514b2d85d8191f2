"""Indicator lexicon: the shipped file, checks on every row, safe patterns, matching under disguise."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.emoji import find_emoji
from threadline.extract.lexicon import (
    ENV_VAR,
    Entry,
    Lexicon,
    LexiconError,
    default_lexicon,
    load_lexicon,
)
from threadline.extract.matcher import MAX_WORDS, canonical
from threadline.extract.patterns import MAX_EXPANSIONS, PatternError, expand

HEADER = "id\tkind\ttext\tcategory\tweight\tsource\tnote\n"
SOURCE = "Example A. (2024). A study. Journal. https://example.org"


@pytest.fixture(scope="module")
def shipped() -> Lexicon:
    return load_lexicon()


def write(tmp_path: Path, body: str, name: str = "lexicon.tsv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def found(lexicon: Lexicon, text: str) -> list[tuple[str, str]]:
    """(entry id, text matched as posted) of every hit."""
    return [(h.id, text[h.start : h.end]) for h in lexicon.match(text)]


# ---------------------------------------------------------------------------------------------
# The shipped lexicon
# ---------------------------------------------------------------------------------------------


def test_shipped_lexicon_loads_and_every_row_is_sourced(shipped: Lexicon) -> None:
    assert 40 <= len(shipped) <= 120
    for entry in shipped:
        assert entry.source.strip(), entry.id
        assert "http" in entry.source or "press report" in entry.source, entry.id
        assert entry.note.strip(), entry.id
        assert 0 <= entry.weight <= 5
        assert entry.phrases or entry.emoji
    categories = {e.category for e in shipped}
    assert {"trust", "obscured_contact", "youth", "ethnicity", "movement", "third_party"} <= categories
    assert {"emoji_code", "age_under_23"} <= categories


def test_shipped_lexicon_keeps_what_research_found_not_predictive_at_zero(shipped: Lexicon) -> None:
    # Lugo-Graulich et al. 2024 / NIJ 2024: movement language and a stated age under 23 did not
    # predict trafficking. The rows stay, visible, with no weight.
    for category in ("movement", "age_under_23"):
        rows = [e for e in shipped if e.category == category]
        assert rows and all(e.weight == 0 for e in rows), category
    assert found(shipped, "New in town, leaving soon!") == [
        ("movement.new_in_town", "New in town"),
        ("movement.leaving_soon", "leaving soon"),
    ]
    # Emoji codes are weak hypotheses: small weights only.
    assert all(0 < e.weight <= 0.3 for e in shipped if e.kind == "emoji")


def test_shipped_lexicon_covers_each_predictive_category(shipped: Lexicon) -> None:
    text = (
        "100% real pics, I'm the girl in the photos. Barely legal, young and fresh. Sexy Latina. "
        "My number is in the pics. NEW girls every week, ask for the manager."
    )
    categories = {h.category: h.weight for h in shipped.match(text)}
    assert set(categories) >= {"trust", "youth", "ethnicity", "obscured_contact", "third_party"}
    assert all(w > 0 for w in categories.values())


def test_default_lexicon_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, HEADER + f"own.one\tphrase\tblue moon\tlocal\t0.4\t{SOURCE}\t\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    lexicon = default_lexicon()
    assert lexicon.path == str(path)
    assert [e.id for e in lexicon] == ["own.one"]
    monkeypatch.delenv(ENV_VAR)
    assert len(default_lexicon()) > 1  # the shipped one again


# ---------------------------------------------------------------------------------------------
# Broken files: every problem, with its line, at once
# ---------------------------------------------------------------------------------------------


def test_every_broken_row_is_reported_with_its_line(tmp_path: Path) -> None:
    rows = [
        "# a comment line, then a blank line",
        "",
        f"ok.first\tphrase\tnew girls\tthird_party\t0.7\t{SOURCE}\tfine",  # line 5
        f"bad.kind\twordlist\tsome words\tthird_party\t0.7\t{SOURCE}\t",  # line 6
        f"bad.weight\tphrase\tfresh face\tyouth\theavy\t{SOURCE}\t",  # line 7
        f"bad.comma\tphrase\tbaby face\tyouth\t0,5\t{SOURCE}\t",  # line 8
        f"bad.range\tphrase\tcollege girl\tyouth\t12\t{SOURCE}\t",  # line 9
        f"bad.empty\tphrase\t\tyouth\t1\t{SOURCE}\t",  # line 10
        "bad.source\tphrase\tjust arrived\tmovement\t0\t\t",  # line 11
        f"ok.first\tphrase\tmy girls\tthird_party\t0.7\t{SOURCE}\t",  # line 12: duplicate id
        f"bad.compile\tpattern\t(ask|call for the manager\tthird_party\t0.7\t{SOURCE}\t",  # line 13
        f"bad.unsafe\tpattern\t(a+)+b\tthird_party\t0.7\t{SOURCE}\t",  # line 14
        f"bad.emoji\temoji\tnot an emoji\temoji_code\t0.1\t{SOURCE}\t",  # line 15
        f"bad.same\tpattern\tnew (girls|ladies)\tthird_party\t0.7\t{SOURCE}\t",  # line 16: "new girls" again
        f"ok.second\temoji\t:rose:\temoji_code\t0.1\t{SOURCE}\t",  # line 17
        f"bad.nan\tphrase\tno outcall\trestricted\tnan\t{SOURCE}\t",  # line 18
        f"bad.category\tphrase\tincall only\tRestricted Movement\t0.3\t{SOURCE}\t",  # line 19
    ]
    path = write(tmp_path, "# header comment\n" + HEADER + "\n".join(rows) + "\n")
    # Line 1 is a comment, line 2 the header, the rows above start on line 3.
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    problems = caught.value.problems
    by_line: dict[int, list[str]] = {}
    for p in problems:
        assert p.path == str(path)
        by_line.setdefault(p.line, []).append(p.reason)
    expected = {
        6: "unknown kind 'wordlist'",
        7: "weight 'heavy' is not a number",
        8: "write 0.5",
        9: "outside 0..5",
        10: "text is empty",
        11: "source is missing",
        12: "duplicate id 'ok.first' (first on line 5)",
        13: "'(' is never closed",
        14: "'+' (unbounded repeat) is not allowed",
        15: "is not an emoji",
        16: "matches 'new girls' like line 5 (ok.first)",
        18: "not a finite number",
        19: "category 'Restricted Movement'",
    }
    for line, reason in expected.items():
        assert any(reason in r for r in by_line.get(line, [])), (line, by_line.get(line))
    assert set(by_line) == set(expected)  # the good rows (5 and 17) are not reported
    message = str(caught.value)
    assert f"{path}:14: pattern refused" in message
    assert message.startswith(f"{len(problems)} problems in the indicator lexicon")


def test_a_broken_file_is_reported_as_a_whole(tmp_path: Path) -> None:
    cases = {
        "missing.tsv": None,
        "empty.tsv": "# only comments\n\n",
        "header.tsv": "id\tkind\ttext\tcategory\twieght\tsource\tnote\n",
        "no_rows.tsv": HEADER,
    }
    reasons = {
        "missing.tsv": "cannot read the file",
        "empty.tsv": "no header line",
        "header.tsv": "missing column 'weight'; unknown column 'wieght'",
        "no_rows.tsv": "no indicator rows",
    }
    for name, body in cases.items():
        path = tmp_path / name if body is None else write(tmp_path, body, name)
        with pytest.raises(LexiconError) as caught:
            load_lexicon(path)
        assert reasons[name] in str(caught.value), name


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes((HEADER + f"x\tphrase\tcafé\tlocal\t0.1\t{SOURCE}\t\n").encode("latin-1"))
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    assert [(p.line, p.reason) for p in caught.value.problems] == [
        (2, "not UTF-8 text (save the file as UTF-8)")
    ]


def test_a_spreadsheet_csv_with_bom_quotes_and_comments_loads(tmp_path: Path) -> None:
    body = (
        "\ufeff# exported from a spreadsheet\r\n"
        "ID,Kind,Text,Category,Weight,Source,Note\r\n"
        f'own.ask,pattern,"ask for (the )?(manager|boss)",third_party,0.7,"{SOURCE}",'
        '"a note, with a comma"\r\n'
        '"# a quoted comment, as a spreadsheet saves one",,,,,,\r\n'
        f"own.rose,emoji,🌹,emoji_code,0.1,{SOURCE},\r\n"
    )
    lexicon = load_lexicon(write(tmp_path, body, "unit.csv"))
    assert [(e.id, e.line) for e in lexicon] == [("own.ask", 3), ("own.rose", 5)]
    assert lexicon["own.ask"].note == "a note, with a comma"
    assert found(lexicon, "Ask for the BOSS 🌹") == [("own.ask", "Ask for the BOSS"), ("own.rose", "🌹")]


def test_phrases_that_look_like_patterns_or_hold_emoji_are_refused(tmp_path: Path) -> None:
    body = HEADER + (
        f"p.paren\tphrase\task for (the )?manager\tthird_party\t0.7\t{SOURCE}\t\n"
        f"p.emoji\tphrase\ton tour ✈️\tmovement\t0\t{SOURCE}\t\n"
        f"p.long\tphrase\t{' '.join(['word'] * (MAX_WORDS + 1))}\tlocal\t0\t{SOURCE}\t\n"
        f"p.blank\tphrase\t!!! ...\tlocal\t0\t{SOURCE}\t\n"
    )
    with pytest.raises(LexiconError) as caught:
        load_lexicon(write(tmp_path, body))
    reasons = [p.reason for p in caught.value.problems]
    assert "make it a pattern" in reasons[0]
    assert "make it an emoji row" in reasons[1]
    assert f"at most {MAX_WORDS}" in reasons[2]
    assert "no letters or digits" in reasons[3]


# ---------------------------------------------------------------------------------------------
# Patterns: a finite phrase list, never a regular expression run on ad text
# ---------------------------------------------------------------------------------------------


def test_patterns_expand_to_their_phrases() -> None:
    assert expand("ask for (the )?manager") == ["ask for manager", "ask for the manager"]
    assert expand("(?:new|fresh) girls?") == ["new girl", "new girls", "fresh girl", "fresh girls"]
    assert expand("[2-4] girls") == ["2 girls", "3 girls", "4 girls"]
    assert expand("x{2}|y{,2}") == ["xx", "", "y", "yy"]
    assert len(expand("[a-z][a-z]")) == 676


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a+)+b", "unbounded repeat"),
        ("(a|aa)*", "unbounded repeat"),
        ("new.*girls", "'.' (any character)"),
        ("a{2,}", "unbounded repeat {2,}"),
        ("a{1,9}", "must have 0 <= m <= n <= 4"),
        (r"\d{3}", "backslash escapes"),
        (r"(a)\1", "backslash escapes"),
        ("(?=new)new", "lookahead and lookbehind"),
        ("(?<!x)y", "lookahead and lookbehind"),
        ("(?P<n>a)", "named groups"),
        ("(?i)new", "only plain groups"),
        ("^new", "anchor"),
        ("new$", "anchor"),
        ("[^a]", "negated classes"),
        ("a??", "lazy or possessive"),
        ("a{2}?", "lazy or possessive"),
        ("((((( a )))))", "nested deeper than 4"),
        ("[a-z]{4}", f"more than {MAX_EXPANSIONS} phrases"),
        ("(new|", "'(' is never closed"),
        ("new)", "')' without a matching '('"),
        ("[abc", "'[' is never closed"),
        ("?new", "nothing before it to repeat"),
        ("()", "empty group"),
        ("[z-a]", "bad range"),
        ("a" * 401, "at most 400"),
    ],
)
def test_unsafe_or_malformed_patterns_are_refused(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        expand(pattern)
    assert reason in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Matching under disguise, spans in the text as posted
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "NEW GIRLS EVERY WEEK",
        "new   girls\n every  week",
        "new-girls.every_week",
        "New 💋 girls 💋 every 💋 week",
        "nеw gіrls еvеry wееk",  # Cyrillic е and і
        "ΝΕW GΙRLS ΕVΕRΥ WΕΕΚ",  # Greek capitals
        "ｎｅｗ ｇｉｒｌｓ ｅｖｅｒｙ ｗｅｅｋ",  # fullwidth
        "𝐧𝐞𝐰 𝐠𝐢𝐫𝐥𝐬 𝐞𝐯𝐞𝐫𝐲 𝐰𝐞𝐞𝐤",  # mathematical bold
        "ɴᴇᴡ ɢɪʀʟꜱ ᴇᴠᴇʀʏ ᴡᴇᴇᴋ",  # small capitals
        "n\u200be\u200bw gi\u200drls every week",  # zero-width characters inside words
        "n̶e̶w̶ g̶i̶r̶l̶s̶ every week",  # combining strike-through
        "nèw gírls évery wéék",  # accents
        "n3w g1rls ev3ry w33k",  # digits for letters inside words
        "new girl$ every w3ek",
    ],
)
def test_disguised_phrases_match_with_spans_in_the_original(shipped: Lexicon, written: str) -> None:
    text = f"Hi!! {written}!! xo"
    hits = [h for h in shipped.match(text) if h.id == "third_party.new_girls_weekly"]
    assert len(hits) == 1
    assert text[hits[0].start : hits[0].end] == written


def test_matches_are_whole_words(shipped: Lexicon) -> None:
    assert found(shipped, "brand new girlsss every weekend") == []
    assert found(shipped, "newgirls every week, mismanagement, ask for themanager") == []
    assert found(shipped, "Ask for the Manager.") == [("third_party.ask_for_manager", "Ask for the Manager")]


def test_a_match_never_starts_inside_one_original_character(shipped: Lexicon) -> None:
    # "½" reads as "1⁄2" after NFKC: its "2" is not a word the advertiser wrote.
    assert found(shipped, "½ girls special") == []
    assert found(shipped, "2 girls special") == [("third_party.duo_special", "2 girls special")]


def test_emoji_match_by_name_in_any_spelling(shipped: Lexicon) -> None:
    text = "🌹 roses 🌹\ufe0f 👑 ✈ ✈️ 7️⃣ 🍒🍒"
    assert found(shipped, text) == [
        ("emoji.rose", "🌹"),
        ("emoji.rose", "🌹"),  # the extractor names the rose of a stray selector by its rose
        ("emoji.crown", "👑"),
        ("emoji.airplane", "✈"),
        ("emoji.airplane", "✈️"),
        ("emoji.cherries", "🍒"),
        ("emoji.cherries", "🍒"),
    ]
    assert found(shipped, "a heart on fire ❤️\u200d🔥 is not a growing heart") == []


def test_one_entry_matches_left_to_right_without_overlap(shipped: Lexicon) -> None:
    text = "number in pics NUMBER in the pics, number on my photos"
    assert found(shipped, text) == [
        ("obscured.number_in_pics", "number in pics"),
        ("obscured.number_in_pics", "NUMBER in the pics"),
        ("obscured.number_in_pics", "number on my photos"),
    ]
    # The longest phrase of an entry wins where several start at the same word.
    assert found(shipped, "100% real pics guaranteed") == [
        ("trust.hundred_real", "100% real"),
        ("trust.real_pics", "100% real pics guaranteed"),
    ]


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

_CYRILLIC = dict(zip("aeopcxyi", "аеорсхуі", strict=True))
_LEET = dict(zip("oieast", "013457", strict=True))
_SEPARATORS = (" ", "  ", "\n", " - ", ". ", ", ", "_", "~", "\t", " 💋 ", "/", "*", " | ", "\u00a0")


def _disguise(word: str, style: str, rng: random.Random) -> str:
    """One way of writing ``word`` that a reader (and the matcher) still reads as ``word``."""
    out = []
    for i, c in enumerate(word):
        inner = 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha()
        if style == "case":
            out.append(c.upper() if rng.random() < 0.5 else c)
        elif style == "cyrillic":
            out.append(_CYRILLIC.get(c, c))
        elif style == "fullwidth":
            out.append(chr(ord(c) + 0xFEE0) if c.isalnum() else c)
        elif style == "zero_width":
            out.append(c + ("\u200b" if rng.random() < 0.5 else ""))
        elif style == "combining":
            out.append(c + ("\u0336" if c.isalpha() else ""))
        elif style == "leet":
            out.append(_LEET[c] if inner and c in _LEET and rng.random() < 0.5 else c)
        else:
            out.append(c)
    return "".join(out)


_STYLES = ("plain", "case", "cyrillic", "fullwidth", "zero_width", "combining", "leet")


@st.composite
def disguised_phrase(draw: st.DrawFn, lexicon: Lexicon) -> tuple[Entry, str]:
    entry = draw(st.sampled_from([e for e in lexicon.entries if e.phrases]))
    words = draw(st.sampled_from(entry.phrases))
    rng = random.Random(draw(st.integers(0, 2**32)))
    style = draw(st.sampled_from(_STYLES))
    written = draw(st.sampled_from(_SEPARATORS)).join(_disguise(w, style, rng) for w in words)
    return entry, written


def _check_spans(lexicon: Lexicon, text: str) -> None:
    """Every hit's span slices the text to something that reads as one of its entry's phrases."""
    for hit in lexicon.match(text):
        entry = lexicon[hit.id]
        piece = text[hit.start : hit.end]
        if entry.emoji:
            assert [f.value for f in find_emoji([("t", piece)])] == [entry.emoji], (hit, piece)
        else:
            assert canonical(piece) in entry.phrases, (hit, piece)


_SHIPPED = load_lexicon()
_NOISE = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(disguised_phrase(_SHIPPED), st.sampled_from(_SEPARATORS), st.sampled_from(_SEPARATORS))
def test_a_disguised_phrase_is_found_where_it_was_written(
    case: tuple[Entry, str], before: str, after: str
) -> None:
    entry, written = case
    text = f"{before}{written}{after}"
    start = len(before)
    spans = [(h.start, h.end) for h in _SHIPPED.match(text) if h.id == entry.id]
    assert spans == [(start, start + len(written))], (written, spans)
    _check_spans(_SHIPPED, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_NOISE, disguised_phrase(_SHIPPED).map(lambda c: c[1])), max_size=6))
def test_every_span_slices_to_text_that_reads_as_its_entry(pieces: list[str]) -> None:
    _check_spans(_SHIPPED, " ".join(pieces))
    _check_spans(_SHIPPED, "".join(pieces))


# ---------------------------------------------------------------------------------------------
# Hostile input: linear in its size
# ---------------------------------------------------------------------------------------------

_HOSTILE = {
    "candidate-words": "new " * 250_000,
    "near-misses": "new girls every " * 62_500,
    "many-matches": "seven one three " * 62_500,
    "one-long-word": "a" * 1_000_000,
    "cyrillic-word": "а" * 500_000,
    "mixed-scripts": "аb" * 500_000,
    "digits-for-letters": "g1rl " * 200_000,
    "letter-then-digits": "a" + "7" * 999_999,
    "letters-and-digits": "a1" * 500_000,
    "combining-marks": "n\u0336" * 500_000,
    "apostrophes": "'" * 1_000_000,
    "spaces": " " * 1_000_000,
    "spaced-candidates": ("new" + " " * 61 + "girls" + " " * 61) * 7_800,
    "roses": "🌹" * 500_000,
    "zero-width": "n\u200b" * 500_000,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_is_fast_and_linear(shipped: Lexicon, kind: str) -> None:
    assert_linear(shipped.match, _HOSTILE[kind])
