"""The watchlist commands: `threadline watch add|list|remove`, `threadline alerts list|config`.

Each runs through the server when one holds the store (`threadline.cli._through_server`), so that
an entry made from a script is matched and audited exactly as one made in the workspace; on the
file alone it is audited with the operating-system user as its actor.
"""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Iterator

    from threadline.store import Store

# The command line's helpers are imported when a command runs: `threadline.cli` imports this
# module while it loads (and `python -m threadline.cli` loads it as __main__), and marks these
# commands to run through a running server itself (`_WATCH_SERVED` there).
_STORE = click.Path(dir_okay=False, path_type=Path)


def _fail(message: str) -> None:
    from threadline.cli import _fail as fail

    fail(message)


def _readable(path: Path) -> Path:
    from threadline.cli import _readable as readable

    return readable(path)


def _audit(action: str, obj: str | None = None, **detail: Any) -> None:
    from threadline.cli import _audit as audit

    audit(action, obj, **detail)


@contextmanager
def _open(db: Path, *, read_only: bool = False) -> Iterator[Store]:
    from threadline.cli import _open as open_store

    with open_store(db, read_only=read_only) as store:
        yield store


__all__ = ["COMMANDS", "alerts_group", "watch_group"]


@click.group("watch")
def watch_group() -> None:
    """Watchlist entries: identifiers, saved searches, photos, missing persons (alerts on match)."""


