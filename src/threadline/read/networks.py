"""Networks: the triage queue, and everything one network's view shows.

The queue reads ``network_summary`` (one row per scored network, saved by every scoring run:
`score.saved`), so filtering, sorting and paging cost a scan of one row per network whatever the
number of ads; each row's reasons are read for the page only. A network's view reads its saved
score parts, evidence, hubs, movement, itineraries and circuits: nothing is computed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from threadline.link.decisions import Decision, decisions
from threadline.link.lineage import LABELLED_NETWORKS, Lineage, resolve
from threadline.link.steps import image_own
from threadline.read._common import AdRow, Page, ScorePart, linked_ads, score_parts
from threadline.score.learn import Label, labels

__all__ = [
    "SORTS",
    "Circuit",
    "Identifier",
    "Movement",
    "NetworkRow",
    "NetworkScore",
    "NetworkView",
    "Reason",
    "Stay",
    "model_bias",
    "network",
    "network_ads",
    "network_circuits",
    "network_decisions",
    "network_evidence",
    "network_hubs",
    "network_identifiers",
    "network_itinerary",
    "network_labels",
    "network_movement",
    "network_persons",
    "network_score",
    "person_itineraries",
    "queue",
    "ranked_networks",
]

Sort = Literal["priority", "latest", "size"]
# How the queue orders networks: each sort's ties go to the others, then to the id.
_ORDER: dict[str, str] = {
    "priority": "logit DESC, last_date DESC NULLS LAST, ads DESC, network",
    "latest": "last_date DESC NULLS LAST, logit DESC, ads DESC, network",
    "size": "ads DESC, logit DESC, last_date DESC NULLS LAST, network",
}
SORTS: tuple[str, ...] = tuple(_ORDER)


@dataclass(frozen=True, slots=True)
class Reason:
    """One contribution to a score, as a sentence an analyst can check."""

    text: str
    contribution: float
    level: str
    feature: str


@dataclass(frozen=True, slots=True)
class NetworkRow:
    """A network in the queue."""

    network: str
    ads: int
    persons: int
    logit: float
    score: float  # a priority for review, not a finding
    model: str
    last_date: datetime | None
    last_place: str | None
    labels: tuple[str, ...]
    parts: tuple[ScorePart, ...]  # every contribution, largest first
    phones: int = 0
    first_date: datetime | None = None
    sources: tuple[str, ...] = ()
    hubs: int = 0
    last_ingested: datetime | None = None
    reasons: tuple[Reason, ...] = ()  # the largest contributions, readable


@dataclass(frozen=True, slots=True)
class NetworkScore:
    network: str
    ads: int
    logit: float
    score: float
    model: str
    bias: float | None  # the model's starting log-odds (None: the model is gone)
    parts: tuple[ScorePart, ...]


@dataclass(frozen=True, slots=True)
class Identifier:
    """A phone, e-mail or handle in the network's ads (any version), with when it was seen."""

    kind: str
    value: str
    ads: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Movement:
    """The network's movement features as its last scoring run saved them (`score.movement`)."""

    places: int
    moves: int
    median_stay_days: float | None
    max_km_per_day: float | None
    foreign_code_share: float | None
    origin: str | None
    circuit: str | None
    circuit_repeats: float


@dataclass(frozen=True, slots=True)
class Stay:
    stay_no: int
    place: str
    country: str | None
    first_seen: datetime
    last_seen: datetime
    ads: int


@dataclass(frozen=True, slots=True)
class Circuit:
    unit_kind: str  # network or person
    unit: str
    circuit: str  # "A -> B -> C"
    laps: float
    full_laps: int
    start_stay: int
    end_stay: int
    missed: int
    extra: int
    median_dwell_days: float | None
    simultaneous: bool  # in two places at once: not a circuit travelled


