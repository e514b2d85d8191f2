"""Find the lexicon's indicators again in every stored ad, after a unit edited its lexicon.

Ingest records indicator matches as extractions (kind ``indicator``) with their spans. Weights are
read from the lexicon at scoring time, so a changed weight needs nothing more; a new, changed or
removed phrase does. This replaces the indicator extractions of every ad's latest version with
what the lexicon in effect finds, in one transaction, and returns how many ads it read.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from threadline.extract.indicators import find_indicators
from threadline.extract.lexicon import Lexicon, default_lexicon
from threadline.extract.text import within_budget
from threadline.store._tx import transaction
from threadline.store.schema import EXTRACTION_ROW, insert_sql

__all__ = ["rematch"]


def _texts(title: str | None, body: str | None, fields: str | None) -> list[tuple[str, str]]:
    """The ad's free texts as `Ad.texts` gives them: title, body, then every string field."""
    texts = [(name, text) for name, text in (("title", title), ("body", body)) if text]
    for key, value in (json.loads(fields) if fields else {}).items():
        if isinstance(value, str) and value:
            texts.append((f"fields.{key}", value))
    return texts


def rematch(con: duckdb.DuckDBPyConnection, lexicon: Lexicon | None = None, *, batch: int = 10_000) -> int:
    lexicon = lexicon or default_lexicon()
    reader = con.cursor()
    reader.execute(
        """
        SELECT a.source, a.id, a.version, a.title, a.body, CAST(a.fields AS VARCHAR),
               COALESCE(MAX(e.found_index) FILTER (WHERE e.kind <> 'indicator'), -1) + 1
        FROM latest_ads a
        LEFT JOIN extractions e ON e.source = a.source AND e.ad_id = a.id AND e.version = a.version
        GROUP BY ALL
        """
    )
    with transaction(con):
        con.execute(
            """
            DELETE FROM extractions WHERE kind = 'indicator' AND (source, ad_id, version) IN (
                SELECT source, id, version FROM latest_ads)
            """
        )
        ads = 0
        while rows := reader.fetchmany(batch):
            columns: dict[str, list[object]] = {name: [] for name in EXTRACTION_ROW.names}
            for source, ad_id, version, title, body, fields, first in rows:
                ads += 1
                # Read as extraction reads them (the same budget), so the phrases found again
                # are the ones ingest would find: none past a field's cut.
                texts, _ = within_budget(_texts(title, body, fields))
                for offset, found in enumerate(find_indicators(texts, lexicon)):
                    detail = json.dumps(found.detail, ensure_ascii=False)
                    for span_index, span in enumerate(found.spans):
                        for name, value in zip(
                            EXTRACTION_ROW.names,
                            (
                                source,
                                ad_id,
                                version,
                                first + offset,
                                span_index,
                                "indicator",
                                found.value,
                                span.field,
                                span.start,
                                span.end,
                                detail,
                            ),
                            strict=True,
                        ):
                            columns[name].append(value)
            found_rows = pa.Table.from_pydict(columns, schema=EXTRACTION_ROW)  # noqa: F841 (read by DuckDB)
            con.execute(insert_sql("extractions", select="* FROM found_rows"))
    return ads
