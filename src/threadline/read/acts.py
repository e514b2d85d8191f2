"""Lists beside the networks: hubs, analysts' decisions and labels, fitted models; and the few
facts about a store that commands check before they read (linked yet? scored yet?)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb

from threadline.link.decisions import Decision, decisions
from threadline.score.learn import Label, labels

__all__ = [
    "ActPage",
    "Hub",
    "ListedDecision",
    "Model",
    "act_page",
    "ad_links",
    "ad_networks",
    "decision_list",
    "hub_value_seen",
    "hubs",
    "is_linked",
    "is_scored",
    "label_list",
    "models",
]


@dataclass(frozen=True, slots=True)
class Hub:
    """An identifier or image shared by many unrelated posters: not used to link."""

    kind: str
    value: str  # a phone's value names its tenure: "+18005550199 from 2026-08-01"
    ads: int
    co_phones: int  # other phone numbers seen in the ads that carry it
    names: int  # self-stated names seen in those ads
    detected: bool  # what the data says
    is_hub: bool  # what linking used (an analyst's mark wins)
    marked_by: str | None
    # A phone below the hub threshold whose other numbers are unrelated (`link.steps.phone_groups`):
    # why it is a weak link (joins groups only where other evidence agrees); None for a hub.
    weak: str | None = None


@dataclass(frozen=True, slots=True)
class ListedDecision:
    decision: Decision
    links_cut: int  # links the last link run cut to honour it (a separation or split in force)


@dataclass(frozen=True, slots=True)
class ActPage:
    """A page of decisions and labels together, newest first (`act_page`)."""

    items: tuple[ListedDecision | Label, ...]
    total: int  # all of them (by the analyst asked for), not only this page's
    analysts: tuple[str, ...]  # everyone who decided or labelled anything, by name


@dataclass(frozen=True, slots=True)
class Model:
    """A model fitted on analysts' labels (`threadline fit`)."""

    model_id: int
    created_at: datetime
    analyst: str
    labels: int
    bias: float
    coefficients: dict[str, float]
    model_ap: float | None
    prior_ap: float | None
    adopted: bool  # used for scoring: it ranked the labelled networks better than the priors


def is_linked(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a link run has finished on the store."""
    return bool(con.execute("SELECT COUNT(*) FROM link_runs").fetchall()[0][0])


def is_scored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a scoring run has finished on the store."""
    return bool(con.execute("SELECT COUNT(*) FROM score_runs").fetchall()[0][0])


def ad_links(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, str, str]]:
    """(id, source, network, person) of every linked ad, in the order ads were first stored."""
    cursor = con.execute("SELECT id, source, network, person FROM ad_links ORDER BY ad_key")
    while rows := cursor.fetchmany(10_000):
        yield from rows


def ad_networks(con: duckdb.DuckDBPyConnection, refs: list[str]) -> dict[str, str]:
    """The network each of ``refs`` (SOURCE:ID) is in now, for those that are linked (a decision's
    ads lead to the network they are in today)."""
    keys = [list(ref.split(":", 1)) for ref in refs if ":" in ref]
    if not keys:
        return {}
    rows = con.execute(
        """
        SELECT l.source || ':' || l.id, l.network
        FROM ad_links l JOIN (SELECT unnest(CAST(? AS VARCHAR[][])) AS k) ON l.source = k[1] AND l.id = k[2]
        """,
        [keys],
    ).fetchall()
    return dict(rows)


def hubs(con: duckdb.DuckDBPyConnection, *, limit: int | None = 20, offset: int = 0) -> list[Hub]:
    """Hubs, values an analyst marked (as hubs or not), and phones the last link run took for weak
    links (beside unrelated numbers, with the reason: `link.steps.phone_groups`): hubs first, then
    most ads."""
    rows = con.execute(
        """
        SELECT kind, value, ads, co_phones, names, detected, is_hub, marked_by, NULL AS weak FROM link_hubs
        WHERE is_hub OR marked_by IS NOT NULL
        UNION ALL
        SELECT h.kind, h.value, h.ads, h.co_phones, h.names, h.detected, h.is_hub, h.marked_by, w.weak
        FROM (
            SELECT value, MIN(detail) AS weak FROM link_evidence WHERE kind = 'weak_phone' GROUP BY value
        ) w
        JOIN link_hubs h ON h.kind = 'phone' AND h.value = w.value
        WHERE NOT h.is_hub AND h.marked_by IS NULL
        ORDER BY is_hub DESC, ads DESC, kind, value LIMIT ? OFFSET ?
        """,
        [limit if limit is not None else 2**62, offset],
    ).fetchall()
    return [
        Hub(k, v, int(n), int(co), int(names), bool(d), bool(h), by, weak)
        for k, v, n, co, names, d, h, by, weak in rows
    ]


