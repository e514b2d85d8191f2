"""Finding a lexicon's indicator phrases and emoji in ad text, with spans in the text as posted.

Ads dodge keyword filters with case ("NEW GiRLS"), spacing and punctuation ("new   girls",
"new.girls", "new-girls"), look-alike letters from other scripts (Cyrillic "а", Greek "ο", small
capitals "ɴᴇᴡ", fullwidth or mathematical letters "𝐧𝐞𝐰"), accents and combining marks ("nèw",
"n̶e̶w̶"), zero-width characters inside words, and digits for letters inside words ("g1rls",
"w33k"). Text is therefore read in three steps, each keeping one character per character so that
offsets map back:

1. `threadline.extract.text.normalise` (NFKC, digits as ASCII, invisible characters dropped), with
   its offset map back to the original;
2. `fold`: look-alike and accented letters to ASCII, combining marks and apostrophes to a glue
   mark that is dropped from words, every other character that is not a letter or digit to a
   space, lower case, and digits or ``@``/``$`` between two letters read as the letters they
   stand for;
3. words: what is between spaces.

A phrase is a sequence of words. All phrases of a lexicon (patterns already expanded) sit in one
word trie; at each word that starts some phrase the trie is walked for at most as many words as
the longest phrase (`MAX_WORDS`). Cost is linear in the text with a small constant, whatever the
lexicon holds, and no regular expression from the lexicon ever runs on ad text. A match must start
and end on whole characters of the original text (never inside what one character expanded to,
such as the "2" of "½"), so its span slices back to text that reads as the phrase.

Emoji are matched by their CLDR names through `threadline.extract.emoji`, on the text as posted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from itertools import accumulate, compress
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from threadline.extract.emoji import emoji_in
from threadline.extract.text import normalise

if TYPE_CHECKING:
    from threadline.extract.lexicon import Entry

__all__ = ["MAX_WORDS", "Hit", "Matcher", "canonical", "emoji_spellings", "fold"]

MAX_WORDS = 12  # longest phrase, in words

# Letters from other scripts that read as Latin letters, and small capitals (NFKC keeps them all).
_LOOKALIKES: dict[str, str] = {
    pair[0]: pair[1]
    for pair in """
    аa Аa вb Вb еe Еe ёe Ёe кk Кk мm Мm нh Нh оo Оo рp Рp сc Сc тt Тt уy Уy хx Хx ѕs Ѕs іi Іi їi Їi
    јj Јj ԁd ԛq Ԛq ԝw Ԝw һh Һh ӏl Ӏl үy Үy
    αa Αa βb Βb γy εe Εe Ζz ηn Ηh ιi Ιi κk Κk Μm νv Νn οo Οo ρp Ρp τt Τt υu Υy χx Χx ωw ϲc μu
    øo Øo łl Łl đd Đd ıi ħh ŧt ƀb ɨi ɡg
    ᴀa ʙb ᴄc ᴅd ᴇe ꜰf ɢg ʜh ɪi ᴊj ᴋk ʟl ᴍm ɴn ᴏo ᴘp ǫq ʀr ꜱs ᴛt ᴜu ᴠv ᴡw ʏy ᴢz
    """.split()
}
# Negative circled and negative squared capitals (🅐, 🅰) have no NFKC decomposition.
_LOOKALIKES.update({chr(0x1F150 + i): chr(ord("a") + i) for i in range(26)})
_LOOKALIKES.update({chr(0x1F170 + i): chr(ord("a") + i) for i in range(26)})
_GLUE = "'"  # apostrophes and combining marks: part of a word, dropped from its spelling
_APOSTROPHES = frozenset("\u2019\u2018\u02bc\u00b4\u2032\u02b9")

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Digits, "@" or "$" between two letters are letters in disguise ("g1rls", "m@nager", "w33k"); at
# the edge of a word they are left alone ("21yo", "5min", "3rd" stay numbers). The cheap hint (a
# character class first, so the engine scans for it quickly) decides whether to run the rewrite.
_LEET_HINT = re.compile(r"[013457@$](?<=[a-z].)")
_LEET = re.compile(r"(?<=[a-z])[013457@$]+(?=[a-z])")
_LEET_LETTERS = str.maketrans("013457@$", "oieastas")
# Every ASCII character that is not part of a word becomes a space, so that words are what
# ``str.split(" ")`` returns (C speed; a regular-expression split costs twice as much). Bytes 128-255
# never occur (folded text is ASCII).
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789" + _GLUE)
_SPACES = bytes(c if chr(c) in _WORD_CHARS else 32 for c in range(256))  # folded text is ASCII


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One non-ASCII character of normalised text as one ASCII character (a space if no letter)."""
    mapped = _LOOKALIKES.get(ch)
    if mapped is not None:
        return mapped
    if ch in _APOSTROPHES:
        return _GLUE
    category = unicodedata.category(ch)
    if category[0] == "M":
        return _GLUE  # a combining mark left over by NFKC: "n̶e̶w̶", "nèw" typed with a mark
    if category[0] == "L":
        base = unicodedata.normalize("NFD", ch)[0]
        if base.isascii() and base.isalpha():
            return base.lower()
        return _LOOKALIKES.get(base, " ")  # "ά" -> "α" -> "a"; other scripts separate words
    return " "  # emoji, symbols, punctuation of other scripts


