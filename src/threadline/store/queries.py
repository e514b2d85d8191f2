"""Moved to `threadline.read` (the read API every reader uses); kept until the last command
that imports it from here moves."""

from __future__ import annotations

from threadline.read._common import AdRow, ScorePart
from threadline.read.ads import MARKED_KINDS, AdDetail, AdVersion, Extracted, ad_detail, version_changes
from threadline.read.networks import (
    NetworkRow,
    NetworkScore,
    model_bias,
    network_ads,
    network_evidence,
    network_hubs,
    network_labels,
    network_persons,
    network_score,
    ranked_networks,
)
from threadline.read.search import FindResult, NetworkHit, find, interpretations

__all__ = [
    "MARKED_KINDS",
    "AdDetail",
    "AdRow",
    "AdVersion",
    "Extracted",
    "FindResult",
    "NetworkHit",
    "NetworkRow",
    "NetworkScore",
    "ScorePart",
    "ad_detail",
    "find",
    "interpretations",
    "model_bias",
    "network_ads",
    "network_evidence",
    "network_hubs",
    "network_labels",
    "network_persons",
    "network_score",
    "ranked_networks",
    "version_changes",
]
