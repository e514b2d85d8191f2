"""A full-text index of the ads' words, kept by the store itself.

DuckDB's ``fts`` extension is downloaded when first loaded, which an air-gapped unit cannot do,
so the store keeps a small inverted index of its own, current with every write:

``search_docs(doc, source, id, version, terms)``
    One row per ad: the version indexed (always the latest) and how many words it has.
``search_terms(term, doc, tf)``
    One row per distinct word of an ad: the word as `terms_sql` cuts it, and how often it occurs.
``search_ids(term, doc)``
    The identifier terms of ``search_terms`` again (below), with an index by term (`ID_INDEX`).

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

Identifiers are indexed beside the words, as terms with a colon no word has: ``phone:+1718…``,
``email:…``, ``handle:instagram:name``, ``handlename:name`` (a handle typed without its
platform), ``name:mia`` (names in lower case); those of every version of the ad, since an ad is
evidence of every number it ever gave (`value_terms`, `threadline.read.search.find`). They are
in ``search_ids`` too, a tenth of the rows, whose index by term finds an identifier's ads without
a scan (DuckDB uses it when the term is the one filter of the scan:
`threadline.store.schema.by_id`). An index of ``search_terms`` itself, kept up with every
batch, cost an ingest 2 ms an ad at 100,000 ads (5.7 million terms); that of the identifiers
alone (1 million) costs 0.3 ms.

Looking a word up reads ``search_terms`` by its ``term``, and DuckDB has no index that helps
there; what it has is each row group's smallest and largest value, which lets it skip every row
group whose range misses the word, but only if rows are stored in ``term`` order. Writes append
in the order ads arrive, so `index_ads` rewrites the table sorted (`compact`) whenever the rows
appended since the last rewrite exceed `COMPACT_SHARE` of those sorted then (and
`COMPACT_MIN_ROWS`): amortised, each row is rewritten a few times in its life, and a look-up
reads the sorted row groups that hold the word plus the unsorted tail. (On 5.4 million rows, the
index of 100,000 ads, a look-up took 34 ms unsorted; sorted, a few.) The row count of the last
rewrite is kept as the table's comment, which nothing else uses.
"""

from __future__ import annotations

import duckdb

__all__ = [
    "COMPACT_MIN_ROWS",
    "COMPACT_SHARE",
    "IDENTIFIER_TERMS",
    "ID_INDEX",
    "INDEXED_CHARS",
    "MAX_TERM_CHARS",
    "compact",
    "index_ads",
    "terms_sql",
    "value_terms",
]

INDEXED_CHARS = 64 * 1024
MAX_TERM_CHARS = 40
COMPACT_SHARE = 0.25
COMPACT_MIN_ROWS = 1_000_000
_SORTED = "sorted rows: "  # the comment's prefix
ID_INDEX = "search_ids_by_term"  # `search_ids`' index by term (made by schema migration 25)
_ID_COLUMNS = "term VARCHAR NOT NULL, doc BIGINT NOT NULL"  # as the migration made them
_WORD = r"[\p{L}\p{N}]+"


def terms_sql(expr: str) -> str:
    """SQL for the list of words of the text ``expr`` (in order, repeats kept), as indexed."""
    return (
        f"list_filter(regexp_extract_all(lower(strip_accents({expr})), '{_WORD}'),"
        f" w -> length(w) BETWEEN 2 AND {MAX_TERM_CHARS})"
    )


# The identifier terms of the extractions in relation ``v(doc, kind, value)`` (see the module's
# note): SQL, so that a whole store is indexed in one statement.
IDENTIFIER_TERMS = """
    SELECT doc, kind || ':' || value AS term FROM v WHERE kind IN ('phone', 'email', 'handle')
    UNION SELECT doc, 'name:' || lower(value) FROM v WHERE kind = 'name'
    UNION SELECT doc, 'handlename:' || split_part(value, ':', 2) FROM v WHERE kind = 'handle'
"""


def value_terms(kind: str, value: str) -> str:
    """The term an identifier is indexed under: ``kind`` phone, email, handle, name, or
    ``handle-name`` (a handle's name on any platform)."""
    if kind == "name":
        return f"name:{value.lower()}"
    if kind == "handle-name":
        return f"handlename:{value}"
    return f"{kind}:{value}"


