"""The JSON API under ``/api/v1``: the read API (`threadline.read`) over HTTP, and analysts' acts.

Reads run on the request thread's own cursor and are audited (who read which network, ad or
search). Acts (decisions, labels, revocations) are jobs for the writer: the request waits until
its act is recorded (a few milliseconds, or until the write before it is done) and gets its
reference (``D12``, ``L3``); a decision then queues a link and score run, as the command line
runs one after it, and the answer says so (``?wait=true``: answer once that run is done).
Every act is recorded as the caller, never as a name the request gives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

import duckdb
import phonenumbers
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from threadline import read
from threadline.serve._answers import Answer
from threadline.serve._auth import SIGNED_IN, Caller, GuardedRoute, caller, context, guarded, logout
from threadline.serve._context import Context
from threadline.service._common import naive_utc
from threadline.service.roles import Action
from threadline.store._tx import ad_tags, network_tags

__all__ = [
    "hub_act",
    "label_act",
    "merge_act",
    "relink",
    "report_act",
    "revoke_decision_act",
    "revoke_label_act",
    "router",
    "separate_act",
    "split_act",
    "to_json",
]

router = APIRouter(route_class=GuardedRoute)  # every route names its action (deny by default)

_MAX_LIMIT = 500
_MAX_OFFSET = 10**9
_AD_REF = re.compile(r"([^:\s]+):(\S.*)")

Limit = Annotated[int, Query(ge=1, le=_MAX_LIMIT, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=_MAX_OFFSET, description="Rows to skip.")]
Note = Annotated[str | None, Field(default=None, max_length=2000, description="Why (kept with the act).")]
AdRef = Annotated[str, Field(min_length=3, max_length=600, description="An ad: SOURCE:ID.")]


_PART_KEYS = ("level", "feature", "value", "detail", "contribution")  # read.ScorePart, in order


_PLAIN = frozenset({str, int, bool, type(None)})  # as they are (exactly these types: no subclass)


_Shape = tuple[tuple[str, ...], tuple[str, ...]] | None
_SHAPES: dict[type, _Shape] = {}


def _shape(cls: type) -> _Shape:
    """A dataclass's fields and public properties, in order (None: not a dataclass). Once per
    class: a page of networks holds thousands of dataclass values."""
    if cls in _SHAPES:
        return _SHAPES[cls]
    shape: _Shape = None
    if dataclasses.is_dataclass(cls):
        fields = tuple(f.name for f in dataclasses.fields(cls))
        properties = tuple(
            name
            for name, attribute in vars(cls).items()
            if isinstance(attribute, property) and not name.startswith("_")
        )
        shape = fields, properties
    _SHAPES[cls] = shape
    return shape


def to_json(value: Any) -> Any:
    """What the read API returns, as JSON: dataclasses as objects (their properties too, such as
    a decision's ``ref``), tuples as lists, times as ISO 8601 UTC."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    shape = None if isinstance(value, type) else _shape(kind)
    if shape is not None:
        fields, properties = shape
        out = {name: to_json(getattr(value, name)) for name in fields}
        parts = out.get("parts")
        if isinstance(parts, list) and all(isinstance(p, list) and len(p) == len(_PART_KEYS) for p in parts):
            out["parts"] = [dict(zip(_PART_KEYS, p, strict=True)) for p in parts]  # read.ScorePart tuples
        for name in properties:
            out[name] = to_json(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):  # the store keeps naive UTC
        return value.isoformat() + "Z" if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else naive_utc(at)


def _page(page: read.Page[Any]) -> dict[str, Any]:
    return {"items": to_json(page.items), "total": page.total, "offset": page.offset, "limit": page.limit}


async def _read(request: Request, fn: Callable[[duckdb.DuckDBPyConnection, Caller], Any]) -> Any:
    """Run ``fn(cursor, caller)`` on a worker thread with that thread's cursor."""
    ctx = context(request)
    who = caller(request)
    return await run_in_threadpool(lambda: fn(ctx.cursor(), who))


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


async def _kept_read(
    request: Request,
    key: tuple[Any, ...],
    compute: Callable[[duckdb.DuckDBPyConnection], tuple[Any, Any, Iterable[str]]],
    audit: Callable[[Context, Caller, Any], None],
) -> Response:
    """A read whose answer is the same for every caller of a role: ``compute(cursor)`` gives
    (JSON value, meta, tags: what it read, as `threadline.store._tx.Touches` names it) and its
    encoded answer is kept until a commit touches one of its tags (`_answers`); ``audit(ctx,
    caller, meta)`` records the read every time, kept answer or not. ``X-Threadline-Answer``
    says which (``kept`` or ``read``), for load tests."""
    ctx = context(request)
    who = caller(request)

    def read(cur: duckdb.DuckDBPyConnection, seen: int, busy: bool, made: float) -> Answer:
        value, meta, tags = compute(cur)
        return Answer(_encode(value), meta, seen, frozenset(tags), made, busy)

    def run() -> Response:
        # Per role: an answer read for one role is never shown to another.
        answer, kept = ctx.kept((who.role, *key), read)
        audit(ctx, who, answer.meta)
        return Response(
            answer.body,
            media_type="application/json",
            headers={"X-Threadline-Answer": "kept" if kept else "read"},
        )

    return await run_in_threadpool(run)


async def _items(request: Request, action: str, rows: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
    """A whole list (``{"items": [...]}``) read on the request's cursor and audited as ``action``."""

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        items = to_json(rows(cur))
        _audit_read(context(request), who, action, None)
        return {"items": items}

    return await _read(request, run)


def _audit_read(ctx: Context, who: Caller, action: str, obj: str | None, **detail: Any) -> None:
    ctx.audit(who.actor, action, obj, who.detail(**{k: v for k, v in detail.items() if v is not None}))


# -- reads ---------------------------------------------------------------------------------------


@guarded(router, "GET", "/api/v1/networks", Action.READ, summary="The triage queue")
async def networks(
    request: Request,
    date_from: Annotated[datetime | None, Query(description="Active on or after (ISO 8601).")] = None,
    date_to: Annotated[datetime | None, Query(description="Active on or before (ISO 8601).")] = None,
    place: Annotated[str | None, Query(max_length=200, description="A place name's start.")] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    label: Annotated[str | None, Query(max_length=50, description="An analyst's label in force.")] = None,
    has_hub: bool | None = None,
    new_since: Annotated[datetime | None, Query(description="With an ad stored since (ISO 8601).")] = None,
    removed_since: Annotated[
        datetime | None, Query(description="With an ad reported taken down since (ISO 8601).")
    ] = None,
    sort: Annotated[Literal["priority", "latest", "size"], Query()] = "priority",
    limit: Limit = 50,
    offset: Offset = 0,
    reasons: Annotated[int, Query(ge=0, le=20)] = 3,
) -> Any:
    """Scored networks for review (priorities, never findings), filtered, sorted and paged."""

    # The store keeps naive UTC: a time given with an offset is moved to UTC first.
    date_from, date_to, new_since, removed_since = (
        _utc(t) for t in (date_from, date_to, new_since, removed_since)
    )

    def compute(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any, Iterable[str]]:
        page = read.queue(
            cur,
            date_from=date_from,
            date_to=date_to,
            place=place,
            source=source,
            min_score=min_score,
            max_score=max_score,
            label=label,
            has_hub=has_hub,
            new_since=new_since,
            removed_since=removed_since,
            sort=sort,
            limit=limit,
            offset=offset,
            reasons=reasons,
        )
        from threadline.store.hashlists import flagged_networks

        answer = _page(page)
        # Mandatory reporting (`threadline.store.hashlists`): images matching a hash list, per network.
        flagged = flagged_networks(cur, [str(item["network"]) for item in answer["items"]])
        for item in answer["items"]:
            item["hash_matched_images"] = flagged.get(str(item["network"]), 0)
        # Any link or scoring run may reorder the queue; ads reported gone are sightings.
        return answer, None, ("links", "ads") if removed_since is not None else ("links",)

    filters = {
        "date_from": date_from,
        "date_to": date_to,
        "place": place,
        "source": source,
        "min_score": min_score,
        "max_score": max_score,
        "label": label,
        "has_hub": has_hub,
        "new_since": new_since,
        "removed_since": removed_since,
    }
    shown = {k: str(v) for k, v in filters.items() if v is not None}

    def audit(ctx: Context, who: Caller, _: Any) -> None:
        _audit_read(ctx, who, "read queue", None, **shown, sort=sort, offset=offset)

    key = ("queue", tuple(sorted(shown.items())), sort, limit, offset, reasons)
    return await _kept_read(request, key, compute, audit)


@guarded(router, "GET", "/api/v1/networks/{network_id}", Action.READ, summary="One network")
async def network(
    request: Request,
    network_id: Annotated[str, Path(max_length=40)],
    ads_limit: Limit = 20,
    ads_offset: Offset = 0,
) -> Any:
    """Persons, identifiers, ads, evidence, hubs, score and reasons, movement, decisions, labels."""

    def compute(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any, Iterable[str]]:
        uses: set[str] = set()  # what it read besides what linking and scoring saved for it
        view = read.network(cur, network_id, ads_limit=ads_limit, ads_offset=ads_offset, uses=uses)
        if view is None:
            raise HTTPException(404, f"no network {network_id}")
        # Stale once a run touches the network it is now, or the one asked for (ids merged away
        # or split name another), or what else it read.
        return to_json(view), view.network, {*network_tags((view.network, network_id)), *uses}

    def audit(ctx: Context, who: Caller, current: Any) -> None:
        _audit_read(ctx, who, "read network", current, asked=network_id)

    key = ("network", network_id, ads_limit, ads_offset)
    return await _kept_read(request, key, compute, audit)


@guarded(router, "GET", "/api/v1/networks/{network_id}/graph", Action.READ, summary="One network's graph")
async def network_graph(
    request: Request,
    network_id: Annotated[str, Path(max_length=40)],
    cap: Annotated[int, Query(ge=1, le=2000)] = read.DEFAULT_GRAPH_CAP,
) -> Any:
    """The network drawn: persons and the phones, e-mails, handles and photos their ads carry, and
    every edge with why it exists (a shared phone's tenure, photo distances, text similarity, an
    analyst's merge); hubs flagged (shown, not followed). At most ``cap`` nodes, persons first;
    ``left_out`` counts by kind what did not fit. As cytoscape.js reads elements."""

    def compute(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any, Iterable[str]]:
        graph = read.network_graph(cur, network_id, cap)
        if graph is None:
            raise HTTPException(404, f"no network {network_id}")
        return read.graph_json(graph), graph.network, ("links", "ads")  # it reads the ads' values too

    def audit(ctx: Context, who: Caller, current: Any) -> None:
        _audit_read(ctx, who, "read network graph", current, asked=network_id, cap=cap)

    return await _kept_read(request, ("graph", network_id, cap), compute, audit)


@guarded(router, "GET", "/api/v1/ads/{source}/{ad_id:path}", Action.READ, summary="One ad")
async def ad(
    request: Request,
    source: Annotated[str, Path(max_length=200)],
    ad_id: Annotated[str, Path(max_length=400)],
) -> Any:
    """Every version of the ad, what was extracted with its spans, indicators, images, its network."""

    def compute(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any, Iterable[str]]:
        detail = read.ad_detail(cur, source, ad_id)
        if detail is None:
            raise HTTPException(404, f"no ad {source}:{ad_id}")
        # Its versions, extractions and sightings are its own (a batch that stores or sees it
        # touches it); its images' state depends on other ads showing them too; its network
        # and scores, on what linking and scoring saved for its network (any run, while it has
        # none).
        tags = [*ad_tags([(source, ad_id)])]
        tags += network_tags([detail.network]) if detail.network else ["links"]
        if any(v.images for v in detail.versions):
            tags.append("images")
        return to_json(detail), None, tags

    def audit(ctx: Context, who: Caller, _: Any) -> None:
        _audit_read(ctx, who, "read ad", f"{source}:{ad_id}")

    return await _kept_read(request, ("ad", source, ad_id), compute, audit)


@guarded(router, "GET", "/api/v1/images/{sha256}", Action.REVEAL_IMAGE, summary="One image an ad refers to")
async def image(request: Request, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]) -> Any:
    """The original bytes of an image a stored ad refers to, by its SHA-256: the store's kept
    copy (`threadline.store.kept_images`), else its original file if that still has the hash.
    A reveal, as on the ad page: audited each time, never cached (a read token gets 403). A hidden
    image (issue 15: a hash-list match, or beside an ad stating an age under 18) is refused: 403."""
    ctx = context(request)
    who = caller(request)

    def run() -> Response:
        cur = ctx.cursor()
        row = cur.execute("SELECT MIN(path) FROM ad_images WHERE sha256 = ?", [sha256]).fetchone()
        if row is None or row[0] is None:
            raise HTTPException(404, "no stored ad refers to this image")
        _refuse_hidden(ctx, who, cur, sha256, "api")
        return _original(ctx, who, sha256, row[0], "reveal image")

    return await run_in_threadpool(run)


def _refuse_hidden(
    ctx: Context,
    who: Caller,
    cur: duckdb.DuckDBPyConnection,
    sha256: str,
    route: str,
    *,
    minor_ok: bool = False,
) -> None:
    """403, audited as "image refused", for a hidden image (`threadline.store.hashlists`): one
    matching a hash list always; one beside an ad stating an age under 18 unless ``minor_ok``."""
    from threadline.serve._images import HIDDEN_REASONS, hidden

    why = hidden(cur, sha256)
    if why is not None and not (minor_ok and why == "minor"):
        _audit_read(ctx, who, "image refused", sha256, hidden=why, route=route)
        raise HTTPException(403, HIDDEN_REASONS[why])


def _original(ctx: Context, who: Caller, sha256: str, path: str, action: str, **detail: Any) -> Response:
    from threadline.store import kept_images

    data = kept_images.image_bytes(ctx.store.path, sha256, path)
    _audit_read(ctx, who, action, sha256, found=data is not None, **detail)
    if data is None:
        raise HTTPException(410, "the image is neither kept by the store nor at its original path")
    return Response(
        data,
        media_type=kept_images.media_type(data),
        headers={"Content-Disposition": f'attachment; filename="{sha256}"', "Cache-Control": "no-store"},
    )


class RevealBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000, description="Why it must be seen (audited).")]
    ad: Annotated[str | None, Field(default=None, max_length=600, description="The ad it is shown for.")] = (
        None
    )


