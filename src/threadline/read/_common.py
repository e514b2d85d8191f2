"""What the read modules share: an ad's row as lists show it, score parts, paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import duckdb

__all__ = ["AdRow", "Page", "ScorePart", "ad_rows", "linked_ads", "score_parts"]

T = TypeVar("T")

ScorePart = tuple[str, str, float, str | None, float]  # level, feature, value, detail, contribution


@dataclass(frozen=True, slots=True)
class AdRow:
    """One ad as lists show it: its latest version's date and place, its network and person."""

    source: str
    id: str
    date: datetime | None  # posted, else captured
    place: str | None  # the first place extraction read from it, else its location as given
    url: str | None
    network: str | None
    person: str | None

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list: ``items`` from ``offset``, and how many there are in all."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int | None


def ad_rows(rows: list[tuple[Any, ...]]) -> tuple[AdRow, ...]:
    return tuple(AdRow(*row[:7]) for row in rows)


def linked_ads(
    con: duckdb.DuckDBPyConnection,
    keys: str,
    params: list[Any],
    *,
    limit: int | None,
    offset: int = 0,
    uses: set[str] | None = None,
    network: str | None = None,
) -> tuple[tuple[AdRow, ...], int]:
    """The ads whose ``(source, id)`` the query ``keys`` gives, as `AdRow`, latest first from
    ``offset`` (up to ``limit``), and how many there are. ``network``: they are that network's
    ads (the saved rows are then read for it alone, not joined to every saved ad).

    An ad's *date* is when it was posted, else captured; its *place* the first place extraction
    read from its latest version, else its location as given. ``uses``: gets ``"ads"`` when the
    rows were put together from the ads as stored (not from what scoring saved for lists)."""
    # Linked ads are read from the rows scoring runs save for lists (``ad_summary``): one scan
    # of a narrow table. When it lacks one of the ads, or holds it as an earlier link run left
    # it (stored without linking, or linked since the last scoring run), they are all put
    # together from the ads and their extractions.
    # One query: the page from the saved rows, with how many ads are wanted and how many of them
    # are saved as they are linked now (the page stands only when that is all of them).
    page = con.execute(
        f"""
        WITH wanted AS (SELECT DISTINCT source, id FROM ({keys}) AS k),
        -- the saved rows read by one column alone (their id: through its index, `by_id`), then
        -- their links by key (the primary key's index)
        summary AS MATERIALIZED (
            SELECT * FROM ad_summary
            WHERE {"network = ?" if network is not None else "id IN (SELECT id FROM wanted)"}
        ),
        links AS MATERIALIZED (SELECT * FROM ad_links WHERE ad_key IN (SELECT ad_key FROM summary)),
        saved AS (
            SELECT s.source, s.id, s.date, s.place, s.url, s.network, s.person
            FROM summary s
            JOIN wanted w ON w.source = s.source AND w.id = s.id
            -- saved for the ad's present network and person, and the version they were linked at
            JOIN links l ON l.ad_key = s.ad_key AND l.network = s.network
                         AND l.person = s.person AND l.version = s.version
        ),
        counts AS (SELECT (SELECT COUNT(*) FROM wanted) AS wanted, (SELECT COUNT(*) FROM saved) AS found),
        shown AS (SELECT * FROM saved ORDER BY date DESC NULLS LAST, source, id LIMIT ? OFFSET ?)
        SELECT c.wanted, c.found, p.* FROM counts c LEFT JOIN shown p ON true
        ORDER BY p.date DESC NULLS LAST, p.source, p.id
        """,
        [*params, *([network] if network is not None else []), limit if limit is not None else 2**62, offset],
    ).fetchall()
    wanted, found = page[0][0], page[0][1]
    if wanted == found:
        return ad_rows([row[2:] for row in page if row[2] is not None]), int(found)
    if uses is not None:
        uses.add("ads")
    rows = con.execute(
        f"""
        WITH wanted AS (SELECT DISTINCT source, id FROM ({keys}) AS k),
        latest AS (
            SELECT r.source, r.id, MAX(r.version) AS version
            FROM ad_rows r JOIN wanted w ON w.source = r.source AND w.id = r.id GROUP BY ALL
        ), listed AS (
            SELECT r.source, r.id, r.version, COALESCE(r.posted_at, r.captured_at) AS date,
                   r.location, r.url, l.network, l.person
            FROM ad_rows r
            JOIN latest m ON m.source = r.source AND m.id = r.id AND m.version = r.version
            LEFT JOIN ad_links l ON l.source = r.source AND l.id = r.id
        ), page AS (
            SELECT *, COUNT(*) OVER () AS total FROM listed
            ORDER BY date DESC NULLS LAST, source, id LIMIT ? OFFSET ?
        ), place AS (
            SELECT e.source, e.ad_id, arg_min(e.value, e.found_index) AS place
            FROM extractions e JOIN page k ON k.source = e.source AND k.id = e.ad_id AND k.version = e.version
            WHERE e.kind = 'place' AND e.span_index = 0 GROUP BY ALL
        ), long AS (  -- a long url or location is kept in parts (store.schema)
            SELECT t.source, t.id, t.col, string_agg(t.text, '' ORDER BY t.part) AS text
            FROM ad_text_parts t
            JOIN page k ON k.source = t.source AND k.id = t.id AND k.version = t.version
            WHERE t.col IN ('url', 'location') GROUP BY ALL
        )
        SELECT k.source, k.id, k.date, COALESCE(p.place, lo.text, k.location), COALESCE(lu.text, k.url),
               k.network, k.person, k.total
        FROM page k
        LEFT JOIN place p ON p.source = k.source AND p.ad_id = k.id
        LEFT JOIN long lo ON lo.source = k.source AND lo.id = k.id AND lo.col = 'location'
        LEFT JOIN long lu ON lu.source = k.source AND lu.id = k.id AND lu.col = 'url'
        ORDER BY k.date DESC NULLS LAST, k.source, k.id
        """,
        [*params, limit if limit is not None else 2**62, offset],
    ).fetchall()
    if rows or not offset:
        return ad_rows(rows), int(rows[0][-1]) if rows else 0
    [(total,)] = con.execute(f"SELECT COUNT(DISTINCT (source, id)) FROM ({keys}) AS k", params).fetchall()
    return (), int(total)


def score_parts(con: duckdb.DuckDBPyConnection, networks: list[str]) -> dict[str, list[ScorePart]]:
    """Each network's own score parts, largest contribution first. (Lists are matched with IN
    a subquery throughout: a hash join, where list_contains tests the list on every row.)"""
    out: dict[str, list[ScorePart]] = {n: [] for n in networks}
    if not networks:
        return out
    rows = con.execute(
        "SELECT unit, level, feature, value, detail, contribution FROM score_parts"
        " WHERE level = 'network' AND unit IN (SELECT unnest(?)) ORDER BY contribution DESC, feature",
        [networks],
    ).fetchall()
    for unit, level, feature, value, detail, contribution in rows:
        out[unit].append((level, feature, float(value), detail, float(contribution)))
    return out
