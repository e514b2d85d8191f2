"""Read queries for leads: networks by priority, look-ups of a value, one ad, a network's ads.

Every function takes an open connection and returns plain dataclasses or tuples; nothing here
formats for a terminal. The `networks`, `find`, `ad` and `explain` commands print these results;
the read API of the HTTP service is meant to return the same ones.

An ad's *date* is when it was posted, else when it was captured; its *place* is the first place
extraction read from its latest version, else its location as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from threadline.link.lineage import LABELLED_NETWORKS, resolve

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
    "network_persons",
    "network_score",
    "ranked_networks",
    "version_changes",
]

# Extracted kinds shown marked in an ad's text (sentences, images and notices have no place there).
MARKED_KINDS = ("phone", "email", "handle", "name", "age", "price", "place", "indicator", "emoji")

ScorePart = tuple[str, str, float, str | None, float]  # level, feature, value, detail, contribution


@dataclass(frozen=True, slots=True)
class AdRow:
    source: str
    id: str
    date: datetime | None
    place: str | None
    url: str | None
    network: str | None
    person: str | None

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class NetworkRow:
    network: str
    ads: int
    persons: int
    logit: float
    score: float
    model: str
    last_date: datetime | None
    last_place: str | None
    labels: tuple[str, ...]
    parts: tuple[ScorePart, ...]


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
    networks: tuple[NetworkHit, ...]  # every network touched, highest priority first
    persons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Extracted:
    kind: str
    value: str
    field: str | None
    start: int | None
    end: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class AdVersion:
    version: int
    title: str
    body: str
    url: str | None
    posted_at: datetime | None
    captured_at: datetime | None
    location: str | None
    fields: dict[str, Any]
    images: tuple[tuple[str, str], ...]  # (path, sha256) in the ad's order
    file: str
    line: int
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class AdDetail:
    source: str
    id: str
    versions: tuple[AdVersion, ...]  # oldest first; the last is the current one
    extracted: tuple[Extracted, ...]  # of the latest version
    network: str | None
    person: str | None
    ad_logit: float | None
    ad_score: float | None
    network_logit: float | None
    network_score: float | None
    place: str | None = field(default=None)

    @property
    def latest(self) -> AdVersion:
        return self.versions[-1]


# ---------------------------------------------------------------------------------------------
# Shared SQL: each linked ad's latest version with its date and place.

_LINKED_ADS = """
    WITH place AS (
        SELECT source, ad_id, version, arg_min(value, found_index) AS place
        FROM extractions WHERE kind = 'place' AND span_index = 0 GROUP BY ALL
    )
    SELECT a.source, a.id, COALESCE(a.posted_at, a.captured_at) AS date,
           COALESCE(p.place, a.location) AS place, a.url, l.network, l.person, l.ad_key
    FROM latest_ads a
    LEFT JOIN ad_links l ON l.source = a.source AND l.id = a.id
    LEFT JOIN place p ON p.source = a.source AND p.ad_id = a.id AND p.version = a.version
