"""Plain typed records shared by every stage of the flow.

An `Ad` is one version of one advertisement as validated by ingest. Extractors read an `Ad` (or just
its texts) and return `Found` values, each carrying the `Span`s of text it was read from, so that
every identifier shown to an analyst can be traced back to the characters the advertiser posted.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

__all__ = ["KINDS", "Ad", "Extraction", "Found", "Span", "pickled_by_fields"]

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Class decorator for a frozen, slotted dataclass of two fields or more that crosses process
    boundaries by the thousand (ads to ingest's workers, their extractions back): pickled as the
    class and its field values, read in one C call, instead of by the state functions `dataclass`
    makes, which call `fields()` for every object (three times slower to pickle the extractions
    of a batch)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if len(names) < 2:
        raise TypeError(f"{cls.__name__}: pickled_by_fields needs two fields or more")
    values = operator.attrgetter(*names)  # a tuple of the values, for two names or more

    def __reduce__(self: _T) -> tuple[Any, ...]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


# Kinds of extracted value, in the order the `extract` command writes them. "indicator" is a
# lexicon entry's id (extract/lexicon.py). "sentence" (a masked sentence's hash, for near-duplicate
# text) is linking input, not part of the output contract. "notice" says something about the
# extraction itself, not the ad: "field_cut" when a text was longer than extraction reads
# (extract/text.py `within_budget`); evidence only, and nothing downstream reads it.
KINDS = (
    "phone",
    "email",
    "handle",
    "name",
    "age",
    "price",
    "place",
    "image",
    "emoji",
    "indicator",
    "sentence",
    "notice",
)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``[start, end)`` of one text of an ad, as posted (before any normalisation).

    ``field`` names the text: ``"title"``, ``"body"``, ``"location"`` or ``"fields.<key>"`` for a
    structured field the site shows (``"fields.phone"``), or ``"images[<i>]"`` for an image.
    """

    field: str
    start: int
    end: int

    def text_of(self, ad: Ad) -> str:
        return ad.text(self.field)[self.start : self.end]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Found:
    """One extracted value with the evidence for it.

    ``value`` is the normalised form used for linking (E.164 for phones, lower-case address for
    emails, ``"platform:handle"`` for handles, ...). ``detail`` holds kind-specific facts that must
    stay JSON-serialisable (for a phone: whether and how it was obfuscated; for a price: amount,
    currency, minutes).
    """

    kind: str
    value: str
    spans: tuple[Span, ...]
    detail: dict[str, Any] = field(default_factory=dict)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Ad:
    """One version of one ad, validated against the input contract (docs/DESIGN.md section 2)."""

    source: str
    id: str
    title: str = ""
    body: str = ""
    url: str | None = None
    posted_at: datetime | None = None
    captured_at: datetime | None = None
    location: str | None = None
    images: tuple[str, ...] = ()  # absolute paths, checked to exist inside the corpus folder
    fields: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown input fields, kept verbatim

    def text(self, name: str) -> str:
        """The text a `Span.field` refers to."""
        if name == "title":
            return self.title
        if name == "body":
            return self.body
        if name == "location":
            return self.location or ""
        if name == "url":
            return self.url or ""
        if name.startswith("fields."):
            return self.fields.get(name[len("fields.") :], "")
        raise KeyError(name)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(field name, text) for every free text of the ad that may carry identifiers."""
        if self.title:
            yield "title", self.title
        if self.body:
            yield "body", self.body
        for key, value in self.fields.items():
            if value:
                yield f"fields.{key}", value


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything extracted from one ad."""

    source: str
    id: str
    found: tuple[Found, ...]
    region: str  # ISO country code used as the default region for phone numbers

    def values(self, kind: str) -> list[str]:
        return [f.value for f in self.found if f.kind == kind]

    def of_kind(self, kind: str) -> list[Found]:
        return [f for f in self.found if f.kind == kind]
