"""The indicator lexicon: phrases, patterns and emoji with public sources and log-odds weights.

The shipped lexicon is ``threadline/data/lexicon.tsv``; its header comment documents the columns,
the pattern rules and the weight scale. A unit uses its own file by setting the environment
variable ``THREADLINE_LEXICON`` to its path, or by passing the path to `load_lexicon`. Tab-separated
(``.tsv``, any other extension) and comma-separated (``.csv``) files are read; both may carry
``#`` comment lines and a spreadsheet's byte-order mark.

Loading checks every row and reports *all* broken rows at once, each with its file and line, in
one `LexiconError`: an analyst fixing a spreadsheet should not meet the errors one by one, and a
broken row is never skipped silently (a missing indicator would quietly lower scores).

>>> lexicon = load_lexicon()
>>> [(h.id, h.category) for h in lexicon.match("NEW GIRLS every week!! ask for the manager")][:2]
[('third_party.new_girls_weekly', 'third_party'), ('third_party.ask_for_manager', 'third_party')]
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from threadline._tsv import DataFileError, Problem, read_file, read_rows
from threadline.extract.emoji import emoji_name, find_emoji
from threadline.extract.matcher import MAX_WORDS, Hit, Matcher, canonical, emoji_spellings
from threadline.extract.patterns import PatternError, expand

__all__ = [
    "COLUMNS",
    "ENV_VAR",
    "KINDS",
    "MAX_WEIGHT",
    "Entry",
    "Hit",
    "Lexicon",
    "LexiconError",
    "Problem",
    "default_lexicon",
    "load_lexicon",
    "match",
]

ENV_VAR = "THREADLINE_LEXICON"
COLUMNS = ("id", "kind", "text", "category", "weight", "source", "note")
KINDS = ("phrase", "pattern", "emoji")
MAX_WEIGHT = 5.0  # log-odds: e^5 is an odds ratio of ~150, beyond any published indicator

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_PATTERN_SYNTAX = re.compile(r"[()|\[\]{}]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One indicator row.

    ``phrases`` are the word sequences the entry matches (one for a phrase, the expansion of a
    pattern, none for an emoji); ``emoji`` is the CLDR name of an emoji entry (``":rose:"``).
    ``line`` is where the row is in ``path``.
    """

    id: str
    kind: str
    text: str
    category: str
    weight: float
    source: str
    note: str
    phrases: tuple[tuple[str, ...], ...]
    emoji: str
    path: str
    line: int


class LexiconError(DataFileError):
    """Every problem found in a lexicon file, one per line of the message."""

    what = "indicator lexicon"