@guarded(
    router,
    "POST",
    "/api/v1/images/{sha256}/reveal",
    Action.REVEAL_HIDDEN_IMAGE,
    summary="Reveal an image hidden as possibly showing a minor (supervisors)",
)
async def reveal_hidden_image(
    request: Request, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")], body: RevealBody
) -> Any:
    """The original of an image hidden because an ad showing it states an age under 18, with the
    reason why it must be seen: audited as "reveal hidden image" with the reason, never cached.
    An image matching a hash list is never sent (403)."""
    ctx = context(request)
    who = caller(request)
    reason = body.reason.strip()
    if not reason:
        raise HTTPException(422, "reason: say why the image must be seen")

    def run() -> Response:
        cur = ctx.cursor()
        row = cur.execute("SELECT MIN(path) FROM ad_images WHERE sha256 = ?", [sha256]).fetchone()
        if row is None or row[0] is None:
            raise HTTPException(404, "no stored ad refers to this image")
        _refuse_hidden(ctx, who, cur, sha256, "api reveal", minor_ok=True)
        return _original(ctx, who, sha256, row[0], "reveal hidden image", reason=reason, ad=body.ad)

    return await run_in_threadpool(run)


@guarded(
    router,
    "GET",
    "/api/v1/hash-matches",
    Action.HASH_MATCHES,
    summary="Images matching a loaded hash list, for mandatory reporting (never the images)",
)
async def hash_matches(request: Request, to_report: bool = False) -> Any:
    """Every image matching a loaded hash list (its SHA-256, the lists, which hash matched, the
    PDQ distance, its ads and networks, whether it was reported), those to report first."""
    from threadline.store.hashlists import matches

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        found = matches(cur, to_report=to_report)
        _audit_read(context(request), who, "read hash matches", None, found=len(found))
        return {"items": to_json(found)}

    return await _read(request, run)


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(min_length=1, max_length=2000, description="How it was reported.")]