"""


def _ad_rows(rows: list[tuple[Any, ...]]) -> tuple[AdRow, ...]:
    return tuple(AdRow(*row[:7]) for row in rows)


def _parts(con: duckdb.DuckDBPyConnection, networks: list[str]) -> dict[str, list[ScorePart]]:
    out: dict[str, list[ScorePart]] = {n: [] for n in networks}
    if not networks:
        return out
    rows = con.execute(
        "SELECT unit, level, feature, value, detail, contribution FROM score_parts"
        " WHERE level = 'network' AND list_contains(?, unit) ORDER BY contribution DESC, feature",
        [networks],
    ).fetchall()
    for unit, level, feature, value, detail, contribution in rows:
        out[unit].append((level, feature, float(value), detail, float(contribution)))
    return out


# ---------------------------------------------------------------------------------------------
# Networks


def ranked_networks(
    con: duckdb.DuckDBPyConnection,
    *,
    top: int | None = None,
    label: str | None = None,
    since: datetime | None = None,
) -> list[NetworkRow]:
    """Scored networks, highest priority (logit) first; ties by latest ad date, then by size.

    ``label``: only networks one of whose ads carries that analyst label (not revoked);
    ``since``: only networks with an ad dated on or after it."""
    rows = con.execute(
        f"""
        WITH linked AS ({_LINKED_ADS}),
        per AS (
            SELECT network, COUNT(*) AS ads, COUNT(DISTINCT person) AS persons, MAX(date) AS last_date,
                   arg_max(place, date) AS last_place
            FROM linked WHERE network IS NOT NULL GROUP BY network
        ),
        labelled AS (
            SELECT network, list(DISTINCT label ORDER BY label) AS labels
            FROM ({LABELLED_NETWORKS}) GROUP BY network
        )
        SELECT n.network, COALESCE(p.ads, n.ads), COALESCE(p.persons, 0), n.logit, n.score, n.model,
               p.last_date, p.last_place, COALESCE(b.labels, [])
        FROM network_scores n
        LEFT JOIN per p ON p.network = n.network
        LEFT JOIN labelled b ON b.network = n.network
        WHERE (CAST(? AS VARCHAR) IS NULL OR list_contains(COALESCE(b.labels, []), ?))
          AND (CAST(? AS TIMESTAMP) IS NULL OR p.last_date >= ?)
        ORDER BY n.logit DESC, p.last_date DESC NULLS LAST, COALESCE(p.ads, n.ads) DESC, n.network
        LIMIT ?
        """,
        [label, label, since, since, top if top is not None else 2**62],
    ).fetchall()
    parts = _parts(con, [r[0] for r in rows])
    return [
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
        )
        for r in rows
    ]


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


def network_score(con: duckdb.DuckDBPyConnection, network: str) -> NetworkScore | None:
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
        tuple(_parts(con, [network])[network]),
    )


def network_persons(con: duckdb.DuckDBPyConnection, network: str) -> list[tuple[str, int, list[str]]]:
    """(person, ads, self-stated names) of ``network``, largest first; empty: no such network."""
    rows = con.execute(
        """
        SELECT l.person, COUNT(DISTINCT l.ad_key) AS ads,
               list(DISTINCT n.value) FILTER (WHERE n.value IS NOT NULL)
        FROM ad_links l
        LEFT JOIN latest_ads a ON a.source = l.source AND a.id = l.id
        LEFT JOIN extractions n
          ON n.source = a.source AND n.ad_id = a.id AND n.version = a.version AND n.kind = 'name'
        WHERE l.network = ? GROUP BY l.person ORDER BY ads DESC, l.person
        """,
        [network],
    ).fetchall()
    return [(person, int(n), list(names or [])) for person, n, names in rows]


def network_evidence(con: duckdb.DuckDBPyConnection, network: str) -> list[tuple[str, str, int, str | None]]:
    """(kind, value, ads, detail) of what links ``network``'s ads, most shared first. An image is
    named by a path the store keeps for it (its SHA-256 goes to the detail)."""
    rows = con.execute(
        "SELECT kind, value, ads, detail FROM link_evidence WHERE network = ? ORDER BY ads DESC, kind, value",
        [network],
    ).fetchall()
    shas = sorted({sha for k, v, _, _ in rows if k in ("image", "similar_image") for sha in v.split()})
    paths = dict(
        con.execute(
            "SELECT sha256, MIN(path) FROM ad_images WHERE list_contains(?, sha256) GROUP BY sha256", [shas]
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


def network_hubs(con: duckdb.DuckDBPyConnection, network: str) -> list[tuple[str, str, int, int, str | None]]:
    """(kind, value, ads, other phones, marked by) of hubs in ``network``'s ads (not used to link)."""
    rows = con.execute(
        """
        SELECT DISTINCT h.kind, h.value, h.ads, h.co_phones, h.marked_by
        FROM link_hubs h
        -- a phone's hub value names its tenure: "+18005550199 from 2026-08-01"
        JOIN extractions e ON e.kind = h.kind AND e.value = split_part(h.value, ' ', 1)
        JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id
        WHERE h.is_hub AND l.network = ?
        ORDER BY h.ads DESC, h.kind, h.value
        """,
        [network],
    ).fetchall()
    return [(k, v, int(n), int(co), by) for k, v, n, co, by in rows]


