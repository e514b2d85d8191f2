"""Cases as readers see them: the list, and one case with its members, what is new in it since
the reader last opened it, its notices and its notes (link/cases.py makes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from threadline.link.cases import FOLLOWED, LINK_RUN

__all__ = [
    "CaseAd",
    "CaseChoice",
    "CaseMember",
    "CaseNote",
    "CaseNotice",
    "CaseRow",
    "CaseView",
    "case",
    "case_ads",
    "case_choices",
    "cases",
]


@dataclass(frozen=True, slots=True)
class CaseRow:
    case_id: int
    name: str
    status: str  # open or closed
    tags: tuple[str, ...]
    created_by: str
    created_at: datetime
    analysts: tuple[str, ...]
    ads: int  # ads in the case now
    networks: int  # networks those ads are in now
    notes: int

    @property
    def ref(self) -> str:
        return f"C{self.case_id}"


@dataclass(frozen=True, slots=True)
class CaseChoice:
    """A case as a form offers it (the pages' "add to case"): its reference and name only."""

    case_id: int
    name: str

    @property
    def ref(self) -> str:
        return f"C{self.case_id}"


@dataclass(frozen=True, slots=True)
class CaseMember:
    """A network the case's ads are in now: followed (added as a network, its new ads join the
    case) or holding ads the case took alone or kept through a split."""

    network: str | None  # None: ads not linked (yet)
    followed: bool
    ads: int  # of the case's ads, in this network
    network_ads: int  # ads the network holds
    new: int  # of the case's ads here, stored or added since the reader last opened the case
    latest: datetime | None  # newest date (posted, else captured) of the case's ads here


@dataclass(frozen=True, slots=True)
class CaseAd:
    source: str
    id: str
    network: str | None  # now
    via: str | None  # the network it came in with; None: added alone
    added_by: str
    added_at: datetime
    date: datetime | None
    place: str | None
    new: bool  # stored or added since the reader last opened the case

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class CaseNotice:
    at: datetime
    network: str
    ads: int
    text: str
    new: bool


@dataclass(frozen=True, slots=True)
class CaseNote:
    note_id: int
    author: str
    at: datetime
    body: str  # markdown as typed: render it safely (raw HTML off), never as HTML


@dataclass(frozen=True, slots=True)
class CaseView:
    case: CaseRow
    since: datetime | None  # when the reader last opened the case before now; None: never
    members: tuple[CaseMember, ...]  # networks, followed first, then most ads
    single_ads: tuple[CaseAd, ...]  # ads added alone, newest first
    new_ads: tuple[CaseAd, ...]  # ads stored or added since ``since``, newest first (up to 200)
    notices: tuple[CaseNotice, ...]  # newest first
    notes: tuple[CaseNote, ...]  # oldest first


_ROWS = """
    SELECT c.case_id, c.name, c.status, c.tags, c.created_by, c.created_at,
        (SELECT list_sort(list(analyst)) FROM case_analysts a WHERE a.case_id = c.case_id),
        (SELECT COUNT(*) FROM case_ads a WHERE a.case_id = c.case_id AND a.removed_at IS NULL),
        (SELECT COUNT(DISTINCT l.network) FROM case_ads a JOIN ad_links l USING (source, id)
         WHERE a.case_id = c.case_id AND a.removed_at IS NULL),
        (SELECT COUNT(*) FROM case_notes n WHERE n.case_id = c.case_id)
    FROM cases c
"""


def _row(r: tuple[object, ...]) -> CaseRow:
    case_id, name, status, tags, by, at, analysts, ads, networks, notes = r
    return CaseRow(
        int(case_id),  # type: ignore[call-overload]
        str(name),
        str(status),
        tuple(tags or ()),  # type: ignore[arg-type]
        str(by),
        at,  # type: ignore[arg-type]
        tuple(analysts or ()),  # type: ignore[arg-type]
        int(ads),  # type: ignore[call-overload]
        int(networks),  # type: ignore[call-overload]
        int(notes),  # type: ignore[call-overload]
    )


def cases(con: duckdb.DuckDBPyConnection, *, status: str | None = None) -> list[CaseRow]:
    """Every case (or those of ``status``), newest first."""
    where, params = ("WHERE c.status = ?", [status]) if status else ("", [])
    return [_row(r) for r in con.execute(f"{_ROWS} {where} ORDER BY c.case_id DESC", params).fetchall()]


def case_choices(con: duckdb.DuckDBPyConnection, *, status: str | None = "open") -> list[CaseChoice]:
    """The cases (those of ``status``: open ones by default) as `cases` lists them, newest first,
    with their reference and name only: what a page's case picker shows, without counting every
    case's ads and networks (a join with every link, on every page)."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = con.execute(f"SELECT case_id, name FROM cases {where} ORDER BY case_id DESC", params).fetchall()
    return [CaseChoice(int(case_id), str(name)) for case_id, name in rows]


_ADS = """
    SELECT a.source, a.id, l.network, a.via, a.added_by, a.added_at, s.date, s.place,
           (? IS NOT NULL AND (a.added_at > ? OR s.ingested_at > ?)) AS new
    FROM case_ads a
    LEFT JOIN ad_links l ON l.source = a.source AND l.id = a.id
    LEFT JOIN ad_summary s ON s.source = a.source AND s.id = a.id
    WHERE a.case_id = ? AND a.removed_at IS NULL
"""


def case_ads(con: duckdb.DuckDBPyConnection, case_id: int, *, since: datetime | None = None) -> list[CaseAd]:
    """The ads in the case now, newest first (by date, then when added)."""
    rows = con.execute(
        f"{_ADS} ORDER BY s.date DESC NULLS LAST, a.added_at DESC, a.source, a.id",
        [since, since, since, case_id],
    ).fetchall()
    return [CaseAd(s, i, n, via, by, at, d, p, bool(new)) for s, i, n, via, by, at, d, p, new in rows]


def case(con: duckdb.DuckDBPyConnection, case_id: int, *, reader: str | None = None) -> CaseView | None:
    """One case as ``reader`` sees it (what is new since they last opened it); None if no such case."""
    found = con.execute(f"{_ROWS} WHERE c.case_id = ?", [case_id]).fetchall()
    if not found:
        return None
    seen = con.execute(
        "SELECT MAX(opened_at) FROM case_opened WHERE case_id = ? AND analyst = ?", [case_id, reader]
    ).fetchall()
    since = seen[0][0] if seen else None
    ads = case_ads(con, case_id, since=since)
    followed = {
        n
        for (n,) in con.execute(
            f"SELECT DISTINCT network FROM ({FOLLOWED}) WHERE case_id = ?", [case_id]
        ).fetchall()
    }
    sizes = dict(
        con.execute(
            """
            SELECT network, COUNT(*) FROM ad_links
            WHERE network IN (SELECT unnest(CAST(? AS VARCHAR[])))
            GROUP BY network
            """,
            [sorted(followed | {a.network for a in ads if a.network})],
        ).fetchall()
    )
    groups: dict[str | None, list[CaseAd]] = {n: [] for n in followed}
    for a in ads:
        groups.setdefault(a.network, []).append(a)
    members = [
        CaseMember(
            network,
            network in followed,
            len(held),
            int(sizes.get(network, 0)) if network else len(held),
            sum(a.new for a in held),
            max((a.date for a in held if a.date is not None), default=None),
        )
        for network, held in groups.items()
    ]
    members.sort(key=lambda m: (not m.followed, -m.ads, m.network or ""))
    notices = con.execute(
        "SELECT noticed_at, network, ads, text, (? IS NOT NULL AND noticed_at > ?) FROM case_notices"
        " WHERE case_id = ? ORDER BY noticed_at DESC",
        [since, since, case_id],
    ).fetchall()
    notes = con.execute(
        "SELECT note_id, author, written_at, body FROM case_notes WHERE case_id = ? ORDER BY note_id",
        [case_id],
    ).fetchall()
    new_ads = sorted((a for a in ads if a.new), key=lambda a: a.added_at, reverse=True)[:200]
    return CaseView(
        _row(found[0]),
        since,
        tuple(members),
        tuple(a for a in ads if a.via is None and a.added_by != LINK_RUN),
        tuple(new_ads),
        tuple(CaseNotice(at, n, int(k), t, bool(new)) for at, n, k, t, new in notices),
        tuple(CaseNote(int(i), by, at, body) for i, by, at, body in notes),
    )


def network_cases(con: duckdb.DuckDBPyConnection, network: str) -> list[str]:
    """The cases (C…) holding an ad of ``network`` now, or following it."""
    rows = con.execute(
        f"""
        SELECT DISTINCT case_id FROM (
            SELECT a.case_id FROM case_ads a JOIN ad_links l USING (source, id)
            WHERE l.network = ? AND a.removed_at IS NULL
            UNION SELECT case_id FROM ({FOLLOWED}) WHERE network = ?
        ) ORDER BY case_id
        """,
        [network, network],
    ).fetchall()
    return [f"C{c}" for (c,) in rows]