class Lexicon:
    """Loaded, checked entries and their compiled matcher."""

    __slots__ = ("_by_id", "_matcher", "entries", "path")

    def __init__(self, entries: list[Entry], path: str) -> None:
        self.entries = tuple(entries)
        self.path = path
        self._by_id = {e.id: e for e in self.entries}
        self._matcher = Matcher(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __getitem__(self, entry_id: str) -> Entry:
        return self._by_id[entry_id]

    def match(self, text: str) -> list[Hit]:
        """Every place an entry matches in ``text``; spans index ``text`` as given."""
        return self._matcher.match(text)


def _weight(raw: str) -> tuple[float, str]:
    """The weight, or an explanation of why the cell is not one."""
    if not raw:
        return 0.0, "weight is missing"
    try:
        value = float(raw)
    except ValueError:
        hint = f"; write {raw.replace(',', '.')}" if re.fullmatch(r"-?[0-9]*,[0-9]+", raw) else ""
        return 0.0, f"weight {raw!r} is not a number{hint}"
    if not math.isfinite(value):
        return 0.0, f"weight {raw!r} is not a finite number"
    if not 0 <= value <= MAX_WEIGHT:
        # Never negative: more evidence must never lower a score (a sign that research found
        # not predictive is kept at 0, so the unit sees it was considered).
        return 0.0, f"weight {raw} is outside 0..{MAX_WEIGHT:g} (log-odds)"
    return value, ""


def _phrases(kind: str, text: str) -> tuple[tuple[tuple[str, ...], ...], str, str]:
    """(phrases, emoji name, problem) for the text of a row of the given kind."""
    if kind == "emoji":
        name = emoji_name(text)
        if name is None and text in _emoji_names():
            name = text
        if name is None:
            return (), "", f"{text!r} is not an emoji (or is a keycap digit); give one emoji or :cldr_name:"
        return (), name, ""
    if find_emoji([("text", text)]):
        return (), "", f"{kind} contains an emoji, which separates words: make it an emoji row"
    if kind == "phrase":
        if _PATTERN_SYNTAX.search(text):
            return (), "", "phrase contains ( ) | [ ] { }: make it a pattern, or remove them"
        variants = [text]
    else:
        try:
            variants = expand(text)
        except PatternError as exc:
            return (), "", f"pattern refused: {exc}"
    phrases: dict[tuple[str, ...], None] = {}
    for variant in variants:
        words = canonical(variant)
        if not words:
            return (), "", f"{kind} can match {variant!r}, which has no letters or digits"
        if len(words) > MAX_WORDS:
            return (), "", f"{kind} has a phrase of {len(words)} words; at most {MAX_WORDS}"
        phrases[words] = None
    return tuple(phrases), "", ""


@cache
def _emoji_names() -> frozenset[str]:
    """Every CLDR short name the emoji extractor knows (keycap digits left out)."""
    return frozenset(name for _, name in emoji_spellings())


def _parse(text: str, name: str, delimiter: str) -> list[Entry]:
    problems: list[Problem] = []
    rows = read_rows(text, delimiter)
    header = next(rows, None)
    if header is None:
        raise LexiconError([Problem(name, 0, f"no header line ({', '.join(COLUMNS)})")])
    header_line, header_cells = header
    columns = [c.strip().lower() for c in header_cells]
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unknown or repeated:
        parts = [f"missing column {c!r}" for c in missing]
        parts += [f"unknown column {c!r}" for c in unknown]
        parts += [f"column {c!r} appears twice" for c in repeated]
        raise LexiconError([Problem(name, header_line, f"bad header: {'; '.join(parts)}")])
    position = {c: columns.index(c) for c in COLUMNS}

    entries: list[Entry] = []
    first_line: dict[str, int] = {}  # id -> line
    claimed: dict[tuple[str, ...] | str, tuple[int, str]] = {}  # phrase or emoji -> (line, id)
    for line, cells in rows:
        reasons: list[str] = []
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            reasons.append(f"{len(cells)} cells, expected {len(columns)} (a stray tab or comma?)")
        cells = cells + [""] * (len(columns) - len(cells))
        cell = {c: cells[position[c]].strip() for c in COLUMNS}
        entry_id, kind, body = cell["id"], cell["kind"].lower(), cell["text"]

        if not entry_id:
            reasons.append("id is missing")
        elif not _ID.fullmatch(entry_id):
            reasons.append(f"id {entry_id!r} must be letters, digits, '_', '.', '-' (up to 80)")
        elif entry_id in first_line:
            reasons.append(f"duplicate id {entry_id!r} (first on line {first_line[entry_id]})")
        else:
            first_line[entry_id] = line
        if kind not in KINDS:
            reasons.append(f"unknown kind {cell['kind']!r} (one of: {', '.join(KINDS)})")
        if not body:
            reasons.append("text is empty")
        if not cell["category"]:
            reasons.append("category is missing")
        elif not _CATEGORY.fullmatch(cell["category"]):
            reasons.append(f"category {cell['category']!r} must be lower case letters, digits and '_'")
        weight, weight_problem = _weight(cell["weight"])
        if weight_problem:
            reasons.append(weight_problem)
        if not cell["source"]:
            reasons.append("source is missing (cite the public study, report or article)")

        phrases: tuple[tuple[str, ...], ...] = ()
        emoji = ""
        if kind in KINDS and body:
            phrases, emoji, text_problem = _phrases(kind, body)
            if text_problem:
                reasons.append(text_problem)
            for key in (emoji,) if emoji else phrases:
                other = claimed.get(key)
                if other is not None:
                    shown = key if isinstance(key, str) else " ".join(key)
                    reasons.append(f"matches {shown!r} like line {other[0]} ({other[1]}); keep one")
                    break
            if not text_problem:
                for key in (emoji,) if emoji else phrases:
                    claimed.setdefault(key, (line, entry_id))

        if reasons:
            problems.extend(Problem(name, line, r) for r in reasons)
            continue
        entries.append(
            Entry(
                id=entry_id,
                kind=kind,
                text=body,
                category=cell["category"],
                weight=weight,
                source=cell["source"],
                note=cell["note"],
                phrases=phrases,
                emoji=emoji,
                path=name,
                line=line,
            )
        )
    if not problems and not entries:
        problems.append(Problem(name, 0, "no indicator rows"))
    if problems:
        raise LexiconError(problems)
    return entries


def load_lexicon(path: str | os.PathLike[str] | None = None) -> Lexicon:
    """Read and check a lexicon: ``path``, else ``$THREADLINE_LEXICON``, else the shipped one.

    Raises `LexiconError` listing every problem (file and line) if any row is broken.
    """
    name, text = read_file(path, ENV_VAR, "lexicon.tsv", LexiconError)
    delimiter = "," if name.lower().endswith(".csv") else "\t"
    return Lexicon(_parse(text, name, delimiter), name)


@cache
def _load_cached(chosen: str) -> Lexicon:
    return load_lexicon(chosen or None)


def default_lexicon() -> Lexicon:
    """The lexicon in effect (``$THREADLINE_LEXICON`` or the shipped one), loaded once per path."""
    return _load_cached(os.environ.get(ENV_VAR, ""))


def match(text: str) -> list[Hit]:
    """`Lexicon.match` with the `default_lexicon`."""
    return default_lexicon().match(text)
