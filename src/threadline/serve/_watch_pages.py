"""The watchlist and the inbox as pages: ``/watchlist`` (entries and a form to add one, a photo
uploaded with it) and ``/alerts`` (alerts newest first, each saying why it matched, marked read per
user; ``/alerts/A12`` is where a delivery's link leads). Every page's bar shows how many alerts
the user has not read (`unread_for`, used by `_pages.render`).

Forms post like the others (`_pages.PageRoute`: CSRF token as a form field); the watchlist's is
``multipart/form-data`` for its photo, read here with the standard library's MIME parser (the
body is capped by the server's --max-body before any of it is read).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import duckdb
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from threadline import read, watch
from threadline.serve._auth import caller
from threadline.serve._pages import _audit_read, _form, _read, multipart, page, render
from threadline.serve._watch import PART_NAMES, add_entry_act, mark_read_act, remove_entry_act
from threadline.service.roles import Action

__all__ = ["alert_entries", "alert_row"]

_CASE_PAGE = re.compile(r"/cases/C[0-9]{1,18}")
_KIND_NAMES = {
    "identifiers": "identifiers",
    "search": "saved search",
    "photo": "photo",
    "missing": "missing person",
}


async def _watchlist_view(
    request: Request, status: int = 200, problem: str | None = None, typed: dict[str, str] | None = None
) -> Response:
    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[watch.Entry], list[read.CaseChoice]]:
        found = watch.entries(cur)
        cases = read.case_choices(cur)  # an entry's case is chosen among these
        _audit_read(request, "read watchlist", None)
        return found, cases

    found, cases = await _read(request, run)
    return render(
        request,
        "watchlist.html",
        status=status,
        entries=found,
        cases=cases,
        kinds=_KIND_NAMES,
        problem=problem,
        typed=typed or {"kind": "missing"},
        added=request.query_params.get("added"),
        raised=request.query_params.get("raised"),
        removed=request.query_params.get("removed"),
    )


@page("GET", "/watchlist", Action.READ)
async def watchlist_page(request: Request) -> Response:
    """Every active entry with its owner, case, note, expiry and alerts; a form to add one
    (``?case=C4``: with that case chosen, as a case's page links here)."""
    return await _watchlist_view(
        request, typed={"kind": "missing", "case": request.query_params.get("case", "")[:24]}
    )


def _spec(kind: str, form: dict[str, str], photo: bytes | None) -> dict[str, Any]:
    def text(key: str) -> str:
        return form.get(key, "").strip()

    if kind == "identifiers":
        return {
            "values": [
                v for v in text("values").replace("\r", "").replace(",", "\n").split("\n") if v.strip()
            ]
        }
    spec: dict[str, Any] = {
        "age_min": text("age_min") or None,
        "age_max": text("age_max") or None,
        "place": text("place") or None,
        "date_from": text("date_from") or None,
        "date_to": text("date_to") or None,
    }
    if kind == "search":
        spec |= {"words": text("words") or None, "name": text("names") or None}
    else:
        spec["names"] = [n for n in text("names").replace(",", "\n").split("\n") if n.strip()]
    if photo:
        spec["photo"] = base64.b64encode(photo).decode()
    if kind == "photo":
        return {"photo": spec.get("photo")}
    return spec


@page("POST", "/watchlist", Action.WATCH)
async def watchlist_add(request: Request) -> Response:
    """Add an entry from the form (a photo as an upload), matched at once against every stored
    ad; then back to the list saying how many alerts that raised (Post/Redirect/Get)."""
    form, files = await multipart(request)
    if not form:
        form = await _form(request)
    kind = form.get("kind", "")
    typed = {k: v[:2000] for k, v in form.items() if k not in ("csrf_token",)}
    if kind not in _KIND_NAMES:
        return await _watchlist_view(
            request, 422, f"kind: choose one of {', '.join(_KIND_NAMES.values())}", typed
        )
    expires = None
    if form.get("expires", "").strip():
        try:
            expires = datetime.fromisoformat(form["expires"].strip())
        except ValueError:
            return await _watchlist_view(request, 422, "expires: a date (YYYY-MM-DD)", typed)
    try:
        made, raised = await add_entry_act(
            request,
            kind,
            _spec(kind, form, files.get("photo")),
            form.get("case", "").strip() or None,
            form.get("note", "").strip() or None,
            expires,
        )
    except HTTPException as exc:
        reason = exc.detail if isinstance(exc.detail, str) else "refused"
        return await _watchlist_view(request, exc.status_code, reason, typed)
    return RedirectResponse("/watchlist?" + urlencode({"added": made.ref, "raised": len(raised)}), 303)


@page("POST", "/watchlist/{ref}/remove", Action.WATCH)
async def watchlist_remove(request: Request, ref: str) -> Response:
    """Stop an entry (kept on record with its alerts)."""
    try:
        removed = await remove_entry_act(request, ref[:24])
    except HTTPException as exc:
        reason = exc.detail if isinstance(exc.detail, str) else "refused"
        return await _watchlist_view(request, exc.status_code, reason)
    return RedirectResponse("/watchlist?" + urlencode({"removed": removed.ref}), 303)


def alert_entries(cur: duckdb.DuckDBPyConnection, alerts: list[watch.Alert]) -> dict[int, watch.Entry]:
    """The entries that raised ``alerts``, removed ones too, by number."""
    wanted = {a.entry for a in alerts}
    return {e.entry: e for e in watch.entries(cur, removed=True) if e.entry in wanted} if wanted else {}


def alert_row(a: watch.Alert, entries: dict[int, watch.Entry]) -> dict[str, Any]:
    """An alert as a row of the inbox and of a case's page (`_macros.html`'s ``alert_row``): its
    entry (None if unknown), the entry's kind, the parts it matched and why, as shown."""
    return {
        "alert": a,
        "entry": entries.get(a.entry),
        "kind": _KIND_NAMES.get(a.entry_kind, a.entry_kind),
        "parts": [PART_NAMES.get(p, p) for p in a.parts],
        "why": [(PART_NAMES.get(w["part"], w["part"]), w["value"]) for w in a.why],
    }


async def _inbox(request: Request, only: int | None = None) -> Response:
    who = caller(request)
    unread = request.query_params.get("unread") == "1"

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[watch.Alert], int, dict[int, watch.Entry]]:
        if only is not None:
            one = watch.alert(cur, only, who.name)
            found, total = ([one], 1) if one is not None else ([], 0)
        else:
            found, total = watch.alerts(cur, who.name, unread=unread, limit=200)
        entries = alert_entries(cur, found)
        _audit_read(
            request, "read alert" if only is not None else "read alerts", f"A{only}" if only else None
        )
        return found, total, entries

    found, total, entries = await _read(request, run)
    if only is not None and not found:
        raise HTTPException(404, f"no alert A{only}")
    return render(
        request,
        "alerts.html",
        rows=[alert_row(a, entries) for a in found],
        total=total,
        only=only,
        unread_only=unread,
        marked=request.query_params.get("marked"),
    )


