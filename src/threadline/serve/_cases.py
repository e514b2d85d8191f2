"""Cases over HTTP: the JSON API under ``/api/v1/cases`` and the workspace's case pages.

Every act (make a case, add or remove members, write a note, set the status, assign an analyst)
is a job for the writer with its audit entry in the same transaction, as the other acts
(`_api._record`); every read is audited. A case page remembers when its reader opened it, so the
next visit shows what is new since; the API's reads leave that alone (a script reading a case
does not make its owner miss what is new).

Notes are markdown as the analyst typed it, shown through markdown-it with raw HTML disabled:
``<script>`` in a note is text on the page, and the CSP forbids inline script besides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import duckdb
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import Field

from threadline import read, watch
from threadline.refs import BadRef, parse_ref
from threadline.serve._api import Limit, Offset, _act, _audit_read, _Body, _keys, _read, to_json
from threadline.serve._auth import Caller, GuardedRoute, caller, context, guarded
from threadline.serve._pages import PageRoute, _q, render
from threadline.serve._watch import alert_json
from threadline.serve._watch_pages import alert_entries, alert_row
from threadline.service.roles import Action
from threadline.store._tx import transaction

__all__ = ["pages", "render_note", "router"]

router = APIRouter(route_class=GuardedRoute)  # every route names its action (deny by default)
pages = APIRouter(route_class=PageRoute, include_in_schema=False)

_MAX_NOTE = 20_000
_MAX_MEMBERS = 1000

CaseRef = Annotated[str, Path(max_length=24, description="A case: C….")]
Refs = Annotated[list[Annotated[str, Field(min_length=1, max_length=600)]], Field(max_length=_MAX_MEMBERS)]


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # commonmark with raw HTML off: tags are text. Links keep markdown-it's own check (no
    # javascript:, vbscript:, file: or data: other than images, which are not shown: see below).
    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    return md


def render_note(body: str) -> Markup:
    """A note's markdown as HTML that holds no markup of the note's own: raw HTML is escaped."""
    return Markup(_markdown().render(body))


def _case_id(ref: str) -> int:
    try:
        return parse_ref(ref, kinds=("case",))[1]
    except BadRef as exc:
        raise HTTPException(422, str(exc)) from None


def _job(
    request: Request,
    action: str,
    obj: str,
    fn: Callable[[duckdb.DuckDBPyConnection, Caller], Any],
    **detail: Any,
) -> Callable[[duckdb.DuckDBPyConnection], Any]:
    """The writer's job: the act as the caller and its audit entry, in one transaction."""
    from threadline.service import audit
    from threadline.store._tx import transaction

    ctx, who = context(request), caller(request)

    def job(con: duckdb.DuckDBPyConnection) -> Any:
        with ctx.books, transaction(con):
            done = fn(con, who)
            name = obj if obj else f"C{done}"
            audit.append_within(con, who.actor, action, name, who.detail(**detail))
        return done

    return job


# -- the acts, shared by the API and the pages ----------------------------------------------------


async def create_act(request: Request, name: str, tags: list[str]) -> str:
    from threadline.link.cases import create_case

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        return create_case(con, name, analyst=who.name, tags=tags)

    number = await _act(request, "create case", _job(request, "create case", "", fn, name=name, tags=tags))
    return f"C{number}"


