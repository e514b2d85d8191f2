"""A full-text index of the ads' words, kept by the store itself.

DuckDB's ``fts`` extension is downloaded when first loaded, which an air-gapped unit cannot do,
so the store keeps a small inverted index of its own, current with every write:

``search_docs(doc, source, id, version, terms)``
    One row per ad: the version indexed (always the latest) and how many words it has.
``search_terms(term, doc, tf)``
    One row per distinct word of an ad: the word as `terms_sql` cuts it, and how often it occurs.

What is indexed is an ad's latest version (title, body and location), its first `INDEXED_CHARS`
characters: a search finds ads by what they say now; earlier versions are found through their
identifiers (`threadline.read.search`). Words are runs of letters and digits, lower-cased and
without accents (``Zürich`` is ``zurich``), cut in SQL so that ads and queries are cut alike
(`terms_sql`) and a whole store can be indexed in one statement (`index_ads`). Words of one
character or longer than `MAX_TERM_CHARS` are left out (no search needs them; hostile text is
full of them).

`Store.write_batch` calls `index_ads` for the ads each batch stores (new ads and new versions),
in the batch's transaction; ``threadline load`` indexes the loaded store once. Ranking (BM25) is
done at query time from these two tables (`threadline.read.search.search_text`).
"""

from __future__ import annotations

import duckdb

__all__ = ["INDEXED_CHARS", "MAX_TERM_CHARS", "index_ads", "terms_sql"]

INDEXED_CHARS = 64 * 1024
MAX_TERM_CHARS = 40
_WORD = r"[\p{L}\p{N}]+"


def terms_sql(expr: str) -> str:
    """SQL for the list of words of the text ``expr`` (in order, repeats kept), as indexed."""
    return (
        f"list_filter(regexp_extract_all(lower(strip_accents({expr})), '{_WORD}'),"
        f" w -> length(w) BETWEEN 2 AND {MAX_TERM_CHARS})"
    )


def index_ads(con: duckdb.DuckDBPyConnection, keys: str | None = None) -> int:
    """Index the latest version of the ads whose ``(source, id)`` the relation ``keys`` lists
    (a table, a view or a subquery), replacing what was indexed for them; with no ``keys``,
    index every ad again. Returns the ads indexed. Call it inside the transaction that stored
    the ads, so the index never lags the store."""
    if keys is None:
        con.execute("DELETE FROM search_terms")
        con.execute("DELETE FROM search_docs")
        con.execute("CREATE OR REPLACE TEMP TABLE _ti_keys AS SELECT DISTINCT source, id FROM ad_rows")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ti_keys AS SELECT DISTINCT source, id FROM {keys}")
        old = con.execute(
            "SELECT list(d.doc) FROM search_docs d JOIN _ti_keys k ON k.source = d.source AND k.id = d.id"
        ).fetchall()[0][0]
        if old:  # only new versions of known ads: a new ad has nothing to replace (no scan)
            # (IN a subquery: a hash join; list_contains would test the list on every row.)
            con.execute("DELETE FROM search_terms WHERE doc IN (SELECT unnest(?))", [old])
            con.execute("DELETE FROM search_docs WHERE doc IN (SELECT unnest(?))", [old])
    text = f"left(concat_ws(' ', a.title, a.body, a.location), {INDEXED_CHARS})"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ti_docs AS
        SELECT nextval('search_doc_ids') AS doc, a.source, a.id, a.version, {terms_sql(text)} AS words
        FROM ads a JOIN _ti_keys k ON k.source = a.source AND k.id = a.id
        QUALIFY a.version = max(a.version) OVER (PARTITION BY a.source, a.id)
        """
    )
    con.execute("INSERT INTO search_docs SELECT doc, source, id, version, len(words) FROM _ti_docs")
    con.execute(
        """
        INSERT INTO search_terms
        SELECT term, doc, COUNT(*) FROM (SELECT doc, unnest(words) AS term FROM _ti_docs)
        GROUP BY term, doc
        """
    )
    [(count,)] = con.execute("SELECT COUNT(*) FROM _ti_docs").fetchall()
    con.execute("DROP TABLE _ti_docs")
    con.execute("DROP TABLE _ti_keys")
    return int(count)