@page("GET", "/alerts", Action.READ)
async def alerts_page(request: Request) -> Response:
    """The inbox: alerts newest first, each with its ad, its entry and why it matched."""
    return await _inbox(request)


@page("GET", "/alerts/{ref}", Action.READ)
async def alert_page(request: Request, ref: str) -> Response:
    """One alert: where a delivery's link leads."""
    try:
        number = watch.parse_alert_ref(ref[:24])
    except ValueError:
        raise HTTPException(404, f"no alert {ref[:24]}") from None
    return await _inbox(request, number)


@page("POST", "/alerts/read", Action.MARK_READ)
async def alerts_mark_read(request: Request) -> Response:
    """Mark the alerts named in the form read for the user, then back to the inbox."""
    form = await _form(request)
    refs = [r for r in form.get("alerts", "").split(",") if r.strip()][:500]
    if not refs:
        raise HTTPException(422, "no alert to mark read")
    marked = await mark_read_act(request, refs)
    back = form.get("back", "/alerts")
    if _CASE_PAGE.fullmatch(back):  # marked on a case's page: back there, saying so
        said = f"{marked} alert{'' if marked == 1 else 's'} marked read"
        return RedirectResponse(back + "?" + urlencode({"done": said}), 303)
    back = back if back.startswith("/alerts") and "//" not in back else "/alerts"
    return RedirectResponse(back + ("&" if "?" in back else "?") + urlencode({"marked": marked}), 303)