async def members_act(
    request: Request, ref: str, networks: list[str], ads: list[str], *, remove: bool = False
) -> dict[str, Any]:
    """Add (or remove) networks and single ads to the case in one act; what changed, per member."""
    from threadline.link import cases

    case_id = _case_id(ref)
    if not networks and not ads:
        raise HTTPException(422, "name at least one network or ad")
    if len(networks) + len(ads) > _MAX_MEMBERS:
        raise HTTPException(422, f"at most {_MAX_MEMBERS} members in one act")
    keys = _keys(ads)
    nets = [n.strip() for n in networks]

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> dict[str, int]:
        out: dict[str, int] = {}
        for network in nets:
            if remove:
                out[network] = cases.remove_network(con, case_id, network, analyst=who.name)
            else:
                out[network] = cases.add_network(con, case_id, network, analyst=who.name)
        if keys:
            if remove:
                out["ads"] = cases.remove_ads(con, case_id, keys, analyst=who.name)
            else:
                out["ads"] = cases.add_ads(con, case_id, keys, analyst=who.name)
        return out

    action = "remove from case" if remove else "add to case"
    changed = await _act(request, action, _job(request, action, f"C{case_id}", fn, networks=nets, ads=ads))
    return {"case": f"C{case_id}", "removed" if remove else "added": changed}


async def note_act(request: Request, ref: str, body: str) -> dict[str, Any]:
    from threadline.link.cases import note

    case_id = _case_id(ref)
    if len(body) > _MAX_NOTE:
        raise HTTPException(422, f"a note has at most {_MAX_NOTE} characters")

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        return note(con, case_id, body, analyst=who.name)

    # The audit keeps the note's text: it is part of the case's record.
    number = await _act(request, "case note", _job(request, "case note", f"C{case_id}", fn, body=body))
    return {"case": f"C{case_id}", "note": number}


async def status_act(request: Request, ref: str, status: str) -> dict[str, Any]:
    from threadline.link.cases import set_status

    case_id = _case_id(ref)

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> None:
        set_status(con, case_id, status)

    await _act(request, "case status", _job(request, "case status", f"C{case_id}", fn, status=status))
    return {"case": f"C{case_id}", "status": status}


async def assign_act(request: Request, ref: str, analyst: str) -> dict[str, Any]:
    from threadline.link.cases import assign

    case_id = _case_id(ref)

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> bool:
        return assign(con, case_id, analyst, by=who.name)

    done = await _act(
        request, "assign case", _job(request, "assign case", f"C{case_id}", fn, analyst=analyst)
    )
    return {"case": f"C{case_id}", "analyst": analyst, "assigned": done}


# -- the API -------------------------------------------------------------------------------------


class CaseBody(_Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(max_length=50)] = Field(
        default_factory=list
    )


class MembersBody(_Body):
    networks: Refs = Field(default_factory=list)
    ads: Refs = Field(default_factory=list, description="Ads: SOURCE:ID.")


class NoteBody(_Body):
    body: Annotated[str, Field(min_length=1, max_length=_MAX_NOTE, description="Markdown.")]


class StatusBody(_Body):
    status: Annotated[str, Field(pattern="^(open|closed)$")]


class AssignBody(_Body):
    analyst: Annotated[str, Field(min_length=1, max_length=64)]


@guarded(router, "GET", "/api/v1/cases", Action.READ, summary="Cases")
async def case_list(
    request: Request, status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None
) -> Any:
    """Every case (C…), newest first: name, status, tags, analysts, how many ads and networks."""

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        items = to_json(read.cases(cur, status=status))
        _audit_read(context(request), who, "read cases", None, status=status)
        return {"items": items}

    return await _read(request, run)


@guarded(router, "POST", "/api/v1/cases", Action.CASE, status_code=201, summary="Make a case")
async def case_create(request: Request, body: CaseBody) -> Any:
    return {"case": await create_act(request, body.name, body.tags)}


