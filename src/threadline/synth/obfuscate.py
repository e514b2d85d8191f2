"""How advertisers write a phone number so that site filters and keyword searches miss it.

`render_phone` turns the national digits of a number into one of the named `STYLES` seen in real
ads: digits as English or Spanish words, letters standing in for digits, keycap emoji, look-alike
Unicode digits, fillers between the groups, "double"/"triple" for repeats, or several of these in
one number ("mixed"). Every rendering keeps all the digits in order and the groups of the national
format (US 3-3-4, London 3-4-4), so a careful reader (and a good extractor) can always recover the
number. What surrounds the number ("call", "txt", "📱") is the generator's business, not this
module's.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

__all__ = [
    "OBFUSCATED_STYLES",
    "STYLES",
    "e164",
    "groups_of",
    "has_adjacent_repeat",
    "is_obfuscated",
    "render_phone",
]

STYLES: tuple[str, ...] = (
    "plain",  # the formats a site or a phone would print: "(713) 555-0142", "+44 20 7946 0123"
    "words_en",  # "seven one three FIVE five five oh one four two"
    "words_es",  # "siete uno tres cinco cinco cinco cero uno cuatro dos"
    "words_mixed",  # "seven1three five5five 0one4two"
    "letters",  # "7l3-555-Ol42": O for 0, l or I for 1
    "spaced",  # "7 1 3 5 5 5 0 1 4 2", "7.1.3.5.5.5.0.1.4.2"
    "separators",  # "713~555~0142", "[713]*555*0142", "(713)555-0142"
    "keycap",  # "7️⃣1️⃣3️⃣..."
    "unicode",  # "７１３", "𝟕𝟏𝟑", "⑦①③", "٧١٣"
    "filler",  # "713 💋 555 💋 0142", "713 dash 555 dash 0142"
    "double",  # "seven one three triple five oh one four two"
    "mixed",  # a different one of the styles above for each group
)

OBFUSCATED_STYLES: tuple[str, ...] = tuple(s for s in STYLES if s != "plain")

_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ES = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
# "oh" and a bare "o" for zero are how people say numbers aloud, so ads write them too.
_EN_ZERO = ("zero", "oh", "o")

# First code point of each run of ten look-alike digits 0..9 (all have Unicode digit value d, or
# decompose to it under NFKC, so they read as numbers to a person and to a normaliser alike).
_DIGIT_ALPHABETS: dict[str, int] = {
    "fullwidth": 0xFF10,
    "math_bold": 0x1D7CE,
    "math_double_struck": 0x1D7D8,
    "math_sans_bold": 0x1D7EC,
    "math_monospace": 0x1D7F6,
    "arabic_indic": 0x0660,
    "persian": 0x06F0,
}
# Circled digits are not one run: ①..⑨ are U+2460.., and the circled zero ⓪ lives at U+24EA.
_CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨"

_KEYCAP = "\ufe0f\u20e3"  # variation selector-16 + combining enclosing keycap
_KEYCAP_BARE = "\u20e3"  # some keyboards omit the variation selector

_FILLER_EMOJI = ("💋", "🌹", "✨", "💕", "🔥", "💦", "⭐")
_FILLER_WORDS = ("dash", "and", "then", "y", "-")


def e164(national_digits: str, country: str) -> str:
    """The E.164 form of a national number: ``e164("7135550142", "US") == "+17135550142"``."""
    _check(national_digits, country)
    if country == "US":
        return "+1" + national_digits
    return "+44" + national_digits[1:]


def groups_of(national_digits: str, country: str) -> tuple[str, ...]:
    """Split national digits into the groups people write: US 3-3-4, London 3-4-4."""
    _check(national_digits, country)
    d = national_digits
    if country == "US":
        return d[:3], d[3:6], d[6:]
    if d.startswith("02"):
        return d[:3], d[3:7], d[7:]
    # Other UK numbers (not generated here, but accepted): area code and the rest.
    return d[:5], d[5:]


def has_adjacent_repeat(national_digits: str, country: str) -> bool:
    """Whether some group holds a digit twice in a row, the only case where "double" changes things."""
    return any(a == b for g in groups_of(national_digits, country) for a, b in itertools.pairwise(g))


def is_obfuscated(style: str) -> bool:
    """Plain formats are what a site or phone would print; every other style is written to hide."""
    if style not in STYLES:
        raise ValueError(f"unknown phone style {style!r}; known: {', '.join(STYLES)}")
    return style != "plain"


def render_phone(national_digits: str, country: str, style: str, rng: random.Random) -> str:
    """Write a phone number the way an advertiser hiding it from filters would.

    ``national_digits`` is the number in national form: ten digits for the US ("7135550142"),
    eleven with the trunk 0 for the UK ("02079460123"). ``country`` is "US" or "GB". All random
    choices (case, separators, which look-alike digits) come from ``rng``, so a seeded ``rng`` gives
    the same text every time.
    """
    is_obfuscated(style)  # validates the name
    groups = groups_of(national_digits, country)
    if style == "plain":
        return _plain(national_digits, groups, country, rng)
    if style == "mixed":
        return _mixed(groups, rng)
    return _RENDERERS[style](groups, rng)


def _check(national_digits: str, country: str) -> None:
    if not (national_digits.isascii() and national_digits.isdigit()):
        raise ValueError(f"national number must be ASCII digits, got {national_digits!r}")
    if country == "US":
        if len(national_digits) != 10:
            raise ValueError(f"a US national number has 10 digits, got {national_digits!r}")
    elif country == "GB":
        if len(national_digits) not in (10, 11) or not national_digits.startswith("0"):
            raise ValueError(f"a UK national number starts with the trunk 0, got {national_digits!r}")
    else:
        raise ValueError(f"country must be 'US' or 'GB', got {country!r}")


# --- plain ----------------------------------------------------------------------------------------


def _plain(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    formats: tuple[str, ...]
    if country == "US":
        a, b, c = groups
        formats = (
            f"({a}) {b}-{c}",
            f"{a}-{b}-{c}",
            f"{a}.{b}.{c}",
            digits,
            f"+1 {a} {b} {c}",
            f"1-{a}-{b}-{c}",
        )
    else:
        rest = " ".join(groups)[1:]  # "20 7946 0123"
        formats = (
            " ".join(groups),
            f"+44 {rest}",
            digits,
            f"+44 (0){rest}",
        )
    return rng.choice(formats)


# --- words ----------------------------------------------------------------------------------------


def _case(words: list[str], rng: random.Random) -> list[str]:
    """Apply one casing habit to a list of words: ads shout, whisper or mix within one number."""
    mode = rng.choices(("lower", "upper", "title", "per_word", "per_letter"), (5, 2, 2, 3, 1))[0]
    if mode == "lower":
        return words
    if mode == "upper":
        return [w.upper() for w in words]
    if mode == "title":
        return [w.title() for w in words]
    if mode == "per_word":
        return [rng.choice((w, w.upper(), w.title())) for w in words]
    return ["".join(ch.upper() if rng.random() < 0.5 else ch for ch in w) for w in words]


def _group_separator(rng: random.Random) -> str:
    return rng.choices((" ", ", ", " - ", "  ", "... "), (6, 3, 2, 1, 1))[0]


def _words(groups: tuple[str, ...], rng: random.Random, vocabulary: tuple[str, ...]) -> str:
    # Case is chosen once over the whole number so that "per_word" mixing crosses group borders.
    zero = rng.choice(_EN_ZERO) if vocabulary is _EN else vocabulary[0]
    flat = [zero if d == "0" else vocabulary[int(d)] for g in groups for d in g]
    cased = iter(_case(flat, rng))
    word_sep = rng.choices((" ", "-"), (9, 1))[0]
    rendered = [word_sep.join(next(cased) for _ in g) for g in groups]
    return _group_separator(rng).join(rendered)


def _words_en(groups: tuple[str, ...], rng: random.Random) -> str:
    return _words(groups, rng, _EN)


def _words_es(groups: tuple[str, ...], rng: random.Random) -> str:
    return _words(groups, rng, _ES)


def _words_mixed(groups: tuple[str, ...], rng: random.Random) -> str:
    rendered = [_words_mixed_group(g, rng, glue=rng.random() < 0.7) for g in groups]
    flat = "".join(rendered)
    # Guarantee the style is really mixed: at least one digit and one word over the whole number.
    if not any(ch.isdigit() for ch in flat) or not any(ch.isalpha() for ch in flat):
        rendered[-1] = _words_mixed_group(groups[-1], rng, glue=True, force=True)
    return " ".join(rendered)


def _words_mixed_group(group: str, rng: random.Random, *, glue: bool, force: bool = False) -> str:
    parts: list[str] = []
    for i, d in enumerate(group):
        as_word = rng.random() < 0.5
        if force:
            as_word = i % 2 == 0  # alternates word, digit, word...
        if as_word:
            word = rng.choice(("zero", "oh")) if d == "0" else _EN[int(d)]
            parts.append(word.upper() if rng.random() < 0.15 else word)
        else:
            parts.append(d)
    if glue:
        return "".join(parts)
    return " ".join(parts)


def _double(groups: tuple[str, ...], rng: random.Random) -> str:
    """ "triple five", "double oh": how repeated digits are read aloud. Groups are spoken apart."""
    as_digits = rng.random() < 0.25  # "713 triple 5 0142" also occurs
    zero = rng.choice(("oh", "zero"))
    upper = rng.random() < 0.2
    rendered: list[str] = []
    for g in groups:
        tokens: list[str] = []
        i = 0
        while i < len(g):
            run = 1
            while i + run < len(g) and g[i + run] == g[i] and run < 3:
                run += 1
            d = g[i]
            spoken = d if as_digits else (zero if d == "0" else _EN[int(d)])
            if run == 1:
                tokens.append(spoken)
            else:
                tokens.append(f"{'double' if run == 2 else 'triple'} {spoken}")
            i += run
        joined = "".join(tokens) if as_digits and all(len(t) == 1 for t in tokens) else " ".join(tokens)
        rendered.append(joined.upper() if upper else joined)
    return rng.choice((" ", ", ")).join(rendered)


# --- digit look-alikes ----------------------------------------------------------------------------


def _letters(groups: tuple[str, ...], rng: random.Random) -> str:
    # One substitution habit per number: "O" or "o" for zero, "l" or "I" for one; a few digits stay.
    zero_as = rng.choice(("O", "o", "O"))
    one_as = rng.choice(("l", "I", "l"))
    swap_rate = rng.choice((1.0, 0.7))
    out: list[str] = []
    substituted = False
    for g in groups:
        chars = []
        for d in g:
            if d in "01" and rng.random() < swap_rate:
                chars.append(zero_as if d == "0" else one_as)
                substituted = True
            else:
                chars.append(d)
        out.append("".join(chars))
    if not substituted:
        # Force one swap so the style is real; a number with no 0 or 1 simply stays as digits.
        for i, g in enumerate(out):
            if "0" in g or "1" in g:
                out[i] = g.replace("0", zero_as, 1) if "0" in g else g.replace("1", one_as, 1)
                break
    sep = rng.choices(("-", " ", ".", ""), (4, 3, 2, 1))[0]
    return sep.join(out)


def _spaced(groups: tuple[str, ...], rng: random.Random) -> str:
    sep = rng.choices((" ", ".", "-", ". "), (5, 3, 1, 1))[0]
    between = sep if rng.random() < 0.7 else (sep * 2 if sep.strip() == "" else f"{sep} ")
    return between.join(sep.join(g) for g in groups)


def _separators(groups: tuple[str, ...], rng: random.Random) -> str:
    first, *rest = groups
    sep = rng.choice(("~", "*", " / ", "_", "|", " * ", "•", "=", ":", "~~", " . "))
    shape = rng.choices(("joined", "bracket", "paren_tight", "brace"), (5, 2, 2, 1))[0]
    if shape == "bracket":
        return f"[{first}]{sep}" + sep.join(rest)
    if shape == "paren_tight":
        return f"({first})" + "-".join(rest)
    if shape == "brace":
        return f"{{{first}}} " + " ".join(rest)
    return sep.join(groups)


def _keycap(groups: tuple[str, ...], rng: random.Random) -> str:
    cap = _KEYCAP if rng.random() < 0.9 else _KEYCAP_BARE
    sep = rng.choices(("", " ", "-"), (5, 3, 1))[0]
    return sep.join("".join(d + cap for d in g) for g in groups)


def _unicode_digits(group: str, alphabet: str) -> str:
    if alphabet == "circled":
        return "".join(_CIRCLED[int(d)] for d in group)
    base = _DIGIT_ALPHABETS[alphabet]
    return "".join(chr(base + int(d)) for d in group)


def _unicode(groups: tuple[str, ...], rng: random.Random) -> str:
    alphabets = (*_DIGIT_ALPHABETS, "circled")
    one = rng.choice(alphabets)
    per_group = rng.random() < 0.15  # an alphabet per group, as copy-pasted from different tools
    # U+200B (zero-width space) splits the digits for a filter but not for the eye.
    sep = rng.choices((" ", "-", "", ".", "－", "\u200b"), (5, 2, 2, 1, 1, 1))[0]
    return sep.join(_unicode_digits(g, rng.choice(alphabets) if per_group else one) for g in groups)


def _filler(groups: tuple[str, ...], rng: random.Random) -> str:
    if rng.random() < 0.55:
        token = rng.choice(_FILLER_EMOJI)
        spaced = rng.random() < 0.7
    else:
        token = rng.choice(_FILLER_WORDS)
        spaced = True
    if rng.random() < 0.15:  # a different filler at each break
        pool = (*_FILLER_EMOJI, *_FILLER_WORDS)
        seps = [rng.choice(pool) for _ in groups[1:]]
    else:
        seps = [token] * (len(groups) - 1)
    out = groups[0]
    for sep, g in zip(seps, groups[1:], strict=True):
        out += f" {sep} {g}" if spaced or sep.isalpha() else f"{sep}{g}"
    return out


# --- mixed ----------------------------------------------------------------------------------------

# What a single group can be rendered as inside a "mixed" number.
_GROUP_RENDERERS: dict[str, Callable[[str, random.Random], str]] = {
    "digits": lambda g, rng: g,
    "words_en": lambda g, rng: " ".join(rng.choice(("oh", "zero")) if d == "0" else _EN[int(d)] for d in g),
    "words_es": lambda g, rng: " ".join(_ES[int(d)] for d in g),
    "words_mixed": lambda g, rng: _words_mixed_group(g, rng, glue=True, force=True),
    "letters": lambda g, rng: g.replace("0", "O").replace("1", "l"),
    "spaced": lambda g, rng: " ".join(g),
    "keycap": lambda g, rng: "".join(d + _KEYCAP for d in g),
    "unicode": lambda g, rng: _unicode_digits(g, rng.choice((*_DIGIT_ALPHABETS, "circled"))),
}


def _mixed(groups: tuple[str, ...], rng: random.Random) -> str:
    kinds = list(_GROUP_RENDERERS)
    chosen = [rng.choice(kinds) for _ in groups]
    # At least two different renderings, one of them really hiding something ("letters" leaves a
    # group without 0 or 1 unchanged, so it does not count as hiding on its own).
    while len(set(chosen)) < 2 or all(k in ("digits", "letters") for k in chosen):
        chosen[rng.randrange(len(chosen))] = rng.choice(kinds)
    sep = rng.choices((" ", " - ", ", ", " 💋 "), (6, 2, 1, 1))[0]
    return sep.join(_GROUP_RENDERERS[k](g, rng) for k, g in zip(chosen, groups, strict=True))


_RENDERERS: dict[str, Callable[[tuple[str, ...], random.Random], str]] = {
    "words_en": _words_en,
    "words_es": _words_es,
    "words_mixed": _words_mixed,
    "letters": _letters,
    "spaced": _spaced,
    "separators": _separators,
    "keycap": _keycap,
    "unicode": _unicode,
    "filler": _filler,
    "double": _double,
}
