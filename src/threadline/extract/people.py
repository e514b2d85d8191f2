"""Names and ages the ads state about the person advertised.

A stated age under 18 is the strongest single indicator an ad can carry, so ages are kept from 12
up (and to 80); names are weaker identifiers (many ads reuse a handful of names) but link ads when
combined with other evidence, and a name that changes across ads sharing a phone is itself a sign.

Names are read only after a self-introduction cue, and the cues differ in how much they prove:

* strong ("my name is", "name:", "me llamo"): any word from the first-names list, or an unknown
  word written with a capital ("my name is Xanthe");
* medium ("call me", "ask for"): a listed name, or a capitalised word that is not a common word
  ("call me Now" and "ask for Details" are instructions);
* weak ("I'm", "I am", "it's", "this is", "soy", "<name> here"): only a listed name ("I'm new",
  "I'm available", "I'm sweet" are not names). Listed names that are also ordinary words ("hope",
  "honey", "summer") need a capital letter after any cue.

A name of two words ("Mary Jane", "Ana Sofia", "Ana-Sofia") is read where the second word follows
the first after one space or a hyphen, is a listed name that is no ordinary word, and is written in
the same case; so "Mia Available", "Mia Rose petals" and "Mia Charlotte, NC" stay "Mia". Its value
is both words, title-cased, joined by a space.

Ages are anchored on two-digit numbers (rare in text, found by a fast scan), then confirmed by what
stands around them: a unit after ("24 yo", "24yrs", "24 years old", "24y/o", "24 años") or a cue
before ("age: 24", "edad 24", "I'm 24"). After "I'm", a number followed by a unit of something
else (hours, money, height, a cup size, "24/7") is not an age. Ages in words ("twenty-four yo",
"twenty four years old", "age: twenty one", "veinticuatro años", "treinta y dos") need the same
unit or cue, and no number right after them ("twenty four seven" is 24/7, "twenty one fifty five"
part of a phone number); their detail says ``"words": True``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.resources import files

from threadline.extract.places import is_city_name
from threadline.extract.text import (
    Accumulator,
    Normalised,
    Sighting,
    Sightings,
    lower_same_length,
    normalise,
    read_short_once,
)
from threadline.model import Found

__all__ = ["MAX_AGE", "MIN_AGE", "find_ages", "find_names", "first_names"]

MIN_AGE = 12  # below this a number is a count or a rating, not a stated age
MAX_AGE = 80


@cache
def first_names() -> frozenset[str]:
    """The shipped list of common first names (lower case)."""
    text = files("threadline").joinpath("data/first_names.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

# Listed names that are also ordinary words: taken only when written with a capital.
_AMBIGUOUS_NAMES = frozenset(
    """
    angel honey candy sugar sunny summer hope faith grace joy precious heaven star sky skye ginger
    kitty autumn april june dawn brandy cherry crystal diamond destiny essence ebony harmony melody
    ember lyric paris pearl penny rose ruby jade amber violet iris willow hazel coco
    """.split()
)
# Words that follow a cue but are never a name: states, descriptions, instructions, time words.
_NOT_NAMES = frozenset(
    """
    new available here there back ready waiting open free single real independent young petite
    sexy hot good fun clean discreet safe busy sweet nice shy easy bored lonely ok okay sorry sure
    glad happy currently definitely easygoing well the this that what who how one two three four
    five six seven eight nine ten gonna going coming passing traveling travelling visiting
    located staying offering looking brand latina asian blonde brunette redhead curvy thick slim
    tall short mature college student model girl lady woman baby babe daddy princess goddess queen
    boss mistress your ur you not no never now today tonight tomorrow anytime asap later always
    also still all just only very so too really in at on by from to for with about over under
    incall outcall cash verified legit providing serving details specials special rates rate more
    pics pictures photos prices price discount discounts availability info information appointment
    appointments donations me him her them us it its is am are was be been a an and or but if
    monday tuesday wednesday thursday friday saturday sunday weekend week month
    january february march august september october november december
    gentlemen gentleman guys bae hun dear darling love lover gorgeous playful exotic busty classy
    elite vip upscale beautiful pretty cute lovely stunning naughty wild ts tv hi hello hey updated
    beauty town city fresh sensual seductive juicy big little tiny best top hottie cutie doll
    blond bbw milf busty curvaceous slender fit athletic natural tattooed
    bumped reposted thai brazilian russian polish dominican colombian mexican cuban korean japanese
    chinese filipina black white mixed italian french spanish indian arab persian european ukrainian
    """.split()
)
_NAME_TAIL = r"[ \t,:\-]{0,4}+(?P<name>[^\W\d_]{2,20}+)(?![^\W\d_'’])"
# One expression per cue, each starting with a literal: the regex engine finds a literal prefix
# with a fast search, where one alternation of all cues would try every letter (18 µs per ad
# instead of ~4 µs). The character before a cue is checked in Python ("him", "fits").
# Each with a piece of text every match holds (tested with `in` first: a substring test costs a
# sixth of starting a scan, and most texts hold none of the cues), or "" where none is worth it.
_NAME_CUES: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(
    (literal, re.compile(rf"(?P<cue>{cue}){_NAME_TAIL}"), strength)
    for literal, cue, strength in (
        ("name", r"names?(?:[ \t]{1,3}is(?![a-z])|['’]s(?![a-z])|[ \t]{0,2}[:=])", 3),  # my name is, name:
        ("llamo", r"llamo(?![a-z])", 3),  # me llamo
        ("nombre", r"nombre[ \t]{1,3}es(?![a-z])", 3),  # mi nombre es
        ("call", r"call[ \t]{1,3}me(?![a-z])", 2),
        ("ask", r"ask[ \t]{1,3}for(?![a-z])", 2),
        ("call", r"call[ \t]{1,3}for(?![a-z])", 2),
        ("introduc", r"introducing(?![a-z])", 2),
        ("meet", r"meet(?![a-z])", 1),
        ("see", r"come[ \t]{1,3}see(?![a-z])", 1),
        ("hi", r"say[ \t]{1,3}hi[ \t]{1,3}to(?![a-z])", 1),
        (
            "",
            r"i(?:[ \t]{0,2}['’]?[ \t]{0,2}m|[ \t]{1,3}am|t[ \t]{0,2}['’]?[ \t]{0,2}s)(?![a-z])",
            1,
        ),  # I'm, it's
        ("this", r"this[ \t]{1,3}is(?![a-z])", 1),
        ("soy", r"soy(?![a-z])", 1),
    )
)
# "<name> here", "<name> is back": anchored on the literal that follows the name, the name read
# from the few characters before.
_AFTER_NAME = (
    (" here", re.compile(r" here(?![a-z])"), "here"),
    (" is back", re.compile(r" is back(?![a-z])"), "is back"),
    (" aqu", re.compile(r" aqu[ií](?![^\W\d_])"), "aquí"),  # "Ana Sofia aquí"
)
# A title that starts with the name ("MEI 27 😘 NORTH SIDE", "Sweet Crystal - city center",
# "💕💕 LILY 💕💕", "NEW IN TOWN Sexy Latina Mary Jane"): up to five descriptions, then a listed name.
_TITLE_WORDS = 6
_NAME_BEFORE = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,20}[ \t]{0,2}$")
_NAME_BEFORE_SECOND = re.compile(r"(?<![^\W\d_])(?P<word>[^\W\d_]{2,20})[ \-]$")
_NAME_FIELDS = frozenset({"fields.name", "fields.nickname", "fields.display_name", "fields.alias"})
_FIELD_WORD = re.compile(r"[^\W\d_]{2,20}+")
# An HTML tag in scraped text ("<b onmouseover=...>Eve</b>"): its words are markup, never a name.
_TAG = re.compile(r"<[/!]?[a-zA-Z][^<>]{0,300}>")


def _words_outside_tags(t: str, end: int | None = None) -> Iterator[re.Match[str]]:
    """`_FIELD_WORD` matches of ``t`` (up to ``end``) that are not inside an HTML tag."""
    stop = len(t) if end is None else end
    tags = [m.span() for m in _TAG.finditer(t, 0, stop)] if "<" in t else []
    for m in _FIELD_WORD.finditer(t, 0, stop):
        if not any(a <= m.start() < b for a, b in tags):
            yield m


def _is_titled(word: str) -> bool:
    return word[:1].isupper() and not word[1:].isupper()


def _plain(word: str) -> str:
    """``word`` lower-cased without accents ("Zoë", "Sofía": the list is written without them)."""
    low = word.lower()
    if not low.isascii():
        low = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    return low


def _case(word: str) -> str:
    if _is_titled(word):
        return "title"
    if word.isupper():
        return "upper"
    return "lower" if word.islower() else ""


# The second word of a two-word name ("Mary Jane", "Ana Sofia", "Ana-Sofia"): right after the
# first, after one space or a hyphen.
_SECOND_WORD = re.compile(r"[ \-](?P<word>[^\W\d_]{2,20}+)(?![^\W\d_'’])")
# "Mia Charlotte, NC": a name and then a city.
_STATE_AFTER = re.compile(r",?[ \t]{1,2}[A-Z]{2}(?![^\W\d_])")


def _second_name(t: str, first: str, end: int) -> int | None:
    """The end of a second name glued to ``first`` (which ends at ``end`` in ``t``), if any.

    It must be a listed name that is no ordinary word ("Mia Available", "Mia Rose" are one name),
    written in the same case as the first ("Mary Jane", "MARY JANE", not "Mary JANE" or "Mary
    jane"), and not followed by a state code ("Mia Charlotte, NC" names a city)."""
    # Cheap tests first: most names are followed by punctuation or a word in another case.
    if t[end : end + 1] not in (" ", "-") or t[end + 1 : end + 2].isupper() != first[:1].isupper():
        return None
    m = _SECOND_WORD.match(t, end)
    if m is None:
        return None
    word = m.group("word")
    case = _case(word)
    if not case or case != _case(first):
        return None
    low = _plain(word)
    if low in _NOT_NAMES or low in _AMBIGUOUS_NAMES or low not in first_names():
        return None
    if _STATE_AFTER.match(t, m.end()):
        return None
    return m.end()


def _name_value(t: str, start: int, end: int) -> str:
    """The name written at ``[start, end)``, title-cased, its words joined by one space."""
    return " ".join(w.title() for w in re.split(r"[ \-]", t[start:end]))


def _accept_name(word: str, strength: int) -> bool:
    """Whether ``word`` (as written) is a name after a cue of the given strength (1 weak .. 3)."""
    low = _plain(word)
    if low in _NOT_NAMES:
        return False
    listed = low in first_names()
    if listed and (low not in _AMBIGUOUS_NAMES or _is_titled(word)):
        return True
    if strength >= 3:
        return listed or word[:1].isupper()
    if strength == 2:
        return _is_titled(word)
    return False


def find_names(texts: Iterable[tuple[str, str]]) -> list[Found]:
    """Self-stated names, title-cased (``"Mia"``), with the span of the name as written.

    Also the first word of a name field (``fields.name``) that is not a description ("Sexy Mia"
    gives "Mia").

    >>> [f.value for f in find_names([("body", "Hi, I'm MIA. I'm new here and I'm 24")])]
    ['Mia']
    """
    acc = Accumulator("name")
    title_names: list[tuple[str, Sighting]] = []
    for field, text in texts:
        reading = "field" if field in _NAME_FIELDS else "title" if field == "title" else "text"
        seen, title_name = _names_of(text, reading)
        acc.add_sightings(field, seen)
        if title_name is not None:
            title_names.append((field, title_name))
    # A title's first word is weaker evidence than a cue ("CHARLOTTE 💗 LUNA" over "Luna here" is a
    # city and a name): it counts only if the texts state no other name.
    for field, title_name in title_names:
        if acc.empty() or acc.has(title_name[0]):
            acc.add_sightings(field, (title_name,))
    return acc.found()


@read_short_once
def _names_of(text: str, reading: str) -> tuple[tuple[Sighting, ...], Sighting | None]:
    """The names stated in one text read as a name field, a title or other text, and (a title
    only) the name it starts with, which counts only where no other name is stated."""
    norm = normalise(text)
    t = norm.text
    seen = Sightings()
    if reading == "field":
        for m in _words_outside_tags(t):
            if m.group().lower() not in _NOT_NAMES:
                end = _second_name(t, m.group(), m.end()) or m.end()
                seen.add(_name_value(t, m.start(), end), norm, m.start(), end, {"cue": "field"})
                break
        return tuple(seen.items), None
    low = lower_same_length(t)
    for literal, pattern, strength in _NAME_CUES:
        if literal not in low:
            continue
        for m in pattern.finditer(low):
            if m.start() > 0 and low[m.start() - 1].isalpha():
                continue  # the cue is the tail of a longer word ("him", "fits")
            start, end = m.span("name")
            word = t[start:end]
            if _accept_name(word, strength):
                second = _second_name(t, word, end)
                value = word.title() if second is None else _name_value(t, start, second)
                cue = " ".join(m.group("cue").split())
                seen.add(value, norm, start, second or end, {"cue": cue})
    # "Tiffany (19)", "Tiffany, 19, new in town": a listed name that an age stands alone after.
    for m in _TWO_DIGITS.finditer(t):
        if MIN_AGE <= int(m.group()) <= MAX_AGE:
            at = _listed_name_before(t, *m.span())
            if at is not None:
                named = _FIELD_WORD.match(t, at)
                if named is not None and _accept_name(named.group(), 1):
                    seen.add(named.group().title(), norm, at, named.end(), {"cue": "age"})
    for literal, pattern, cue in _AFTER_NAME:
        if literal not in low:
            continue
        for h in pattern.finditer(low):
            before = _NAME_BEFORE.search(t, max(0, h.start() - 24), h.start())
            if before is None:
                continue
            word = before.group().rstrip(" \t")
            start = before.start()
            if _accept_name(word, 1):
                end = start + len(word)
                # "Mary Jane here": a listed name just before, in the same case.
                first = _NAME_BEFORE_SECOND.search(t, max(0, start - 21), start)
                if (
                    first is not None
                    and _accept_name(first.group("word"), 1)
                    and _second_name(t, first.group("word"), first.end("word")) == end
                ):
                    start = first.start()
                seen.add(_name_value(t, start, end), norm, start, end, {"cue": cue})
    title_name: Sighting | None = None
    if reading == "title":
        got = _title_name(t)
        if got is not None:
            title_name = (_name_value(t, *got), *norm.span(*got), (("cue", "title"),))
    return tuple(seen.items), title_name


def _title_name(t: str) -> tuple[int, int] | None:
    """Where the name a title starts with is, if it starts with one (after at most five words of
    description, each a known one). Listed names only; the ones that are also words need a capital
    (in lower case they are descriptions too), and give way to a name right after them ("EBONY
    YUKI", "Ebony Valentina": the first is a description)."""
    words = list(_words_outside_tags(t, 80))[: _TITLE_WORDS + 1]
    names = first_names()
    for i, m in enumerate(words[:_TITLE_WORDS]):
        word = m.group()
        low = word.lower()
        if low in _NOT_NAMES:
            continue
        if low not in names:
            return None
        if low in _AMBIGUOUS_NAMES:
            if not word[:1].isupper():
                continue  # "ebony goddess Diamond": in lower case a description
            following = words[i + 1].group().lower() if i + 1 < len(words) else ""
            if following in names and following not in _AMBIGUOUS_NAMES:
                continue
        return m.start(), _second_name(t, word, m.end()) or m.end()
    return None


# ---------------------------------------------------------------------------------------------
# Ages
# ---------------------------------------------------------------------------------------------

# A standalone two-digit number (not part of a longer digit run). The look-behind comes after the
# digits so that the engine can scan for a digit quickly.
_TWO_DIGITS = re.compile(r"[0-9][0-9](?<![0-9]{3})(?![0-9])")
_AGE_UNIT = re.compile(
    r"[ \t]{0,2}+(?:-[ \t]{0,2}+)?"
    r"(?:y(?:ea)?rs?[ \t-]{0,2}+old|y(?:ea)?rs?[ \t]{1,2}+young|years?|yrs?|y[ \t]?/[ \t]?o|y\.[ \t]?o\.?"
    r"|yo|a[nñ]os)(?![a-z])"
)
# "24 years experience", "10 yrs in the business", "12 años de experiencia": a duration, not an age.
_DURATION_AFTER = re.compile(
    r"[ \t]{0,2}+(?:of|exp|experience|in|ago|since|together|with|as"
    r"|de[ \t]{1,2}experiencia|experiencia)(?![a-z])"
)
# Cues before the number, matched at the end of a short window ("age: ", "I'm ", "edad ").
_AGE_CUE = re.compile(
    r"(?<![a-z])(?:(?P<age>aged?|edad)[ \t]{0,2}(?:[:=\-][ \t]{0,2})?(?:is[ \t]{1,2})?"
    r"|(?P<im>i[ \t]{0,2}['’]?[ \t]{0,2}m|i[ \t]{1,3}am)[ \t]{1,3}(?:only[ \t]{1,2}|just?[ \t]{1,2})?)$"
)
# After "I'm 24": things that make the number a time, money, height, weight or cup size.
_NOT_AN_AGE_AFTER = re.compile(
    r"[ \t]{0,2}(?:/|%|\$|'|\"|:|[.,]\d|h(?:h|rs?|ours?)?(?![a-z])|qv|half|min|lbs?|kg|cm|ft|feet|inch"
    r"|in(?![a-z])|roses?|dollars?|usd|pm|am(?![a-z])|x[ \t]*\d|-[ \t]*\d|k(?![a-z])|dd+(?![a-z])"
    r"|[a-h](?![a-z]))"
)
# "Hi, I'm Mia, 24." / "my name is Ruby 21" / "Meet Chelsea, 23": a stated name, then the age.
_NAMED_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:[Ii][ \t]{0,2}['’]?[ \t]{0,2}[Mm]|[Ii][ \t]{1,3}am|[Mm]y[ \t]{1,3}name[ \t]{1,3}is"
    r"|[Cc]all[ \t]{1,3}(?:me|for)|[Aa]sk[ \t]{1,3}for|[Mm]eet|[Ii]ntroducing|[Ss]oy|[Ii]t['’]s)"
    r"[ \t]{1,3}[A-Z][a-z]{1,20}[ \t]{0,2},?[ \t]{0,2}\Z"
)
# "Valentina (23)", "Lexi 18, fresh": a listed first name with a capital, then the number alone in
# brackets or closing a clause. Anything else after the number ("Mia 60 qv", "Candy 24/7") leaves
# it unread.
_LISTED_NAME_BEFORE = re.compile(r"(?<![^\W\d_])(?P<name>[A-Z][a-z]{1,20}),?[ \t]{1,2}(?P<open>\([ \t]?)?\Z")
_NO_WORD = re.compile(r"[^\w\n]*")  # between a title's name and its age: "Aaliyah 🌴 22", "Lexi - 22"
_CLAUSE_END = re.compile(r"[ \t]?(?:[,.!;]|\)|\n|\Z)")
_FIELD_AGE = re.compile(r"(?<!\d)\d{1,3}(?!\d)")
# Ages in words: "twenty-four", "twenty four", "twentyfour", "nineteen", "veinticuatro",
# "treinta y dos". An expression of all these words would be tried at most letters of a text
# (four times the cost of the digit scan); instead a few short pieces that every such word holds
# are looked for (`_WORD_AGE_PIECE`, mostly starting with a literal "t"), and the expression runs
# only at the start of a word holding one.
_EN_UNITS = {w: i for i, w in enumerate("one two three four five six seven eight nine".split(), 1)}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60}
_EN_TENS |= {"seventy": 70, "eighty": 80}
_EN_TEENS = {w: i for i, w in enumerate("twelve thirteen fourteen fifteen sixteen seventeen".split(), 12)}
_EN_TEENS |= {"eighteen": 18, "nineteen": 19}
_ES_UNITS = {"uno": 1, "un": 1, "ún": 1, "dos": 2, "dós": 2, "tres": 3, "trés": 3, "cuatro": 4}
_ES_UNITS |= {"cinco": 5, "seis": 6, "séis": 6, "siete": 7, "ocho": 8, "nueve": 9}
_ES_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80}
_ES_WHOLE = {"doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16, "dieciséis": 16}
_ES_WHOLE |= {"diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20}
_ES_WHOLE |= {f"veinti{u}": 20 + n for u, n in _ES_UNITS.items()}
_WORD_AGE_VALUES = {**_EN_TEENS, **_ES_WHOLE}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


_WORD_AGE = re.compile(
    rf"(?:(?P<tens>{_alternation(_EN_TENS)})"
    rf"(?:[ \t]{{0,2}}+-?[ \t]{{0,2}}+(?P<unit>{_alternation(_EN_UNITS)}))?"
    rf"|(?P<estens>{_alternation(_ES_TENS)})"
    rf"(?:[ \t]{{1,2}}y[ \t]{{1,2}}(?P<esunit>{_alternation(_ES_UNITS)}))?"
    rf"|(?P<whole>{_alternation(_WORD_AGE_VALUES)}))"
    r"(?![^\W\d_])"
)
_WORD_AGE_PIECE = re.compile(r"t(?:y|een|welve|rece)|veint|nta|doce|catorce|quince|dieci")
if not all(_WORD_AGE_PIECE.search(w) for w in [*_EN_TENS, *_ES_TENS, *_WORD_AGE_VALUES]):
    raise RuntimeError("a number word holds none of _WORD_AGE_PIECE")
# Another number right after ("twenty four seven" is 24/7, "twenty one five five five" a phone).
_NUMBER_AFTER = re.compile(
    r"[ \t-]{1,3}(?:[0-9]|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|hundred|thousand|double|triple|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)(?![a-z])"
)
_AGE_FIELDS = frozenset({"fields.age"})


def find_ages(texts: Iterable[tuple[str, str]]) -> list[Found]:
    """Stated ages from 12 to 80 as strings (``"24"``); ``detail["minor"]`` flags ages under 18.

    >>> [f.value for f in find_ages([("body", "Sweet 24yo, available 24/7, 5'4\\" 120lbs")])]
    ['24']
    """
    acc = Accumulator("age")
    for field, text in texts:
        reading = "field" if field in _AGE_FIELDS else "title" if field == "title" else "text"
        acc.add_sightings(field, _ages_of(text, reading))
    return acc.found()


@read_short_once
def _ages_of(text: str, reading: str) -> tuple[Sighting, ...]:
    """The ages stated in one text read as an age field, a title or other text."""
    norm = normalise(text)
    t = norm.text
    seen = Sightings()
    if reading == "field":
        m = _FIELD_AGE.search(t)
        if m is not None and MIN_AGE <= int(m.group()) <= MAX_AGE:
            age = int(m.group())
            seen.add(str(age), norm, *m.span(), {"minor": age < 18, "cue": "field"})
        return tuple(seen.items)
    low = lower_same_length(t)
    for m in _TWO_DIGITS.finditer(low):
        start, end = m.span()
        age = int(m.group())
        if not MIN_AGE <= age <= MAX_AGE:
            continue
        unit, cue = _unit_and_cue(low, start, end)
        prev = low[start - 1] if start else ""
        if prev and prev in ".,$£€/:#+-" and (cue is None or not cue.group("age")):
            continue  # a decimal, price, date or list piece ("$24", "1/24", "3.24", "12:30")
        if unit is None and cue is None and reading == "title" and not _NOT_AN_AGE_AFTER.match(low, end):
            # "MEI 27 😘", "Camila, 31": a title that is a name and a number.
            name = _title_name(t)
            if name is not None and 0 < start - name[1] <= 6 and _NO_WORD.fullmatch(t, name[1], start):
                seen.add(str(age), norm, name[0], end, {"minor": age < 18, "cue": "name"})
                continue
        if unit is None and cue is None and not _NOT_AN_AGE_AFTER.match(low, end):
            named = _NAMED_BEFORE.search(t, max(0, start - 40), start)
            if named is not None:
                seen.add(str(age), norm, start, end, {"minor": age < 18, "cue": "name"})
                continue
            listed = _listed_name_before(t, start, end)
            if listed is not None:
                seen.add(str(age), norm, listed, end, {"minor": age < 18, "cue": "name"})
                continue
        if unit is None:
            if cue is None:
                continue
            if cue.group("im") and _NOT_AN_AGE_AFTER.match(low, end):
                continue
        span_start = cue.start() if cue is not None else start
        span_end = unit.end() if unit is not None else end
        how = "unit" if unit is not None else "cue"
        seen.add(str(age), norm, span_start, span_end, {"minor": age < 18, "cue": how})
    _word_ages(seen, norm, low)
    return tuple(seen.items)


def _listed_name_before(t: str, start: int, end: int) -> int | None:
    """Where the listed first name right before the number at ``start:end`` begins, when the number
    stands alone after it: in brackets ("Valentina (23)") or ending a clause ("Lexi 18, fresh")."""
    m = _LISTED_NAME_BEFORE.search(t, max(0, start - 26), start)
    if m is None or m.group("name").lower() not in first_names():
        return None
    if m.group("open"):  # "Madison (19)": a place's name too, but no place is written so
        return m.start() if t[end : end + 2].lstrip(" \t")[:1] == ")" else None
    if is_city_name(m.group("name")):
        return None  # "Paris 24, 25 Dec": a place and a date
    return m.start() if _CLAUSE_END.match(t, end) else None


def _unit_and_cue(low: str, start: int, end: int) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The age unit after the number at ``start:end`` of ``low`` ("yo", "years old"; not "years"
    of a duration), and the age cue before it, each None if there is none."""
    unit = _AGE_UNIT.match(low, end)
    if unit is not None and "old" not in unit.group() and _DURATION_AFTER.match(low, unit.end()):
        unit = None
    # A cue ends in one of these letters ("age", "aged", "edad", "I'm", "I am", "just", "only",
    # "is"), possibly followed by spaces or ":"; the window search runs only then.
    cue = None
    before = low[max(0, start - 4) : start].rstrip(" \t:=-")
    if before and before[-1] in "medtys":
        cue = _AGE_CUE.search(low, max(0, start - 20), start)
    return unit, cue


def _word_age(m: re.Match[str]) -> int:
    if m.group("tens"):
        return _EN_TENS[m.group("tens")] + (_EN_UNITS[m.group("unit")] if m.group("unit") else 0)
    if m.group("estens"):
        return _ES_TENS[m.group("estens")] + (_ES_UNITS[m.group("esunit")] if m.group("esunit") else 0)
    return _WORD_AGE_VALUES[m.group("whole")]


def _word_ages(seen: Sightings, norm: Normalised, low: str) -> None:
    """Ages written in words ("twenty-four yo", "age: twenty one", "veinticuatro años"): as digits,
    a unit after or an age cue before confirms them; after "I'm" nothing that makes the number
    a time or a quantity may follow, and no number may follow at all ("twenty four seven")."""
    done = 0
    for piece in _WORD_AGE_PIECE.finditer(low):
        start = piece.start()
        floor = max(done, start - 12)  # the longest word holds its piece 12 letters in
        while start > floor and low[start - 1].isalpha():
            start -= 1
        if start < done or (start and low[start - 1].isalpha()):
            continue
        m = _WORD_AGE.match(low, start)
        if m is None:
            continue
        end = done = m.end()
        age = _word_age(m)
        if not MIN_AGE <= age <= MAX_AGE or _NUMBER_AFTER.match(low, end):
            continue
        unit, cue = _unit_and_cue(low, start, end)
        if unit is None and (cue is None or _NOT_AN_AGE_AFTER.match(low, end)):
            continue
        span_start = cue.start() if cue is not None else start
        span_end = unit.end() if unit is not None else end
        how = "unit" if unit is not None else "cue"
        seen.add(str(age), norm, span_start, span_end, {"minor": age < 18, "cue": how, "words": True})


# ---------------------------------------------------------------------------------------------