def _age(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    lo, _, hi = text.partition("-")
    try:
        return int(lo), int(hi or lo)
    except ValueError:
        _fail(f"--age {text!r}: expected an age or a range such as 15-17")
        raise AssertionError from None


@watch_group.command("add")
@click.option(
    "--kind",
    type=click.Choice(["identifiers", "search", "photo", "missing"]),
    required=True,
    help="What to watch.",
)
@click.option("--value", "values", multiple=True, help="identifiers: a phone (any format), e-mail or handle.")
@click.option("--name", "names", multiple=True, help="missing: a name or nickname (repeat); search: a name.")
@click.option("--words", default=None, help="search: words every matching ad holds.")
@click.option("--place", default=None, help="search, missing: a city (the last known place).")
@click.option("--age", default=None, help="search, missing: an age range such as 15-17.")
@click.option(
    "--from", "date_from", default=None, help="search, missing: ads dated on or after (YYYY-MM-DD)."
)
@click.option("--to", "date_to", default=None, help="search, missing: ads dated on or before (YYYY-MM-DD).")
@click.option(
    "--photo", type=click.Path(dir_okay=False, path_type=Path), default=None, help="photo, missing: an image."
)
@click.option("--owner", required=True, help="Whose entry it is.")
@click.option("--case", "case_id", default=None, help="The case it belongs to: an open case, C….")
@click.option("--note", default=None, help="Why (kept with the entry).")
@click.option("--expires", type=click.DateTime(), default=None, help="When it stops (UTC).")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def watch_add(
    kind: str,
    values: tuple[str, ...],
    names: tuple[str, ...],
    words: str | None,
    place: str | None,
    age: str | None,
    date_from: str | None,
    date_to: str | None,
    photo: Path | None,
    owner: str,
    case_id: str | None,
    note: str | None,
    expires: datetime | None,
    db: Path,
) -> None:
    """Add a watchlist entry, match it once against every stored ad, and print its id and the
    alerts it raised. Later ads are matched as they are stored."""
    from threadline import watch

    _readable(db)
    lo, hi = _age(age)
    spec: dict[str, Any] = {
        "age_min": lo,
        "age_max": hi,
        "place": place,
        "date_from": date_from,
        "date_to": date_to,
    }
    if kind == "identifiers":
        spec = {"values": list(values)}
    elif kind == "search":
        spec |= {"words": words, "name": names[0] if names else None}
    elif kind == "missing":
        spec["names"] = list(names)
    if photo is not None:
        _readable(photo)
        spec["photo"] = base64.b64encode(photo.read_bytes()).decode()
    if kind == "photo":
        spec = {"photo": spec.get("photo")}
    with _open(db) as store:
        try:
            made, raised = watch.add_entry(
                store.connection, kind, spec, owner=owner, case_id=case_id, note=note, expires_at=expires
            )
        except ValueError as exc:
            _fail(str(exc))
            return
        shown = {k: v for k, v in made.spec.items() if k != "photo"}
        _audit(
            "watch add", made.ref, kind=kind, owner=owner, case=made.case_id, alerts=len(raised), spec=shown
        )
    click.echo(f"{made.ref}\t{kind}\t{'; '.join(made.parts)}")
    click.echo(f"watch: {made.ref} added; {len(raised)} alerts from stored ads", err=True)


@watch_group.command("list")
@click.option("--removed", is_flag=True, help="With the removed entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def watch_list(removed: bool, as_json: bool, db: Path) -> None:
    """The watchlist: ID KIND OWNER CASE ALERTS STATE WHAT, newest first."""
    from threadline import watch

    _readable(db)
    with _open(db, read_only=True) as store:
        found = watch.entries(store.connection, removed=removed)
        _audit("read watchlist", None)
    for e in found:
        state = "removed" if e.removed_at else "active" if e.active else "expired"
        if as_json:
            row = {"entry": e.ref, "kind": e.kind, "owner": e.owner, "case": e.case_id, "alerts": e.alerts}
            click.echo(json.dumps(row | {"state": state, "watches": list(e.parts)}, ensure_ascii=False))
        else:
            click.echo(
                f"{e.ref}\t{e.kind}\t{e.owner}\t{e.case_id or '-'}\t{e.alerts}\t{state}\t{'; '.join(e.parts)}"
            )


@watch_group.command("remove")
@click.argument("entry")
@click.option("--by", required=True, help="Who removes it.")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def watch_remove(entry: str, by: str, db: Path) -> None:
    """Stop watchlist entry ENTRY (W…); it stays on record with its alerts."""
    from threadline import watch

    _readable(db)
    with _open(db) as store:
        try:
            removed = watch.remove_entry(store.connection, watch.parse_ref(entry), by=by, may_others=True)
        except (LookupError, ValueError) as exc:
            _fail(str(exc))
            return
        _audit("watch remove", removed.ref, by=by)
    click.echo(f"watch: {removed.ref} removed")


@click.group("alerts")
def alerts_group() -> None:
    """Alerts raised by the watchlists, and where they are delivered (an admin's setting)."""


@alerts_group.command("list")
@click.option("--user", default="", help="Whose read-state to show (default: none read).")
@click.option("--unread", is_flag=True, help="Only those --user has not read.")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def alerts_list(user: str, unread: bool, db: Path) -> None:
    """Alerts, newest first: ID ENTRY AD RAISED PARTS (JSON Lines with why each matched)."""
    from threadline import watch

    _readable(db)
    with _open(db, read_only=True) as store:
        found, _ = watch.alerts(store.connection, user, unread=unread, limit=10_000)
        _audit("read alerts", None, unread=unread)
    for a in found:
        row = {"alert": a.ref, "entry": a.entry_ref, "ad": a.ad, "raised_at": a.raised_at.isoformat() + "Z"}
        click.echo(
            json.dumps(row | {"parts": list(a.parts), "why": list(a.why), "read": a.read}, ensure_ascii=False)
        )


@alerts_group.command("config")
@click.option(
    "--webhook", default=None, help="Deliver each alert to this URL (POST, signed with HMAC-SHA256)."
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the webhook's shared secret (16 characters or more).",
)
@click.option("--smtp-host", default=None, help="Deliver each alert by mail through this SMTP server.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=25, show_default=True)
@click.option("--smtp-from", "smtp_sender", default=None, help="The sender's address.")
@click.option("--smtp-to", "smtp_to", multiple=True, help="A recipient (repeat).")
@click.option("--smtp-starttls", is_flag=True, help="Upgrade the connection with STARTTLS.")
@click.option("--smtp-user", default=None, help="SMTP login name.")
@click.option(
    "--smtp-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SMTP password.",
)
@click.option("--workspace-url", default=None, help="The workspace's address, for the link in each delivery.")
@click.option("--clear", type=click.Choice(["webhook", "smtp"]), multiple=True, help="Stop delivering there.")
@click.option("--db", "db", type=_STORE, required=True, help="Store file.")
def alerts_config(
    webhook: str | None,
    webhook_secret_file: Path | None,
    smtp_host: str | None,
    smtp_port: int,
    smtp_sender: str | None,
    smtp_to: tuple[str, ...],
    smtp_starttls: bool,
    smtp_user: str | None,
    smtp_password_file: Path | None,
    workspace_url: str | None,
    clear: tuple[str, ...],
    db: Path,
) -> None:
    """Where alerts are delivered (an admin's command: whoever may write the store file). A
    delivery says only the alert's id and a link into the workspace. Without options: show the
    settings (secrets hidden)."""
    from threadline.service._common import os_actor
    from threadline.watch._deliver import configure, delivery_settings

    _readable(db)
    secret = None
    if webhook is not None:
        if webhook_secret_file is None:
            _fail("--webhook needs --webhook-secret-file")
            return
        secret = _readable(webhook_secret_file).read_text().strip()
    smtp = None
    if smtp_host is not None:
        password = _readable(smtp_password_file).read_text().strip() if smtp_password_file else None
        smtp = {
            "host": smtp_host,
            "port": smtp_port,
            "sender": smtp_sender,
            "to": list(smtp_to),
            "starttls": smtp_starttls,
            "user": smtp_user,
            "password": password,
        }
    with _open(db) as store:
        changing = webhook is not None or smtp is not None or workspace_url is not None or clear
        try:
            if changing:
                shown = configure(
                    store.connection,
                    by=os_actor().name,
                    webhook_url=webhook,
                    webhook_secret=secret,
                    smtp=smtp,
                    workspace_url=workspace_url,
                    clear=clear,
                )
            else:
                shown = delivery_settings(store.connection)
        except ValueError as exc:
            _fail(str(exc))
            return
        if changing:
            _audit("alerts config", None, settings=shown, cleared=list(clear) or None)
    click.echo(json.dumps(shown, ensure_ascii=False, sort_keys=True))


COMMANDS: tuple[click.Group, ...] = (watch_group, alerts_group)