@guarded(
    router,
    "POST",
    "/api/v1/hash-matches/{sha256}/report",
    Action.HASH_MATCHES,
    summary="Record that a matching image was reported",
)
async def report_hash_match(
    request: Request, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")], body: ReportBody
) -> Any:
    """Record the report of a matching image (the clearinghouse's reference in ``note``), through
    the writer, audited; the image stays hidden."""
    return await report_act(request, sha256, body.note)


async def report_act(request: Request, sha256: str, note: str) -> Any:
    """Record a hash-list match's report as the caller (the API's act and the page's form)."""
    note = note.strip()
    if not note:
        raise HTTPException(422, "note: say how it was reported")

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.store.hashlists import record_report

        if not record_report(con, sha256, by=who.name, note=note):
            raise LookupError(f"no image {sha256} matches a loaded hash list")
        return 1

    job = _record(request, "report hash match", lambda _: sha256, record, note=note)
    await _act(request, "report hash match", job)
    return {"reported": sha256, "note": note}


@guarded(
    router,
    "POST",
    "/api/v1/networks/{network_id}/evidence",
    Action.EXPORT_EVIDENCE,
    summary="A network's signed evidence package (a zipped BagIt bag)",
)
async def evidence_package(
    request: Request,
    network_id: Annotated[str, Path(max_length=40)],
    blur_images: bool = False,
    pdf: bool = True,
    mask_outside_case: bool = False,
    case: Annotated[str | None, Query(max_length=24, description="With mask_outside_case: C….")] = None,
) -> Response:
    """The network's evidence package (`threadline.evidence.package`), signed with the
    installation's evidence key, as a zip of the bag; audited with the caller as the exporter.
    ``mask_outside_case`` with ``case``: only the network's ads in that case, what only other ads
    carry masked."""
    if not network_id.strip().upper().startswith("N"):
        raise HTTPException(422, f"{network_id[:40]}: not a network id (N…); a case's is under /cases")
    return await evidence_act(
        request, network_id, blur_images=blur_images, pdf=pdf, mask_outside_case=mask_outside_case, case=case
    )