def _fold_run(m: re.Match[str]) -> str:
    run = m.group()
    return _fold_text(run) if len(run) <= 64 else "".join(map(_fold_char, run))


@lru_cache(maxsize=8192)
def _fold_text(run: str) -> str:
    """A run of non-ASCII characters folded: ads repeat the same few emoji runs endlessly."""
    return "".join(map(_fold_char, run))


def fold(normalised: str) -> str:
    """Normalised text read as ASCII words and spaces; same length, offset for offset.

    Look-alike and accented letters become ASCII letters, combining marks and apostrophes a glue
    mark (``'``), everything else that is not a letter or digit a space; then lower case, and
    digits, ``@`` or ``$`` between two letters become the letters they stand for.
    """
    if not normalised.isascii():
        normalised = _NON_ASCII.sub(_fold_run, normalised)
    folded = normalised.lower()
    if _LEET_HINT.search(folded) is not None:
        folded = _LEET.sub(lambda m: m.group().translate(_LEET_LETTERS), folded)
    # Every character is ASCII by now, and a byte table translates five times faster than a str one.
    return folded.encode("ascii").translate(_SPACES).decode("ascii")


def canonical(text: str) -> tuple[str, ...]:
    """The words a text reads as, the way the matcher reads ad text and lexicon phrases alike.

    >>> canonical("ΝΕW  g1rls, every-WEEK!")
    ('new', 'girls', 'every', 'week')
    """
    words = fold(normalise(text).text).split(" ")
    return tuple(w for w in (w.replace(_GLUE, "") for w in words) if w)


@cache
def emoji_spellings() -> tuple[tuple[str, str], ...]:
    """(sequence, CLDR name) of every emoji the emoji extractor names (keycap digits left out)."""
    import emoji as emoji_data  # the extractor's own data

    return tuple((e, str(d["en"])) for e, d in emoji_data.EMOJI_DATA.items() if not e[0].isascii())


class Hit(NamedTuple):
    """One place where a lexicon entry matched: ``text[start:end]`` of the text as posted.

    A named tuple rather than a dataclass: a hostile ad can hold hundreds of thousands of hits,
    and a tuple is made several times faster.
    """

    id: str
    category: str
    weight: float
    start: int
    end: int


_POSITION = attrgetter("start", "end")
_SHORT_TEXT = 120
_SHORT_CACHED = 16384


class _Node:
    __slots__ = ("children", "ends")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.ends: tuple[int, ...] = ()  # entries with a phrase ending here


