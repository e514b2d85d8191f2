"""Indicator language in an ad: every lexicon entry found, with its spans (see `extract.lexicon`).

The lexicon in effect (``$THREADLINE_LEXICON`` or the shipped one) is read once per process. The
value is the entry's id; its weight is read from the lexicon at scoring time, so a unit that
re-weights an entry need not extract again; one that adds or changes entries runs `threadline
score --rematch`, which finds them again in every stored ad (`score.rematch`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from threadline.extract.lexicon import Lexicon, default_lexicon
from threadline.model import Found, Span

__all__ = ["find_indicators"]


def _shown(text: str) -> str:
    """The matched words as an analyst may see them: no control or format characters (a hostile
    ad hides bidirectional overrides and escapes in them), spaces collapsed, at most 120."""
    if text.isascii() and text.isprintable():
        visible = text  # the common case: printable ASCII has no control or format character
    else:
        visible = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(visible.split())[:120]


def find_indicators(texts: Iterable[tuple[str, str]], lexicon: Lexicon | None = None) -> list[Found]:
    """One `Found` per lexicon entry (of ``lexicon``, else the one in effect), with every span."""
    lexicon = lexicon or default_lexicon()
    spans: dict[str, list[Span]] = {}
    detail: dict[str, dict[str, str]] = {}
    for field, text in texts:
        for hit in lexicon.match(text):
            got = spans.get(hit.id)
            if got is None:
                spans[hit.id] = [Span(field, hit.start, hit.end)]
                # The words as the ad wrote them, where first seen (shown as the reason).
                detail[hit.id] = {"category": hit.category, "text": _shown(text[hit.start : hit.end])}
            else:
                got.append(Span(field, hit.start, hit.end))
    return [
        Found("indicator", entry, tuple(entry_spans), detail[entry]) for entry, entry_spans in spans.items()
    ]
