"""The digit-bearing words of a phone number as advertisers write them: the token grammar.

One word of an ad (a run of letters and digits, see `classify`) stands for digits when it is:

- digits, or digits with look-alike letters among them (``7l3``, ``Ol42``, ``7135S5O142``: ``O o`` for 0,
  ``l I i`` for 1, ``S`` for 5, ``B`` for 8, ``Z`` for 2; ``S B Z`` only inside a run of digits);
- number words, alone or run together, English or Spanish (German, Italian and French digits
  too): single digits (``seven``, ``oh``), teens and tens (``fifteen``, ``forty``; ``twentysix``
  run together), ``hundred`` (``00``), ``veinticuatro``; Italian and German teens, tens and
  compounds (``dodici``, ``trentaquattro``, ``zwölf``, ``vierunddreißig``); Spanish hundreds
  (``seiscientos``, joined by the chain to the pair after it: ``seiscientos doce`` is 612); digits
  glued to them (``seven1eight``) and one stray letter before them (``usix02``);
- leet spellings of number words (``f1ve``, ``zer0``, ``s3ven``, ``n1ne``, ``e1even``);
- a sound-alike (``to``/``too`` 2, ``for``/``fore`` 4, ``ate`` 8, ``won`` 1), which is a digit only
  where the run around it is clearly a spelled number (the chain decides, see `phones`);
- ``double``/``triple``/``doble``, which repeat the digit after them.

Every word is classified once (cached): ad text repeats its words. The spelled-word expression's
alternatives are tried longest first and no unit is a prefix of another unit plus a unit's tail,
so a failed match backtracks at most one word; words longer than `_MAX_WORD` are never spelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "CANDIDATE",
    "HUNDRED",
    "MULTIPLIER",
    "QUANTITY",
    "SOUND",
    "TENS",
    "Piece",
    "classify",
]

# Internal markers carried in a piece's styles (never reported): a tens word that may take the
# next digit word ("forty two" is 42), and a sound-alike that needs a spelled run around it.
TENS = "_tens"
HUNDRED = "_hundred"  # a Spanish hundreds word ("seiscientos") that may take the pair after it
SOUND = "_sound"
QUANTITY: frozenset[str] = frozenset({"quantity"})
MULTIPLIER = "*"  # digits value of a "double"/"triple" token, followed by the factor

Piece = tuple[int, int, str, bool, frozenset[str]]  # (offset, end, digits, weak, styles)

_WORDS_EN = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
_WORDS_ES = {
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4",
    "cinco": "5", "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
}  # fmt: skip
# German and Italian digits, as ads in those countries spell them ("null eins fünf", "tre tre due").
_WORDS_DE = {
    "null": "0", "eins": "1", "zwei": "2", "zwo": "2", "drei": "3", "vier": "4",
    "fünf": "5", "fuenf": "5", "sechs": "6", "sieben": "7", "acht": "8", "neun": "9",
}  # fmt: skip
_WORDS_IT = {
    "zero": "0", "uno": "1", "due": "2", "tre": "3", "quattro": "4",
    "cinque": "5", "sei": "6", "sette": "7", "otto": "8", "nove": "9",
}  # fmt: skip
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
    "diez": "10", "doce": "12", "trece": "13", "catorce": "14", "quince": "15",
    "dieciseis": "16", "dieciséis": "16", "diecisiete": "17", "dieciocho": "18", "diecinueve": "19",
    "veintiuno": "21", "veintidos": "22", "veintidós": "22", "veintitres": "23", "veintitrés": "23",
    "veinticuatro": "24", "veinticinco": "25", "veintiseis": "26", "veintiséis": "26",
    "veintisiete": "27", "veintiocho": "28", "veintinueve": "29",
}  # fmt: skip
_TENS = {
    "twenty": "20", "thirty": "30", "forty": "40", "fourty": "40", "fifty": "50", "sixty": "60",
    "seventy": "70", "eighty": "80", "ninety": "90",
    "veinte": "20", "treinta": "30", "cuarenta": "40", "cincuenta": "50", "sesenta": "60",
    "setenta": "70", "ochenta": "80", "noventa": "90",
}  # fmt: skip
_HUNDREDS = {"hundred": "00", "thousand": "000", "cien": "100"}
# Italian and German teens and tens, and their compounds written as one word ("trentaquattro",
# "ventotto", "vierunddreißig"), as ads in those countries write a number in pairs.
_IT_TENS = ("venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta", "novanta")
_IT_UNITS = ("uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove")
_DE_TENS = {
    "zwanzig": "2", "dreißig": "3", "dreissig": "3", "vierzig": "4", "fünfzig": "5", "fuenfzig": "5",
    "sechzig": "6", "siebzig": "7", "achtzig": "8", "neunzig": "9",
}  # fmt: skip
_DE_UNITS = {
    "ein": "1", "zwei": "2", "drei": "3", "vier": "4", "fünf": "5", "fuenf": "5", "sechs": "6",
    "sieben": "7", "acht": "8", "neun": "9",
}  # fmt: skip
_PAIRS_OTHER = {
    "dieci": "10", "undici": "11", "dodici": "12", "tredici": "13", "quattordici": "14",
    "quindici": "15", "sedici": "16", "diciassette": "17", "diciotto": "18", "diciannove": "19",
    "zehn": "10", "elf": "11", "zwölf": "12", "zwoelf": "12", "dreizehn": "13", "vierzehn": "14",
    "fünfzehn": "15", "fuenfzehn": "15", "sechzehn": "16", "siebzehn": "17", "achtzehn": "18",
    "neunzehn": "19",
    **{t: f"{k + 2}0" for k, t in enumerate(_IT_TENS)},
    **{
        (t[:-1] if u[0] in "uo" else t) + u: f"{k + 2}{n + 1}"
        for k, t in enumerate(_IT_TENS)
        for n, u in enumerate(_IT_UNITS)
    },
    **{t + "tré": f"{k + 2}3" for k, t in enumerate(_IT_TENS)},
    **{t: d + "0" for t, d in _DE_TENS.items()},
    **{u + "und" + t: d + e for t, d in _DE_TENS.items() for u, e in _DE_UNITS.items()},
}  # fmt: skip
# Spanish hundreds: "seiscientos doce" is 612 (the chain joins the hundreds to the pair after it,
# see `phones`); alone "seiscientos" is 600.
_HUNDREDS_ES = {
    "ciento": "100", "doscientos": "200", "doscientas": "200", "trescientos": "300",
    "trescientas": "300", "cuatrocientos": "400", "cuatrocientas": "400", "quinientos": "500",
    "quinientas": "500", "seiscientos": "600", "seiscientas": "600", "setecientos": "700",
    "setecientas": "700", "ochocientos": "800", "ochocientas": "800", "novecientos": "900",
    "novecientas": "900",
}  # fmt: skip
# Letters that read as digits: "O" for zero, "l" and "I" for one. Alone they are weak evidence.
_LOOKALIKE = {"oh": "0", "o": "0", "l": "1", "i": "1"}
SOUNDALIKES = {"to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8", "won": "1"}
_MULTIPLIERS = {"double": 2, "doble": 2, "triple": 3}
# French digits and the teens that are one word, as Québec ads spell them ("cinq un quatre").
# Not "dix" or the tens: "dix-sept" (17), "quatre-vingt-douze" (92) are read word by word
# otherwise, into wrong digits.
_WORDS_FR = {
    "zéro": "0", "un": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6",
    "sept": "7", "huit": "8", "neuf": "9",
}  # fmt: skip
_TEENS_FR = {"onze": "11", "douze": "12", "treize": "13", "quatorze": "14", "quinze": "15", "seize": "16"}
_WORDS_OTHER = {**_WORDS_DE, **_WORDS_IT, **_WORDS_FR}
_TEENS.update(_PAIRS_OTHER)
_TEENS.update(_TEENS_FR)
_DIGIT_OF = {
    **_WORDS_EN, **_WORDS_ES, **_WORDS_OTHER, **_TEENS, **_TENS, **_HUNDREDS, **_HUNDREDS_ES, **_LOOKALIKE,
}  # fmt: skip
_DIGITS_1_9 = frozenset("123456789")
_UNITS_1_9 = frozenset(w for w, d in {**_WORDS_EN, **_WORDS_ES}.items() if d != "0")
# Number words that are also ordinary words ("once" is Spanish 11, "due" Italian 2, "null" German
# 0): alone they are weak, like a look-alike letter.
_WEAK_WORDS = frozenset(
    {"once", "due", "sei", "tre", "null", "otto", "acht", "nove", "elf", "venti"}
    | {"un", "sept", "neuf", "seize"}  # French: "un" is also "a", "neuf" "new", "seize" English
)
_TEENS["once"] = "11"
_DIGIT_OF["once"] = "11"

_MAX_WORD = 120


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_Node = dict[str, "_Node"]


def _trie(words: Iterable[str]) -> str:
    """One alternative per word as a prefix tree ("f(?:ive|our)"): the regex engine then reads each
    letter once instead of trying every word in turn. Longer words are tried first, as in
    `_alternatives`."""
    root: _Node = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Node) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


_UNIT = _alternatives(_DIGIT_OF)
_PIECE = re.compile(rf"[0-9]|{_UNIT}")
_SPELLED = re.compile(rf"(?:[0-9]|{_UNIT}){{1,80}}")
# Every word `classify` may find digits in: one with a digit, or one made only of vocabulary. Matched
# at word starts only (the lookbehind), so finding them is one linear pass of the regex engine
# instead of a Python step per word of the ad. The first alternative is possessive: its letters
# can never give one back to the digit after them, so a word without digits fails at its end
# instead of retrying the digit at every letter (same matches, a sixth less scanning). ASCII
# classes go first where a Unicode one follows (a range test is cheaper than a category test):
# inside a word the first look-behind fails at once, and the letters of an English word are
# scanned by the first repeat (same matches again, a tenth less scanning).
CANDIDATE = re.compile(
    r"(?<![a-z0-9])(?<![^\W_])(?:[a-z]*+[^\W\d_]*+\d[^\W_]*+|"
    + rf"(?:{_trie({**_DIGIT_OF, **SOUNDALIKES, **_MULTIPLIERS})}){{1,80}}(?![^\W_]))"
)
_WORD_UNIT = _alternatives(
    {**_WORDS_EN, **_WORDS_ES, **_WORDS_OTHER, **_TEENS, **_TENS, **_HUNDREDS, **_HUNDREDS_ES}
)
_WORDS_ONLY = re.compile(rf"(?:{_WORD_UNIT}|oh){{1,20}}")
_WORD_PIECE = re.compile(rf"{_WORD_UNIT}|oh")
_DIGIT_RUN = re.compile(r"[0-9]+")
_CUP = re.compile(r"[2-5][0-9](?:[a-h]|dd|ddd)")
# Digits with look-alike letters among them: "7135S5O142", "B00-..." (S B Z only with digits).
_LOOK_MIX = re.compile(r"[0-9olisbz]+")
_LOOK_DIGIT = str.maketrans("olisbz", "011582")
# Leet: digits standing for letters inside a number word ("f1ve", "zer0", "s3ven").
_LEET_I = str.maketrans("013457", "oieast")
_LEET_L = str.maketrans("013457", "oleast")
# Units that make a number a quantity, not part of a phone number: 24yo, 150hh, 10pm, 5ft. Glued
# to the digits even a one-letter unit counts.
UNIT_GLUED = re.compile(
    r"(?:y/?o|yrs?|years?|hh|hrs?|h|mins?|m|pm|am|st|nd|rd|th|ft|in|lbs?|kg|cm|k|roses?|r|"
    r"usd|gbp|eur|dollars?|bucks|x|anos|años|hs|hora|horas|min|mil|pesos|rs|inr)(?![^\W_])"
)

_NO_STYLE: frozenset[str] = frozenset()
_LETTERS = frozenset({"letters"})


def _spelled(token: str, offset: int) -> Piece | None:
    """A token made only of digits and number words (and look-alike letters), or None."""
    if len(token) > _MAX_WORD or not _SPELLED.fullmatch(token):
        return None
    digits: list[str] = []
    styles: set[str] = set()
    pieces = _PIECE.findall(token)
    words = 0
    k = 0
    while k < len(pieces):
        piece = pieces[k]
        value = _DIGIT_OF.get(piece, piece)
        if piece in _TENS and k + 1 < len(pieces) and pieces[k + 1] in _UNITS_1_9:
            value = value[0] + _DIGIT_OF[pieces[k + 1]]  # "twentysix": 26
            k += 1
            words += 1
        elif piece in _TENS and k + 1 < len(pieces) and pieces[k + 1] in _DIGITS_1_9:
            value = value[0] + pieces[k + 1]  # "fifty5": 55
            k += 1
        k += 1
        digits.append(value)
        if piece in _WORDS_EN:
            styles.add("words_en")
            words += 1
        elif piece in _WORDS_ES:
            styles.add("words_es")
            words += 1
        elif piece in _WORDS_OTHER:
            styles.add("words_other")
            words += 1
        elif piece in _TEENS or piece in _TENS or piece in _HUNDREDS:
            styles.add("words_tens")
            words += 1
        elif piece in _HUNDREDS_ES:
            if k < len(pieces):
                return None  # "seiscientosdoce": not written so, and never read as 60012
            styles.update(("words_hundreds", HUNDRED))
            words += 1
        elif piece in _LOOKALIKE:
            styles.add("letters")
    if words >= 2 and len(pieces) >= 2 and not any(c.isdigit() for c in token):
        styles.add("words_run")  # "fivefivefive", "twentysix"
    if pieces[-1] in _TENS:
        styles.add(TENS)  # "ninety" or "01ninety": a unit word after it may complete it ("-nine")
    # "I", "o", "oh" alone are ordinary words; they count as digits only next to digits.
    weak = (len(token) <= 2 and styles == {"letters"}) or token in _WEAK_WORDS
    return (offset, offset + len(token), "".join(digits), weak, frozenset(styles))


def _look_mix(token: str) -> Piece | None:
    """Digits with look-alike letters (at most three letters; weak unless mostly digits)."""
    if not _LOOK_MIX.fullmatch(token):
        return None
    n_digits = sum(c.isdigit() for c in token)
    letters = len(token) - n_digits
    if n_digits == 0 or letters > 3:
        return None
    if token[-1] == "s" and token[:-1].isdigit() and token[-2] == "0":
        return None  # "1990s", "20s", "100s": a plural, not a five
    # Mostly letters ("Ol4Z", "b2b") it is weak: a digit only among other digits of the run.
    weak = n_digits < 2 or n_digits < letters
    return (0, len(token), token.translate(_LOOK_DIGIT), weak, _LETTERS)


def _leet(token: str) -> Piece | None:
    """A number word spelled with digits for letters ("f1ve", "zer0"), or several run together."""
    if len(token) > 40 or not any(c.isdigit() for c in token):
        return None
    for table in (_LEET_I, _LEET_L):
        word = token.translate(table)
        if _WORDS_ONLY.fullmatch(word):
            pieces = _WORD_PIECE.findall(word)
            digits = "".join(_DIGIT_OF[p] for p in pieces)
            # "f0rty" may take the unit word after it, as "forty" does ("f0rty two" is 42).
            return (0, len(token), digits, False, _LEET_TENS if pieces[-1] in _TENS else _LEET)
    return None


_LEET = frozenset({"leet"})
_LEET_TENS = frozenset({"leet", TENS})


def _leet_among_digits(token: str) -> Piece | None:
    """Number words, some in leet, run together with plain digits ("zer0one4two": 0142): the
    whole token must be such pieces, with at least one leet word (a word holding a digit).
    Segmented left to right, a digit read as itself before as a leet letter."""
    if len(token) > 40 or not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token):
        return None
    words = [token.translate(table) for table in (_LEET_I, _LEET_L)]
    # best[i]: (digits, leet used, ends with a tens word) of the first segmentation reaching i;
    # a unit after a tens word takes its 0 ("f1fty5", "f1ftyfive": 55)
    best: list[tuple[str, bool, bool] | None] = [None] * (len(token) + 1)
    best[0] = ("", False, False)
    for i in range(len(token)):
        here = best[i]
        if here is None:
            continue
        digits, leet, tens = here
        if token[i].isdigit() and best[i + 1] is None:
            unit = tens and token[i] != "0"
            best[i + 1] = ((digits[:-1] if unit else digits) + token[i], leet, False)
        for word in words:
            m = _WORD_PIECE.match(word, i)
            if m is None:
                continue
            piece = token[i : m.end()]
            if not any(c.isalpha() for c in piece) or best[m.end()] is not None:
                continue
            value = _DIGIT_OF[m.group()]
            unit = tens and m.group() in _UNITS_1_9
            best[m.end()] = (
                (digits[:-1] if unit else digits) + value,
                leet or any(c.isdigit() for c in piece),
                m.group() in _TENS,
            )
    end = best[len(token)]
    if end is None or not end[1]:
        return None
    return (0, len(token), end[0], False, _LEET_TENS if end[2] else _LEET)


_GLUED_TAIL = re.compile(
    r"(?:call|text|txt|contact|contacto|whatsapp|wa|wapp|tel|telf|phone|ph|mob|mobile|cell|ring|sms|dial|"
    r"hmu|llama|llamame|chiamami|anrufen)([0-9][0-9oli]*[0-9oli])\Z"
)
_COUNT_TIMES = re.compile(r"x[0-9]")
_SOUND_PIECE = re.compile(_alternatives(SOUNDALIKES))
_SINGLE_WORD_PIECE = re.compile(_alternatives({**_WORDS_EN, **_WORDS_ES, **_WORDS_OTHER}) + "|oh")
# A sound-alike glued to a group of three or more digits at the token's edge is the word before or
# after the number, run on ("text for713-555-0142", "0142for appointments", "to832").
_WORD_AT_DIGITS = re.compile(r"^(?:too|to|fore|for|ate|won)[0-9]{3}|[0-9]{3}(?:too|to|fore|for|ate|won)$")
_DEAL = re.compile(r"[0-9]{1,2}(?:for|to|too)[0-9]{1,2}")  # "2for1", "9to5", "10to6": not digits


def _glued_soundalike(token: str) -> Piece | None:
    """Digits and number words with a sound-alike glued among them ("for80", "one9zerofor"): glued
    to a number, "for" is a 4. With neither a digit nor two number words besides it ("zerofor",
    a name such as "Sixto") it is a sound-alike, a digit only where the chain around it is
    clearly spelled; a deal or a range ("2for1", "9to5") is no number."""
    if len(token) > 40 or _DEAL.fullmatch(token) or _WORD_AT_DIGITS.search(token):
        return None
    # best[i]: (digits, number words, sound-alikes) of the first segmentation reaching i
    best: list[tuple[str, int, int] | None] = [None] * (len(token) + 1)
    best[0] = ("", 0, 0)
    for i in range(len(token)):
        here = best[i]
        if here is None:
            continue
        digits, words, sounds = here
        if token[i].isdigit():
            if best[i + 1] is None:
                best[i + 1] = (digits + token[i], words, sounds)
            continue
        for pattern, is_sound in ((_SINGLE_WORD_PIECE, False), (_SOUND_PIECE, True)):
            m = pattern.match(token, i)
            if m is None or best[m.end()] is not None:
                continue
            value = SOUNDALIKES[m.group()] if is_sound else _DIGIT_OF[m.group()]
            best[m.end()] = (digits + value, words + (not is_sound), sounds + is_sound)
    end = best[len(token)]
    if end is None or not end[2]:
        return None
    words = end[1]
    styles = {"soundalike"} | ({"words_run"} if words else set())
    if words < 2 and not any(c.isdigit() for c in token):
        # "zerofor", "sixto": a digit only inside a clearly spelled run, like "for" alone.
        return (0, len(token), end[0], True, frozenset(styles | {SOUND}))
    return (0, len(token), end[0], False, frozenset(styles))


@lru_cache(maxsize=16384)
def classify(token: str) -> tuple[Piece, ...]:
    """Digit-bearing pieces of one lower-cased word: (offset, end, digits, weak, styles) each.

    Cached per distinct word: ad text repeats its words, and hostile text repeats them a lot.
    """
    if token.isdigit():
        return ((0, len(token), token, False, _NO_STYLE),)
    if token in _MULTIPLIERS:
        return ((0, len(token), MULTIPLIER + str(_MULTIPLIERS[token]), False, _NO_STYLE),)
    if token in SOUNDALIKES:
        return ((0, len(token), SOUNDALIKES[token], True, frozenset({"soundalike", SOUND})),)
    spelled = _spelled(token, 0)
    if spelled is not None:
        return (spelled,)
    if _CUP.fullmatch(token):
        return ((0, len(token), "", True, QUANTITY),)  # a cup size, "34b", "36dd": not 348
    mixed = _look_mix(token) or _leet(token) or _leet_among_digits(token) or _glued_soundalike(token)
    if mixed is not None:
        return (mixed,)
    if (
        len(token) > 4
        and token[0].isalpha()
        and token[0] not in "oli"
        and any(c.isdigit() for c in token)
        and (stray := _spelled(token[1:], 1)) is not None
        and _WORD_PIECE.search(token, 1) is not None
        and not stray[3]
    ):
        return (stray,)  # "usix02": one stray letter glued before spelled digits and digits
    tail = _GLUED_TAIL.fullmatch(token)
    if tail is not None:
        digits = tail.group(1)
        letters = sum(not c.isdigit() for c in digits)
        if 1 <= letters <= 2 and len(digits) - letters >= 6:
            # "contact98765432i0": a contact word glued before digits with look-alike letters
            # among them (not an order or ticket code: "ORD12345678o1")
            return ((tail.start(1), len(token), digits.translate(_LOOK_DIGIT), False, _LETTERS),)
    pieces: list[Piece] = []
    # Digit runs glued to other letters: "call713" is part of a number, "24yo" a quantity.
    for m in _DIGIT_RUN.finditer(token):
        if UNIT_GLUED.match(token, m.end()) or (
            m.start() == 0 and m.end() == 1 and _COUNT_TIMES.match(token, m.end()) is not None
        ):
            # "24yo"; "1x250": a count, not a country code before "250 …"
            pieces.append((m.start(), m.end(), "", True, QUANTITY))
        else:
            pieces.append((m.start(), m.end(), m.group(), False, _NO_STYLE))
    return tuple(pieces)