@guarded(router, "GET", "/api/v1/cases/{ref}", Action.READ, summary="One case")
async def case_view(request: Request, ref: CaseRef, ads_limit: Limit = 500, ads_offset: Offset = 0) -> Any:
    """Members (networks and single ads), what is new since the caller last opened the case's
    page, notices, notes (markdown as written), ``ads``: the ads in the case (a page), and
    ``alerts``: those whose watchlist entry is the case's or whose ad is in it (newest 200, each
    with ``by_entry``, ``by_ad`` and whether the caller read it)."""
    case_id = _case_id(ref)

    def run(cur: duckdb.DuckDBPyConnection, who: Caller) -> Any:
        view = read.case(cur, case_id, reader=who.name)
        if view is None:
            raise HTTPException(404, f"no case C{case_id}")
        _audit_read(context(request), who, "read case", f"C{case_id}", ads_offset=ads_offset or None)
        ads = read.case_ads(cur, case_id)
        page = {"items": to_json(ads[ads_offset : ads_offset + ads_limit]), "total": len(ads)}
        found, total, unread = watch.case_alerts(cur, case_id, who.name)
        alerts = {
            "items": [alert_json(c.alert) | {"by_entry": c.by_entry, "by_ad": c.by_ad} for c in found],
            "total": total,
            "unread": unread,
        }
        return {**to_json(view), "ads": {**page, "offset": ads_offset, "limit": ads_limit}, "alerts": alerts}

    return await _read(request, run)


@guarded(router, "POST", "/api/v1/cases/{ref}/members", Action.CASE, summary="Add to a case")
async def case_add(request: Request, ref: CaseRef, body: MembersBody) -> Any:
    """Add networks (their ads, and their new ads on later link runs) and single ads."""
    return await members_act(request, ref, body.networks, body.ads)


@guarded(router, "POST", "/api/v1/cases/{ref}/members/remove", Action.CASE, summary="Remove from a case")
async def case_remove(request: Request, ref: CaseRef, body: MembersBody) -> Any:
    """Take networks (the ads they hold now; no longer followed) and single ads out of the case."""
    return await members_act(request, ref, body.networks, body.ads, remove=True)


@guarded(router, "POST", "/api/v1/cases/{ref}/notes", Action.CASE, status_code=201, summary="Note on a case")
async def case_note(request: Request, ref: CaseRef, body: NoteBody) -> Any:
    return await note_act(request, ref, body.body)


@guarded(router, "POST", "/api/v1/cases/{ref}/status", Action.CASE, summary="Open or close a case")
async def case_status(request: Request, ref: CaseRef, body: StatusBody) -> Any:
    return await status_act(request, ref, body.status)


@guarded(router, "POST", "/api/v1/cases/{ref}/analysts", Action.CASE, summary="Assign an analyst")
async def case_assign(request: Request, ref: CaseRef, body: AssignBody) -> Any:
    return await assign_act(request, ref, body.analyst)


@guarded(
    router,
    "POST",
    "/api/v1/cases/{ref}/evidence",
    Action.EXPORT_EVIDENCE,
    summary="A case's signed evidence package (a zipped BagIt bag)",
)
async def case_evidence(
    request: Request,
    ref: CaseRef,
    blur_images: bool = False,
    pdf: bool = True,
    mask_outside_case: bool = False,
    since: Annotated[datetime | None, Query(description="Drop ads dated before (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Drop ads dated after (ISO 8601).")] = None,
) -> Response:
    """The case's evidence package (its ads by network, its name, status, tags, analysts, notes),
    signed with the installation's evidence key, as a zip of the bag; audited with the caller as
    the exporter. ``mask_outside_case``: what only ads outside the case carry is masked."""
    from threadline.serve._api import evidence_act

    return await evidence_act(
        request,
        f"C{_case_id(ref)}",
        blur_images=blur_images,
        pdf=pdf,
        mask_outside_case=mask_outside_case,
        since=_utc(since),
        until=_utc(until),
    )


def _utc(at: datetime | None) -> datetime | None:
    """A time typed without an offset is UTC."""
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))


# -- the pages -----------------------------------------------------------------------------------


def _page(method: str, path: str, action: Action) -> Callable[[Any], Any]:
    return guarded(pages, method, path, action, response_class=HTMLResponse)


async def _form(request: Request) -> list[tuple[str, str]]:
    try:
        return parse_qsl((await request.body()).decode("utf-8"), max_num_fields=2100)
    except (ValueError, UnicodeDecodeError):
        return []


def _pick(pairs: list[tuple[str, str]], key: str) -> str:
    return next((v.strip() for k, v in pairs if k == key), "")


