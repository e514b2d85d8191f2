"""Search: an identifier typed in any format, a name, an ad, network or person id, words of the
text, a place.

Identifiers are read as extraction reads them (`interpretations`: ``(718) 555-0143``,
``7185550143`` and ``+1 718 555 0143`` are all ``+17185550143``) and found in any version of an
ad. Words are looked up in the store's own full-text index (`threadline.store.text_index`: the
latest version of every ad, kept current by every write) and ranked by BM25. Places are matched
by the start of their name in the networks' saved summaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from threadline.link.lineage import resolve
from threadline.read._common import AdRow, Page, linked_ads
from threadline.store._tx import ad_tags, term_tags
from threadline.store.schema import by_id
from threadline.store.text_index import terms_sql, value_terms

__all__ = [
    "FindResult",
    "NetworkHit",
    "PlaceHit",
    "SearchResult",
    "TextHit",
    "find",
    "interpretations",
    "query_terms",
    "search",
    "search_places",
    "search_text",
]


@dataclass(frozen=True, slots=True)
class NetworkHit:
    network: str
    ads: int  # all ads of the network
    matched: int  # ads of the network the looked-up value touches
    logit: float | None
    score: float | None


@dataclass(frozen=True, slots=True)
class FindResult:
    query: str
    matched: tuple[tuple[str, str], ...]  # (kind, value) the query was read as and found under
    ads: tuple[AdRow, ...]  # up to the limit, latest first
    total_ads: int
    networks: tuple[NetworkHit, ...]  # networks touched, highest priority first: the page asked for
    persons: tuple[str, ...]  # persons touched, by id: the page asked for
    total_networks: int = 0  # every network touched
    total_persons: int = 0
    groups_offset: int = 0  # where ``networks`` and ``persons`` start in the whole lists


# The (source, id) pairs of a list parameter [[source, id], ...] as a relation.
_KEYS = "SELECT k[1] AS source, k[2] AS id FROM (SELECT unnest(CAST(? AS VARCHAR[][])) AS k)"

_FOUND_KEYS = "_find_keys"  # the ads a look-up found, registered on its cursor (`find`)
_SEARCH_HITS = "_search_hits"  # the words index's rows a search reads, registered (`search`)

_AD_REF = re.compile(r"^([^:\s]+):(\S+)$")
_UNIT = re.compile(r"^[NP]\d+$")


def interpretations(value: str, region: str = "US") -> list[tuple[str, str]]:
    """The (kind, stored value) pairs ``value`` may mean: a phone in any format (normalised to
    E.164 as extraction does), an e-mail, a handle, a name. Ad, network and person ids are
    looked up by `find` itself."""
    from threadline.extract.contacts import find_emails, find_handles
    from threadline.extract.phones import find_phones

    text = value.strip()
    out: list[tuple[str, str]] = []
    texts = [("query", text)]
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) >= 7:
        out += [("phone", f.value) for f in find_phones(texts, region)]
        if text.startswith("+") and not any(k == "phone" for k, _ in out):
            out += [("phone", f.value) for f in find_phones([("query", digits)], region)]
    out += [("email", f.value) for f in find_emails(texts)]
    if "@" in text and "." in text and not any(k == "email" for k, _ in out):
        out.append(("email", text.lower()))
    out += [("handle", f.value) for f in find_handles(texts)]
    low = text.lower()
    out.append(("handle", low))
    out.append(("handle-name", low.lstrip("@")))
    out.append(("name", low))
    return list(dict.fromkeys(out))


def _lookup_terms(text: str, region: str) -> tuple[dict[str, tuple[str, str]], str, str | None, str]:
    """The terms `find` looks ``text`` up under: (term -> (kind, value) of each identifier it may
    be, the name's term, the handle's name's term (None: no name), that name)."""
    pairs = [(k, v) for k, v in interpretations(text, region) if k != "handle-name"]
    handle_name = text.lower().lstrip("@")
    # Identifiers are looked up in the words index, where each ad's identifiers of every version
    # are terms (store.text_index): a look-up of a few terms, not a scan of every extraction.
    exact = {value_terms(k, v): (k, v) for k, v in pairs if k != "name"}
    name_term = value_terms("name", text)
    handle_term = value_terms("handle-name", handle_name) if handle_name else None
    return exact, name_term, handle_term, handle_name


def find(
    con: duckdb.DuckDBPyConnection,
    value: str,
    *,
    limit: int = 20,
    region: str = "US",
    uses: set[str] | None = None,
    groups: int | None = None,
    groups_offset: int = 0,
    hits: str | None = None,
) -> FindResult:
    """The ads and networks ``value`` touches: an ad id (SOURCE:ID), a network or person id
    (N…/P…), a phone in any format, an e-mail, a handle (``platform:name``, ``@name`` or
    ``name``) or a self-stated name (any case). Values are found in any version of an ad.

    ``limit`` bounds the ads listed (the latest); ``groups`` and ``groups_offset`` page the
    networks (highest priority first) and persons (by id) touched, all of them without
    ``groups``: a hub's number touches thousands, and their totals are always given.

    ``uses`` gets what the answer read (`threadline.store._tx.Touches`): what linking and
    scoring saved (``"links"``), the terms looked up (``"term:…"``), the ad asked for by id,
    and ``"ads"`` when it read ads as stored beyond those. ``hits``: a relation holding the
    words index's rows (term, doc, tf) of the terms looked up (`search` reads them once for
    both its look-ups), else the index itself is read."""
    uses = uses if uses is not None else set()
    uses.add("links")
    text = value.strip()
    matched: list[tuple[str, str]] = []
    keys: set[tuple[str, str]] = set()
    m = _AD_REF.match(text)
    if m:
        uses.update(ad_tags([(m[1], m[2])]))
        hit = con.execute(
            "SELECT DISTINCT source, id FROM ads WHERE source = ? AND id = ?", [m[1], m[2]]
        ).fetchall()
        if hit:
            matched.append(("ad", text))
            keys.update((s, i) for s, i in hit)
    if _UNIT.match(text.upper()):
        unit = text.upper()
        column = "network" if unit.startswith("N") else "person"
        current, _ = resolve(con, column, unit)  # an id merged away names the group it joined
        hit = con.execute(f"SELECT source, id FROM ad_links WHERE {column} = ?", [current]).fetchall()
        if hit:
            matched.append((column, unit if current == unit else f"{unit}, merged into {current}"))
            keys.update((s, i) for s, i in hit)
    exact, name_term, handle_term, handle_name = _lookup_terms(text, region)
    terms = [*exact, name_term, *([handle_term] if handle_term else [])]
    uses.update(term_tags(terms))
    # Every term here is an identifier's: without ``hits``, they are looked up in the index of
    # identifier terms (`store.text_index`), by term alone (`by_id`).
    rows = con.execute(
        f"""
        {by_id(hits or "search_ids", "term", ", ".join("?" for _ in terms))}
        SELECT DISTINCT t.term, d.source, d.id FROM hit t JOIN search_docs d ON d.doc = t.doc
        """,
        terms,
    ).fetchall()
    keys.update((source, ad_id) for _, source, ad_id in rows)
    found_terms = {term for term, _, _ in rows}
    for term in found_terms & set(exact):
        matched.append(exact[term])
    # A name or a handle's name is shown as the ads spell it (their linked persons' values).
    if name_term in found_terms:
        spelled = con.execute(
            "SELECT DISTINCT value FROM network_values WHERE kind = 'name' AND lower(value) = ?",
            [text.lower()],
        ).fetchall()
        matched.extend(("name", v) for (v,) in spelled or [(text.lower(),)])
    if handle_term in found_terms:
        spelled = con.execute(
            "SELECT DISTINCT value FROM network_values"
            " WHERE kind = 'handle' AND split_part(value, ':', 2) = ?",
            [handle_name],
        ).fetchall()
        matched.extend(("handle", v) for (v,) in spelled or [(f"@{handle_name}",)])
    matched = list(dict.fromkeys(matched))
    if not keys:
        return FindResult(text, (), (), 0, (), ())
    # The keys go to the engine once, as a table this cursor alone sees (thousands for a common
    # name: a list parameter is converted again by every query that takes it).
    ordered = sorted(keys)
    con.register(
        _FOUND_KEYS,
        pa.table({"source": [s for s, _ in ordered], "id": [i for _, i in ordered]}),
    )
    try:
        ads, _ = linked_ads(con, f"SELECT source, id FROM {_FOUND_KEYS}", [], limit=limit, uses=uses)
        # The matched ads' networks and persons, read once (one join of every link).
        found = con.execute(
            f"""
            {by_id("ad_links", "id", f"SELECT id FROM {_FOUND_KEYS}")}
            SELECT l.network, l.person FROM hit l JOIN {_FOUND_KEYS} k ON k.source = l.source AND k.id = l.id
            """
        ).fetchall()
    finally:
        con.unregister(_FOUND_KEYS)
    matched_in: dict[str, int] = {}
    for network, _ in found:
        if network is not None:
            matched_in[network] = matched_in.get(network, 0) + 1
    persons = sorted({person for _, person in found if person is not None})
    # The networks with their scores, by priority (scored first), then ads matched, then id;
    # paged in the query, as the persons (by id) are here.
    start = max(0, int(groups_offset))
    page = "" if groups is None else f"LIMIT {max(0, int(groups))}"
    page += f" OFFSET {start}" if groups_offset else ""
    nets = (
        con.execute(
            f"""
            SELECT f.network, n.ads, f.matched, n.logit, n.score
            FROM (SELECT unnest(?::VARCHAR[]) AS network, unnest(?::BIGINT[]) AS matched) f
            LEFT JOIN network_scores n ON n.network = f.network
            ORDER BY n.logit IS NULL, n.logit DESC, f.matched DESC, f.network
            {page}
            """,
            [list(matched_in), list(matched_in.values())],
        ).fetchall()
        if matched_in
        else []
    )
    shown = persons[start:] if groups is None else persons[start : start + max(0, int(groups))]
    return FindResult(
        text,
        tuple(sorted(matched)),
        ads,
        len(keys),
        tuple(
            NetworkHit(n, int(size) if size is not None else int(k), int(k), logit, score)
            for n, size, k, logit, score in nets
        ),
        tuple(shown),
        len(matched_in),
        len(persons),
        start,
    )


# ---------------------------------------------------------------------------------------------
# Words and places


@dataclass(frozen=True, slots=True)
class TextHit:
    ad: AdRow
    score: float  # BM25: higher is better; comparable within one search only


@dataclass(frozen=True, slots=True)
class PlaceHit:
    place: str
    networks: int  # scored networks with an ad there (`read.networks.queue(place=...)` lists them)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a query found: as an identifier, a name or an id (``found``), as words of the ads'
    text (``text``, best first), as the start of a place's name (``places``)."""

    query: str
    found: FindResult
    terms: tuple[str, ...]  # the words looked for, as indexed
    text: Page[TextHit]
    places: tuple[PlaceHit, ...]


# BM25's usual constants: how fast repeats of a word stop counting, and how much an ad's length
# discounts them.
_K1 = 1.2
_B = 0.75


def query_terms(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """The distinct words of ``text`` as the index holds them (same cut, in SQL), in order."""
    [(words,)] = con.execute(f"SELECT {terms_sql('CAST(? AS VARCHAR)')}", [text]).fetchall()
    return list(dict.fromkeys(words or []))


def search_text(
    con: duckdb.DuckDBPyConnection, text: str, *, limit: int = 20, offset: int = 0
) -> tuple[tuple[str, ...], Page[TextHit]]:
    """Ads whose latest version holds every word of ``text`` (any case, accents ignored), best
    first by BM25, one page of them, with the words looked for."""
    return _search_text(con, text, query_terms(con, text), limit=limit, offset=offset)


def _search_text(
    con: duckdb.DuckDBPyConnection,
    text: str,
    terms: list[str],
    *,
    limit: int,
    offset: int,
    index: str | None = None,
) -> tuple[tuple[str, ...], Page[TextHit]]:
    """`search_text` of ``text``, whose words are ``terms``; ``index``: as `find`'s ``hits``."""
    if not terms:
        return (), Page((), 0, offset, limit)
    marks = ", ".join("?" for _ in terms)
    rows = con.execute(
        f"""
        WITH hits AS (SELECT term, doc, tf FROM {index or "search_terms"} WHERE term IN ({marks})),
        df AS (SELECT term, COUNT(*) AS df FROM hits GROUP BY term),
        stats AS (SELECT COUNT(*) AS n, GREATEST(AVG(terms), 1) AS avglen FROM search_docs),
        scored AS (
            SELECT h.doc, COUNT(*) AS matched,
                   SUM(ln(1 + (st.n - df.df + 0.5) / (df.df + 0.5)) * h.tf * ({_K1} + 1)
                       / (h.tf + {_K1} * (1 - {_B} + {_B} * d.terms / st.avglen))) AS score
            FROM hits h JOIN df ON df.term = h.term JOIN search_docs d ON d.doc = h.doc CROSS JOIN stats st
            GROUP BY h.doc
        )
        SELECT d.source, d.id, s.score, COUNT(*) OVER () AS total
        FROM scored s JOIN search_docs d ON d.doc = s.doc
        WHERE s.matched = ?
        ORDER BY s.score DESC, d.source, d.id
        LIMIT ? OFFSET ?
        """,
        [*terms, len(terms), limit, offset],
    ).fetchall()
    total = int(rows[0][-1]) if rows else 0
    if not rows and offset:
        _, whole = _search_text(con, text, terms, limit=1, offset=0, index=index)
        total = whole.total
    ads, _ = linked_ads(con, _KEYS, [[[r[0], r[1]] for r in rows]], limit=None)
    by_ref = {(a.source, a.id): a for a in ads}
    hits = tuple(TextHit(by_ref[(r[0], r[1])], round(float(r[2]), 6)) for r in rows if (r[0], r[1]) in by_ref)
    return tuple(terms), Page(hits, total, offset, limit)


def search_places(con: duckdb.DuckDBPyConnection, text: str, *, limit: int = 10) -> list[PlaceHit]:
    """Places whose name starts with ``text`` (any case), with how many scored networks have ads
    there, most first."""
    start = text.strip().lower()
    if not start:
        return []
    rows = con.execute(
        """
        SELECT place, COUNT(*) AS networks
        FROM (SELECT unnest(places) AS place FROM network_summary)
        WHERE starts_with(lower(place), ?)
        GROUP BY place ORDER BY networks DESC, place LIMIT ?
        """,
        [start, limit],
    ).fetchall()
    return [PlaceHit(place, int(n)) for place, n in rows]


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    limit: int = 20,
    offset: int = 0,
    region: str = "US",
    uses: set[str] | None = None,
    groups: int | None = None,
    groups_offset: int = 0,
) -> SearchResult:
    """Everything ``query`` may mean at once: an identifier, name or id (`find`), words of the
    ads' text (`search_text`, paged by ``limit`` and ``offset``), the start of a place's name
    (`search_places`). Each part is empty where the query found nothing as that; a query read as a
    phone, an e-mail or an id is not looked for as words. ``uses``, ``groups`` and
    ``groups_offset``: see `find` (words are ranked over every ad: a search for words reads
    ``"ads"``)."""
    uses = uses if uses is not None else set()
    text = query.strip()
    if not text:
        return SearchResult(query, FindResult(text, (), (), 0, (), ()), (), Page((), 0, offset, limit), ())
    # A query that cannot be read as a phone, an e-mail or an id is looked for as words too: the
    # index's rows of its words and of its terms as an identifier are then read in one scan.
    words: list[str] | None = None
    shared: str | None = None
    exact, name_term, handle_term, _ = _lookup_terms(text, region)
    if not (
        _AD_REF.match(text)
        or _UNIT.match(text.upper())
        or any(kind in ("phone", "email") for kind, _ in exact.values())
    ):
        words = query_terms(con, text)
        wanted = list(dict.fromkeys([*exact, name_term, *([handle_term] if handle_term else []), *words]))
        rows = con.execute(
            f"SELECT term, doc, tf FROM search_terms WHERE term IN ({', '.join('?' for _ in wanted)})", wanted
        ).to_arrow_table()
        con.register(_SEARCH_HITS, rows)
        shared = _SEARCH_HITS
    try:
        found = find(
            con,
            text,
            limit=limit,
            region=region,
            uses=uses,
            groups=groups,
            groups_offset=groups_offset,
            hits=shared,
        )
        terms: tuple[str, ...] = ()
        hits: Page[TextHit] = Page((), 0, offset, limit)
        if not any(kind not in ("name", "handle") for kind, _ in found.matched):
            # (A phone, an e-mail or an id is not: its pieces as words, "555", "com", are in most ads.)
            uses.add("ads")
            if words is None:
                words = query_terms(con, text)
            terms, hits = _search_text(con, text, words, limit=limit, offset=offset, index=shared)
    finally:
        if shared is not None:
            con.unregister(shared)
    return SearchResult(text, found, terms, hits, tuple(search_places(con, text)))