async def evidence_act(
    request: Request,
    subject: str,
    *,
    blur_images: bool,
    pdf: bool,
    mask_outside_case: bool = False,
    case: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """Build the package of ``subject`` (a network N… or a case C…) in a temporary folder, zip
    it, answer it (the API's routes and the network and case pages' buttons)."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path as FilePath

    from threadline.evidence import keys as evidence_keys
    from threadline.evidence.package import EvidenceError, Options, build
    from threadline.store.schema import current_version

    ctx = context(request)
    who = caller(request)

    def run() -> Response:
        try:
            key = evidence_keys.load_key(evidence_keys.key_file(ctx.store.path.resolve()))
        except evidence_keys.KeyError_ as exc:
            raise HTTPException(409, str(exc)) from None
        if key is None:
            raise HTTPException(409, "no evidence key: an admin makes one (threadline keys init --db STORE)")
        cur = ctx.cursor()
        with tempfile.TemporaryDirectory(prefix="threadline-evidence-") as tmp:
            try:
                built = build(
                    cur,
                    ctx.store.path,
                    subject,
                    FilePath(tmp) / "package",
                    key=key,
                    user=f"{who.name} ({who.actor.kind}, from {who.actor.origin})",
                    options=Options(
                        blur_images=blur_images,
                        pdf=pdf,
                        mask_outside_case=mask_outside_case,
                        case=case,
                        since=since,
                        until=until,
                    ),
                    schema_version=current_version(cur),
                )
            except EvidenceError as exc:
                missing = str(exc).startswith(("no network", "no case"))
                raise HTTPException(404 if missing else 422, str(exc)) from None
            name = f"evidence-{built.subject}"
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(built.path.rglob("*")):
                    if path.is_file():
                        zipped.write(path, f"{name}/{path.relative_to(built.path).as_posix()}")
        _audit_read(
            ctx,
            who,
            "export evidence",
            built.subject,
            ads=built.ads,
            images=built.images,
            blur_images=blur_images or None,
            mask_outside_case=(case or built.subject) if mask_outside_case else None,
            masked=built.masked or None,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            key=built.fingerprint,
        )
        return Response(
            out.getvalue(),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{name}.zip"',
                "Cache-Control": "no-store",
            },
        )

    return await run_in_threadpool(run)


@guarded(router, "GET", "/api/v1/search", Action.SEARCH, summary="Search")
async def search(
    request: Request,
    q: Annotated[
        str, Query(min_length=1, max_length=500, description="An identifier, name, id, words, place.")
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
    region: Annotated[str, Query(pattern=r"^[A-Z]{2}$", description="Region of a number without +.")] = "US",
    groups: Annotated[
        int, Query(ge=1, le=1000, description="Networks and persons touched per page (totals are given).")
    ] = 100,
    groups_offset: Annotated[
        int, Query(ge=0, le=_MAX_OFFSET, description="Networks and persons to skip.")
    ] = 0,
) -> Any:
    """An identifier in any format, a name, an ad / network / person id, words, a place's name.
    ``limit`` and ``offset`` page the ads with the words; ``groups`` and ``groups_offset`` the
    networks (highest priority first) and persons the identifier touches."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise HTTPException(422, f"region: {region} is not a region phone numbers know")

    def compute(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any, Iterable[str]]:
        uses: set[str] = set()  # what linking saved, the terms looked up; ads when words were ranked
        found = read.search(
            cur,
            q,
            limit=limit,
            offset=offset,
            region=region,
            uses=uses,
            groups=groups,
            groups_offset=groups_offset,
        )
        return to_json(found), None, uses

    def audit(ctx: Context, who: Caller, _: Any) -> None:
        _audit_read(
            ctx, who, "search", q[:200], offset=offset, **({"groups": groups_offset} if groups_offset else {})
        )

    return await _kept_read(
        request, ("search", q, limit, offset, region, groups, groups_offset), compute, audit
    )


@guarded(router, "GET", "/api/v1/hubs", Action.READ, summary="Hubs")
async def hubs(request: Request, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Identifiers, images and texts shared by many unrelated posters, and analysts' hub marks."""

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        rows = read.hubs(cur, limit=limit, offset=offset)
        _audit_read(context(request), who, "read hubs", None, offset=offset)
        return {"items": to_json(rows), "offset": offset, "limit": limit}

    return await _read(request, run)


@guarded(router, "GET", "/api/v1/decisions", Action.READ, summary="Analysts' decisions")
async def decisions(request: Request) -> Any:
    """Every decision (D…), revoked ones too, with the links the last run cut for it."""

    return await _items(request, "read decisions", read.decision_list)


@guarded(router, "GET", "/api/v1/labels", Action.READ, summary="Analysts' labels")
async def labels(request: Request) -> Any:
    """Every label (L…) of a network, withdrawn ones too."""

    return await _items(request, "read labels", read.label_list)


@guarded(router, "GET", "/api/v1/models", Action.READ, summary="Fitted models")
async def models(request: Request) -> Any:
    """Every model fitted on analysts' labels, newest first, and whether it is used."""

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        return {"items": to_json(read.models(cur))}

    return await _read(request, run)


@guarded(router, "GET", "/api/v1/audit", Action.READ_AUDIT, summary="The audit log")
async def audit_log(
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**62, description="Entries after this seq.")] = 0,
    limit: Limit = 100,
) -> Any:
    """Audit entries in chain order (`threadline audit verify` checks the chain)."""
    from threadline.service import audit

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        entries = [e.as_json() for e in audit.iter_entries(cur, after_seq=after, limit=limit)]
        _audit_read(context(request), who, "read audit", None, after=after)
        return {"items": entries, "after": after, "limit": limit}

    return await _read(request, run)


