"""Sentences of an ad's title and body with everything identifying masked: the text signal.

A writer's words outlive her phone numbers. A "burner" operation that takes a new phone in every
city still reposts the same template, and an independent who changes numbers keeps her habits. To
compare texts across cities and names, each sentence is reduced to what the writer chose to say:

* the title and body are split into sentences at line breaks, HTML tags, sentence-final
  punctuation, bullets and emoji (used as bullets);
* the phones, emails, handles, names, ages, prices and places the other extractors found are
  replaced by placeholders (``<phone>``, ``<name>``, ...), and so is every other sighting of a
  found name or place, so "Mia - new in Dallas" and "Lola - new in Tulsa" read the same;
* remaining digit runs become ``#`` (rooms, heights, dates, sizes change from ad to ad);
* the rest is NFKC-normalised, lower-cased and reduced to its words (punctuation, HTML entities
  and invisible characters dropped).

Each distinct masked sentence of three or more tokens (at least two of them words) is one `Found`
of kind ``"sentence"``: its value a stable 63-bit hash (decimal, fits a signed BIGINT in any SQL
engine) of the masked text, its detail the masked text, its spans the sentences as posted.

Linear in the length of the texts: one scan for separators, one per segment for tokens. An ad
yields at most `MAX_SENTENCES` distinct sentences and `MAX_SPANS` spans of each (a hostile text
repeating one line a million times is one sentence, not a million rows of evidence).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from hashlib import blake2b

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

# Where sentences end: an HTML tag, line breaks, sentence-final punctuation before a space or the
# end, bullets and separators ("|", "~", "•", " - " between spaced words is left alone), and emoji
# or other pictographs, which ads use as bullets. Every alternative is bounded or a plain class.
_SEPARATOR = re.compile(
    r"<[^<>]{0,300}>"
    r"|[\r\n\u2028\u2029]+"
    r"|(?<![.!?\u2026\u3002\uff01\uff1f])[.!?\u2026\u3002\uff01\uff1f]++(?=[\s<]|$)"
    r"|[|~\u2022\u00b7\u25cf\u25aa\u2605\u2606\u2665\u2661\u2764\u2192\u27a1\u27a4\u2794*=]+"
    r"|[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u20e3\u200d]+"
)
# HTML entities count as a space (``&nbsp;``) or as punctuation (``&amp;``): never as words.
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|\d+")
# Characters that carry no visible content (as in `text.normalise`), deleted before tokenising.
_INVISIBLE = dict.fromkeys(map(ord, "\ufe0e\ufe0f\u20e3\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f"))
_HASH_MASK = (1 << 63) - 1


def sentence_hash(masked: str) -> int:
    """The stable 63-bit hash of a masked sentence (first 8 bytes of BLAKE2b, top bit cleared)."""
    digest = blake2b(masked.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _HASH_MASK


def _tokens(piece: str, out: list[str]) -> None:
    """Append the word and number tokens of a piece of original text (numbers as ``#``)."""
    if not piece.isascii():
        piece = piece.translate(_INVISIBLE)
        piece = unicodedata.normalize("NFKC", piece)
    if "&" in piece:
        piece = _ENTITY.sub(" ", piece)
    for tok in _TOKEN.findall(piece.lower()):
        out.append("#" if tok[0].isdigit() else tok)


def mask_sentence(text: str, masks: Sequence[tuple[int, int, str]] = ()) -> tuple[list[str], int]:
    """Tokens of ``text`` with ``masks`` ``(start, end, placeholder)`` (sorted, disjoint) replaced,
    and how many of the tokens are words (not placeholders or ``#``)."""
    tokens: list[str] = []
    done = 0
    for start, end, placeholder in masks:
        if start > done:
            _tokens(text[done:start], tokens)
        if not tokens or tokens[-1] != placeholder:
            tokens.append(placeholder)
        done = max(done, end)
    if done < len(text):
        _tokens(text[done:], tokens)
    words = sum(1 for t in tokens if t != "#" and t[0] != "<")
    return tokens, words


def _echoes(text: str, values: Iterable[str]) -> list[tuple[int, int]]:
    """Every whole-word, case-insensitive sighting of ``values`` in ``text``."""
    low = text.lower()
    if len(low) != len(text):
        return []  # offsets would not line up; the extractor's own spans still apply
    found: list[tuple[int, int]] = []
    for value in values:
        v = value.lower()
        if not v:
            continue
        i = low.find(v)
        while i >= 0:
            j = i + len(v)
            if (i == 0 or not low[i - 1].isalnum()) and (j == len(low) or not low[j].isalnum()):
                found.append((i, j))
            i = low.find(v, j)
    return found


def _field_masks(field: str, text: str, found: Sequence[Found]) -> list[tuple[int, int, str]]:
    raw: list[tuple[int, int, str]] = []
    echoed: dict[str, set[str]] = {}
    for f in found:
        placeholder = MASKED_KINDS.get(f.kind)
        if placeholder is None:
            continue
        for span in f.spans:
            if span.field == field and span.end > span.start:
                raw.append((span.start, span.end, placeholder))
        if f.kind in _ECHOED_KINDS:
            echoed.setdefault(placeholder, set()).add(f.value)
    for placeholder, values in echoed.items():
        raw.extend((s, e, placeholder) for s, e in _echoes(text, values))
    if not raw:
        return raw
    raw.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, placeholder in raw:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if end > last[1]:
                merged[-1] = (last[0], end, last[2])
            continue
        merged.append((start, end, placeholder))
    return merged


def _segments(text: str, masks: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """``[start, end)`` of the pieces between separators; separators inside a mask do not count
    (the full stop of "St. Louis" or the dots of "713.555.0142")."""
    segments: list[tuple[int, int]] = []
    start = 0
    m_i = 0
    for m in _SEPARATOR.finditer(text):
        s, e = m.span()
        while m_i < len(masks) and masks[m_i][1] <= s:
            m_i += 1
        if m_i < len(masks) and masks[m_i][0] < e and s < masks[m_i][1]:
            continue
        if s > start:
            segments.append((start, s))
        start = e
    if start < len(text):
        segments.append((start, len(text)))
    return segments


def find_sentences(texts: Iterable[tuple[str, str]], found: Sequence[Found]) -> list[Found]:
    """One ``"sentence"`` `Found` per distinct masked sentence of the title and body.

    ``found`` is what the other extractors read from the same texts; their spans are masked.

    >>> [f.detail["text"] for f in find_sentences([("body", "Hi, I'm Mia! Call 713-555-0142 now.")], [])]
    ['hi i m mia', 'call # # # now']
    """
    spans: dict[int, dict[Span, None]] = {}
    details: dict[int, dict[str, str]] = {}
    for field, text in texts:
        if field not in _TEXT_FIELDS or not text:
            continue
        masks = _field_masks(field, text, found)
        m_i = 0
        for seg_start, seg_end in _segments(text, masks):
            # The masks inside this segment, shifted to it.
            while m_i < len(masks) and masks[m_i][1] <= seg_start:
                m_i += 1
            local: list[tuple[int, int, str]] = []
            k = m_i
            while k < len(masks) and masks[k][0] < seg_end:
                s, e, placeholder = masks[k]
                local.append((max(s, seg_start) - seg_start, min(e, seg_end) - seg_start, placeholder))
                k += 1
            piece = text[seg_start:seg_end]
            if len(piece) > _MAX_SENTENCE_CHARS:
                piece = piece[:_MAX_SENTENCE_CHARS]
                local = [(s, min(e, _MAX_SENTENCE_CHARS), p) for s, e, p in local if s < _MAX_SENTENCE_CHARS]
            tokens, words = mask_sentence(piece, local)
            if len(tokens) < MIN_TOKENS or words < MIN_WORDS:
                continue
            masked = " ".join(tokens)
            value = sentence_hash(masked)
            # The span runs from the sentence's first to its last visible character.
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            span = Span(field, seg_start + lead, seg_start + trail)
            seen = spans.get(value)
            if seen is None:
                if len(spans) >= MAX_SENTENCES:
                    continue
                spans[value] = {span: None}
                details[value] = {"text": masked}
            elif len(seen) < MAX_SPANS:
                seen[span] = None
    return [Found("sentence", str(v), tuple(s), details[v]) for v, s in spans.items()]
