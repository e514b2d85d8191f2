"""One ad: every version, what was extracted from it with the spans it was read from, its
indicators and images, its network and person and their scores."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from threadline.store.schema import PARTED, by_id

__all__ = [
    "MARKED_KINDS",
    "AdDetail",
    "AdVersion",
    "Extracted",
    "Image",
    "Indicator",
    "Seen",
    "ad_detail",
    "ad_seen",
    "version_changes",
]

# Extracted kinds shown marked in an ad's text (sentences, images and notices have no place there).
MARKED_KINDS = ("phone", "email", "handle", "name", "age", "price", "place", "indicator", "emoji")


@dataclass(frozen=True, slots=True)
class Indicator:
    """A phrase of the indicator lexicon found in the ad, where, and what it is a sign of."""

    entry: str  # the lexicon's id for it
    text: str  # as written in the ad
    category: str
    field: str | None
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class Image:
    """An image of the ad's latest version, with what the store knows of the file."""

    path: str
    sha256: str
    width: int | None
    height: int | None
    # Why it is hidden, if it is (`threadline.store.hashlists`): "hash_list" (never shown) or
    # "minor" (a supervisor may reveal it, with a reason); None: shown blurred.
    hidden: str | None = None


def _image(path: str, sha256: str, size: tuple[Any, ...] | None, hidden: str | None) -> Image:
    width, height = size if size is not None else (None, None)
    return Image(path, sha256, width, height, hidden)


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
class Seen:
    """When an ad was on show, from its sightings (every arrival of one of its records, from a
    file or a push, and crawlers' reports that it was taken down).

    ``spans`` gives each version's first and last sighting and how many; ``removed_on`` is the
    first report of the ad gone after the last time it was seen on show (None while it shows, or
    when it came back after a report)."""

    first_seen: datetime | None
    last_seen: datetime | None
    sightings: int
    spans: dict[int, tuple[datetime, datetime, int]]
    removed_on: datetime | None
    pushed_by: tuple[int, ...] = ()  # API tokens that pushed its records


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
    indicators: tuple[Indicator, ...] = ()  # of the latest version
    images: tuple[Image, ...] = ()  # of the latest version, in the ad's order
    seen: Seen | None = None

    @property
    def latest(self) -> AdVersion:
        return self.versions[-1]