def network_ads(
    con: duckdb.DuckDBPyConnection, network: str, limit: int | None = None
) -> tuple[list[AdRow], int]:
    """``network``'s ads, latest first (up to ``limit``), and how many it has."""
    rows = con.execute(
        f"""
        WITH linked AS ({_LINKED_ADS})
        SELECT *, COUNT(*) OVER () FROM linked WHERE network = ?
        ORDER BY date DESC NULLS LAST, source, id LIMIT ?
        """,
        [network, limit if limit is not None else 2**62],
    ).fetchall()
    return list(_ad_rows(rows)), int(rows[0][-1]) if rows else 0


# ---------------------------------------------------------------------------------------------
# Look-ups

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


def find(con: duckdb.DuckDBPyConnection, value: str, *, limit: int = 20, region: str = "US") -> FindResult:
    """The ads and networks ``value`` touches: an ad id (SOURCE:ID), a network or person id
    (N…/P…), a phone in any format, an e-mail, a handle (``platform:name``, ``@name`` or
    ``name``) or a self-stated name (any case). Values are found in any version of an ad."""
    text = value.strip()
    matched: list[tuple[str, str]] = []
    keys: set[tuple[str, str]] = set()
    m = _AD_REF.match(text)
    if m:
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
    pairs = [(k, v) for k, v in interpretations(text, region) if k != "handle-name"]
    handle_name = text.lower().lstrip("@")
    rows = con.execute(
        """
        SELECT DISTINCT e.kind, e.value, e.source, e.ad_id FROM extractions e
        WHERE (e.kind IN ('phone', 'email', 'handle') AND list_contains(?, e.kind || ' ' || e.value))
           OR (e.kind = 'name' AND lower(e.value) = ?)
           OR (e.kind = 'handle' AND split_part(e.value, ':', 2) = ? AND ? <> '')
        """,
        [[f"{k} {v}" for k, v in pairs if k != "name"], text.lower(), handle_name, handle_name],
    ).fetchall()
    for kind, found, source, ad_id in rows:
        if (kind, found) not in matched:
            matched.append((kind, found))
        keys.add((source, ad_id))
    if not keys:
        return FindResult(text, (), (), 0, (), ())
    ref_list = [f"{s}\x1f{i}" for s, i in sorted(keys)]
    ads = con.execute(
        f"""
        WITH linked AS ({_LINKED_ADS})
        SELECT * FROM linked WHERE list_contains(?, source || chr(31) || id)
        ORDER BY date DESC NULLS LAST, source, id LIMIT ?
        """,
        [ref_list, limit],
    ).fetchall()
    nets = con.execute(
        """
        SELECT l.network, n.ads, COUNT(*) AS matched, n.logit, n.score
        FROM ad_links l LEFT JOIN network_scores n ON n.network = l.network
        WHERE list_contains(?, l.source || chr(31) || l.id)
        GROUP BY ALL ORDER BY n.logit DESC NULLS LAST, matched DESC, l.network
        """,
        [ref_list],
    ).fetchall()
    persons = con.execute(
        "SELECT DISTINCT person FROM ad_links WHERE list_contains(?, source || chr(31) || id) ORDER BY 1",
        [ref_list],
    ).fetchall()
    return FindResult(
        text,
        tuple(sorted(matched)),
        _ad_rows(ads),
        len(keys),
        tuple(
            NetworkHit(n, int(total) if total is not None else int(k), int(k), logit, score)
            for n, total, k, logit, score in nets
        ),
        tuple(p for (p,) in persons),
    )


# ---------------------------------------------------------------------------------------------
# One ad


