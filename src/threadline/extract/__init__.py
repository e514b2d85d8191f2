"""Extraction: pure functions from one ad to identifiers with evidence spans.

Nothing here touches the store or the network; the same functions run inside `ingest`, the
`extract` command and the engines' workers. One module per kind (`phones`, `contacts`, `people`,
`money`, `places`, `images`, `emoji`, `indicators`, the last matching the indicator lexicon of
`lexicon`, `matcher` and `patterns`); `extract_ad` runs them all. The package loads its modules
lazily, so a worker that only needs `phones` does not pay for the gazetteer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.extract._ad import DEFAULT_REGION, contract_record, extract_ad

__all__ = ["DEFAULT_REGION", "contract_record", "extract_ad"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from threadline.extract import _ad

        return getattr(_ad, name)
    raise AttributeError(name)