def index_ads(
    con: duckdb.DuckDBPyConnection,
    keys: str | None = None,
    values: str | None = None,
    *,
    texts: str | None = None,
    keep_words: bool = False,
) -> int:
    """Index the latest version of the ads whose ``(source, id)`` the relation ``keys`` lists
    (a table, a view or a subquery), replacing what was indexed for them; with no ``keys``,
    index every ad again. Returns the ads indexed. Call it inside the transaction that stored
    the ads, so the index never lags the store.

    ``values``: a relation ``(source, ad_id, kind, value)`` of the extractions of the versions
    just stored (a batch has them at hand): the identifiers of earlier versions are carried over
    from the ads' earlier index entries, and no extraction is read back from the store. Without
    it, every version's identifiers are read from ``extractions``. ``texts``: a relation
    ``(source, id, version, title, body, location)`` holding the latest version of each keyed ad
    (a batch's new versions: versions only grow), read instead of joining the store's ``ads``
    (a scan of every stored ad's row per batch). ``keep_words``: leave the temporary
    table ``_ti_docs(doc, source, id, version, words)`` of the ads indexed, for the watchlists to
    match the batch's words without cutting its text again (the caller drops it)."""
    old = None
    if keys is None:
        con.execute("DELETE FROM search_terms")
        con.execute("DELETE FROM search_docs")
        # A new table, its index made once it is full (deleted rows would each be taken out of
        # the index, and inserted ones put in, one by one).
        con.execute("DROP TABLE search_ids")
        con.execute(f"CREATE TABLE search_ids ({_ID_COLUMNS})")
        con.execute("CREATE OR REPLACE TEMP TABLE _ti_keys AS SELECT DISTINCT source, id FROM ad_rows")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ti_keys AS SELECT DISTINCT source, id FROM {keys}")
        old = con.execute(
            "SELECT list(d.doc) FROM search_docs d JOIN _ti_keys k ON k.source = d.source AND k.id = d.id"
        ).fetchall()[0][0]
        if old:  # only new versions of known ads: a new ad has nothing to replace (no scan)
            # (IN a subquery: a hash join; list_contains would test the list on every row.)
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _ti_carried AS
                SELECT d.source, d.id, t.term FROM search_ids t JOIN search_docs d ON d.doc = t.doc
                WHERE t.doc IN (SELECT unnest(?))
                """,
                [old],
            )
            con.execute("DELETE FROM search_terms WHERE doc IN (SELECT unnest(?))", [old])
            con.execute("DELETE FROM search_ids WHERE doc IN (SELECT unnest(?))", [old])
            con.execute("DELETE FROM search_docs WHERE doc IN (SELECT unnest(?))", [old])
    text = f"left(concat_ws(' ', a.title, a.body, a.location), {INDEXED_CHARS})"
    rows = f"{texts} a" if texts else "ads a JOIN _ti_keys k ON k.source = a.source AND k.id = a.id"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ti_docs AS
        SELECT nextval('search_doc_ids') AS doc, a.source, a.id, a.version, {terms_sql(text)} AS words
        FROM {rows}
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
    # Identifiers of every version: the new versions' (``values``), and the earlier ones' as
    # indexed before; or, without ``values``, all of them from the store's extractions.
    carried = bool(values is not None and old)
    earlier = "UNION SELECT d.doc, c.term FROM _ti_carried c JOIN _ti_docs d USING (source, id)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ti_ids AS
        WITH v AS (
            SELECT DISTINCT d.doc, e.kind, e.value
            FROM {values or "extractions"} e JOIN _ti_docs d ON d.source = e.source AND d.id = e.ad_id
            WHERE e.kind IN ('phone', 'email', 'handle', 'name')
        )
        SELECT term, doc FROM ({IDENTIFIER_TERMS} {earlier if carried else ""})
        """
    )
    con.execute("INSERT INTO search_terms SELECT term, doc, 1 FROM _ti_ids")
    con.execute("INSERT INTO search_ids SELECT term, doc FROM _ti_ids")
    con.execute("DROP TABLE _ti_ids")
    if keys is None:
        con.execute(f"CREATE INDEX {ID_INDEX} ON search_ids (term)")
    if old:
        con.execute("DROP TABLE IF EXISTS _ti_carried")

    [(count,)] = con.execute("SELECT COUNT(*) FROM _ti_docs").fetchall()
    if not keep_words:
        con.execute("DROP TABLE _ti_docs")
    con.execute("DROP TABLE _ti_keys")
    if keys is None or _unsorted(con) >= max(COMPACT_MIN_ROWS, COMPACT_SHARE * _sorted_rows(con)):
        compact(con)
    return int(count)


def _sorted_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of ``search_terms`` at its last rewrite in term order (0: never rewritten)."""
    rows = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'search_terms' AND schema_name = 'main'"
    ).fetchall()
    comment = rows[0][0] if rows else None
    if not comment or not str(comment).startswith(_SORTED):
        return 0
    return int(str(comment)[len(_SORTED) :])


def _unsorted(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of ``search_terms`` beyond those of its last sorted rewrite (an estimate: replaced
    versions' rows were deleted from anywhere)."""
    [(rows,)] = con.execute("SELECT COUNT(*) FROM search_terms").fetchall()
    return max(0, int(rows) - _sorted_rows(con))


def compact(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite ``search_terms`` in term order (see the module's note); returns its rows."""
    con.execute("CREATE OR REPLACE TEMP TABLE _ti_sorted AS SELECT * FROM search_terms ORDER BY term, doc")
    con.execute("DELETE FROM search_terms")
    # DuckDB keeps the order of an INSERT's rows (preserve_insertion_order, the default).
    con.execute("INSERT INTO search_terms SELECT * FROM _ti_sorted ORDER BY term, doc")
    [(rows,)] = con.execute("SELECT COUNT(*) FROM _ti_sorted").fetchall()
    con.execute("DROP TABLE _ti_sorted")
    con.execute(f"COMMENT ON TABLE search_terms IS '{_SORTED}{int(rows)}'")
    return int(rows)
