"""How advertisers write a phone number so that site filters and keyword searches miss it.

`render_phone` turns the national digits of a number into one of the named `STYLES` seen in real
ads: digits as English or Spanish words, letters standing in for digits, keycap emoji, look-alike
Unicode digits, fillers between the groups, "double"/"triple" for repeats, or several of these in
one number ("mixed"). Every rendering keeps all the digits in order and the groups of the national
format (US 3-3-4, London 3-4-4), so a careful reader (and a good extractor) can always recover the
number. What surrounds the number ("call", "txt", "📱") is the generator's business, not this
module's.

`WRITTEN_STYLES` are the further ways real ads write numbers (issue 13): digits grouped any way,
teens and tens ("five fifty five"), number words run together, sound-alikes ("won", "for"), leet
("f1ve"), more look-alike letters (S for 5, B for 8, Z for 2), any symbol between the groups, and
international forms (country code with any grouping, "00"/"011" prefixes, "(0)" trunks). They are
rendered for every country `COUNTRIES` lists, not only the corpus's US and UK. The corpus draws its
styles from `STYLES` (the population's weights name each one); `ALL_STYLES` is both.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from functools import lru_cache

import phonenumbers

__all__ = [
    "ALL_STYLES",
    "COUNTRIES",
    "OBFUSCATED_STYLES",
    "STYLES",
    "WRITTEN_STYLES",
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

WRITTEN_STYLES: tuple[str, ...] = (
    "regrouped",  # "713 5550 142", "71 35 55 01 42", "713-555-01 42"
    "words_tens",  # "seven one three, five fifty five, oh one forty two", "two hundred"
    "words_run",  # "sevenonethree fivefivefive zeroonefourtwo"
    "soundalike",  # "seven won three five five five oh one for too"
    "leet",  # "s3ven 0ne thr33 f1ve ..."
    "lookalikes",  # "7l3 5S5 Ol4Z": O o l I i for 0 and 1, S B Z for 5 8 2
    "symbols",  # "713@555@0142", "713~*~555!!0142", ";71;35;55;01;42", "713 💋💋 555 🌹 0142"
    "international",  # "+44 (0)20 79 46 03 11", "0044 207 946 0311", "011 44 20 7946 0311"
)
ALL_STYLES: tuple[str, ...] = STYLES + WRITTEN_STYLES

# Countries `render_phone` writes numbers of. The corpus uses "US" and "GB" (fictional ranges);
# the others serve benchmarks and demos of how ads abroad write numbers.
COUNTRIES: tuple[str, ...] = ("US", "CA", "GB", "DE", "IT", "IN", "AU", "AR", "ES", "MX")
_SPANISH = frozenset({"ES", "MX", "AR"})

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
    if country in ("US", "CA"):
        return "+1" + national_digits
    if country == "GB":
        return "+44" + national_digits[1:]
    return _parsed(national_digits, country)[0]


def groups_of(national_digits: str, country: str) -> tuple[str, ...]:
    """Split national digits into the groups people write: US 3-3-4, London 3-4-4."""
    _check(national_digits, country)
    d = national_digits
    if country in ("US", "CA"):
        return d[:3], d[3:6], d[6:]
    if country != "GB":
        return _parsed(d, country)[1]
    if d.startswith("02"):
        return d[:3], d[3:7], d[7:]
    # Other UK numbers (not generated here, but accepted): area code and the rest.
    return d[:5], d[5:]


@lru_cache(maxsize=1024)
def _parsed(national_digits: str, country: str) -> tuple[str, tuple[str, ...], str, str]:
    """(E.164, national groups as printed, country code, digits after it) of a valid number."""
    num = phonenumbers.parse(national_digits, country)
    if not phonenumbers.is_valid_number(num):
        raise ValueError(f"not a valid {country} number: {national_digits!r}")
    printed = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    groups = ["".join(c for c in part if c.isdigit()) for part in printed.replace("-", " ").split()]
    groups = [g for g in groups if g]
    if "".join(groups) != national_digits:
        raise ValueError(f"{national_digits!r} is not how {country} writes it nationally ({printed})")
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return e164, tuple(groups), str(num.country_code), phonenumbers.national_significant_number(num)


def has_adjacent_repeat(national_digits: str, country: str) -> bool:
    """Whether some group holds a digit twice in a row, the only case where "double" changes things."""
    return any(a == b for g in groups_of(national_digits, country) for a, b in itertools.pairwise(g))


def is_obfuscated(style: str) -> bool:
    """Plain formats are what a site or phone would print; every other style is written to hide."""
    if style not in ALL_STYLES:
        raise ValueError(f"unknown phone style {style!r}; known: {', '.join(ALL_STYLES)}")
    return style != "plain"


def render_phone(national_digits: str, country: str, style: str, rng: random.Random) -> str:
    """Write a phone number the way an advertiser hiding it from filters would.

    ``national_digits`` is the number in national form: ten digits for the US ("7135550142"),
    eleven with the trunk 0 for the UK ("02079460123"), for other countries the digits of its
    national printed form ("0111523456789" in Argentina). ``country`` is "US" or "GB" for `STYLES`,
    any of `COUNTRIES` for `WRITTEN_STYLES`. All random
    choices (case, separators, which look-alike digits) come from ``rng``, so a seeded ``rng`` gives
    the same text every time.
    """
    is_obfuscated(style)  # validates the name
    groups = groups_of(national_digits, country)
    if style in WRITTEN_STYLES:
        return _WRITTEN[style](national_digits, groups, country, rng)
    if country not in ("US", "GB"):
        raise ValueError(f"style {style!r} is rendered for US and GB numbers only")
    if style == "plain":
        return _plain(national_digits, groups, country, rng)
    if style == "mixed":
        return _mixed(groups, rng)
    return _RENDERERS[style](groups, rng)


def _check(national_digits: str, country: str) -> None:
    if not (national_digits.isascii() and national_digits.isdigit()):
        raise ValueError(f"national number must be ASCII digits, got {national_digits!r}")
    if country in ("US", "CA"):
        if len(national_digits) != 10:
            raise ValueError(f"a US national number has 10 digits, got {national_digits!r}")
    elif country == "GB":
        if len(national_digits) not in (10, 11) or not national_digits.startswith("0"):
            raise ValueError(f"a UK national number starts with the trunk 0, got {national_digits!r}")
    elif country in COUNTRIES:
        _parsed(national_digits, country)
    else:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}, got {country!r}")


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


# --- written styles (issue 13): how real ads write numbers beyond the corpus's classic styles ------

_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen")  # fmt: skip
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ES_TEENS = ("diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete",
             "dieciocho", "diecinueve")  # fmt: skip
_ES_TENS = ("", "", "veinte", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta",
            "noventa")  # fmt: skip
_ES_TWENTIES = ("veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco",
                "veintiséis", "veintisiete", "veintiocho", "veintinueve")  # fmt: skip
_SOUNDALIKES = {"2": ("to", "too"), "4": ("for",), "8": ("ate",), "1": ("won",)}
_LEET_SWAPS = {"o": "0", "i": "1", "e": "3"}
_LOOKALIKE_LETTERS = {"0": "Oo", "1": "lIi", "5": "S", "8": "B", "2": "Z"}
_SYMBOL_SEPARATORS = ("@", "$", ";", ":", "~", "*", "!", "#", "^", "=", "+", "_", "|", "'", "~~", "**", "!!",
                      "*~*", "-*-", "=>", " 💋💋 ", "🌹", " ✨ ", "❤️", "👉", "•", " ~ ")  # fmt: skip


def _digit_word(d: str, spanish: bool, rng: random.Random) -> str:
    if spanish:
        return _ES[int(d)]
    return rng.choice(_EN_ZERO) if d == "0" else _EN[int(d)]


def _split_any(digits: str, rng: random.Random, smallest: int = 1, largest: int = 5) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(digits):
        size = rng.randint(smallest, largest)
        if len(digits) - i - size < smallest:
            size = len(digits) - i
        out.append(digits[i : i + size])
        i += size
    return out


def _w_regrouped(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    for _ in range(10):
        shape = rng.choice(("any", "any", "pairs", "split_last"))
        if shape == "pairs":
            parts = [digits[i : i + 2] for i in range(0, len(digits), 2)]
        elif shape == "split_last":
            last = groups[-1]
            cut = rng.randint(1, len(last) - 1) if len(last) > 1 else 1
            parts = [*groups[:-1], last[:cut], last[cut:]]
            parts = [p for p in parts if p]
        else:
            parts = _split_any(digits, rng)
        if tuple(parts) != groups:
            break
    sep = rng.choice((" ", "-", ".", "  ", " - "))
    if len(parts) > 2 and rng.random() < 0.3:
        return sep.join(parts[:-1]) + " " + parts[-1]  # "713-555-01 42"
    return sep.join(parts)


def _w_words_tens(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    spanish = country in _SPANISH
    rendered: list[str] = []
    done = 0
    for g in groups:
        words: list[str] = []
        i = 0
        done += len(g)
        while i < len(g):
            a = g[i]
            pair = g[i : i + 2]
            # The digit spoken after this pair, in this group or the next.
            following = digits[done - len(g) + i + 2 : done - len(g) + i + 3]
            if a != "0" and g[i + 1 : i + 3] == "00" and not spanish and rng.random() < 0.7:
                words.append(f"{_EN[int(a)]} hundred")  # "two hundred" for 200
                i += 3
                continue
            if len(pair) == 2 and a != "0" and rng.random() < 0.75:
                b = int(pair[1])
                # "fifty" then "one" reads as 51: a round ten only at the end or before a 0.
                if a == "1" or b or following in ("", "0"):
                    if a == "1":
                        words.append((_ES_TEENS if spanish else _EN_TEENS)[b])
                    elif spanish and a == "2":
                        words.append(_ES_TWENTIES[b])
                    elif spanish:
                        words.append(_ES_TENS[int(a)] + (f" y {_ES[b]}" if b else ""))
                    else:
                        joiner = rng.choice((" ", "-", ""))
                        words.append(_EN_TENS[int(a)] + (joiner + _EN[b] if b else ""))
                    i += 2
                    continue
            words.append(_digit_word(a, spanish, rng))
            i += 1
        rendered.append(" ".join(words))
    return rng.choice((" ", ", ", " - ")).join(rendered)


def _w_words_run(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    spanish = country in _SPANISH
    zero = "zero" if not spanish else "cero"
    words = ["".join(zero if d == "0" else _digit_word(d, spanish, rng) for d in g) for g in groups]
    words = [w.upper() if rng.random() < 0.2 else w for w in words]
    return rng.choice((" ", " - ", ", ")).join(words)


def _w_soundalike(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    words = [rng.choice(("oh", "zero")) if d == "0" else _EN[int(d)] for d in digits]
    spots = [k for k in range(1, len(digits)) if digits[k] in _SOUNDALIKES]
    # A number with no 1, 2, 4 or 8 past its first digit stays plain words.
    for k in rng.sample(spots, k=min(len(spots), rng.choice((1, 2)))):
        words[k] = rng.choice(_SOUNDALIKES[digits[k]])
    return " ".join(words)


def _w_leet(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    words = [rng.choice(("zero", "oh")) if d == "0" else _EN[int(d)] for d in digits]
    changed = 0
    for k in rng.sample(range(len(words)), k=len(words)):
        letters = [c for c in words[k] if c in _LEET_SWAPS]
        if letters and (changed < 2 or rng.random() < 0.5):
            c = rng.choice(letters)
            words[k] = words[k].replace(c, _LEET_SWAPS[c], rng.choice((1, 2)))
            changed += 1
    bounds = list(itertools.accumulate(len(g) for g in groups))
    out = ""
    for k, w in enumerate(words):
        out += w + (rng.choice((" ", ", ")) if k + 1 in bounds[:-1] else " ")
    return out.strip()


def _w_lookalikes(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    out: list[str] = []
    for g in groups:
        chars = list(g)
        # At most one of S, B, Z per group, and at most half of a group's digits swapped: the run
        # stays "otherwise digits", as a reader needs it.
        budget = len(g) // 2
        strong = [k for k, c in enumerate(chars) if c in "582"]
        if strong and len(g) >= 3:
            k = rng.choice(strong)
            chars[k] = _LOOKALIKE_LETTERS[chars[k]]
            budget -= 1
        for k, c in enumerate(chars):
            if c in "01" and budget > 0 and rng.random() < 0.6:
                chars[k] = rng.choice(_LOOKALIKE_LETTERS[c])
                budget -= 1
        out.append("".join(chars))
    # A number without 0, 1, 2, 5 or 8 has nothing to swap and stays digits.
    return rng.choice(("-", " ", ".")).join(out)


def _w_symbols(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    sep = rng.choice(_SYMBOL_SEPARATORS)
    parts = list(groups)
    if sep in ("'", '"'):  # after one or two digits a quote is a height (5'6): groups of 3-4
        parts = _split_any(digits, rng, 3, 4)
    if rng.random() < 0.25 and sep.strip() and len(sep.strip()) == 1 and sep.strip() not in "+$'":
        parts = [digits[i : i + 2] for i in range(0, len(digits), 2)]
        return sep.strip() + sep.strip().join(parts)  # ";71;35;55;01;42"
    return sep.join(parts)


def _w_international(digits: str, groups: tuple[str, ...], country: str, rng: random.Random) -> str:
    number = e164(digits, country)
    cc, rest = _split_cc(number)
    # North America's "1" is written with its prefix; other codes after "+", "00" or "+ ".
    prefixes = ("+1", "+1", "001", "+1-") if cc == "1" else tuple(p + cc for p in ("+", "+", "00", "+ "))
    prefix = rng.choice(prefixes)
    parts = _split_any(rest, rng, 1, 4) if rng.random() < 0.6 else _intl_groups(number)
    trunk = digits.startswith("0") and cc not in ("", "39", "1")
    if trunk and rng.random() < 0.4:
        parts[0] = "(0)" + parts[0]  # "+44 (0)20 ...": the trunk a local would dial, bracketed
    sep = rng.choice((" ", " ", "-", ".", "  "))
    glue = rng.choice((" ", " ", "")) if prefix.startswith("00") or prefix.startswith("+") else " "
    if prefix == "+1-":
        glue = ""
    return prefix + glue + sep.join(parts)


def _split_cc(e164_number: str) -> tuple[str, str]:
    num = phonenumbers.parse(e164_number)
    return str(num.country_code), phonenumbers.national_significant_number(num)


def _intl_groups(e164_number: str) -> list[str]:
    printed = phonenumbers.format_number(
        phonenumbers.parse(e164_number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    parts = ["".join(c for c in p if c.isdigit()) for p in printed.replace("-", " ").split()[1:]]
    return [p for p in parts if p]


_WRITTEN: dict[str, Callable[[str, tuple[str, ...], str, random.Random], str]] = {
    "regrouped": _w_regrouped,
    "words_tens": _w_words_tens,
    "words_run": _w_words_run,
    "soundalike": _w_soundalike,
    "leet": _w_leet,
    "lookalikes": _w_lookalikes,
    "symbols": _w_symbols,
    "international": _w_international,
}
