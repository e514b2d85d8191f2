"""Which region a phone number written without a country code is read in.

Per record, the first that applies: the country of the ad's location field (`extract_ad` decides
that), else its source's home region (a store's ``source_settings``, `threadline source set`),
else the run's ``--region``, else the installation's (``THREADLINE_REGION``, else US). Ingest,
``run --engine local|spark`` and the server's ingest all read a record through `SourceRegions`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers

__all__ = ["REGION_ENV", "SourceRegions", "checked_region", "installation_region"]

REGION_ENV = "THREADLINE_REGION"
_FALLBACK = "US"


def checked_region(text: str, *, what: str = "region") -> str:
    """``text`` as a region code phone numbers know (upper case), or ValueError with one line."""
    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"{what}: {text!r} is not a region phone numbers know (an ISO country code such as US, GB or DE)"
        )
    return region


def installation_region() -> str:
    """The installation's default region: ``THREADLINE_REGION`` if set (checked), else US."""
    value = os.environ.get(REGION_ENV, "").strip()
    return checked_region(value, what=REGION_ENV) if value else _FALLBACK


@dataclass(frozen=True, slots=True)
class SourceRegions:
    """The default region of each record of a run by its source: the source's home region if it
    has one (``homes``), else the run's ``region``, else ``fallback`` (the installation's).

    Plain data, so that it travels to worker processes and Spark executors as it is."""

    homes: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None
    fallback: str = _FALLBACK

    def of(self, source: str) -> str:
        """The region a number without a country code in an ad of ``source`` is read in, when the
        ad's location names no country."""
        return self.homes.get(source) or self.region or self.fallback