@guarded(router, "GET", "/api/v1/users", Action.MANAGE_USERS, summary="Users")
async def users(request: Request) -> Any:
    """The accounts: name, role, enabled or not, locked until, last login (never a hash)."""
    from threadline.service import accounts

    return await _items(request, "read users", accounts.list_users)


@guarded(router, "GET", "/api/v1/tokens", Action.MANAGE_TOKENS, summary="API tokens")
async def api_tokens(request: Request) -> Any:
    """API tokens (T…): user, scope, dates, state; never a token."""
    from threadline.service import tokens

    def listed(cur: duckdb.DuckDBPyConnection) -> list[Any]:
        return [{**to_json(t), "ref": t.ref, "state": t.state()} for t in tokens.list_tokens(cur)]

    return await _items(request, "read tokens", listed)


class UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["analyst", "supervisor", "admin"]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    user: Annotated[str, Field(min_length=1, max_length=64)]
    scope: Literal["read", "push"]
    days: Annotated[int, Field(ge=1, le=3650)] = 90
    sources: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=100)] | None
    ) = None  # a push token may send ads of these sources only


async def _admin(request: Request, fn: Callable[[duckdb.DuckDBPyConnection, Caller], Any]) -> Any:
    """An admin's change to accounts or tokens: on the request's cursor, with the audit books held
    (each change appends its audit entry in its own transaction). Refusals become 4xx."""
    from threadline.service.accounts import AccountError

    ctx, who = context(request), caller(request)

    def run() -> Any:
        with ctx.books:
            return fn(ctx.cursor(), who)

    try:
        return await run_in_threadpool(run)
    except AccountError as exc:
        said = str(exc)
        raise HTTPException(
            404 if said.startswith("no ") else 409 if "exists" in said else 422, said
        ) from None


