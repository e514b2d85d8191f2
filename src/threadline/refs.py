"""Typed references to what analysts and runs make, so that one act is never taken for another.

Every id shown to an analyst carries its kind as a letter: ``N…`` a network, ``P…`` a person,
``C…`` a case, ``D…`` an analyst's decision (merge, separation, split, hub mark), ``L…`` a label.
Decisions and labels are numbered separately, so a bare number could name either: it is refused,
here, in the command line, the API and the audit alike.
"""

from __future__ import annotations

import re

__all__ = ["KINDS", "BadRef", "format_ref", "parse_ref"]

KINDS = {"N": "network", "P": "person", "C": "case", "D": "decision", "L": "label"}
_PREFIX = {kind: letter for letter, kind in KINDS.items()}
_REF = re.compile(r"([A-Za-z])(-?[0-9]+)")


class BadRef(ValueError):
    """Text that is not a reference, or not one of the kinds asked for (the message is one line)."""


def format_ref(kind: str, number: int) -> str:
    """``("decision", 12)`` -> ``"D12"``."""
    return f"{_PREFIX[kind]}{number}"


def parse_ref(text: str, *, kinds: tuple[str, ...] = tuple(KINDS.values())) -> tuple[str, int]:
    """``"D12"`` -> ``("decision", 12)``, ``"L11"`` -> ``("label", 11)``; `BadRef` for a bare
    number, an unknown letter, a number under 1, or a kind not among ``kinds``."""
    wanted = " or ".join(f"{_PREFIX[k]}… for a {k}" for k in kinds)
    s = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", s):
        raise BadRef(f"{text}: a bare number could name anything; write {wanted}")
    m = _REF.fullmatch(s)
    if not m or m.group(1).upper() not in KINDS:
        raise BadRef(f"{text}: not a reference; write {wanted}")
    kind, number = KINDS[m.group(1).upper()], int(m.group(2))
    if number < 1:
        raise BadRef(f"{text}: numbers start at 1")
    if kind not in kinds:
        raise BadRef(f"{text} is a {kind}, not a {' or a '.join(kinds)}")
    return kind, number