def ad_detail(con: duckdb.DuckDBPyConnection, source: str, ad_id: str) -> AdDetail | None:
    """Every version of the ad (source, ad_id), what was extracted from its latest, its images'
    paths, its network and person and their scores; None if the store has no such ad."""
    import json

    rows = con.execute(
        """
        SELECT version, title, body, url, posted_at, captured_at, location, fields, file, line, ingested_at
        FROM ads WHERE source = ? AND id = ? ORDER BY version
        """,
        [source, ad_id],
    ).fetchall()
    if not rows:
        return None
    images: dict[int, list[tuple[str, str]]] = {}
    for version, path, sha in con.execute(
        "SELECT version, path, sha256 FROM ad_images WHERE source = ? AND ad_id = ?"
        " ORDER BY version, position",
        [source, ad_id],
    ).fetchall():
        images.setdefault(version, []).append((path, sha))
    versions = tuple(
        AdVersion(
            version=v,
            title=title,
            body=body,
            url=url,
            posted_at=posted,
            captured_at=captured,
            location=location,
            fields=json.loads(fields) if isinstance(fields, str) else dict(fields or {}),
            images=tuple(images.get(v, [])),
            file=file,
            line=line,
            ingested_at=ingested,
        )
        for v, title, body, url, posted, captured, location, fields, file, line, ingested in rows
    )
    latest = versions[-1].version
    extracted = tuple(
        Extracted(*row)
        for row in con.execute(
            """
            SELECT kind, value, field, span_start, span_end, CAST(detail AS VARCHAR) FROM extractions
            WHERE source = ? AND ad_id = ? AND version = ? AND kind <> 'sentence'
            ORDER BY found_index, span_index
            """,
            [source, ad_id, latest],
        ).fetchall()
    )
    link = con.execute(
        """
        SELECT l.network, l.person, s.logit, s.score, n.logit, n.score
        FROM ad_links l
        LEFT JOIN ad_scores s ON s.ad_key = l.ad_key
        LEFT JOIN network_scores n ON n.network = l.network
        WHERE l.source = ? AND l.id = ?
        """,
        [source, ad_id],
    ).fetchall()
    network, person, ad_logit, ad_score, net_logit, net_score = link[0] if link else (None,) * 6
    place = next((e.value for e in extracted if e.kind == "place"), None)
    return AdDetail(
        source,
        ad_id,
        versions,
        extracted,
        network,
        person,
        ad_logit,
        ad_score,
        net_logit,
        net_score,
        place or versions[-1].location,
    )


def version_changes(before: AdVersion, after: AdVersion) -> list[tuple[str, str, str]]:
    """What changed from ``before`` to ``after``: (what, old, new), old and new as text
    (for title and body: the words removed and the words added)."""
    import difflib

    out: list[tuple[str, str, str]] = []
    for name in ("title", "body"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            a, b = old.split(), new.split()
            if len(a) + len(b) > 4000:  # difflib is quadratic at worst: long texts by size only
                out.append((name, f"{len(old):,} characters", f"{len(new):,} characters"))
                continue
            removed: list[str] = []
            added: list[str] = []
            for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
                if op in ("replace", "delete"):
                    removed.append(" ".join(a[i1:i2]))
                if op in ("replace", "insert"):
                    added.append(" ".join(b[j1:j2]))
            out.append((name, " … ".join(removed), " … ".join(added)))
    for name in ("url", "location", "posted_at", "captured_at"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            out.append((name, "" if old is None else str(old), "" if new is None else str(new)))
    for key in sorted(set(before.fields) | set(after.fields)):
        old, new = before.fields.get(key), after.fields.get(key)
        if old != new:
            out.append((f"fields.{key}", "" if old is None else str(old), "" if new is None else str(new)))
    old_paths = [p for p, _ in before.images]
    new_paths = [p for p, _ in after.images]
    if [s for _, s in before.images] != [s for _, s in after.images] or old_paths != new_paths:
        gone = [p for p in old_paths if p not in new_paths]
        came = [p for p in new_paths if p not in old_paths]
        out.append(("images", ", ".join(gone), ", ".join(came)))
    return out