def _user_json(user: Any) -> dict[str, Any]:
    return {"user": to_json(user)}


@guarded(router, "POST", "/api/v1/users", Action.MANAGE_USERS, status_code=201, summary="Add a user")
async def user_add(request: Request, body: UserBody) -> Any:
    """A new account with a role; the password is hashed (argon2id) and never shown again."""
    from threadline.service import accounts

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        return _user_json(accounts.add_user(cur, body.name, body.role, body.password, by=who.actor))

    return await _admin(request, run)


@guarded(router, "POST", "/api/v1/users/{name}/disable", Action.MANAGE_USERS, summary="Disable a user")
async def user_disable(request: Request, name: Annotated[str, Path(max_length=64)]) -> Any:
    """Refuse the user's sign-in and tokens, and end their sessions (enable undoes it)."""
    from threadline.service import accounts

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        if name == who.name:
            raise HTTPException(409, "an admin does not disable their own account")
        return _user_json(accounts.disable_user(cur, name, by=who.actor))

    return await _admin(request, run)


@guarded(router, "POST", "/api/v1/users/{name}/enable", Action.MANAGE_USERS, summary="Enable a user")
async def user_enable(request: Request, name: Annotated[str, Path(max_length=64)]) -> Any:
    from threadline.service import accounts

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        return _user_json(accounts.enable_user(cur, name, by=who.actor))

    return await _admin(request, run)


@guarded(router, "POST", "/api/v1/users/{name}/password", Action.MANAGE_USERS, summary="Set a password")
async def user_password(
    request: Request, name: Annotated[str, Path(max_length=64)], body: PasswordBody
) -> Any:
    """A new password: the lockout is lifted and the user's sessions end."""
    from threadline.service import accounts

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        accounts.set_password(cur, name, body.password, by=who.actor)
        return _user_json(accounts.get_user(cur, name))

    return await _admin(request, run)


@guarded(router, "POST", "/api/v1/tokens", Action.MANAGE_TOKENS, status_code=201, summary="Make an API token")
async def token_add(request: Request, body: TokenBody) -> Any:
    """A token for a machine client (scope read or push), shown in this answer only."""
    from threadline.service import tokens

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        token, info = tokens.add_token(
            cur, body.user, body.scope, days=body.days, by=who.actor, sources=body.sources
        )
        return {"token": token, "ref": info.ref, "info": to_json(info)}

    return await _admin(request, run)


@guarded(router, "POST", "/api/v1/tokens/{ref}/revoke", Action.MANAGE_TOKENS, summary="Revoke an API token")
async def token_revoke(request: Request, ref: Annotated[str, Path(max_length=20)]) -> Any:
    from threadline.service import tokens

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        info = tokens.revoke_token(cur, tokens.parse_token_ref(ref), by=who.actor)
        return {"ref": info.ref, "state": info.state()}

    return await _admin(request, run)


@guarded(router, "GET", "/api/v1/openapi.json", Action.READ, summary="This API's OpenAPI description")
async def openapi(request: Request) -> Any:
    return request.app.openapi()


@guarded(router, "POST", "/logout", SIGNED_IN, summary="Sign out")
def sign_out(request: Request) -> Any:
    return logout(request)


# -- acts ----------------------------------------------------------------------------------------


class _Body(BaseModel):
    # strict: "ads": "x" or "label": 1 is refused, never read as something else
    model_config = ConfigDict(extra="forbid", strict=True)


class MergeBody(_Body):
    ads: Annotated[list[AdRef], Field(min_length=2, max_length=1000)]
    note: Note = None


class SeparateBody(_Body):
    a: Annotated[list[AdRef], Field(min_length=1, max_length=1000, description="Ads on one side.")]
    b: Annotated[list[AdRef], Field(min_length=1, max_length=1000, description="Ads on the other.")]
    note: Note = None


class SplitBody(_Body):
    network: Annotated[str, Field(min_length=2, max_length=40)]
    ads: Annotated[list[AdRef], Field(min_length=1, max_length=1000)]
    note: Note = None


class HubBody(_Body):
    kind: Literal["phone", "email", "handle", "image", "text"]
    value: Annotated[str, Field(min_length=1, max_length=500)]
    hub: bool = Field(default=True, description="false: the value is NOT a hub (trusted for linking).")
    clear: bool = Field(default=False, description="Forget the analyst's mark: the data decides again.")
    anyway: bool = Field(default=False, description="Mark a value no ad of the store holds (yet).")
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    note: Note = None