@dataclass(frozen=True, slots=True)
class NetworkView:
    """Everything about one network (``network`` is its id now; ``lineage`` how the asked id
    became it)."""

    network: str
    lineage: tuple[Lineage, ...]
    summary: NetworkRow | None  # None: linked but not scored yet
    score: NetworkScore | None
    persons: tuple[tuple[str, int, tuple[str, ...]], ...]  # (person, ads, self-stated names)
    identifiers: tuple[Identifier, ...]
    ads: Page[AdRow]
    evidence: tuple[tuple[str, str, int, str | None], ...]  # (kind, value, ads, detail)
    hubs: tuple[tuple[str, str, int, int, str | None], ...]  # (kind, value, ads, other phones, marked by)
    movement: Movement | None
    itinerary: tuple[Stay, ...]
    circuits: tuple[Circuit, ...]  # the network's, then its persons'
    decisions: tuple[Decision, ...]
    labels: tuple[Label, ...]  # in force, through merges


# ---------------------------------------------------------------------------------------------
# The queue


def _reasons(parts: list[ScorePart], top: int, words: tuple[Any, Any] | None = None) -> tuple[Reason, ...]:
    """The ``top`` largest of ``parts`` as sentences; ``words``: (weights, lexicon) to word them
    (loaded when not given: a page of rows loads them once)."""
    from threadline.score.scorer import reasons

    if not parts or top <= 0:
        return ()
    weights, lexicon = words or _words()
    listed = reasons(parts, weights, lexicon)[:top]
    return tuple(Reason(r["reason"], float(r["contribution"]), r["level"], r["feature"]) for r in listed)


def queue(
    con: duckdb.DuckDBPyConnection,
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    place: str | None = None,
    source: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    label: str | None = None,
    has_hub: bool | None = None,
    new_since: datetime | None = None,
    removed_since: datetime | None = None,
    sort: Sort = "priority",
    limit: int | None = 50,
    offset: int = 0,
    reasons: int = 3,
) -> Page[NetworkRow]:
    """Scored networks for review, filtered, sorted and paged, with the total that match.

    ``date_from``/``date_to``: networks with ads dated in that range (active then: last ad on
    or after ``date_from``, first on or before ``date_to``); ``place``: with an ad in a place
    whose name starts with it (any case: ``houston`` matches ``Houston, TX, US``); ``source``:
    with an ad from that source; ``min_score``/``max_score``: priority in that range (0..1);
    ``label``: one of whose ads carries that analyst label (not withdrawn); ``has_hub``: whose
    ads carry (True) or carry no (False) hub phone, e-mail, handle or image (text hubs, copied
    sentences, are in most networks and not counted); ``new_since``: with an ad stored (new, or a
    new version) at or after that time; ``removed_since``: with an ad a crawler reported taken
    down at or after that time. ``sort``: ``priority`` (ties: latest ad, then size),
    ``latest`` (last ad date) or ``size`` (ads). Each row carries its ``reasons`` largest
    contributions as sentences, and all its parts.
    """
    if sort not in _ORDER:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if (limit is not None and limit < 0) or offset < 0:
        raise ValueError("limit and offset must not be negative")
    conditions: list[str] = []
    params: list[Any] = []

    def where(condition: str, *values: Any) -> None:
        conditions.append(condition)
        params.extend(values)

    if date_from is not None:
        where("s.last_date >= ?", date_from)
    if date_to is not None:
        where("s.first_date <= ?", date_to)
    if place:
        where("len(list_filter(s.places, p -> starts_with(lower(p), ?))) > 0", place.strip().lower())
    if source is not None:
        where("list_contains(s.sources, ?)", source)
    if min_score is not None:
        where("n.score >= ?", min_score)
    if max_score is not None:
        where("n.score <= ?", max_score)
    if label is not None:
        where("list_contains(COALESCE(b.labels, []), ?)", label)
    if has_hub is not None:
        where("(s.hubs > 0) = ?", has_hub)
    if new_since is not None:
        where("s.last_ingested >= ?", new_since)
    if removed_since is not None:
        where(
            "n.network IN (SELECT l.network FROM sightings g JOIN ad_links l ON l.source = g.source"
            " AND l.id = g.id WHERE g.gone AND g.seen_at >= ?)",
            removed_since,
        )
    where_sql = "WHERE " + " AND ".join(conditions) if conditions else ""
    items, total = _rows(con, where_sql, params, _ORDER[sort], limit, offset, reasons)
    return Page(items, total, offset, limit)


