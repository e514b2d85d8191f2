"""The workspace's pages: server-rendered HTML from the same process as the API.

Jinja2 templates (``templates/``, autoescaped: every value is escaped unless it is `Markup` built
by `_markup` from escaped pieces) and the vendored stylesheet and script (``static/``, nothing
from the network; the CSP set in `_http` allows only these). Each page reads through
`threadline.read`, as the API does, and is audited as the API's read of the same thing.

A page is a `PageRoute`: guarded like an API route (it names its `Action`; deny by default), but
a browser without a session is sent to the sign-in page instead of getting 401 JSON, a refusal
is a page, and a POST carries the session's CSRF token as a form field (a form cannot set the
``X-CSRF-Token`` header).
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

import duckdb
import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.staticfiles import StaticFiles

from threadline import read
from threadline.serve._auth import (
    LOGIN_FORM_COOKIE,
    LOGIN_FORM_FIELD,
    SIGNED_IN,
    Caller,
    GuardedRoute,
    caller,
    context,
    guarded,
    local_path,
    secure,
)
from threadline.serve._drawings import drawing_data, timeline
from threadline.serve._markup import Span, describe, highlight, source_link, visible
from threadline.service import accounts, sessions
from threadline.service.roles import Action
from threadline.store._tx import network_tags

__all__ = ["CSRF_FIELD", "PAGE_SIZE", "STATIC", "PageRoute", "login_page", "router", "static_files"]

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
CSRF_FIELD = "csrf_token"  # a page form's copy of the session's CSRF token
PAGE_SIZE = 50  # networks per queue page, ads per network page
LABELS = ("trafficking", "independent", "unsure")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_FIELD = 200
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, day=_day, priority=_priority, visible=visible, q=_q, basename=_basename)
    env.globals.update(source_link=source_link)
    return env


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "–"


def _day(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d") if at is not None else "–"


def _priority(score: float | None) -> str:
    return f"{score:.3f}" if score is not None and math.isfinite(score) else "–"


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _q(value: str) -> str:
    """A value as one segment of a path (an ad's source or id may hold anything)."""
    return quote(value, safe="")


def _paging(at: Callable[[int], str], offset: int, shown: int, more: bool) -> dict[str, Any]:
    """A list page's links and range: ``before`` and ``after`` (the addresses ``at(offset)`` of the
    pages around this one, None at either end), ``first`` and ``last`` (1-based) of the ``shown``
    rows from ``offset``; ``more``: rows follow this page."""
    return {
        "before": at(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "after": at(offset + PAGE_SIZE) if more else None,
        "first": offset + 1,
        "last": offset + shown,
    }


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page: ``template`` with ``values``, who is signed in (always shown) and the session's
    CSRF token for the page's forms. The template is rendered (and the alerts' count read) on a
    worker thread as the response is sent, never on the event loop: a large page must not hold
    up every other request's reading and writing."""
    who: Caller | None = getattr(request.state, "caller", None)
    csrf = who.session.csrf_token if who is not None and who.session is not None else None

    def page() -> bytes:
        unread = _unread(request, who)
        html = (
            _templates()
            .get_template(template)
            .render(me=who, csrf=csrf, csrf_field=CSRF_FIELD, unread_alerts=unread, **values)
        )
        return html.encode("utf-8")

    return _Page(page, status)


class _Page(HTMLResponse):
    """An HTML response whose body is made on a worker thread when it is sent (see `render`);
    its headers (cookies, caching) can be set before, as on any response."""

    def __init__(self, make: Callable[[], bytes], status: int) -> None:
        super().__init__(b"", status_code=status)
        self._make: Callable[[], bytes] | None = make

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._make is not None:
            make, self._make = self._make, None
            self.body = await run_in_threadpool(make)
            self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


def _unread(request: Request, who: Caller | None) -> int | None:
    """How many alerts the user has not read, for the bar of every page (None: not shown)."""
    if who is None or not who.may(Action.READ):
        return None
    from threadline.watch import unread_count

    try:
        return unread_count(context(request).cursor(), who.name)
    except duckdb.Error:  # the count is a courtesy: a page never fails for it
        return None


def _error_page(request: Request, status: int, reason: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, reason=reason)


def _to_login(request: Request) -> Response:
    """To the sign-in page, which brings the browser back here after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": local_path(here)}), 303)


class PageRoute(GuardedRoute):
    """A page: the caller is checked first, as for the API, but without a session the browser goes
    to the sign-in page (303), a refusal or a missing thing is a page with its status, and a POST
    made with the session cookie must carry the session's CSRF token in the form field
    ``csrf_token`` (checked only once the caller is known: a stranger's body is never read)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = APIRoute.get_route_handler(self)  # the route itself, without the API's guard

        async def page_handler(request: Request) -> Response:
            try:
                who = await run_in_threadpool(self.guard.identify, request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    return _to_login(request)
                raise
            try:
                if who.session is not None and request.method not in _SAFE_METHODS:
                    sent = (await _form(request)).get(CSRF_FIELD)
                    if not sessions.csrf_ok(who.session, sent):
                        raise HTTPException(403, "this form is out of date: reload the page and try again")
                self.guard.authorise(request, who)
                return await handler(request)
            except HTTPException as exc:
                reason = exc.detail if isinstance(exc.detail, str) else "refused"
                return _error_page(request, exc.status_code, reason)
            except RequestValidationError:
                return _error_page(request, 404, f"no page {request.url.path}")

        return page_handler


_MAX_PARTS = 40  # fields of a multipart form (the watchlist's has a dozen)


async def multipart(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """The text fields and the files of a ``multipart/form-data`` body (a form with a file
    input): read with the standard library's MIME parser from the body, whose size the server
    capped before reading it. Empty for any other body."""
    from email.parser import BytesParser
    from email.policy import HTTP

    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return {}, {}
    body = await request.body()
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields, files
    for n, part in enumerate(message.iter_parts()):
        if n >= _MAX_PARTS:
            break
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if part.get_filename() is not None:
            if data:
                files.setdefault(name, data)
        else:
            fields.setdefault(name, data.decode("utf-8", "replace"))
    return fields, files


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return (await multipart(request))[0]
    if kind != "application/x-www-form-urlencoded":
        return {}
    try:
        form = parse_qs(
            (await request.body()).decode("utf-8"), max_num_fields=2100
        )  # a separation ticks many ads
    except (ValueError, UnicodeDecodeError):
        return {}
    return {key: values[0] for key, values in form.items()}


router = APIRouter(route_class=PageRoute, include_in_schema=False)  # pages: not in the API's description


def page(method: str, path: str, action: Action | str) -> Callable[[_Endpoint], _Endpoint]:
    return guarded(router, method, path, action, response_class=HTMLResponse)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def _audit_read(request: Request, action: str, obj: str | None, **detail: Any) -> None:
    from threadline.serve._api import _audit_read as audit_read  # the API's reads' audit, shared

    audit_read(context(request), caller(request), action, obj, **detail)


async def _read(request: Request, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
    """``fn(cursor)`` on a worker thread, with that thread's cursor (it reads and audits)."""
    ctx = context(request)
    return await run_in_threadpool(lambda: fn(ctx.cursor()))


class _NotFound(Exception):
    """A kept page read found nothing (not kept: it may be there on the next read)."""


# What a page's kept reads (`_kept`) may read: everything linking and scoring saved, and the ads as
# stored (an ingest's batch touches "ads", a link or score run "links"); anything else that
# changes (an analyst's act, a case, a hash list) is a change of everything (`_answers`).
_PAGE_TAGS = ("links", "ads")


async def _kept(
    request: Request,
    key: tuple[Any, ...],
    fn: Callable[[duckdb.DuckDBPyConnection], tuple[Any, Iterable[str]] | None],
    audit: Callable[[Any], None],
    *,
    tags: Iterable[str] = _PAGE_TAGS,
) -> Any:
    """A page's reads ``fn(cursor)`` (its values and the tags of what they read beyond ``tags``;
    None: nothing found), kept as the API's answers are (`_answers`, per role) until a commit
    touches what they read, so that twenty analysts opening the same page cost one read;
    ``audit(values)`` records the read every time, kept or not. None when nothing was found (not
    kept, not audited)."""
    from threadline.serve._answers import Answer

    ctx = context(request)
    who = caller(request)

    def read(cur: duckdb.DuckDBPyConnection, seen: int, busy: bool, made: float) -> Answer:
        found = fn(cur)
        if found is None:
            raise _NotFound
        values, read_tags = found
        # Counted against the answers' bound as about what its objects hold: some 3 to 4 times
        # its text (a network page's, measured with tracemalloc).
        size = 4 * len(repr(values))
        return Answer(b"", values, seen, frozenset((*tags, *read_tags)), made, busy, size)

    def run() -> Any:
        try:
            answer, _ = ctx.kept(("page", who.role, *key), read)
        except _NotFound:
            return None
        audit(answer.meta)
        return answer.meta

    return await run_in_threadpool(run)


# -- sign in and out -----------------------------------------------------------------------------

_LOGIN_ERRORS = {
    "failed": "Sign-in failed: check the name and the password.",
    "totp": "This account has a second factor: enter the code from its app.",
    "missing": "Enter a name and a password.",
    "expired": "The sign-in form had expired: try again.",
}


async def login_page(request: Request) -> Response:
    """The sign-in form (open). It posts to ``POST /login`` (`_auth`), which comes back here with
    a fixed error code, or goes on to ``next``. Signed in already: straight to ``next``."""
    next_path = local_path(request.query_params.get("next"))
    ctx = context(request)
    from threadline.serve._auth import cookie_name

    session_id = request.cookies.get(cookie_name(request))
    if session_id:
        found = await run_in_threadpool(lambda: sessions.lookup_session(ctx.cursor(), session_id))
        if found is not None:
            return RedirectResponse(next_path, 303)
    token = secrets.token_urlsafe(24)
    error = _LOGIN_ERRORS.get(request.query_params.get("error", ""))
    response = render(
        request,
        "login.html",
        status=200,
        error=error,
        signed_out=request.query_params.get("signed_out") == "1",
        next=next_path,
        token=token,
        token_field=LOGIN_FORM_FIELD,
        ask_totp=request.query_params.get("error") == "totp",
    )
    response.set_cookie(
        LOGIN_FORM_COOKIE,
        token,
        max_age=3600,
        path="/login",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@page("POST", "/signout", SIGNED_IN)
async def sign_out(request: Request) -> Response:
    """End the session (audited) and go to the sign-in page."""
    from threadline.serve._auth import cookie_name

    ctx = context(request)
    session_id = request.cookies.get(cookie_name(request))

    def end() -> None:
        if session_id:
            with ctx.books:
                sessions.end_session(ctx.cursor(), session_id, request.client.host if request.client else "")

    await run_in_threadpool(end)
    response = RedirectResponse("/login?signed_out=1", 303)
    response.delete_cookie(cookie_name(request), path="/", secure=secure(request))
    return response


# -- the triage queue ----------------------------------------------------------------------------


@dataclass
class QueueForm:
    """The queue's filters as the form holds them (text), what they mean, and what was wrong."""

    shown: dict[str, str]  # field -> value as typed, to fill the form again
    filters: dict[str, Any]  # read.queue's keyword arguments
    problems: list[str]
    offset: int


def _date(text: str) -> date:
    return date.fromisoformat(text)


def queue_form(params: dict[str, str]) -> QueueForm:
    """Read the queue's GET form. An empty field is no filter; a wrong one is said and left out
    (a page, not a 422)."""
    shown: dict[str, str] = {}
    filters: dict[str, Any] = {}
    problems: list[str] = []
    names = (
        "date_from",
        "date_to",
        "place",
        "source",
        "min_score",
        "label",
        "new_since",
        "removed_since",
        "sort",
    )
    for name in names:
        value = params.get(name, "").strip()[:_MAX_FIELD]
        if not value:
            continue
        shown[name] = value
        try:
            if name == "date_from":
                filters[name] = datetime.combine(_date(value), time.min)
            elif name == "date_to":  # the whole day
                filters[name] = datetime.combine(_date(value), time.min) + timedelta(days=1, microseconds=-1)
            elif name in ("new_since", "removed_since"):
                filters[name] = datetime.fromisoformat(value).replace(tzinfo=None)
            elif name == "min_score":
                score = float(value)
                if not 0 <= score <= 1:
                    raise ValueError
                filters[name] = score
            elif name == "label":
                if value not in LABELS:
                    raise ValueError
                filters[name] = value
            elif name == "sort":
                if value not in read.SORTS:
                    raise ValueError
                filters[name] = value
            else:
                filters[name] = value
        except ValueError:
            problems.append(f"{name.replace('_', ' ')}: {value!r} is not understood, left out")
            del shown[name]
    return QueueForm(shown, filters, problems, _offset(params.get("offset")))


@page("GET", "/", Action.READ)
async def queue_page(request: Request) -> Response:
    """Networks by priority, each row saying why it ranks; filters, pages, keyboard (static JS)."""
    form = queue_form({k: v for k, v in request.query_params.items()})

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Iterable[str]]:
        found = read.queue(cur, **form.filters, limit=PAGE_SIZE, offset=form.offset, reasons=3)
        matched = _flagged_networks(cur, [n.network for n in found.items])
        return (found, read.case_choices(cur), matched), ()

    def audit(_: Any) -> None:
        said = {k: str(v) for k, v in form.filters.items() if k != "sort"}
        sort = form.filters.get("sort", "priority")
        _audit_read(request, "read queue", None, **said, sort=sort, offset=form.offset)

    key = ("queue", tuple(sorted((k, str(v)) for k, v in form.filters.items())), form.offset)
    found, cases, matched = await _kept(request, key, run, audit)  # one trip to a worker thread

    def at(offset: int) -> str:
        return "/?" + urlencode({**form.shown, "offset": offset})

    return render(
        request,
        "queue.html",
        page=found,
        form=form.shown,
        problems=form.problems,
        labels=LABELS,
        sorts=read.SORTS,
        cases=cases,
        hash_matched=matched,
        **_paging(at, form.offset, len(found.items), form.offset + len(found.items) < found.total),
    )


# -- a network -----------------------------------------------------------------------------------


@page("GET", "/networks/{network_id}", Action.READ)
async def network_page(request: Request, network_id: str) -> Response:
    """A network's persons, identifiers, ads (a page), score reasons, hubs, itinerary, decisions,
    and the acts on it (label, separate, revoke), each asking for a reason."""
    return await _network_view(request, network_id, _offset(request.query_params.get("offset")))


async def _network_view(
    request: Request, network_id: str, offset: int, *, status: int = 200, problem: str | None = None
) -> Response:
    if len(network_id) > 40:
        raise HTTPException(404, "no such network")
    done = request.query_params.get("done", "") if problem is None else ""
    nodes = _graph_nodes(request.query_params.get("nodes"))
    hubs_shown = _hubs_shown(request.query_params.get("hubs"))

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any], Iterable[str]] | None:
        from threadline.link.text import text_hub_examples

        uses: set[str] = set()  # what it read besides what linking and scoring saved, and the ads
        view = read.network(cur, network_id, ads_limit=PAGE_SIZE, ads_offset=offset, uses=uses)
        if view is None:
            return None
        graph = read.network_graph(cur, view.network, nodes, view=view)
        assert graph is not None  # the view found its persons
        persons = [p for p, _, _ in view.persons]
        person_stays = read.person_itineraries(cur, view.network)
        stays = [*view.itinerary, *(stay for own in person_stays.values() for stay in own)]
        places = context(request).coordinates.of(cur, {stay.place for stay in stays})
        drawn = drawing_data(graph, view.itinerary, view.circuits, places, view.network, person_stays)
        # A text hub is named by its sentences' hashes: the page shows the sentences (masked).
        shown = view.hubs[:hubs_shown]
        values = {
            "view": view,
            "texts": text_hub_examples(cur, [value for kind, value, *_ in shown if kind == "text"]),
            "drawn": drawn,
            "activity": timeline(read.network_activity(cur, view.network), persons),
            "hash_matched": _flagged_networks(cur, [view.network]).get(view.network, 0),
            "cases": read.case_choices(cur),
            "in_cases": read.network_cases(cur, view.network),
        }
        # Stale once a run touches the network it is now or the one asked for (ids merged away
        # or split name another), as the API's view of it.
        return values, {*network_tags((view.network, network_id)), *uses}

    def audit(values: dict[str, Any]) -> None:
        _audit_read(request, "read network", values["view"].network, asked=network_id)

    key = ("network", network_id, offset, nodes, hubs_shown)
    found = await _kept(request, key, run, audit)  # one trip to a worker thread for all the page reads
    if found is None:
        raise HTTPException(404, f"no network {network_id}")
    view, drawn = found["view"], found["drawn"]
    ads = view.ads
    here = f"/networks/{_q(view.network)}"
    writer = context(request).writer
    return render(
        request,
        "network.html",
        status=status,
        **found,
        hubs=view.hubs[:hubs_shown],
        all_hubs_href=f"{here}?hubs=all#hubs",
        more_nodes=min(
            MAX_GRAPH_NODES, sum(drawn["graph"]["left_out"].values()) + len(drawn["graph"]["nodes"])
        ),
        asked=network_id,
        **_paging(
            lambda start: f"{here}?offset={start}",
            offset,
            len(ads.items),
            offset + len(ads.items) < ads.total,
        ),
        offset=offset,
        labels=LABELS,
        problem=problem,
        done=done if _DONE_ACT.fullmatch(done) else None,
        relinking=writer.running is not None or writer.pending > 0,
    )


def _flagged_networks(cur: duckdb.DuckDBPyConnection, networks: list[str]) -> dict[str, int]:
    """Networks with an image matching a hash list (mandatory reporting): how many images each."""
    from threadline.store.hashlists import flagged_networks

    return flagged_networks(cur, networks)


_DONE_ACT = re.compile(r"[DL]\d{1,12}( revoked)?")
# Hubs listed on a network's page, most ads first; all on asking (?hubs=all). A network that
# reuses popular copy-paste text touches thousands of sentence hubs: listing them all made its
# page 500 KB and 40% of its time.
HUBS_SHOWN = 25


def _hubs_shown(text: str | None) -> int:
    """How many hubs a network's page lists (``?hubs=``: a count, or ``all``)."""
    if text == "all":
        return sys.maxsize
    try:
        return max(int(text), 0) if text else HUBS_SHOWN
    except ValueError:
        return HUBS_SHOWN


MAX_GRAPH_NODES = 2000  # drawn on asking (?nodes=): a browser lays out that many in seconds


def _graph_nodes(text: str | None) -> int:
    """The graph's node cap a page asks for (``?nodes=``), within 1..`MAX_GRAPH_NODES`."""
    try:
        asked = int(text) if text else read.DEFAULT_GRAPH_CAP
    except ValueError:
        return read.DEFAULT_GRAPH_CAP
    return min(max(asked, 1), MAX_GRAPH_NODES)


async def _network_act(
    request: Request, network_id: str, act: Callable[[dict[str, str], list[tuple[str, str]]], Any]
) -> Response:
    """An act posted from a network page: its reason required, ``act(form, pairs)`` run (an act of
    `_api`: the writer, audited), then back to the page saying what was recorded
    (Post/Redirect/Get); a refusal is the page again with the reason, and its status."""
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=2100)
    except (ValueError, UnicodeDecodeError):
        pairs = []
    form = {k: v for k, v in pairs}
    offset = _offset(form.get("offset"))
    note = form.get("note", "").strip()
    if not note:
        return await _network_view(
            request, network_id, offset, status=422, problem="Say why: a reason is required."
        )
    if len(note) > _MAX_NOTE:
        return await _network_view(
            request, network_id, offset, status=422, problem=f"A reason has at most {_MAX_NOTE} characters."
        )
    form["note"] = note
    try:
        done = await act(form, pairs)
    except HTTPException as exc:
        reason = exc.detail if isinstance(exc.detail, str) else "refused"
        return await _network_view(request, network_id, offset, status=exc.status_code, problem=reason)
    return RedirectResponse(f"/networks/{_q(network_id)}?" + urlencode({"done": done, "offset": offset}), 303)


@page("POST", "/networks/{network_id}/label", Action.LABEL)
async def network_label(request: Request, network_id: str) -> Response:
    """Label the network (trafficking, independent, unsure) with a reason."""
    from threadline.serve._api import label_act

    async def act(form: dict[str, str], _: list[tuple[str, str]]) -> str:
        if form.get("label") not in LABELS:
            raise HTTPException(422, f"Choose a label: {', '.join(LABELS)}.")
        return str((await label_act(request, network_id, form["label"], form["note"]))["label"])

    return await _network_act(request, network_id, act)


@page("POST", "/networks/{network_id}/evidence", Action.EXPORT_EVIDENCE)
async def network_evidence_package(request: Request, network_id: str) -> Response:
    """The network's signed evidence package as a zip download (audited, as the signed-in user);
    with a case chosen, only the network's ads in it, what only other ads carry masked."""
    from threadline.serve._api import evidence_act

    if not network_id.strip().upper().startswith("N"):
        raise HTTPException(404, f"no network {network_id[:40]}")
    form = await _form(request)
    case = (form.get("mask_case") or "").strip()[:24] or None
    return await evidence_act(
        request,
        network_id,
        blur_images=form.get("blur") == "1",
        pdf=True,
        mask_outside_case=case is not None,
        case=case,
    )


@page("POST", "/networks/{network_id}/separate", Action.SEPARATE)
async def network_separate(request: Request, network_id: str) -> Response:
    """Record that the ads ticked A are not linked to those ticked B, with a reason; link again."""
    from threadline.serve._api import separate_act

    async def act(_: dict[str, str], pairs: list[tuple[str, str]]) -> str:
        a = [v for k, v in pairs if k == "a"]
        b = [v for k, v in pairs if k == "b"]
        if not a or not b:
            raise HTTPException(422, "Tick at least one ad as A and one as B: A's are kept apart from B's.")
        if set(a) & set(b):
            raise HTTPException(422, "An ad is ticked both A and B: tick it on one side only.")
        if len(a) + len(b) > 1000:
            raise HTTPException(422, "At most 1000 ads in one separation.")
        note = dict(pairs).get("note", "").strip()
        return str((await separate_act(request, a, b, note, False))["decision"])

    return await _network_act(request, network_id, act)


@page("POST", "/networks/{network_id}/split", Action.SPLIT)
async def network_split(request: Request, network_id: str) -> Response:
    """Split the ads ticked A out of the network, with a reason: kept apart from its other ads
    from now on (its id stays with the larger part); link again."""
    from threadline.serve._api import split_act

    async def act(_: dict[str, str], pairs: list[tuple[str, str]]) -> str:
        ads = [v for k, v in pairs if k == "a"]
        if not ads:
            raise HTTPException(422, "Tick the ads to split out (column A).")
        if len(ads) > 1000:
            raise HTTPException(422, "At most 1000 ads in one split.")
        note = dict(pairs).get("note", "").strip()
        return str((await split_act(request, network_id, ads, note, False))["decision"])

    return await _network_act(request, network_id, act)


@page("POST", "/networks/{network_id}/merge", Action.MERGE)
async def network_merge(request: Request, network_id: str) -> Response:
    """Merge the network with another (N…) or with an ad (SOURCE:ID), with a reason: one ad of
    each is recorded as belonging together, which brings their networks into one; link again."""
    from threadline.serve._api import merge_act

    async def act(form: dict[str, str], _: list[tuple[str, str]]) -> str:
        other = form.get("other", "").strip()[:600]
        if not other:
            raise HTTPException(422, "Name the network (N…) or the ad (SOURCE:ID) to merge with.")

        def ads(cur: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
            def first_of(network: str) -> str | None:
                row = cur.execute(
                    "SELECT source, id FROM ad_links WHERE network = ? ORDER BY ad_key LIMIT 1", [network]
                ).fetchone()
                return f"{row[0]}:{row[1]}" if row else None

            theirs = first_of(other.upper()) if re.fullmatch(r"[Nn]\d+", other) else other
            return first_of(network_id), theirs

        mine, theirs = await _read(request, ads)
        if mine is None or theirs is None:
            raise HTTPException(404, f"No network or ad {other!r} to merge with.")
        note = form["note"]
        return str((await merge_act(request, [mine, theirs], note, False))["decision"])

    return await _network_act(request, network_id, act)


@page("POST", "/networks/{network_id}/revoke", Action.REVOKE_OWN)
async def network_revoke(request: Request, network_id: str) -> Response:
    """Withdraw a decision (D…) or a label (L…) of the network, with a reason (others' need a
    supervisor: the act refuses them)."""
    from threadline.serve._api import revoke_decision_act, revoke_label_act

    async def act(form: dict[str, str], _: list[tuple[str, str]]) -> str:
        ref = form.get("ref", "").strip().upper()
        if ref.startswith("L"):
            done = await revoke_label_act(request, ref, form["note"])
            return f"{done['label']} revoked"
        return f"{(await revoke_decision_act(request, ref, form['note'], False))['decision']} revoked"

    return await _network_act(request, network_id, act)


# -- an ad ---------------------------------------------------------------------------------------


@page("GET", "/ads/{source}/{ad_id:path}", Action.READ)
async def ad_page(request: Request, source: str, ad_id: str) -> Response:
    """An ad: its text with what was read from it marked, every version, its source address as
    text (a link only if http(s)), and its images withheld."""
    if len(source) > 200 or len(ad_id) > 400:
        raise HTTPException(404, "no such ad")

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[read.AdDetail | None, int]:
        from threadline.store.hashlists import flagged_ads

        detail = read.ad_detail(cur, source, ad_id)
        if detail is None:
            return None, 0
        _audit_read(request, "read ad", f"{source}:{ad_id}")
        return detail, flagged_ads(cur, [(source, ad_id)]).get((source, ad_id), 0)

    detail, matched = await _read(request, run)
    if detail is None:
        raise HTTPException(404, f"no ad {source}:{ad_id}")
    spans: dict[str, list[Span]] = {}
    found: list[tuple[str, str, str]] = []  # (kind, value, what it is), each once
    for e in detail.extracted:
        if e.kind not in read.MARKED_KINDS:
            continue
        label = describe(e.kind, e.value, e.detail)
        if e.field is not None and e.start is not None and e.end is not None:
            spans.setdefault(e.field, []).append(Span(e.start, e.end, e.kind, label))
        if (e.kind, e.value, label) not in found:
            found.append((e.kind, e.value, label))
    latest = detail.latest
    fields = [
        (key, highlight(value if isinstance(value, str) else str(value), spans.get(f"fields.{key}", [])))
        for key, value in sorted(latest.fields.items())
    ]
    versions = []
    previous = None
    for version in detail.versions:
        changes: list[tuple[str, str, str]] = []
        if previous is not None:
            changes = read.version_changes(previous, version)
        versions.append((version, changes))
        previous = version
    return render(
        request,
        "ad.html",
        ad=detail,
        latest=latest,
        title=highlight(latest.title, spans.get("title", [])),
        body=highlight(latest.body, spans.get("body", [])),
        location=highlight(latest.location or "", spans.get("location", [])),
        fields=fields,
        found=found,
        versions=list(reversed(versions)),
        hash_matched=matched,
    )


# -- images: blurred, revealed one by one (audited) --------------------------------------------------


async def _refuse_hidden(request: Request, sha256: str, route: str, *, minor_ok: bool = False) -> str | None:
    """403 (audited as "image refused") if the image is hidden: always when it matches a hash
    list; when an ad beside it states an age under 18 unless ``minor_ok`` (a supervisor's reveal
    with a reason). Why it is hidden, if it is and may be sent."""
    from threadline.serve import _images

    ctx = context(request)

    def check() -> str | None:
        why = _images.hidden(ctx.cursor(), sha256)
        if why is not None and not (minor_ok and why == "minor"):
            _audit_read(request, "image refused", sha256, hidden=why, route=route)
        return why

    why = await run_in_threadpool(check)
    if why is not None and not (minor_ok and why == "minor"):
        raise HTTPException(403, _images.HIDDEN_REASONS[why])
    return why


async def _image(request: Request, sha256: str, route: str, *, minor_ok: bool = False) -> bytes:
    from threadline.serve import _images

    if not _images.SHA256.fullmatch(sha256):
        raise HTTPException(404, "no such image")
    await _refuse_hidden(request, sha256, route, minor_ok=minor_ok)
    ctx = context(request)
    data = await run_in_threadpool(lambda: _images.image_bytes(ctx.cursor(), ctx.store.path, sha256))
    if data is None:
        raise HTTPException(404, "no such image, or its file is gone or changed since it was stored")
    return data


@page("GET", "/images/{sha256}/blurred", Action.READ)
async def image_blurred(request: Request, sha256: str) -> Response:
    """An ad's image shrunk, blurred and re-encoded (part of the ad's view, which is audited)."""
    from threadline.serve import _images

    data = await _image(request, sha256, "blurred")
    try:
        made = await run_in_threadpool(_images.blurred, sha256, data)
    except _images.ImageRefused as exc:
        raise HTTPException(415, str(exc)) from None
    return Response(made, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


@page("GET", "/images/{sha256}/original", Action.REVEAL_IMAGE)
async def image_original(request: Request, sha256: str) -> Response:
    """The image's original bytes, each time audited as "reveal image" with the ad it was shown
    for, never kept by the browser's cache."""
    from threadline.serve import _images

    data = await _image(request, sha256, "original")
    try:
        kind = _images.media_type(data)
    except _images.ImageRefused as exc:
        raise HTTPException(415, str(exc)) from None
    ad = request.query_params.get("ad", "")[:600] or None
    await run_in_threadpool(lambda: _audit_read(request, "reveal image", sha256, ad=ad))
    return Response(
        data, media_type=kind, headers={"Cache-Control": "no-store", "Content-Disposition": "inline"}
    )


@page("POST", "/images/{sha256}/reveal", Action.REVEAL_HIDDEN_IMAGE)
async def image_reveal_hidden(request: Request, sha256: str) -> Response:
    """A supervisor's (or an admin's) reveal of an image hidden because an ad beside it states an
    age under 18: the original, once, with the reason typed in the form, audited as "reveal
    hidden image" with that reason and the ad. An image matching a hash list is never sent."""
    from threadline.serve import _images

    form = await _form(request)
    reason = form.get("reason", "").strip()
    if not reason:
        raise HTTPException(422, "Say why: a reason is required to reveal a hidden image.")
    if len(reason) > _MAX_NOTE:
        raise HTTPException(422, f"A reason has at most {_MAX_NOTE} characters.")
    data = await _image(request, sha256, "reveal", minor_ok=True)
    try:
        kind = _images.media_type(data)
    except _images.ImageRefused as exc:
        raise HTTPException(415, str(exc)) from None
    ad = form.get("ad", "")[:600] or None
    await run_in_threadpool(
        lambda: _audit_read(request, "reveal hidden image", sha256, ad=ad, reason=reason[:_MAX_NOTE])
    )
    return Response(
        data, media_type=kind, headers={"Cache-Control": "no-store", "Content-Disposition": "inline"}
    )


# -- hash-list matches: images to report (supervisors and admins) ---------------------------------


async def _hash_matches_view(request: Request, *, status: int = 200, problem: str | None = None) -> Response:
    from threadline.store.hashlists import lists, matches

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
        found = matches(cur)
        _audit_read(request, "read hash matches", None, found=len(found))
        return found, lists(cur)

    found, loaded = await _read(request, run)
    done = request.query_params.get("done", "") if problem is None else ""
    return render(
        request,
        "hash_matches.html",
        status=status,
        found=found,
        loaded=loaded,
        problem=problem,
        done=done if re.fullmatch(r"[0-9a-f]{64}", done) else None,
    )


@page("GET", "/hash-matches", Action.HASH_MATCHES)
async def hash_matches_page(request: Request) -> Response:
    """The images matching a loaded hash list, to report (never the images: their hashes, the
    lists, their ads and networks), and the lists loaded; a form records a report."""
    return await _hash_matches_view(request)


@page("POST", "/hash-matches", Action.HASH_MATCHES)
async def hash_matches_report(request: Request) -> Response:
    """Record that a matching image was reported, with how (through the writer, audited)."""
    from threadline.serve._api import report_act

    form = await _form(request)
    sha = form.get("sha256", "").strip().lower()
    note = form.get("note", "").strip()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        return await _hash_matches_view(request, status=422, problem="Choose a matching image to report.")
    if not note or len(note) > _MAX_NOTE:
        return await _hash_matches_view(
            request, status=422, problem=f"Say how it was reported (1 to {_MAX_NOTE} characters)."
        )
    try:
        await report_act(request, sha, note)
    except HTTPException as exc:
        reason = exc.detail if isinstance(exc.detail, str) else "refused"
        return await _hash_matches_view(request, status=exc.status_code, problem=reason)
    return RedirectResponse("/hash-matches?" + urlencode({"done": sha}), 303)


# -- image search: a photo's near-identical images in the store ------------------------------------

PHOTO_PATHS = ("/search/image", "/watchlist")  # pages that take a photo: a larger body (`_app.wrap`)
MAX_PHOTO_BODY = 24 * 1024 * 1024


@page("GET", "/search/image", Action.SEARCH)
async def image_search_form(request: Request) -> Response:
    """A form to upload a photo and find the stored images near-identical to it."""
    return render(request, "image_search.html", found=None, problem=None)


@page("POST", "/search/image", Action.SEARCH)
async def image_search(request: Request) -> Response:
    """The stored images near-identical to the uploaded photo (PDQ or pHash, as linking judges
    them), shown blurred, with their ads and networks; audited as "image search" with the
    photo's SHA-256 (the photo itself is not kept)."""
    from threadline.read.images import PDQ_RADIUS, PHASH_RADIUS, similar_images
    from threadline.watch._entries import photo_hashes

    _, files = await multipart(request)
    data = files.get("photo", b"")
    try:
        hashed = await run_in_threadpool(photo_hashes, data)
    except ValueError as exc:
        return render(request, "image_search.html", status=422, found=None, problem=str(exc))

    def run(cur: duckdb.DuckDBPyConnection) -> list[Any]:
        found = similar_images(cur, str(hashed["pdq"]), str(hashed["phash"]))
        _audit_read(request, "image search", str(hashed["sha256"]), found=len(found))
        return found

    found = await _read(request, run)
    return render(
        request,
        "image_search.html",
        found=found,
        photo=hashed,
        radius={"pdq": PDQ_RADIUS, "phash": PHASH_RADIUS},
        problem=None,
    )


# -- search --------------------------------------------------------------------------------------

_MAX_QUERY = 500  # as the API's search


@page("GET", "/search", Action.SEARCH)
async def search_page(request: Request) -> Response:
    """What a query may mean, grouped: the identifier, name or id it was read as, with its
    networks, persons and ads; ads holding its words (paged); places whose name starts with it.
    The same `read.search` as ``GET /api/v1/search``, audited as it is."""
    q = request.query_params.get("q", "").strip()[:_MAX_QUERY]
    offset, groups_at = (_offset(request.query_params.get(name)) for name in ("offset", "groups"))
    if not q:
        return render(request, "search.html", q="", result=None, before=None, after=None)

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[Any, Iterable[str]]:
        uses: set[str] = set()  # what linking saved, the terms looked up; ads when words were ranked
        found = read.search(
            cur, q, limit=PAGE_SIZE, offset=offset, groups=PAGE_SIZE, groups_offset=groups_at, uses=uses
        )
        return (found, read.case_choices(cur)), uses

    def audit(_: Any) -> None:
        _audit_read(request, "search", q[:200], offset=offset, **({"groups": groups_at} if groups_at else {}))

    # Kept as the API's search is: until a commit touches what it read (`uses`), not any ingest.
    key = ("search", q, offset, groups_at)
    result, cases = await _kept(request, key, run, audit, tags=())  # one trip to a worker thread
    words = result.text

    def at(start: int) -> str:
        return "/search?" + urlencode(
            {"q": q, "offset": start, **({"groups": groups_at} if groups_at else {})}
        )

    def groups_page(start: int) -> str:
        return "/search?" + urlencode({"q": q, **({"offset": offset} if offset else {}), "groups": start})

    found = result.found
    shown = max(len(found.networks), len(found.persons))
    more = groups_at + shown < max(found.total_networks, found.total_persons)
    groups = _paging(groups_page, groups_at, shown, more)
    empty = not (found.matched or found.total_ads or words.total or result.places)
    return render(
        request,
        "search.html",
        q=q,
        result=result,
        empty=empty,
        cases=cases,
        groups=groups,
        **_paging(at, offset, len(words.items), offset + len(words.items) < words.total),
    )


# -- hubs ----------------------------------------------------------------------------------------

HUB_KINDS = ("phone", "email", "handle", "image", "text")
_HUB_DOING = {"hub": "marked a hub", "not-hub": "marked not a hub", "clear": "mark cleared"}
_DONE = re.compile(r"D\d{1,12}")
_MAX_NOTE = 2000  # as the API's note


@dataclass(frozen=True)
class HubRow:
    hub: read.Hub
    shown: str  # the value as a person reads it (a text hub's two sentences, masked)
    value: str  # the value as its form sends it: the mark's own when there is one
    state: str
    why: str
    mark: Any | None  # the analyst's decision in force for the value, if any
    short: str = ""  # the value named in a line (a text hub: an excerpt of its text)


def _hub_rows(cur: duckdb.DuckDBPyConnection, hubs: list[read.Hub]) -> list[HubRow]:
    texts = text_hub_names(cur, [h.value for h in hubs if h.kind == "text"])
    marks = {
        (d.decision.hub_kind, d.decision.hub_value): d.decision
        for d in read.decision_list(cur)
        if d.decision.kind in ("hub", "not-hub") and d.decision.active
    }
    rows = []
    for h in hubs:
        # A mark of a phone number holds for each of its tenures (``+1… from 2026-08-01``).
        mark = marks.get((h.kind, h.value)) or (
            marks.get((h.kind, h.value.split(" from ")[0])) if h.kind == "phone" else None
        )
        if h.marked_by is not None:
            state = f"{'hub' if h.is_hub else 'not a hub'}, marked by {h.marked_by}"
            said = mark.note if mark is not None and mark.note else "no reason given"
            why = f"{said} ({mark.ref})" if mark is not None else said
            if h.detected != h.is_hub:
                why += "; the data alone says " + ("hub" if h.detected else "not a hub")
        elif h.weak is not None:
            state, why = "weak link", h.weak
        else:
            state = "hub, detected"
            why = (
                f"in {h.ads} ads beside {h.co_phones} other phone{'' if h.co_phones == 1 else 's'} "
                f"and {h.names} self-stated name{'' if h.names == 1 else 's'}"
            )
        short, shown = texts.get(h.value, (h.value, h.value)) if h.kind == "text" else (h.value, h.value)
        rows.append(
            HubRow(
                h,
                shown,
                mark.hub_value if mark is not None and mark.hub_value else h.value,
                state,
                why,
                mark,
                short,
            )
        )
    return rows


async def _hubs_view(
    request: Request,
    offset: int,
    *,
    status: int = 200,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    done = request.query_params.get("done", "")

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[HubRow], bool, Any, str]:
        from threadline.link.decisions import decisions

        found = read.hubs(cur, limit=PAGE_SIZE + 1, offset=offset)
        _audit_read(request, "read hubs", None, offset=offset)
        recorded = decisions(cur, int(done[1:])) if _DONE.fullmatch(done) and problem is None else []
        # the value the act was about, as a person reads it (a text hub: an excerpt, not its hashes)
        named = ""
        if recorded and recorded[0].hub_value:
            value = recorded[0].hub_value
            named = (
                text_hub_names(cur, [value]).get(value, ("", ""))[0] if recorded[0].hub_kind == "text" else ""
            )
            named = named or value
        rows = _hub_rows(cur, found[:PAGE_SIZE])
        return rows, len(found) > PAGE_SIZE, recorded[0] if recorded else None, named

    rows, more, recorded, recorded_value = await _read(request, run)
    return render(
        request,
        "hubs.html",
        status=status,
        rows=rows,
        kinds=HUB_KINDS,
        problem=problem,
        typed=typed or {},
        recorded=recorded,
        recorded_value=recorded_value,
        relinking=context(request).writer.running is not None or context(request).writer.pending > 0,
        offset=offset,
        **_paging(lambda start: f"/hubs?offset={start}", offset, len(rows), more),
    )


def _offset(text: str | None) -> int:
    try:
        return max(0, min(int(text or 0), 10**9))
    except ValueError:
        return 0


@page("GET", "/hubs", Action.READ)
async def hubs_page(request: Request) -> Response:
    """Hubs (phones, texts, photos, e-mails, handles shared by many unrelated posters: not used to
    link), values analysts marked, and weak phones, each with why; forms to mark, unmark, clear."""
    return await _hubs_view(request, _offset(request.query_params.get("offset")))


@page("POST", "/hubs", Action.MARK_HUB)
async def hubs_mark(request: Request) -> Response:
    """Mark a value a hub or not one, or clear the mark, with a reason: the API's mark-hub act
    (through the writer, audited, a link run queued), then back to the list (Post/Redirect/Get)."""
    from threadline.serve._api import hub_act

    form = await _form(request)
    kind, value = form.get("kind", ""), form.get("value", "").strip()[: _MAX_FIELD * 3]
    doing, note = form.get("do", ""), form.get("note", "").strip()
    offset = _offset(form.get("offset"))
    typed = {"kind": kind, "value": value, "note": note[:_MAX_NOTE]}
    problem = None
    if kind not in HUB_KINDS:
        problem = f"kind: choose one of {', '.join(HUB_KINDS)}"
    elif not value:
        problem = "value: enter the phone, e-mail, handle, image hash or text to mark"
    elif doing not in _HUB_DOING:
        problem = "choose hub, not a hub or clear"
    elif not note:
        problem = "reason: say why (it is kept with the decision and shown to every analyst)"
    elif len(note) > _MAX_NOTE:
        problem = f"reason: at most {_MAX_NOTE} characters"
    if problem is not None:
        return await _hubs_view(request, offset, status=422, problem=problem, typed=typed)
    try:
        done = await hub_act(
            request,
            kind,
            value,
            hub=doing == "hub",
            clear=doing == "clear",
            anyway=False,
            region="US",
            note=note,
        )
    except HTTPException as exc:
        reason = exc.detail if isinstance(exc.detail, str) else "refused"
        reason = reason.replace(" (anyway: true marks it all the same)", "")
        return await _hubs_view(request, offset, status=exc.status_code, problem=reason, typed=typed)
    return RedirectResponse("/hubs?" + urlencode({"done": done["decision"], "offset": offset}), 303)


# -- decisions and labels ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActRow:
    """A decision or a label as the decisions page lists it."""

    ref: str
    kind: str  # merge, separate, split, hub, not-hub, or "label: trafficking"
    by: str
    at: datetime
    note: str | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_note: str | None
    network: str | None  # where it leads: the network it concerns (as it is now)
    what: str  # the ads or the value it is about, in one line
    full: str = ""  # all of it, when ``what`` is cut short (a text hub's text)


def excerpt(text: str, width: int = 60) -> str:
    """``text`` cut to about ``width`` characters at a word, with an ellipsis when cut: how a text
    hub is named in a line (its whole text goes to the title)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" /,.;:") + "…"


def text_hub_names(cur: duckdb.DuckDBPyConnection, values: list[str]) -> dict[str, tuple[str, str]]:
    """A text hub (its sentences' hashes, as linking names it) as a person reads it: (a short
    excerpt of its text, its whole text: the sentences, masked)."""
    from threadline.link.text import text_hub_examples

    return {value: (excerpt(text), text) for value, text in text_hub_examples(cur, values).items()}


def _act_rows(cur: duckdb.DuckDBPyConnection, items: tuple[Any, ...]) -> list[ActRow]:
    """The decisions page's rows of a page of decisions and labels (`read.act_page`)."""
    listed = [item for item in items if isinstance(item, read.ListedDecision)]
    firsts = [d.decision.side_a[0] for d in listed if d.decision.side_a]
    now = read.ad_networks(cur, firsts)
    texts = text_hub_names(
        cur, [d.decision.hub_value for d in listed if d.decision.hub_kind == "text" and d.decision.hub_value]
    )
    rows = []
    for item in items:
        if not isinstance(item, read.ListedDecision):
            lab = item
            rows.append(
                ActRow(
                    lab.ref,
                    f"label: {lab.label}",
                    lab.analyst,
                    lab.labelled_at,
                    lab.note,
                    lab.revoked_by,
                    lab.revoked_at,
                    lab.revoke_note,
                    lab.network,
                    f"network {lab.network} (through ad {lab.ad})",
                )
            )
            continue
        d = item.decision
        full = ""
        if d.kind in ("hub", "not-hub"):
            network, what = None, f"{d.hub_kind} {d.hub_value}"
            if d.hub_kind == "text" and d.hub_value in texts:
                short, full = texts[d.hub_value]
                what = f"text “{short}”"
        else:
            network = d.split_from if d.kind == "split" else now.get(d.side_a[0]) if d.side_a else None
            ads = [*d.side_a, *(["| not with |", *d.side_b] if d.side_b else [])]
            what = " ".join(ads[:6]) + (f" … ({len(ads)} in all)" if len(ads) > 6 else "")
            if item.links_cut:
                what += f"; the last run cut {item.links_cut} link{'' if item.links_cut == 1 else 's'} for it"
        rows.append(
            ActRow(
                d.ref,
                d.kind,
                d.analyst,
                d.decided_at,
                d.note,
                d.revoked_by,
                d.revoked_at,
                d.revoke_note,
                network,
                what,
                full,
            )
        )
    return rows


@page("GET", "/decisions", Action.READ)
async def decisions_page(request: Request) -> Response:
    """Analysts' decisions and labels, newest first: who, when, why, in force or revoked, and the
    network each concerns (a page at a time, chosen in SQL; optionally one analyst's)."""
    offset = _offset(request.query_params.get("offset"))
    by = request.query_params.get("by", "").strip()[:64]

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[ActRow], read.ActPage]:
        found = read.act_page(cur, by=by or None, limit=PAGE_SIZE, offset=offset)
        _audit_read(request, "read decisions", None, by=by or None, offset=offset)
        return _act_rows(cur, found.items), found

    rows, found = await _read(request, run)

    def at(start: int) -> str:
        return "/decisions?" + urlencode({**({"by": by} if by else {}), "offset": start})

    return render(
        request,
        "decisions.html",
        rows=rows,
        total=found.total,
        by=by,
        analysts=found.analysts,
        **_paging(at, offset, len(rows), offset + len(rows) < found.total),
    )


# -- the audit (supervisors and admins) ------------------------------------------------------------

AUDIT_PAGE = 100


@page("GET", "/audit", Action.READ_AUDIT)
async def audit_page(request: Request) -> Response:
    """Recent audit entries, newest first, filtered by user and action, a page at a time (the next
    page starts before the last entry shown). Reading it is audited too."""
    params = request.query_params
    user = params.get("user", "").strip()[:64]
    action = params.get("action", "").strip()[:64]
    before_text = params.get("before", "").strip()
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    limit = max(10, min(_offset(params.get("limit")) or AUDIT_PAGE, 500))  # entries a page

    def run(cur: duckdb.DuckDBPyConnection) -> tuple[list[Any], list[str], list[str]]:
        from threadline.service import accounts

        entries = read.audit_entries(
            cur, actor=user or None, action=action or None, before_seq=before, limit=limit + 1
        )
        _audit_read(request, "read audit", None, user=user or None, of_action=action or None, before=before)
        return entries, read.audit_actions(cur), [u.name for u in accounts.list_users(cur)]

    entries, actions, users = await _read(request, run)
    shown = entries[:limit]
    keep: dict[str, Any] = {**({"user": user} if user else {}), **({"action": action} if action else {})}
    if limit != AUDIT_PAGE:
        keep["limit"] = limit
    older = "/audit?" + urlencode({**keep, "before": shown[-1].seq}) if len(entries) > limit else None
    return render(
        request,
        "audit.html",
        entries=[(e, json.dumps(e.detail, ensure_ascii=False, sort_keys=True)) for e in shown],
        user=user,
        action=action,
        actions=actions,
        users=users,
        before=before,
        newest="/audit?" + urlencode(keep) if before is not None else None,
        older=older,
    )


# -- change password -----------------------------------------------------------------------------


def _password_form(request: Request, status: int = 200, problem: str | None = None) -> Response:
    who = caller(request)
    if who.session is None:
        raise HTTPException(403, "a token has no password to change: sign in with the form")
    return render(
        request,
        "password.html",
        status=status,
        problem=problem,
        changed=request.query_params.get("changed") == "1" and problem is None,
        totp=who.session.user.totp,
        min_chars=accounts.MIN_PASSWORD_CHARS,
    )


@page("GET", "/password", SIGNED_IN)
async def password_page(request: Request) -> Response:
    """The signed-in user's own password: the current one (and code), the new one twice."""
    return _password_form(request)


@page("POST", "/password", SIGNED_IN)
async def password_change(request: Request) -> Response:
    """Check the current password as a sign-in does (argon2id; a wrong one counts towards the
    lockout, audited), set the new one (`accounts.set_password`: hashed with argon2id, audited; it
    ends every session of the user, this one too), then give this browser a new session: every
    other browser signed in as the user is signed out. Post/Redirect/Get."""
    from threadline.serve._auth import _set_session_cookie, origin

    who = caller(request)
    if who.session is None:
        raise HTTPException(403, "a token has no password to change: sign in with the form")
    form = await _form(request)
    current, new, again = form.get("current", ""), form.get("new", ""), form.get("again", "")
    code = form.get("totp", "").strip() or None
    if not current or not new or not again:
        return _password_form(request, 422, "Fill in the current password and the new one twice.")
    if new != again:
        return _password_form(request, 422, "The two new passwords differ: type the same one twice.")
    if new == current:
        return _password_form(request, 422, "The new password is the current one: choose another.")
    try:
        accounts.check_password(new)
    except accounts.AccountError as exc:
        return _password_form(request, 422, f"The new password is refused: {exc}.")
    ctx, where = context(request), origin(request)

    def change() -> tuple[str | None, str | None]:
        cur = ctx.cursor()
        with ctx.books:
            checked = accounts.verify_login(cur, who.name, current, where, totp_code=code)
            if not checked.ok:
                return None, checked.reason
            accounts.set_password(cur, who.name, new, by=who.actor)
            return sessions.create_session(cur, who.name, where), None

    session_id, failed = await run_in_threadpool(change)
    if session_id is None:
        said = {
            accounts.TOTP_NEEDED: "Enter the code from your authenticator app as well.",
            accounts.TOTP_WRONG: "The code is wrong: nothing was changed.",
            accounts.LOCKED: "Too many wrong passwords: the account is locked for a while.",
        }.get(failed or "", "The current password is wrong: nothing was changed.")
        return _password_form(request, 422 if failed != accounts.LOCKED else 423, said)
    response = RedirectResponse("/password?changed=1", 303)
    _set_session_cookie(request, response, session_id)
    return response