class RevokeBody(_Body):
    note: Note = None


class LabelBody(_Body):
    network: Annotated[str, Field(min_length=2, max_length=40)]
    label: Literal["trafficking", "independent", "unsure"]
    note: Note = None


def _keys(refs: list[str]) -> list[tuple[str, str]]:
    keys = []
    for ref in refs:
        m = _AD_REF.fullmatch(ref.strip())
        if not m:
            raise HTTPException(422, f"{ref!r}: expected SOURCE:ID")
        keys.append((m.group(1), m.group(2)))
    return keys


async def _act(request: Request, name: str, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
    """Run ``fn`` as the writer's job and wait for it; refusals become 4xx."""
    try:
        return await asyncio.wrap_future(context(request).writer.submit(name, fn))
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from None


def relink(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Link (incremental) and score again, as the command line does after a decision."""
    from threadline.link import link
    from threadline.score.scorer import score_store

    linked = link(con)
    scored = score_store(con, inputs_built=True, changed="_changed_networks")
    return {"link": to_json(linked), "score": to_json(scored)}


async def _decided(request: Request, decision_id: int, wait: bool, **more: Any) -> Any:
    queued = context(request).writer.submit_relink(relink)
    out: dict[str, Any] = {"decision": f"D{decision_id}", **more}
    if wait:
        out["relinked"] = await asyncio.wrap_future(queued)
    else:
        out["relink"] = "queued"
    return out


def _record(
    request: Request,
    action: str,
    obj: Callable[[int], str],
    record: Callable[[duckdb.DuckDBPyConnection, Caller], int],
    **detail: Any,
) -> Callable[[duckdb.DuckDBPyConnection], int]:
    """The writer's job: record the act as the caller and append its audit entry, in one
    transaction (an act is never stored without its entry, nor an entry for an act that failed).
    ``books`` is held until that commits: a reader's entry must not move the audit head between."""
    from threadline.service import audit
    from threadline.store._tx import transaction

    ctx, who = context(request), caller(request)

    def job(con: duckdb.DuckDBPyConnection) -> int:
        with ctx.books, transaction(con):
            number = record(con, who)
            audit.append_within(con, who.actor, action, obj(number), who.detail(**detail))
        return number

    return job


Wait = Annotated[bool, Query(description="Answer once the link and score run after it is done.")]


@guarded(router, "POST", "/api/v1/decisions/merge", Action.MERGE, status_code=201, summary="Merge ads")
async def merge(request: Request, body: MergeBody, wait: Wait = False) -> Any:
    """Record that the ads belong to one network, then link again."""
    return await merge_act(request, body.ads, body.note, wait)


async def merge_act(request: Request, refs: list[str], note: str | None, wait: bool) -> Any:
    """A merge as the caller, through the writer, audited, a link run queued (the API's act and
    the network page's form)."""
    keys = _keys(refs)

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.link.decisions import record_merge

        return record_merge(con, *keys, analyst=who.name, note=note)

    job = _record(request, "merge", lambda d: f"D{d}", record, ads=refs, note=note)
    return await _decided(request, await _act(request, "merge", job), wait)


@guarded(
    router, "POST", "/api/v1/decisions/separate", Action.SEPARATE, status_code=201, summary="Separate ads"
)
async def separate(request: Request, body: SeparateBody, wait: Wait = False) -> Any:
    """Record that the ads of ``a`` are not linked to those of ``b``, then link again."""
    return await separate_act(request, body.a, body.b, body.note, wait)


async def separate_act(
    request: Request, a_refs: list[str], b_refs: list[str], note: str | None, wait: bool
) -> Any:
    """A separation as the caller, through the writer, audited, a link run queued (the API's act
    and the network page's form)."""
    a, b = _keys(a_refs), _keys(b_refs)

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.link.decisions import record_separation

        return record_separation(con, a, b, analyst=who.name, note=note)

    job = _record(request, "separate", lambda d: f"D{d}", record, a=a_refs, b=b_refs, note=note)
    return await _decided(request, await _act(request, "separate", job), wait)


@guarded(router, "POST", "/api/v1/decisions/split", Action.SPLIT, status_code=201, summary="Split a network")
async def split(request: Request, body: SplitBody, wait: Wait = False) -> Any:
    """Split the ads out of the network: kept apart from its other ads from now on."""
    return await split_act(request, body.network, body.ads, body.note, wait)


async def split_act(request: Request, network: str, refs: list[str], note: str | None, wait: bool) -> Any:
    """A split as the caller, through the writer, audited, a link run queued (the API's act and
    the network page's form)."""
    keys = _keys(refs)

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.link.decisions import record_split

        return record_split(con, network, keys, analyst=who.name, note=note)

    detail = {"network": network, "ads": refs, "note": note}
    job = _record(request, "split", lambda d: f"D{d}", record, **detail)
    return await _decided(request, await _act(request, "split", job), wait)


@guarded(router, "POST", "/api/v1/decisions/mark-hub", Action.MARK_HUB, status_code=201, summary="Mark a hub")
async def mark_hub(request: Request, body: HubBody, wait: Wait = False) -> Any:
    """Mark a value as a hub (never used for linking) or not one, or clear the mark; link again."""
    return await hub_act(
        request,
        body.kind,
        body.value,
        hub=body.hub,
        clear=body.clear,
        anyway=body.anyway,
        region=body.region,
        note=body.note,
        wait=wait,
    )


async def hub_act(
    request: Request,
    kind: str,
    typed: str,
    *,
    hub: bool,
    clear: bool,
    anyway: bool,
    region: str,
    note: str | None,
    wait: bool = False,
) -> Any:
    """A hub mark (or its clearing) as the caller, through the writer, audited, then a link run
    queued: the API's act, and the hubs page's form."""
    from threadline.extract.typed import hub_value

    try:
        value = hub_value(kind, typed, region)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.link.decisions import clear_hub_mark
        from threadline.link.decisions import mark_hub as record_mark

        if clear:
            cleared = clear_hub_mark(con, kind, value, analyst=who.name, note=note)
            if cleared is None:
                raise LookupError(f"{kind} {value} has no analyst's mark")
            return cleared
        if not anyway and not read.hub_value_seen(con, kind, value):
            raise LookupError(f"{kind} {value} is in no ad of the store (anyway: true marks it all the same)")
        return record_mark(con, kind, value, is_hub=hub, analyst=who.name, note=note)

    action = "clear hub mark" if clear else "mark hub" if hub else "mark not hub"
    job = _record(request, action, lambda d: f"D{d}", record, kind=kind, value=value, note=note)
    return await _decided(request, await _act(request, action, job), wait, value=value)


def _own_or_others(who: Caller, owner: str, ref: str) -> None:
    if owner != who.name and not who.may(Action.REVOKE_OTHERS):
        raise PermissionError(f"{ref} is {owner}'s: the role {who.role} may revoke only its own")


@guarded(router, "POST", "/api/v1/decisions/{ref}/revoke", Action.REVOKE_OWN, summary="Revoke a decision")
async def revoke_decision(
    request: Request, ref: Annotated[str, Path(max_length=24)], body: RevokeBody, wait: Wait = False
) -> Any:
    """Withdraw decision D… (it stays on record), then link again. Others' need a supervisor."""
    return await revoke_decision_act(request, ref, body.note, wait)


async def revoke_decision_act(request: Request, ref: str, note: str | None, wait: bool) -> Any:
    """Withdraw decision ``ref`` as the caller (the API's act and the network page's form)."""
    from threadline.refs import BadRef, parse_ref

    try:
        _, number = parse_ref(ref, kinds=("decision",))
    except BadRef as exc:
        raise HTTPException(422, str(exc)) from None

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.link.decisions import decisions as find_decisions
        from threadline.link.decisions import revoke

        found = find_decisions(con, number)
        if not found:
            raise LookupError(f"no decision D{number}")
        _own_or_others(who, found[0].analyst, f"D{number}")
        revoke(con, number, analyst=who.name, note=note)
        return number

    job = _record(request, "revoke", lambda d: f"D{d}", record, note=note)
    return await _decided(request, await _act(request, "revoke", job), wait)


@guarded(router, "POST", "/api/v1/labels", Action.LABEL, status_code=201, summary="Label a network")
async def label(request: Request, body: LabelBody) -> Any:
    """Label a network for learning (counts from the next `fit`; scores do not change now)."""
    return await label_act(request, body.network, body.label, body.note)


async def label_act(request: Request, network_id: str, label_name: str, note: str | None) -> Any:
    """A label as the caller, through the writer, audited (the API's act and the network page's form)."""

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.score.learn import label_network

        return label_network(con, network_id, label_name, analyst=who.name, note=note)

    detail = {"network": network_id, "label": label_name, "note": note}
    job = _record(request, "label", lambda n: f"L{n}", record, **detail)
    return {"label": f"L{await _act(request, 'label', job)}"}


@guarded(router, "POST", "/api/v1/labels/{ref}/revoke", Action.REVOKE_OWN, summary="Withdraw a label")
async def revoke_label(request: Request, ref: Annotated[str, Path(max_length=24)], body: RevokeBody) -> Any:
    """Withdraw label L… (it stays on record). Others' need a supervisor."""
    return await revoke_label_act(request, ref, body.note)


async def revoke_label_act(request: Request, ref: str, note: str | None) -> Any:
    """Withdraw label ``ref`` as the caller (the API's act and the network page's form)."""
    from threadline.refs import BadRef, parse_ref

    try:
        _, number = parse_ref(ref, kinds=("label",))
    except BadRef as exc:
        raise HTTPException(422, str(exc)) from None

    def record(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        from threadline.score.learn import labels as all_labels
        from threadline.score.learn import revoke_label as withdraw

        found = [lab for lab in all_labels(con) if lab.label_id == number]
        if not found:
            raise LookupError(f"no label L{number}")
        _own_or_others(who, found[0].analyst, f"L{number}")
        withdraw(con, number, analyst=who.name, note=note)
        return number

    job = _record(request, "revoke label", lambda n: f"L{n}", record, note=note)
    return {"label": f"L{await _act(request, 'revoke label', job)}", "withdrawn": True}
