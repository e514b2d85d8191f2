"""Watchlists and alerts over HTTP: ``/api/v1/watchlist`` and ``/api/v1/alerts``.

A new entry is the writer's job (it is matched once against every stored ad, and its alerts are
raised in the same transaction as the entry and its audit entry); reading the watchlist and the
inbox runs on the request's cursor and is audited. Removing another's entry needs a supervisor.
The pages (`_pages`) call the acts here, so a form and the API do the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from threadline import watch
from threadline.serve._api import to_json
from threadline.serve._auth import Caller, GuardedRoute, caller, context, guarded
from threadline.service._common import naive_utc
from threadline.service.roles import Action

__all__ = [
    "PART_NAMES",
    "add_entry_act",
    "alert_json",
    "entry_json",
    "mark_read_act",
    "remove_entry_act",
    "router",
]

router = APIRouter(route_class=GuardedRoute)


class EntryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["identifiers", "search", "photo", "missing"]
    spec: dict[str, Any] = Field(description="What to watch for (threadline.watch: by kind).")
    case: Annotated[
        str | None, Field(default=None, max_length=24, description="An open case it belongs to: C….")
    ] = None
    note: Annotated[str | None, Field(default=None, max_length=2000)] = None
    expires: datetime | None = None


# How a page names each part of an entry that an ad matched.
PART_NAMES = {
    "identifier": "identifier",
    "name": "name or nickname",
    "age": "age in range",
    "place": "place",
    "date": "date",
    "photo": "photo",
    "words": "words",
}


class ReadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alerts: Annotated[list[str], Field(min_length=1, max_length=500)]


def entry_json(e: watch.Entry) -> dict[str, Any]:
    out: dict[str, Any] = to_json(e)
    out["entry"] = e.ref
    out["active"] = e.active
    out["case"] = e.case_ref
    return out


def alert_json(a: watch.Alert) -> dict[str, Any]:
    out: dict[str, Any] = to_json(a)
    out["alert"], out["entry"] = a.ref, a.entry_ref
    out["path"] = f"/alerts/{a.ref}"
    return out


async def _job(request: Request, name: str, fn: Callable[[duckdb.DuckDBPyConnection, Caller], Any]) -> Any:
    """``fn(con, caller)`` as the writer's job, with the audit's books held; refusals as 4xx."""
    ctx, who = context(request), caller(request)

    def job(con: duckdb.DuckDBPyConnection) -> Any:
        with ctx.books:
            return fn(con, who)

    try:
        return await asyncio.wrap_future(ctx.writer.submit(name, job))
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from None


def _audited_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "photo"} | ({"photo": "given"} if spec.get("photo") else {})


async def add_entry_act(
    request: Request,
    kind: str,
    spec: dict[str, Any],
    case: str | None,
    note: str | None,
    expires: datetime | None,
) -> tuple[watch.Entry, list[int]]:
    """A new watchlist entry as the caller (the API's act and the watchlist page's form)."""
    from threadline.service import audit
    from threadline.store._tx import transaction

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> tuple[watch.Entry, list[int]]:
        with transaction(con):
            made, raised = watch.add_entry(
                con,
                kind,
                spec,
                owner=who.name,
                case_id=case,
                note=note,
                expires_at=None if expires is None else naive_utc(expires),
            )
            detail = who.detail(
                kind=kind, spec=_audited_spec(made.spec), case=made.case_id, note=note, alerts=len(raised)
            )
            audit.append_within(con, who.actor, "watch add", made.ref, detail)
        return made, raised

    result: tuple[watch.Entry, list[int]] = await _job(request, "watch add", fn)
    return result


async def remove_entry_act(request: Request, ref: str) -> watch.Entry:
    """Stop entry ``ref`` as the caller (another's needs a supervisor)."""
    from threadline.service import audit
    from threadline.store._tx import transaction

    try:
        number = watch.parse_ref(ref)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> watch.Entry:
        with transaction(con):
            removed = watch.remove_entry(con, number, by=who.name, may_others=who.may(Action.REVOKE_OTHERS))
            audit.append_within(con, who.actor, "watch remove", removed.ref, who.detail())
        return removed

    result: watch.Entry = await _job(request, "watch remove", fn)
    return result


async def mark_read_act(request: Request, refs: list[str]) -> int:
    """Mark alerts read for the caller; returns how many were unread."""
    from threadline.service import audit
    from threadline.store._tx import transaction

    try:
        numbers = sorted({watch.parse_alert_ref(r) for r in refs})
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None

    def fn(con: duckdb.DuckDBPyConnection, who: Caller) -> int:
        with transaction(con):
            done = watch.mark_read(con, numbers, who.name)
            audit.append_within(
                con, who.actor, "mark alerts read", None, who.detail(alerts=[f"A{n}" for n in numbers])
            )
        return done

    result: int = await _job(request, "mark alerts read", fn)
    return result


def _audit_read(request: Request, action: str, obj: str | None, **detail: Any) -> None:
    from threadline.serve._api import _audit_read as audit_read

    audit_read(context(request), caller(request), action, obj, **detail)


@guarded(router, "GET", "/api/v1/watchlist", Action.READ, summary="The watchlist")
async def watchlist(request: Request, removed: bool = False) -> Any:
    """Every watchlist entry, newest first (with ``removed=true``, the removed ones too)."""

    def run() -> Any:
        items = [entry_json(e) for e in watch.entries(context(request).cursor(), removed=removed)]
        _audit_read(request, "read watchlist", None)
        return {"items": items}

    return await run_in_threadpool(run)


@guarded(router, "POST", "/api/v1/watchlist", Action.WATCH, status_code=201, summary="Add a watchlist entry")
async def watch_add(request: Request, body: EntryBody) -> Any:
    """Add an entry (identifiers, a saved search, a photo as base64, a missing person); it is
    matched against every stored ad at once, and against each new ad from then on."""
    made, raised = await add_entry_act(request, body.kind, body.spec, body.case, body.note, body.expires)
    return {"entry": entry_json(made), "alerts": [f"A{a}" for a in raised]}


@guarded(router, "POST", "/api/v1/watchlist/{ref}/remove", Action.WATCH, summary="Remove a watchlist entry")
async def watch_remove(request: Request, ref: Annotated[str, Path(max_length=24)]) -> Any:
    """Stop an entry (kept on record with its alerts). Others' need a supervisor."""
    return {"entry": entry_json(await remove_entry_act(request, ref))}


@guarded(router, "GET", "/api/v1/alerts", Action.READ, summary="Alerts (the inbox)")
async def alerts(
    request: Request,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Any:
    """Alerts newest first, each with its ad, its entry, why it matched, and whether the caller
    read it; ``unread``: only those the caller has not."""
    who = caller(request)

    def run() -> Any:
        cur = context(request).cursor()
        found, total = watch.alerts(cur, who.name, unread=unread, limit=limit, offset=offset)
        count = watch.unread_count(cur, who.name)
        _audit_read(request, "read alerts", None, unread=unread or None, offset=offset or None)
        return {"items": [alert_json(a) for a in found], "total": total, "unread": count}

    return await run_in_threadpool(run)


@guarded(router, "GET", "/api/v1/alerts/{ref}", Action.READ, summary="One alert")
async def one_alert(request: Request, ref: Annotated[str, Path(max_length=24)]) -> Any:
    """One alert with why it matched, and how its deliveries went (sent, pending with the last
    error and the next try, or failed)."""
    who = caller(request)
    try:
        number = watch.parse_alert_ref(ref)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None

    def run() -> Any:
        from threadline.watch._deliver import deliveries

        cur = context(request).cursor()
        found = watch.alert(cur, number, who.name)
        if found is None:
            raise HTTPException(404, f"no alert A{number}")
        _audit_read(request, "read alert", found.ref)
        return alert_json(found) | {"deliveries": to_json(deliveries(cur, number))}

    return await run_in_threadpool(run)


@guarded(router, "POST", "/api/v1/alerts/read", Action.MARK_READ, summary="Mark alerts read")
async def alerts_read(request: Request, body: ReadBody) -> Any:
    """Mark alerts read for the caller (others' read-state is theirs)."""
    return {"marked": await mark_read_act(request, body.alerts)}