def hub_value_seen(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> bool:
    """Whether an ad of the store holds ``value`` (a phone tenure: one the last link run saw)."""
    if kind == "image":
        query, params = "SELECT 1 FROM ad_images WHERE sha256 = ? LIMIT 1", [value]
    elif kind == "text" or " from " in value:  # a tenure or a text: as the last link run named it
        query, params = "SELECT 1 FROM link_hubs WHERE kind = ? AND value = ? LIMIT 1", [kind, value]
    else:
        query, params = "SELECT 1 FROM extractions WHERE kind = ? AND value = ? LIMIT 1", [kind, value]
    return bool(con.execute(query, params).fetchall())


def decision_list(con: duckdb.DuckDBPyConnection) -> list[ListedDecision]:
    """Every decision, oldest first (revoked ones too), with the links the last run cut for it."""
    cuts = dict(con.execute("SELECT decision_id, COUNT(*) FROM link_cuts GROUP BY decision_id").fetchall())
    return [ListedDecision(d, int(cuts.get(d.decision_id, 0))) for d in decisions(con)]


_ACTS = """
    SELECT 'D' AS kind, decision_id AS n, analyst, decided_at AS acted_at FROM analyst_decisions
    UNION ALL
    SELECT 'L', label_id, analyst, labelled_at FROM score_labels
"""


def act_page(
    con: duckdb.DuckDBPyConnection, *, by: str | None = None, limit: int = 50, offset: int = 0
) -> ActPage:
    """Decisions and labels together, newest first (at one moment: labels first, then the higher
    number), ``by`` one analyst or anyone: the page of ``limit`` from ``offset``, chosen in SQL (only
    that page's decisions and labels are read), with how many there are and who made them."""
    counts = dict(con.execute(f"SELECT analyst, COUNT(*) FROM ({_ACTS}) GROUP BY analyst").fetchall())
    rows = con.execute(
        f"""
        SELECT kind, n FROM ({_ACTS}) WHERE ?::VARCHAR IS NULL OR analyst = ?
        ORDER BY acted_at DESC, kind DESC, n DESC LIMIT ? OFFSET ?
        """,
        [by, by, limit, offset],
    ).fetchall()
    wanted = [(kind, int(n)) for kind, n in rows]
    decision_ids = [n for kind, n in wanted if kind == "D"]
    label_ids = [n for kind, n in wanted if kind == "L"]
    found: dict[tuple[str, int], ListedDecision | Label] = {}
    if decision_ids:
        cuts = dict(
            con.execute(
                "SELECT decision_id, COUNT(*) FROM link_cuts"
                " WHERE decision_id IN (SELECT UNNEST(?::BIGINT[])) GROUP BY decision_id",
                [decision_ids],
            ).fetchall()
        )
        for d in decisions(con, ids=decision_ids):
            found[("D", d.decision_id)] = ListedDecision(d, int(cuts.get(d.decision_id, 0)))
    if label_ids:
        for lab in labels(con, ids=label_ids):
            found[("L", lab.label_id)] = lab
    total = int(counts.get(by, 0)) if by else sum(int(n) for n in counts.values())
    return ActPage(tuple(found[key] for key in wanted if key in found), total, tuple(sorted(counts)))


def label_list(con: duckdb.DuckDBPyConnection) -> list[Label]:
    """Every label, oldest first (withdrawn ones too)."""
    return labels(con)


def models(con: duckdb.DuckDBPyConnection) -> list[Model]:
    """Every fitted model, newest first."""
    rows = con.execute(
        """
        SELECT model_id, created_at, analyst, labels, bias, coefficients, model_ap, prior_ap, adopted
        FROM score_models ORDER BY model_id DESC
        """
    ).fetchall()
    return [
        Model(
            int(m),
            at,
            analyst,
            int(n),
            float(bias),
            {k: float(v) for k, v in json.loads(coefficients).items()},
            model_ap,
            prior_ap,
            bool(adopted),
        )
        for m, at, analyst, n, bias, coefficients, model_ap, prior_ap, adopted in rows
    ]