@_page("GET", "/cases", Action.READ)
async def cases_page(request: Request) -> Response:
    """Every case, and a form to make one."""
    who = caller(request)

    def run(cur: duckdb.DuckDBPyConnection) -> list[read.CaseRow]:
        found = read.cases(cur)
        _audit_read(context(request), who, "read cases", None)
        return found

    found = await run_in_threadpool(lambda: run(context(request).cursor()))
    problem = request.query_params.get("problem")
    return render(request, "cases.html", cases=found, problem=problem[:300] if problem else None)


@_page("POST", "/cases", Action.CASE)
async def cases_create(request: Request) -> Response:
    pairs = await _form(request)
    name = _pick(pairs, "name")
    tags = [t for t in (s.strip() for s in _pick(pairs, "tags").split(",")) if t]
    if not name:
        return RedirectResponse("/cases?" + urlencode({"problem": "Give the case a name."}), 303)
    try:
        ref = await create_act(request, name[:200], tags[:50])
    except HTTPException as exc:
        return RedirectResponse("/cases?" + urlencode({"problem": str(exc.detail)}), 303)
    return RedirectResponse(f"/cases/{ref}", 303)


@_page("GET", "/cases/{ref}", Action.READ)
async def case_page(request: Request, ref: str) -> Response:
    """A case: its members (the networks its ads are in, single ads), what is new since the reader
    last opened it, notices, its alerts (its entries' and its ads'), notes and the form to add one.
    Opening it is remembered."""
    from threadline.link.cases import opened

    case_id = _case_id(ref) if len(ref) <= 24 else 0
    who = caller(request)

    def run(
        cur: duckdb.DuckDBPyConnection,
    ) -> tuple[read.CaseView | None, tuple[list[watch.CaseAlert], int, int], dict[int, watch.Entry]]:
        view = read.case(cur, case_id, reader=who.name)
        if view is None:
            return None, ([], 0, 0), {}
        alerts = watch.case_alerts(cur, case_id, who.name)
        entries = alert_entries(cur, [c.alert for c in alerts[0]])
        _audit_read(context(request), who, "read case", f"C{case_id}")
        return view, alerts, entries

    view, (alerts, alerts_total, alerts_unread), entries = await run_in_threadpool(
        lambda: run(context(request).cursor())
    )
    if view is None:
        raise HTTPException(404, f"no case {ref}")

    # Remembered after the read (this page shows what was new before it was opened), by the
    # writer in its turn: the page does not wait behind a long ingest for it. The writer runs jobs
    # in order, so any act this reader posts next finds it done.
    # It touches nothing a kept answer reads (`_answers`): told so, it does not count as a change of
    # everything (which would drop every kept answer at each case page).
    def remember(con: duckdb.DuckDBPyConnection) -> None:
        with transaction(con, touches=()):
            opened(con, case_id, who.name)

    context(request).writer.submit("case opened", remember, told=True)
    done = request.query_params.get("done", "")[:200]
    problem = request.query_params.get("problem", "")[:300]
    return render(
        request,
        "case.html",
        view=view,
        notes=[(n, render_note(n.body)) for n in view.notes],
        alerts=[
            {
                **alert_row(c.alert, entries),
                "why_here": _why_here(c),
                "new": view.since is not None and c.alert.raised_at > view.since,
            }
            for c in alerts
        ],
        alerts_total=alerts_total,
        alerts_unread=alerts_unread,
        done=done or None,
        problem=problem or None,
    )


def _why_here(c: watch.CaseAlert) -> str:
    if c.by_entry and c.by_ad:
        return "its entry is this case's, and its ad is in the case"
    return "its entry is this case's" if c.by_entry else "its ad is in the case"


def _ads(n: int) -> str:
    return f"{n} ad{'' if n == 1 else 's'}"


def _back(ref: str, **said: str) -> Response:
    return RedirectResponse(f"/cases/{_q(ref)}?" + urlencode(said), 303)