class Matcher:
    """The compiled form of a lexicon's entries: a word trie and an emoji-name table."""

    __slots__ = ("_emoji", "_emoji_hint", "_entries", "_first", "_short")

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = tuple(entries)
        root = _Node()
        emoji: dict[str, int] = {}
        for index, entry in enumerate(self._entries):
            if entry.emoji:
                emoji[entry.emoji] = index
            for phrase in entry.phrases:
                node = root
                for word in phrase:
                    child = node.children.get(word)
                    if child is None:
                        child = node.children[word] = _Node()
                    node = child
                if index not in node.ends:
                    node.ends = (*node.ends, index)
        self._first = root.children
        self._emoji = emoji
        # Reading emoji costs ~10 µs on an ad with emoji; it runs only when a character that starts
        # one of the lexicon's emoji (in any of their spellings) is in the text.
        starts = {seq[0] for seq, name in emoji_spellings() if name in emoji}
        hint = "".join(re.escape(c) for c in sorted(starts))
        self._emoji_hint = re.compile(f"[{hint}]") if hint else None
        # Short texts (titles, a site's fields) recur across ads far more than bodies do: each
        # distinct one is matched once (a plain dict, emptied when full, so a matcher still pickles).
        self._short: dict[str, tuple[Hit, ...]] = {}

    def match(self, text: str) -> list[Hit]:
        """Every match in ``text``, ordered by position (see `_match`)."""
        if len(text) > _SHORT_TEXT:
            return self._match(text)
        hits = self._short.get(text)
        if hits is None:
            if len(self._short) >= _SHORT_CACHED:
                self._short.clear()
            hits = self._short[text] = tuple(self._match(text))
        return list(hits)

    def _match(self, text: str) -> list[Hit]:
        """Every match in ``text``, ordered by position.

        Each entry is read left to right like a regular-expression search: at each word its longest
        phrase counts, and a match overlapping the previous match of the same entry is dropped
        ("seven one three five five five" is two matches of three number words, not four).
        Different entries may overlap ("100% real" and "100% real pics").
        """
        hits: list[Hit] = []
        if self._first and text:
            self._match_words(text, hits)  # in order of position already
        if self._emoji_hint is not None and not text.isascii() and self._emoji_hint.search(text) is not None:
            words = len(hits)
            for name, _, starts, ends in emoji_in(text):
                index = self._emoji.get(name)
                if index is not None:
                    e = self._entries[index]
                    hits.extend(
                        Hit(e.id, e.category, e.weight, s, t) for s, t in zip(starts, ends, strict=True)
                    )
            if len(hits) > words:
                hits.sort(key=_POSITION)
        return hits

    def _match_words(self, text: str, hits: list[Hit]) -> None:
        norm = normalise(text)
        folded = fold(norm.text)
        # One item per word, and an empty one for each space beyond the first between two words:
        # item i starts at (length of items before it) + i.
        raw = folded.split(" ")
        # The glue is never a space: dropping it first splits into the same items, each unglued.
        items = folded.replace(_GLUE, "").split(" ") if _GLUE in folded else raw
        first = self._first
        # The items that start some phrase (compress and map run in C; a comprehension costs 3x).
        starts = list(compress(range(len(items)), map(first.__contains__, items)))
        if not starts:
            return
        n = len(items)
        found: list[tuple[int, int, int]] = []  # (entry, first item, last item)
        for k in starts:
            node = first[items[k]]
            longest: dict[int, int] | None = dict.fromkeys(node.ends, k) if node.ends else None
            j = k + 1
            while j < n:
                word = items[j]
                if not word:
                    j += 1
                    continue
                child = node.children.get(word)
                if child is None:
                    break
                node = child
                if node.ends:
                    if longest is None:
                        longest = {}
                    for index in node.ends:
                        longest[index] = j
                j += 1
            if longest is not None:
                found.extend((index, k, last) for index, last in longest.items())
        if not found:
            return
        ends = list(accumulate(map(len, raw)))  # ends[i] + i: where item i ends
        origin = norm.origin
        entries = self._entries
        last_end: dict[int, int] = {}  # entry -> last item of its latest match
        for index, k, last in found:
            if last_end.get(index, -1) >= k:
                continue  # overlaps the previous match of the same entry
            word = raw[k]
            start = ends[k] - len(word) + k
            if word[0] == _GLUE:  # a quote or stray mark before the word is not part of it
                start += len(word) - len(word.lstrip(_GLUE))
            end = ends[last] + last
            while folded[end - 1] == _GLUE and unicodedata.category(norm.text[end - 1])[0] != "M":
                end -= 1  # a closing quote is not part of the word; a mark on its last letter is
            if origin is not None and (
                (start > 0 and origin[start - 1] == origin[start])
                or (end < len(origin) and origin[end] == origin[end - 1])
            ):
                continue  # starts or ends inside what one original character expanded to
            last_end[index] = last
            e = entries[index]
            hits.append(Hit(e.id, e.category, e.weight, *norm.span(start, end)))
