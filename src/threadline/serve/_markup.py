"""Ad text as pages show it: escaped, with what extraction read from it marked, hidden characters
made visible, and a source address that becomes a link only when it is plainly http(s).

Ad text is hostile. Everything here returns `markupsafe.Markup` built from escaped pieces and a
few fixed tags of our own; nothing from the ad is ever passed through as markup. Characters that
change how text around them is drawn without being seen (bidirectional overrides, zero-width
characters, other controls) are replaced by a visible marker naming them: a right-to-left
override can neither reorder the page around it nor hide a phone number, and an analyst sees
that the poster used one (obfuscation is evidence).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Span", "describe", "highlight", "source_link", "visible"]

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)  # the line breaks ads carry as HTML
# Printable ASCII only, no space: anything else (a tab inside "java\tscript:", a look-alike
# letter, an address with spaces) stays text.
_HTTP = re.compile(r"https?://[!-~]+", re.IGNORECASE)
_KIND = re.compile(r"[^a-z]")


def _hidden(char: str) -> bool:
    """Drawn as nothing, or changes how what follows is drawn: format (Cf: zero-width, bidi
    controls, BOM), controls other than line breaks and tabs, separators other than space."""
    category = unicodedata.category(char)
    if char in "\n\t":
        return False
    return category in ("Cf", "Cc", "Co", "Cn") or (category in ("Zl", "Zp")) or char == "\u00ad"


def _marker(char: str) -> Markup:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "unnamed character")
    return Markup('<span class="hidden-char" title="hidden character: {} {}">⟨{}⟩</span>').format(
        code, name.lower(), code
    )


def visible(text: str) -> Markup:
    """``text`` escaped, hidden characters shown as markers, and each ``<br>`` tag the ad carries
    shown as written (dimmed) and followed by a real line break."""
    out: list[Markup | str] = []
    last = 0
    for m in _BREAK.finditer(text):
        out.append(_plain(text[last : m.start()]))
        out.append(Markup('<span class="tag">{}</span>\n').format(m.group(0)))
        last = m.end()
    out.append(_plain(text[last:]))
    return Markup("").join(out)


def _plain(text: str) -> Markup:
    if not any(_hidden(c) for c in text):
        return escape(text)
    return Markup("").join(_marker(c) if _hidden(c) else escape(c) for c in text)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a text that extraction read something from: ``label`` says what."""

    start: int
    end: int
    kind: str
    label: str


def highlight(text: str, spans: Iterable[Span]) -> Markup:
    """``text`` with each span marked (``<mark>`` with its label as the title, focusable so that
    the keyboard shows it too). Overlapping spans: the first (the longest of those starting
    together) is marked and the label of any it covers is added to its title."""
    kept: list[tuple[int, int, str, list[str]]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        start, end = max(0, span.start), min(len(text), span.end)
        if start >= end:
            continue
        if kept and start < kept[-1][1]:
            if span.label not in kept[-1][3]:
                kept[-1][3].append(span.label)
            continue
        kept.append((start, end, span.kind, [span.label]))
    out: list[Markup] = []
    last = 0
    for start, end, kind, labels in kept:
        out.append(visible(text[last:start]))
        out.append(
            Markup('<mark class="x-{}" tabindex="0" title="{}">{}</mark>').format(
                _KIND.sub("", kind.lower()), "; ".join(labels), visible(text[start:end])
            )
        )
        last = end
    out.append(visible(text[last:]))
    return Markup("").join(out)


def describe(kind: str, value: str, detail: str | None) -> str:
    """What a marked value is, in words: ``phone +17185550143, obscured (spelled out)``."""
    try:
        info = json.loads(detail) if detail else {}
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    if kind == "indicator":
        category = str(info.get("category", "")).replace("_", " ")
        return f"indicator: {category} ({value})" if category else f"indicator ({value})"
    if kind == "name":
        return f"self-stated name {value}"
    said = f"{kind} {value}"
    if kind == "phone" and info.get("obfuscated"):
        styles = info.get("styles")
        how = ", ".join(str(s).replace("_", " ") for s in styles) if isinstance(styles, list) else ""
        said += f", obscured ({how})" if how else ", obscured"
    if kind == "age" and info.get("minor"):
        said += " (possible minor)"
    return said


def source_link(url: str | None) -> Markup:
    """The address an ad was captured from: a link (never followed by the server, and with no
    referrer sent) only when it is a plain http(s) address, else text."""
    if not url:
        return Markup('<span class="none">none</span>')
    if _HTTP.fullmatch(url):
        return Markup('<a class="source" href="{}" rel="noreferrer noopener">{}</a>').format(url, url)
    return Markup('<span class="source-text" title="not an http(s) address: shown as text">{}</span>').format(
        visible(url)
    )
