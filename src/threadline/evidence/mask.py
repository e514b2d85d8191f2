"""Masking what lies outside a case (``--mask-outside-case``).

A case package (or a network package given a case) holds the ads of the case; what the store
knows around them (a network's identifiers, the evidence that links it, its persons' names, the
analysts' decisions and labels) also speaks of people and ads outside the case. With masking,
every phone, e-mail, handle and self-stated name that only ads outside the package carry is
replaced by a stable token (``[masked phone 3]``: the same value, the same token, everywhere in
the package), and every ad outside it by ``[ad outside the case 7]``.

The package's own ads are never altered: their text is evidence as captured, and every value read
from them (any version) is inside by definition. Masking applies to what is derived around them:
identifiers, link evidence, persons' names, hubs, score reasons, decisions, labels, notes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["KINDS", "Masker"]

KINDS = ("phone", "email", "handle", "name")
_SAID = {"phone": ("phone", "phones"), "email": ("e-mail", "e-mails"), "handle": ("handle", "handles"),
         "name": ("name", "names")}  # fmt: skip


def _spellings(phone: str) -> set[str]:
    """Other ways to write the E.164 number ``phone``: national and international formats, its
    national digits, and for a ten-digit national number with dashes, dots or spaces."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return set()
    national = str(parsed.national_number)
    out = {
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    }
    if len(national) >= 7:
        out.add(national)
    if len(national) == 10:
        a, b, c = national[:3], national[3:6], national[6:]
        out |= {f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}", f"({a}) {b}-{c}", f"({a}){b}-{c}"}
    return {x for x in out if x and x != phone}


class Masker:
    """What to mask: ``inside`` the (kind, value) pairs the package's ads carry, ``candidates``
    every (kind, value) the package's surroundings may name, ``inside_refs`` the package's ads
    (SOURCE:ID) and ``outside_refs`` the ads around them."""

    def __init__(
        self,
        inside: Iterable[tuple[str, str]],
        candidates: Iterable[tuple[str, str]],
        inside_refs: Iterable[str],
        outside_refs: Iterable[str],
    ) -> None:
        inside = {(k, v) for k, v in inside if k in KINDS and v}
        inside_values = {v for _, v in inside}
        inside_folded = {v.casefold() for k, v in inside if k == "name"}
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        exact: dict[str, str] = {v: v for v in inside_values}  # inside values stay themselves
        folded: dict[str, str] = {}  # names, by their case-folded spelling
        for kind, value in sorted({(k, v) for k, v in candidates if k in KINDS and v}):
            if value in inside_values or (kind == "name" and value.casefold() in inside_folded):
                continue
            if value in exact or value.casefold() in folded:
                continue  # the same value under two kinds: one token
            self.counts[kind] += 1
            token = f"[masked {kind} {self.counts[kind]}]"
            if kind == "name":
                folded[value.casefold()] = token
            else:
                exact[value] = token
            if kind == "phone":  # as an analyst may type it in a note: (212) 555-0177, 212-555-0177
                for spelling in _spellings(value):
                    exact.setdefault(spelling, token)
        refs_in = set(inside_refs)
        self.refs: dict[str, str] = {}
        for ref in sorted(set(outside_refs) - refs_in):
            self.refs[ref] = f"[ad outside the case {len(self.refs) + 1}]"
        for ref in refs_in:
            exact.setdefault(ref, ref)
        exact.update(self.refs)
        self._exact = exact
        self._exact_folded = {k.casefold(): v for k, v in exact.items() if k != v}
        self._folded = folded
        self._pattern: re.Pattern[str] | None = None
        if folded or any(k != v for k, v in exact.items()):
            words = sorted(set(exact) | set(folded), key=lambda s: (-len(s), s))
            alternatives = "|".join(re.escape(w) for w in words)
            # Longest first, so an inside e-mail (ruby@x.example) is taken whole before an outside
            # name (Ruby) could match inside it.
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    @property
    def masked(self) -> int:
        return sum(self.counts.values()) + len(self.refs)

    def _swap(self, m: re.Match[str]) -> str:
        text = m.group(0)
        if text in self._exact:
            return self._exact[text]
        folded = text.casefold()
        return self._folded.get(folded) or self._exact_folded.get(folded, text)

    def text(self, value: str) -> str:
        """``value`` with every outside value and ad replaced by its token."""
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(self._swap, value)

    def ref(self, ref: str) -> str:
        return self.refs.get(ref, ref)

    def scrub(self, value: Any) -> Any:
        """``value`` (a string, or lists, tuples, dicts and dataclasses of them) masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, tuple):
            return tuple(self.scrub(v) for v in value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.scrub(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if isinstance(getattr(value, f.name), (str, tuple, list, dict))
            }
            return dataclasses.replace(value, **changes) if changes else value
        return value

    def summary(self, where: str) -> str:
        """The redaction line: counts by kind."""
        kinds = ", ".join(f"{self.counts[k]:,} {_SAID[k][self.counts[k] != 1]}" for k in KINDS)
        return (
            f"identifiers held only by ads outside {where} masked by stable tokens "
            f"(such as [masked phone 1]): {kinds}; {len(self.refs):,} "
            f"{'ad' if len(self.refs) == 1 else 'ads'} outside {where} shown only as masked stubs "
            "([ad outside the case N])"
        )
