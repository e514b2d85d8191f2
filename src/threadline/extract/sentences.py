"""Sentences of an ad's title and body with everything identifying masked: the text signal.

A writer's words outlive her phone numbers. A "burner" operation that takes a new phone in every
city still reposts the same template, and an independent who changes numbers keeps her habits. To
compare texts across cities and names, each sentence is reduced to what the writer chose to say:

* the title and body are split into sentences at line breaks, HTML tags, sentence-final
  punctuation, bullets and emoji (used as bullets);
* the phones, emails, handles, names, ages, prices and places the other extractors found are
  replaced by placeholders (``<phone>``, ``<name>``, ...), and so is every other sighting of a
  found name, so "Mia - new in Dallas" and "Lola - new in Tulsa" read the same;
* remaining digit runs become ``#`` (rooms, heights, dates, sizes change from ad to ad);
* the rest is NFKC-normalised, lower-cased and reduced to its words (punctuation, HTML entities
  and invisible characters dropped).

Each distinct masked sentence of three or more tokens (at least two of them words) is one `Found`
of kind ``"sentence"``: its value a stable 63-bit hash (decimal, fits a signed BIGINT in any SQL
engine) of the masked text, its detail the masked text, its spans the sentences as posted.

Linear in the length of the texts: one scan for separators, one per segment for tokens; about
30 µs on a typical ad, as stock lines repeat across ads and their masked forms are cached. An ad
yields at most `MAX_SENTENCES` distinct sentences and `MAX_SPANS` spans of each (a hostile text
repeating one line a million times is one sentence, not a million rows of evidence).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from hashlib import blake2b
from itertools import starmap

from threadline.model import Found, Span

__all__ = ["MASKED_KINDS", "MAX_SENTENCES", "MAX_SPANS", "find_sentences", "mask_sentence", "sentence_hash"]

# Kinds whose spans are masked, and the placeholder each becomes.
MASKED_KINDS: dict[str, str] = {
    "phone": "<phone>",
    "email": "<email>",
    "handle": "<handle>",
    "name": "<name>",
    "age": "<age>",
    "price": "<price>",
    "place": "<place>",
}
# Kinds whose value, once found, is also masked wherever else it is written in the title or body
# (the name extractor reads a name where the ad states it, not every time it is repeated).
_ECHOED_KINDS = ("name",)
_TEXT_FIELDS = ("title", "body")

MIN_TOKENS = 3
MIN_WORDS = 2
MAX_SENTENCES = 300
MAX_SPANS = 20
_MAX_SENTENCE_CHARS = 2000  # a longer "sentence" is cut there for hashing (spans stay whole)
_MAX_CACHED_CHARS = 300
_MIN_CHARS = MIN_TOKENS * 2 - 1

# While masking, a masked span becomes one private-use character (its placeholder) followed by
# fillers, so the masked text keeps every offset of the original: no offset table is needed, and
# a full stop inside a masked span ("St. Louis", "713.555.0142") cannot end a sentence.
_MARK = {kind: chr(0xE000 + i) for i, kind in enumerate(MASKED_KINDS)}
_FILLER = "\ue0ff"
_UNMARK = {ord(_MARK[kind]): placeholder for kind, placeholder in MASKED_KINDS.items()}
# Where sentences end: an HTML tag, line breaks, sentence-final punctuation before a space or the
# end, bullets and separators ("|", "~", "•"), and emoji or other pictographs, which ads use as
# bullets. The expression starts with one character class (the characters any separator starts
# with), which lets the regex engine skip ordinary text fast; what follows is decided by that
# character (look-behinds). Punctuation only counts at the start of its run, so a megabyte of "!"
# costs one attempt per run, not one per character; every repetition is possessive or bounded, so
# the scan is linear. The one group makes `split` return the separators too (offsets are counted).
_STOPS = ".!?\u2026\u3002\uff01\uff1f"
_BREAKS = "\r\n\u2028\u2029"
_BULLETS = "|~\u2022\u00b7\u25cf\u25aa\u2605\u2606\u2665\u2661\u2764\u2192\u27a1\u27a4\u2794*="
_PICTOGRAPHS = "\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u20e3\u200d"
_SEPARATOR = re.compile(
    rf"([<{_BREAKS}{_STOPS}{_BULLETS}{_PICTOGRAPHS}]"
    rf"(?:(?<=<)[^<>]{{0,300}}>"
    rf"|(?<=[{_BREAKS}])[{_BREAKS}]*+"
    rf"|(?<=[{_STOPS}])(?<![{_STOPS}].)[{_STOPS}]*+(?=[\s<]|$)"
    rf"|(?<=[{_BULLETS}{_PICTOGRAPHS}])[{_BULLETS}{_PICTOGRAPHS}]*+))"
)
# HTML entities count as a space (``&nbsp;``) or as punctuation (``&amp;``): never as words.
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
# Words (with inner apostrophes), numbers (runs of digits, or "#" as written) and placeholders.
_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*+|[\d#]++|[\ue000-\ue0fe]")
_NUMBER = re.compile(r"[\d#]+")
_NOT_WORD = re.compile(r"[#\ue000-\ue0fe]")
# Characters that carry no visible content (as in `text.normalise`), deleted before tokenising.
_INVISIBLE = dict.fromkeys(
    map(ord, "\ufe0e\ufe0f\u20e3\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f")
)
_HASH_MASK = (1 << 63) - 1


def sentence_hash(masked: str) -> int:
    """The stable 63-bit hash of a masked sentence (first 8 bytes of BLAKE2b, top bit cleared)."""
    digest = blake2b(masked.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _HASH_MASK


def mask_sentence(piece: str) -> tuple[str, int, int]:
    """The masked form of one sentence of a masked text, its number of tokens and of words.

    ``piece`` is a slice of the output of `_masked_text` (masked spans as private-use marks)."""
    if "&" in piece:
        piece = _ENTITY.sub(" ", piece)
    if not piece.isascii():
        piece = unicodedata.normalize("NFKC", piece.translate(_INVISIBLE))
    tokens = _TOKEN.findall(piece.lower())
    if len(tokens) < MIN_TOKENS:
        return "", len(tokens), 0
    masked = _NUMBER.sub("#", " ".join(tokens))
    not_words = _NOT_WORD.findall(masked)
    if len(not_words) > masked.count("#"):
        masked = masked.translate(_UNMARK)
    return masked, len(tokens), len(tokens) - len(not_words)


@lru_cache(maxsize=32768)
def _sentence(piece: str) -> tuple[str, str, int, int] | None:
    """(hash in decimal, masked text, start and end of its visible characters) of one piece of masked text,
    or None if it is too short to count. A piece over `_MAX_SENTENCE_CHARS` is hashed on its
    beginning.

    Cached: stock sentences, footers and templates repeat across thousands of ads."""
    masked, tokens, words = mask_sentence(piece[:_MAX_SENTENCE_CHARS])
    if tokens < MIN_TOKENS or words < MIN_WORDS:
        return None
    return str(sentence_hash(masked)), masked, len(piece) - len(piece.lstrip()), len(piece.rstrip())


def _echoes(text: str, values: Iterable[str]) -> list[tuple[int, int]]:
    """Every whole-word sighting of ``values`` in ``text``, as written, lower- or upper-cased."""
    found: list[tuple[int, int]] = []
    n = len(text)
    for value in values:
        for v in {value, value.lower(), value.upper()}:
            if not v:
                continue
            i = text.find(v)
            while i >= 0:
                j = i + len(v)
                if (i == 0 or not text[i - 1].isalnum()) and (j == n or not text[j].isalnum()):
                    found.append((i, j))
                i = text.find(v, j)
    return found


def _masks(texts: Sequence[tuple[str, str]], found: Sequence[Found]) -> dict[str, list[tuple[int, int, str]]]:
    """For each text, sorted and disjoint ``(start, end, mark)`` of everything to mask in it."""
    raw: dict[str, list[tuple[int, int, str]]] = {field: [] for field, _ in texts}
    echoed: dict[str, set[str]] = {}
    for f in found:
        mark = _MARK.get(f.kind)
        if mark is None:
            continue
        for span in f.spans:
            spans = raw.get(span.field)
            if spans is not None and span.end > span.start:
                spans.append((span.start, span.end, mark))
        if f.kind in _ECHOED_KINDS:
            echoed.setdefault(mark, set()).add(f.value)
    out: dict[str, list[tuple[int, int, str]]] = {}
    for field, text in texts:
        spans = raw[field]
        for mark, values in echoed.items():
            spans.extend((s, e, mark) for s, e in _echoes(text, values))
        spans.sort()
        merged: list[tuple[int, int, str]] = []
        for start, end, mark in spans:
            if merged and start < merged[-1][1]:
                last = merged[-1]
                if end > last[1]:
                    merged[-1] = (last[0], end, last[2])
                continue
            merged.append((start, end, mark))
        out[field] = merged
    return out


def _masked_text(text: str, masks: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each mask as its mark followed by fillers: the same length as ``text``."""
    if not masks:
        return text
    pieces: list[str] = []
    done = 0
    for start, end, mark in masks:
        pieces.append(text[done:start])
        pieces.append(mark + _FILLER * (end - start - 1))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def find_sentences(texts: Iterable[tuple[str, str]], found: Sequence[Found]) -> list[Found]:
    """One ``"sentence"`` `Found` per distinct masked sentence of the title and body.

    ``found`` is what the other extractors read from the same texts; their spans are masked.

    >>> [f.detail["text"] for f in find_sentences([("body", "Hi, I'm Mia! Call 713-555-0142 now.")], [])]
    ["hi i'm mia", 'call # # # now']
    """
    # Spans as (field, start, end) tuples until the end: a tuple hashes in C, a `Span` in Python.
    spans: dict[str, dict[tuple[str, int, int], None]] = {}
    details: dict[str, dict[str, str]] = {}
    texts = [(field, text) for field, text in texts if field in _TEXT_FIELDS and text]
    masks = _masks(texts, found)
    for field, text in texts:
        masked_text = _masked_text(text, masks[field])
        # Pieces and separators alternate: [piece, separator, piece, ...].
        parts = _SEPARATOR.split(masked_text)
        parts.append("")
        end = 0
        for i in range(0, len(parts) - 1, 2):
            piece = parts[i]
            start = end
            end = start + len(piece) + len(parts[i + 1])
            if len(piece) < _MIN_CHARS:
                continue
            sentence = _sentence.__wrapped__(piece) if len(piece) > _MAX_CACHED_CHARS else _sentence(piece)
            if sentence is None:
                continue
            value, masked, lead, last = sentence
            # The span runs from the sentence's first to its last visible character.
            span = (field, start + lead, start + last)
            seen = spans.get(value)
            if seen is None:
                if len(spans) >= MAX_SENTENCES:
                    continue
                spans[value] = {span: None}
                details[value] = {"text": masked}
            elif len(seen) < MAX_SPANS:
                seen[span] = None
    return [Found("sentence", v, tuple(starmap(Span, s)), details[v]) for v, s in spans.items()]