def ad_detail(con: duckdb.DuckDBPyConnection, source: str, ad_id: str) -> AdDetail | None:
    """Every version of the ad (source, ad_id), what was extracted from its latest, its images'
    paths, its network and person and their scores; None if the store has no such ad."""
    # The rows as stored, and the parts of long values (`store.schema.text_parts`) put back
    # together here: the ``ads`` view would put together every ad's parts to find this one's.
    # Each table is read by the ad's id alone first (its index: `store.schema._LOOKUP_INDEXES`),
    # then by the rest: a filter on a second column makes DuckDB scan the whole table.
    rows = con.execute(
        f"""
        {by_id("ad_rows", "id")}
        SELECT version, title, body, url, posted_at, captured_at, location, fields, file, line, ingested_at
        FROM hit WHERE source = ? ORDER BY version
        """,
        [ad_id, source],
    ).fetchall()
    if not rows:
        return None
    long: dict[tuple[int, str], str] = {}
    columns = {"title": 1, "body": 2, "url": 3, "location": 6, "fields": 7}
    # A value kept in parts is held in the row as its column's mark (`PARTED`): with no mark in
    # any row, there are no parts to read.
    marked = any(str(row[at]) == PARTED[column] for row in rows for column, at in columns.items())
    for version, column, text in (
        []
        if not marked
        else con.execute(
            "SELECT version, col, string_agg(text, '' ORDER BY part) FROM ad_text_parts"
            " WHERE source = ? AND id = ? AND col IN ('title', 'body', 'url', 'location', 'fields')"
            " GROUP BY version, col",
            [source, ad_id],
        ).fetchall()
    ):
        long[(version, column)] = text
    if long:
        patched = []
        for row in rows:
            values = list(row)
            for column, at in columns.items():
                if (row[0], column) in long:
                    values[at] = long[(row[0], column)]
            patched.append(tuple(values))
        rows = patched
    images: dict[int, list[tuple[str, str]]] = {}
    for version, path, sha in con.execute(
        f"{by_id('ad_images', 'ad_id')} SELECT version, path, sha256 FROM hit WHERE source = ?"
        " ORDER BY version, position",
        [ad_id, source],
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
            f"""
            {by_id("extractions", "ad_id")}
            SELECT kind, value, field, span_start, span_end, CAST(detail AS VARCHAR) FROM hit
            WHERE source = ? AND version = ? AND kind <> 'sentence'
            ORDER BY found_index, span_index
            """,
            [ad_id, source, latest],
        ).fetchall()
    )
    # The link, then its scores by their keys (each a look-up in its table's primary key: a join
    # would scan the table).
    link = con.execute(
        f"{by_id('ad_links', 'id')} SELECT ad_key, network, person FROM hit WHERE source = ?",
        [ad_id, source],
    ).fetchall()
    ad_key, network, person = link[0] if link else (None, None, None)
    ad_logit, ad_score = _one(con, "SELECT logit, score FROM ad_scores WHERE ad_key = ?", ad_key)
    net_logit, net_score = _one(con, "SELECT logit, score FROM network_scores WHERE network = ?", network)
    place = next((e.value for e in extracted if e.kind == "place"), None)
    indicators = []
    for e in extracted:
        if e.kind == "indicator":
            info = json.loads(e.detail or "{}")
            text = str(info.get("text", ""))
            indicators.append(
                Indicator(e.value, text, str(info.get("category", "")), e.field, e.start, e.end)
            )
    sizes = dict(
        (sha, (w, h))
        for sha, w, h in con.execute(
            "SELECT sha256, width, height FROM images WHERE sha256 IN (SELECT unnest(?))",
            [[sha for _, sha in versions[-1].images]],
        ).fetchall()
    )
    from threadline.store.hashlists import hidden_images

    hidden = hidden_images(con, [sha for _, sha in versions[-1].images])
    shown = tuple(_image(p, sha, sizes.get(sha), hidden.get(sha)) for p, sha in versions[-1].images)
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
        tuple(indicators),
        shown,
        ad_seen(con, source, ad_id),
    )


def _one(con: duckdb.DuckDBPyConnection, sql: str, key: Any) -> tuple[Any, Any]:
    """The pair of values ``sql`` reads for ``key``; (None, None) without a key or a row."""
    row = con.execute(sql, [key]).fetchone() if key is not None else None
    return (row[0], row[1]) if row else (None, None)


def ad_seen(con: duckdb.DuckDBPyConnection, source: str, ad_id: str) -> Seen:
    """The sightings of the ad ``(source, ad_id)`` summed up (see `Seen`)."""
    # One scan of the sightings: per version shown, and the reports of the ad gone one by one.
    spans: dict[int, tuple[datetime, datetime, int]] = {}
    gone: list[datetime] = []
    tokens: set[int] = set()
    n = 0
    for version, is_gone, first, last, count, times, pushed in con.execute(
        f"""
        {by_id("sightings", "id")}
        SELECT version, gone, min(seen_at), max(seen_at), count(*),
               list(seen_at) FILTER (WHERE gone),
               list(DISTINCT token_id) FILTER (WHERE token_id IS NOT NULL)
        FROM hit WHERE source = ? GROUP BY version, gone
        """,
        [ad_id, source],
    ).fetchall():
        n += int(count)
        tokens.update(int(t) for t in pushed or ())
        if is_gone:
            gone.extend(t for t in times or () if t is not None)
        else:
            spans[int(version)] = (first, last, int(count))
    spans = dict(sorted(spans.items()))
    shown_first = min((s[0] for s in spans.values() if s[0] is not None), default=None)
    shown_last = max((s[1] for s in spans.values() if s[1] is not None), default=None)
    # Removed on: the first report of the ad gone after the last time it was seen on show.
    removed = min((t for t in gone if shown_last is None or t >= shown_last), default=None)
    return Seen(shown_first, shown_last, n, spans, removed, tuple(sorted(tokens)))


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