@_page("POST", "/cases/{ref}/notes", Action.CASE)
async def case_note_page(request: Request, ref: str) -> Response:
    body = _pick(await _form(request), "body")
    if not body:
        return _back(ref, problem="A note needs some text.")
    try:
        done = await note_act(request, ref, body)
    except HTTPException as exc:
        return _back(ref, problem=str(exc.detail))
    return _back(ref, done=f"note {done['note']} added")


@_page("POST", "/cases/{ref}/status", Action.CASE)
async def case_status_page(request: Request, ref: str) -> Response:
    try:
        done = await status_act(request, ref, _pick(await _form(request), "status"))
    except HTTPException as exc:
        return _back(ref, problem=str(exc.detail))
    return _back(ref, done=f"case {done['status']}")


@_page("POST", "/cases/{ref}/analysts", Action.CASE)
async def case_assign_page(request: Request, ref: str) -> Response:
    analyst = _pick(await _form(request), "analyst")
    if not analyst:
        return _back(ref, problem="Name the analyst to assign.")
    try:
        done = await assign_act(request, ref, analyst[:64])
    except HTTPException as exc:
        return _back(ref, problem=str(exc.detail))
    return _back(ref, done=f"{analyst} {'assigned' if done['assigned'] else 'was assigned already'}")


@_page("POST", "/cases/{ref}/remove", Action.CASE)
async def case_remove_page(request: Request, ref: str) -> Response:
    """Take the networks and ads the form names out of the case."""
    pairs = await _form(request)
    networks = [v for k, v in pairs if k == "network" and v]
    ads = [v for k, v in pairs if k == "ad" and v]
    try:
        done = await members_act(request, ref, networks, ads, remove=True)
    except HTTPException as exc:
        return _back(ref, problem=str(exc.detail))
    return _back(ref, done=f"removed {_ads(sum(done['removed'].values()))}")


@_page("POST", "/cases/{ref}/evidence", Action.EXPORT_EVIDENCE)
async def case_evidence_page(request: Request, ref: str) -> Response:
    """The case's signed evidence package as a zip download, with the form's redaction options
    (audited, as the signed-in user); a bad date comes back to the case page."""
    from threadline.serve._api import evidence_act

    pairs = await _form(request)
    window: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        typed = _pick(pairs, name)
        try:
            at = _utc(datetime.fromisoformat(typed)) if typed else None
        except ValueError:
            return _back(ref, problem=f"{name}: not a date (YYYY-MM-DD): {typed[:40]}")
        if at is not None and name == "until" and len(typed) == 10:  # a day: to its end
            at += timedelta(days=1, microseconds=-1)
        window[name] = at
    return await evidence_act(
        request,
        f"C{_case_id(ref[:24])}",
        blur_images=_pick(pairs, "blur") == "1",
        pdf=_pick(pairs, "no_pdf") != "1",
        mask_outside_case=_pick(pairs, "mask") == "1",
        since=window["since"],
        until=window["until"],
    )


@_page("POST", "/cases/add", Action.CASE)
async def case_add_page(request: Request) -> Response:
    """Add the networks (and ads) a page's form names to the case it chose: the queue's selection,
    a network page, a search's ads; then the case page says what was added."""
    pairs = await _form(request)
    ref = _pick(pairs, "case")
    networks = [v for k, v in pairs if k == "network" and v]
    ads = [v for k, v in pairs if k == "ad" and v]
    if not ref:
        return RedirectResponse("/cases?" + urlencode({"problem": "Choose a case to add to."}), 303)
    try:
        done = await members_act(request, ref, networks, ads)
    except HTTPException as exc:
        return _back(ref, problem=str(exc.detail))
    added = done["added"]
    said = ", ".join(
        f"{k} ({_ads(v)})" if k != "ads" else f"{_ads(v).replace(' ad', ' single ad')}"
        for k, v in added.items()
    )
    return _back(ref, done=f"added {said}")
