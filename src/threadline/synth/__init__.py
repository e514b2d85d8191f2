"""Synthetic ad corpora with ground truth, for tests, demos and benchmarks.

``generate(out_dir, n_ads, seed)`` writes ``ads.jsonl`` (docs/DESIGN.md section 2), generated images,
``truth.jsonl`` (who really posted each ad, and which phone numbers it really prints) and
``truth_meta.json``. ``render_phone`` writes one number in one of the obfuscation ``STYLES``.
All phone numbers are from the fictional ranges of docs/DESIGN.md section 4.
``generate``'s ``popular_share``, ``touring_share`` and ``plain_share`` (issue 12) add independents
copying popular texts, touring independents and operations writing no indicator phrase; at 0, the
default, a seed gives the corpus it always gave.
"""

from .generator import MALFORMED_KINDS, SynthSummary, generate
from .obfuscate import OBFUSCATED_STYLES, STYLES, e164, is_obfuscated, render_phone
from .phones import HUB_NUMBERS, is_fictional

__all__ = [
    "HUB_NUMBERS",
    "MALFORMED_KINDS",
    "OBFUSCATED_STYLES",
    "STYLES",
    "SynthSummary",
    "e164",
    "generate",
    "is_fictional",
    "is_obfuscated",
    "render_phone",
]
