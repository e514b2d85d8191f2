"""Extract one ad: every extractor run over its texts, the region chosen from its location."""

from __future__ import annotations

from threadline.extract.contacts import find_emails, find_handles
from threadline.extract.emoji import find_emoji
from threadline.extract.images import hash_images
from threadline.extract.indicators import find_indicators
from threadline.extract.money import find_prices
from threadline.extract.people import find_ages, find_names
from threadline.extract.phones import find_phones
from threadline.extract.places import country_of_location, find_places
from threadline.extract.sentences import find_sentences
from threadline.extract.text import MAX_AD_CHARS, MAX_FIELD_CHARS, within_budget
from threadline.model import Ad, Extraction, Found

__all__ = ["DEFAULT_REGION", "MAX_AD_CHARS", "MAX_FIELD_CHARS", "contract_record", "extract_ad"]

DEFAULT_REGION = "US"
_CURRENCY = {
    **dict.fromkeys(("IE", "FR", "DE", "ES", "IT", "PT", "NL", "BE", "AT", "GR", "FI"), "EUR"),
    **{"GB": "GBP", "US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD"},
    **{"MX": "MXN", "AR": "ARS", "IN": "INR"},
}


def extract_ad(ad: Ad, *, default_region: str = DEFAULT_REGION, images: bool = True) -> Extraction:
    """Every identifier in ``ad``, each with the spans it was read from.

    Phone numbers without a country code are read in the country of the ad's location field, else
    in ``default_region`` (a source's home country). ``images=False`` skips reading image files.

    Every extractor reads each text up to `MAX_FIELD_CHARS` (and the ad up to `MAX_AD_CHARS`), so
    the work on one record is bounded; a field cut is told by a ``"notice"`` in the evidence (see
    `text.within_budget`). The location field is read whole: places and regions ignore one over
    200 characters.
    """
    region = (country_of_location(ad.location) if ad.location else None) or default_region
    texts, notices = within_budget(ad.texts())
    found: list[Found] = [
        *find_phones(texts, region, ad.url),
        *find_emails(texts),
        *find_handles(texts),
        *find_names(texts),
        *find_ages(texts),
        *find_prices(texts, _CURRENCY.get(region, "USD")),
        *find_places(texts, ad.location),
        *(hash_images(ad.images) if images else ()),
        *find_emoji(texts),
        *find_indicators(texts),
    ]
    # Last: sentences are read with every identifier found above masked.
    found.extend(find_sentences(texts, found))
    found.extend(notices)
    # Each extractor returns its own kind, called in the order of KINDS: the list is in that order
    # (tests/extract/test_money_written.py checks it) and needs no sort.
    return Extraction(ad.source, ad.id, tuple(found), region)


def _span_json(f: Found) -> list[dict[str, object]]:
    return [{"field": s.field, "start": s.start, "end": s.end} for s in f.spans]


def _rate(f: Found) -> dict[str, object]:
    """A price as written: lowest and highest amount (equal unless a range), the minutes they buy
    (``None`` when not stated) and the currency."""
    amount = f.detail.get("amount")
    return {
        "min": amount,
        "max": f.detail.get("amount_max", amount),
        "minutes": f.detail.get("minutes"),
        "currency": f.detail.get("currency"),
    }


def contract_record(ex: Extraction, *, evidence: bool = True) -> dict[str, object]:
    """The `extract` command's output line (docs/DESIGN.md section 3), plus evidence spans if asked.

    ``prices`` are per-hour amounts (a range's lower end); ``rates`` (an extension, one per price,
    in the same order) are the prices as stated: ``{"min", "max", "minutes", "currency"}``, so
    "150-200/hr" is ``{"min": 150, "max": 200, "minutes": 60, ...}`` and "80 hh" is ``{"min": 80,
    "max": 80, "minutes": 30, ...}``. Sentences (linking input) have no key of their own; they
    appear in the evidence only."""
    record: dict[str, object] = {
        "id": ex.id,
        "source": ex.source,
        "phones": ex.values("phone"),
        "emails": ex.values("email"),
        "handles": ex.values("handle"),
        "names": ex.values("name"),
        "ages": [int(v) for v in ex.values("age")],
        "prices": [f.detail.get("per_hour", f.value) for f in ex.of_kind("price")],
        "rates": [_rate(f) for f in ex.of_kind("price")],
        "places": ex.values("place"),
        "image_hashes": [
            {k: f.detail.get(k) for k in ("path", "sha256", "pdq", "pdq_quality", "phash")}
            for f in ex.of_kind("image")
        ],
        "emoji": ex.values("emoji"),
        "indicators": ex.values("indicator"),
    }
    if evidence:
        record["evidence"] = [
            {"kind": f.kind, "value": f.value, "spans": _span_json(f), **f.detail}
            for f in ex.found
            if f.kind != "image"
        ]
    return record