# The queue's rows: scored networks with their summaries and labels ({where} on n, s and b).
_QUEUE = f"""
    WITH labelled AS (
        SELECT network, list(DISTINCT label ORDER BY label) AS labels
        FROM ({LABELLED_NETWORKS}) GROUP BY network
    )
    SELECT n.network, s.ads, s.persons, n.logit, n.score, n.model, s.last_date, s.last_place,
           COALESCE(b.labels, []), s.phones, s.first_date, s.sources, s.hubs, s.last_ingested
    FROM network_scores n
    JOIN network_summary s ON s.network = n.network
    LEFT JOIN labelled b ON b.network = n.network
    {{where}}
"""


def _rows(
    con: duckdb.DuckDBPyConnection,
    where: str,
    params: list[Any],
    order: str,
    limit: int | None,
    offset: int,
    reasons: int,
) -> tuple[tuple[NetworkRow, ...], int]:
    """The queue's rows that ``where`` keeps, in ``order``, one page, and how many it keeps."""
    rows = con.execute(
        f"""
        SELECT *, COUNT(*) OVER () AS total FROM ({_QUEUE.format(where=where)}) AS q
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*params, limit if limit is not None else 2**62, offset],
    ).fetchall()
    if rows:
        total = int(rows[0][-1])
    else:  # past the last page: counted on its own
        [(total,)] = con.execute(
            f"SELECT COUNT(*) FROM ({_QUEUE.format(where=where)}) AS q", params
        ).fetchall()
    parts = score_parts(con, [r[0] for r in rows])
    words = _words() if rows and reasons > 0 else None
    items = tuple(
        NetworkRow(
            network=r[0],
            ads=int(r[1]),
            persons=int(r[2]),
            logit=float(r[3]),
            score=float(r[4]),
            model=r[5],
            last_date=r[6],
            last_place=r[7],
            labels=tuple(r[8]),
            parts=tuple(parts[r[0]]),
            phones=int(r[9]),
            first_date=r[10],
            sources=tuple(r[11]),
            hubs=int(r[12]),
            last_ingested=r[13],
            reasons=_reasons(parts[r[0]], reasons, words),
        )
        for r in rows
    )
    return items, int(total)


def _words() -> tuple[Any, Any]:
    from threadline.extract.lexicon import default_lexicon
    from threadline.score.weights import load_weights

    return load_weights(), default_lexicon()


def ranked_networks(
    con: duckdb.DuckDBPyConnection,
    *,
    top: int | None = None,
    label: str | None = None,
    since: datetime | None = None,
) -> list[NetworkRow]:
    """The first ``top`` networks of the queue by priority (``since``: with an ad dated on or
    after it; ``label``: labelled so)."""
    return list(queue(con, label=label, date_from=since, limit=top, reasons=0).items)


# ---------------------------------------------------------------------------------------------
# One network


def model_bias(con: duckdb.DuckDBPyConnection, model: str) -> float | None:
    """The network-level starting log-odds of ``model`` ('prior' or 'model <id>') as scoring used
    it: a fitted model's stored bias, or the weights file's network bias."""
    if model.startswith("model "):
        rows = con.execute(
            "SELECT bias FROM score_models WHERE CAST(model_id AS VARCHAR) = ?", [model[6:]]
        ).fetchall()
        return float(rows[0][0]) if rows else None
    from threadline.score.weights import load_weights

    return float(load_weights().bias["network"])


def network_labels(con: duckdb.DuckDBPyConnection, network: str) -> list[str]:
    """The active labels of the network id ``network`` names now (through merges)."""
    rows = con.execute(
        f"SELECT DISTINCT label FROM ({LABELLED_NETWORKS}) WHERE network = ? ORDER BY label", [network]
    ).fetchall()
    return [label for (label,) in rows]


def network_score(
    con: duckdb.DuckDBPyConnection, network: str, parts: tuple[ScorePart, ...] | None = None
) -> NetworkScore | None:
    """``network``'s score, its model's bias and its parts (``parts``: read already)."""
    rows = con.execute(
        "SELECT ads, logit, score, model FROM network_scores WHERE network = ?", [network]
    ).fetchall()
    if not rows:
        return None
    ads, logit, score, model = rows[0]
    return NetworkScore(
        network,
        int(ads),
        float(logit),
        float(score),
        model,
        model_bias(con, model),
        parts if parts is not None else tuple(score_parts(con, [network])[network]),
    )


# A network's values (phones, e-mails, handles, names, images; per person, counted, with dates):
# as the last scoring run saved them (``network_values``), or, for a network linked since (a
# link run without scoring: the library's `link`, a test), worked out from its extractions.
_LIVE_VALUES = """
    WITH own AS (SELECT ad_key, source, id, network, person FROM ad_links WHERE network = ?),
    latest AS (
        SELECT r.source, r.id, MAX(r.version) AS version
        FROM ad_rows r JOIN own o ON o.source = r.source AND o.id = r.id GROUP BY ALL
    )
    SELECT o.network, o.person, e.kind, e.value, COUNT(DISTINCT o.ad_key) AS ads,
           COUNT(DISTINCT o.ad_key) FILTER (WHERE e.version = m.version) AS latest_ads,
           MIN(COALESCE(r.posted_at, r.captured_at)) AS first_seen,
           MAX(COALESCE(r.posted_at, r.captured_at)) AS last_seen
    FROM extractions e
    JOIN own o ON o.source = e.source AND o.id = e.ad_id
    JOIN latest m ON m.source = o.source AND m.id = o.id
    JOIN ad_rows r ON r.source = e.source AND r.id = e.ad_id AND r.version = e.version
    WHERE e.kind IN ('phone', 'email', 'handle', 'name', 'image')
    GROUP BY o.network, o.person, e.kind, e.value
"""


_SAVED_VALUES = "SELECT * FROM network_values WHERE network = ?"


def _values(con: duckdb.DuckDBPyConnection, network: str) -> tuple[str, list[Any]]:
    """The relation of ``network``'s values (see above), and its parameters."""
    [(linked, saved)] = con.execute(
        """
        WITH l AS (SELECT ad_key, version FROM ad_links WHERE network = ?)  -- one scan of the links
        SELECT (SELECT COUNT(*) FROM l),
               (SELECT COUNT(*) FROM ad_summary s JOIN l ON l.ad_key = s.ad_key AND l.version = s.version
                WHERE s.network = ?)
        """,
        [network, network],
    ).fetchall()
    if linked == saved:
        return _SAVED_VALUES, [network]
    return _LIVE_VALUES, [network]


def network_persons(
    con: duckdb.DuckDBPyConnection, network: str, *, values: tuple[str, list[Any]] | None = None
) -> list[tuple[str, int, list[str]]]:
    """(person, ads, self-stated names in their latest versions) of ``network``, largest first;
    empty: no such network."""
    relation, params = values or _values(con, network)  # (``values``: given by the caller)
    rows = con.execute(
        f"""
        WITH sized AS (SELECT person, COUNT(*) AS ads FROM ad_links WHERE network = ? GROUP BY person),
        named AS (
            SELECT person, list(value ORDER BY value) AS names FROM ({relation}) AS v
            WHERE kind = 'name' AND latest_ads > 0 GROUP BY person
        )
        SELECT s.person, s.ads, n.names FROM sized s LEFT JOIN named n ON n.person = s.person
        ORDER BY s.ads DESC, s.person
        """,
        [network, *params],
    ).fetchall()
    return [(person, int(n), list(names or [])) for person, n, names in rows]


def network_evidence(
    con: duckdb.DuckDBPyConnection, network: str, *, uses: set[str] | None = None
) -> list[tuple[str, str, int, str | None]]:
    """(kind, value, ads, detail) of what links ``network``'s ads, most shared first. An image is
    named by a path the store keeps for it (its SHA-256 goes to the detail; ``uses`` then gets
    ``"images"``: another ad may bring another path)."""
    rows = con.execute(
        "SELECT kind, value, ads, detail FROM link_evidence WHERE network = ? ORDER BY ads DESC, kind, value",
        [network],
    ).fetchall()
    shas = sorted({sha for k, v, _, _ in rows if k in ("image", "similar_image") for sha in v.split()})
    if shas and uses is not None:
        uses.add("images")
    paths = dict(
        con.execute(
            "SELECT sha256, MIN(path) FROM ad_images WHERE sha256 IN (SELECT unnest(?)) GROUP BY sha256",
            [shas],
        ).fetchall()
        if shas
        else []
    )
    out = []
    for kind, value, n, detail in rows:
        if kind in ("image", "similar_image"):
            named = " ~ ".join(paths.get(sha, sha) for sha in value.split())
            sums = "sha256 " + " ~ ".join(sha[:12] + "…" for sha in value.split())
            value, detail = named, f"{detail}; {sums}" if detail else sums
        out.append((kind, value, int(n), detail))
    return out


def network_hubs(
    con: duckdb.DuckDBPyConnection,
    network: str,
    *,
    values: tuple[str, list[Any]] | None = None,
    uses: set[str] | None = None,
) -> list[tuple[str, str, int, int, str | None]]:
    """(kind, value, ads, other phones, marked by) of hubs in ``network``'s ads: not used to link,
    or only with other evidence (a text hub, and an image beside more numbers than one owner's
    photos are: see `threadline.link.steps.image_own`; for an image, every phone beside it)."""
    relation, params = values or _values(con, network)  # (``values``: given by the caller)
    # The threshold the last run measured (a store linked before it was measured has none).
    own = (
        "(SELECT CAST(json_extract(params, '$.measured.text_own_holders') AS INTEGER)"
        " FROM link_runs ORDER BY finished DESC LIMIT 1)"
    )
    # A text hub's value is its two sentences' hashes, and the network's ads carry the first:
    # saved values hold the network's first sentences of texts linking listed (kind 'text'); for
    # a network linked since, or a store scored before they were saved, its ads' sentences are
    # read (a scan of every sentence extraction).
    saved_texts = relation == _SAVED_VALUES and _texts_saved(con)
    if not saved_texts and uses is not None:
        uses.add("ads")  # the ads' sentences, as stored
    live_texts = (
        ""
        if saved_texts
        else """
        UNION
        SELECT h.kind, h.value, h.ads, h.co_phones, h.marked_by
        FROM link_hubs h
        JOIN extractions e ON e.kind = 'sentence' AND e.value = split_part(h.value, ' ', 1)
        JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id AND l.version = e.version
        WHERE h.kind = 'text' AND h.is_hub AND l.network = ?
        """
    )
    rows = con.execute(
        f"""
        SELECT DISTINCT h.kind, h.value, h.ads, h.co_phones, h.marked_by
        FROM link_hubs h
        -- a phone's hub value names its tenure: "+18005550199 from 2026-08-01"
        JOIN ({relation}) v ON v.kind = h.kind AND v.value = split_part(h.value, ' ', 1)
        WHERE h.is_hub OR (h.kind = 'image' AND NOT {image_own("h", own)})
        {live_texts}
        ORDER BY 3 DESC, 1, 2
        """,
        [*params, *([] if saved_texts else [network])],
    ).fetchall()
    return [(k, v, int(n), int(co), by) for k, v, n, co, by in rows]


def _texts_saved(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the saved values hold the texts linking lists: they do once a scoring run saved
    them (any 'text' row), and trivially when linking lists no text."""
    [(saved,)] = con.execute(
        "SELECT EXISTS (SELECT 1 FROM network_values WHERE kind = 'text')"
        " OR NOT EXISTS (SELECT 1 FROM link_hubs WHERE kind = 'text')"
    ).fetchall()
    return bool(saved)


def network_ads(
    con: duckdb.DuckDBPyConnection,
    network: str,
    limit: int | None = None,
    offset: int = 0,
    *,
    uses: set[str] | None = None,
) -> tuple[list[AdRow], int]:
    """``network``'s ads, latest first (up to ``limit`` from ``offset``), and how many it has."""
    ads, total = linked_ads(
        con,
        "SELECT source, id FROM ad_links WHERE network = ?",
        [network],
        limit=limit,
        offset=offset,
        uses=uses,
        network=network,
    )
    return list(ads), total


def network_identifiers(
    con: duckdb.DuckDBPyConnection, network: str, *, values: tuple[str, list[Any]] | None = None
) -> list[Identifier]:
    """The phones, e-mails and handles in any version of ``network``'s ads, most ads first, each
    with the dates (posted, else captured) of the first and last version that carries it."""
    relation, params = values or _values(con, network)  # (``values``: given by the caller)
    rows = con.execute(
        f"""
        SELECT kind, value, SUM(ads), MIN(first_seen), MAX(last_seen) FROM ({relation}) AS v
        WHERE kind IN ('phone', 'email', 'handle')
        GROUP BY kind, value
        ORDER BY 3 DESC, kind, value
        """,
        params,
    ).fetchall()
    return [Identifier(k, v, int(n), first, last) for k, v, n, first, last in rows]


def network_movement(con: duckdb.DuckDBPyConnection, network: str) -> Movement | None:
    rows = con.execute(
        """
        SELECT places, moves, median_stay_days, max_km_per_day, foreign_code_share, origin, circuit,
               circuit_repeats
        FROM score_movement WHERE network = ?
        """,
        [network],
    ).fetchall()
    if not rows:
        return None
    r = rows[0]
    return Movement(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], float(r[7]))


def network_itinerary(con: duckdb.DuckDBPyConnection, unit: str, unit_kind: str = "network") -> list[Stay]:
    """The stays of a network (or with ``unit_kind='person'`` a person), in time order, as the
    last scoring run saved them."""
    rows = con.execute(
        """
        SELECT stay_no, place, country, first_seen, last_seen, ads FROM score_itineraries
        WHERE unit_kind = ? AND unit = ? ORDER BY stay_no
        """,
        [unit_kind, unit],
    ).fetchall()
    return [
        Stay(int(n), place, country, first, last, int(ads)) for n, place, country, first, last, ads in rows
    ]


def person_itineraries(con: duckdb.DuckDBPyConnection, network: str) -> dict[str, list[Stay]]:
    """The stays of each of ``network``'s persons, in time order, as the last scoring run saved
    them (a person not scored yet has none)."""
    rows = con.execute(
        """
        SELECT unit, stay_no, place, country, first_seen, last_seen, ads FROM score_itineraries
        WHERE unit_kind = 'person' AND unit IN (SELECT person FROM ad_links WHERE network = ?)
        ORDER BY unit, stay_no
        """,
        [network],
    ).fetchall()
    found: dict[str, list[Stay]] = {}
    for person, n, place, country, first, last, ads in rows:
        found.setdefault(person, []).append(Stay(int(n), place, country, first, last, int(ads)))
    return found


def network_circuits(con: duckdb.DuckDBPyConnection, network: str) -> list[Circuit]:
    """The circuits of ``network`` and of its persons (the network's first, then most laps)."""
    rows = con.execute(
        """
        SELECT c.unit_kind, c.unit, c.circuit, c.laps, c.full_laps, c.start_stay, c.end_stay, c.missed,
               c.extra, c.median_dwell_days, COALESCE(c.simultaneous, false)
        FROM score_circuits c
        WHERE (c.unit_kind = 'network' AND c.unit = ?)
           OR (c.unit_kind = 'person' AND c.unit IN (SELECT person FROM ad_links WHERE network = ?))
        ORDER BY c.unit_kind = 'person', c.laps DESC, c.unit
        """,
        [network, network],
    ).fetchall()
    return [
        Circuit(kind, unit, circuit, float(laps), int(full), int(a), int(b), int(m), int(x), dwell, bool(sim))
        for kind, unit, circuit, laps, full, a, b, m, x, dwell, sim in rows
    ]


def network_decisions(
    con: duckdb.DuckDBPyConnection, network: str, *, values: tuple[str, list[Any]] | None = None
) -> list[Decision]:
    """Analysts' decisions (revoked ones too) that name one of ``network``'s ads, split ads out of
    it, or mark a hub its ads carry."""
    relation, params = values or _values(con, network)  # (``values``: given by the caller)
    rows = con.execute(
        f"""
        WITH own AS (SELECT source, id FROM ad_links WHERE network = ?)
        SELECT d.decision_id FROM analyst_decision_ads d JOIN own o ON o.source = d.source AND o.id = d.id
        UNION
        SELECT decision_id FROM analyst_decisions WHERE split_from = ?
        UNION
        SELECT d.decision_id FROM analyst_decisions d
        JOIN ({relation}) v ON v.kind = d.hub_kind AND v.value = split_part(d.hub_value, ' ', 1)
        WHERE d.hub_kind IS NOT NULL
        """,
        [network, network, *params],
    ).fetchall()
    wanted = {int(r[0]) for r in rows}
    return [d for d in decisions(con) if d.decision_id in wanted] if wanted else []


def network(
    con: duckdb.DuckDBPyConnection,
    network_id: str,
    *,
    ads_limit: int | None = 20,
    ads_offset: int = 0,
    uses: set[str] | None = None,
) -> NetworkView | None:
    """Everything about one network: its id now (an id merged away or split names the group it
    went to), score and reasons, persons, identifiers, ads (a page, latest first), evidence,
    hubs, movement, itinerary and circuits, decisions and labels. None: no such network.

    ``uses`` gets what the view read besides what linking, scoring and analysts saved (for
    those who keep answers, `threadline.store._tx.Touches`): ``"ads"`` when it read ads as
    stored (a network linked and not scored since), ``"images"`` when it named image files."""
    current, lineage = resolve(con, "network", network_id.strip().upper())
    values = _values(con, current)  # saved, or worked out from the ads: once for the view
    if values[0] != _SAVED_VALUES and uses is not None:
        uses.add("ads")
    persons = network_persons(con, current, values=values)
    if not persons:
        return None
    summary = queue_row(con, current)
    ads, total = network_ads(con, current, ads_limit, ads_offset, uses=uses)
    in_force = {
        int(r[0])
        for r in con.execute(
            f"SELECT label_id FROM ({LABELLED_NETWORKS}) WHERE network = ?", [current]
        ).fetchall()
    }
    return NetworkView(
        network=current,
        lineage=tuple(lineage),
        summary=summary,
        score=network_score(con, current, summary.parts if summary is not None else None),
        persons=tuple((p, n, tuple(names)) for p, n, names in persons),
        identifiers=tuple(network_identifiers(con, current, values=values)),
        ads=Page(tuple(ads), total, ads_offset, ads_limit),
        evidence=tuple(network_evidence(con, current, uses=uses)),
        hubs=tuple(network_hubs(con, current, values=values, uses=uses)),
        movement=network_movement(con, current),
        itinerary=tuple(network_itinerary(con, current)),
        circuits=tuple(network_circuits(con, current)),
        decisions=tuple(network_decisions(con, current, values=values)),
        labels=tuple(lab for lab in labels(con) if lab.label_id in in_force),
    )


def queue_row(con: duckdb.DuckDBPyConnection, network_id: str, reasons: int = 3) -> NetworkRow | None:
    """The queue's row of one network (None: not scored)."""
    items, _ = _rows(con, "WHERE n.network = ?", [network_id], _ORDER["priority"], 1, 0, reasons)
    return items[0] if items else None
