"""Alerts delivered outside the workspace: to a webhook (signed with HMAC-SHA256) or by SMTP.

Where alerts go is an admin's setting, kept in the store (`configure`: ``threadline alerts
config``), never an address a user types: a watchlist entry cannot make the server send
anything anywhere. A delivery carries a link into the workspace (the alert's id and its path),
never the identifiers, names or note of the entry, nor anything of the ad: whoever receives it
signs in to see why.

Each alert raised while a channel is configured gets a pending delivery per channel, in the
transaction that raised it (`_match._queue_deliveries`). The server's `Deliverer` thread sends
the pending ones, off the writer's thread (an ingest never waits for a webhook), and hands the
outcome to the writer; a failure is tried again after ``retry * 2**attempts`` seconds (at most an
hour), up to ``attempts`` times, then marked failed with its last error. Every attempt, sent or
failed, is written to the audit with its outcome (`Deliverer`'s ``audit``), in the transaction that
records it: the alert's id, its entry's, the channel, the attempt and the error, never an
identifier (the delivery holds none to give).

A webhook request is ``POST`` JSON ``{"alert", "entry", "raised_at", "path", "url"}`` with the
headers ``X-Threadline-Timestamp`` (Unix seconds) and ``X-Threadline-Signature:
sha256=HEX``, the HMAC-SHA256 of ``TIMESTAMP.BODY`` under the configured secret (`sign`): the
receiver recomputes it, and refuses old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

import duckdb

from threadline.store._tx import transaction
from threadline.store.schema import utc_now

__all__ = [
    "AUDIT_ACTION",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Deliverer",
    "configure",
    "delivery_settings",
    "mail",
    "payload",
    "sign",
]

SIGNATURE_HEADER = "X-Threadline-Signature"
TIMESTAMP_HEADER = "X-Threadline-Timestamp"
_MAX_WAIT = 3600.0
_TIMEOUT = 10.0
_log = logging.getLogger("threadline.serve")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of ``timestamp.body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _checked_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}: expected an http:// or https:// address, not {url!r}")
    return url.rstrip("/") if what == "workspace URL" else url


def configure(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    smtp: dict[str, Any] | None = None,
    workspace_url: str | None = None,
    clear: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Set (or ``clear``: ``webhook``, ``smtp``) where alerts are delivered; returns the settings
    as `delivery_settings` shows them. ValueError for a wrong address or a missing secret."""
    rows: list[tuple[str, Any]] = []
    if webhook_url is not None:
        if not webhook_secret or len(webhook_secret) < 16:
            raise ValueError("a webhook needs a secret of at least 16 characters (--webhook-secret-file)")
        rows.append(("webhook", {"url": _checked_url(webhook_url, "webhook"), "secret": webhook_secret}))
    if smtp is not None:
        if not smtp.get("host") or not smtp.get("to") or not smtp.get("sender"):
            raise ValueError(
                "SMTP needs a host, a sender (--smtp-from) and at least one recipient (--smtp-to)"
            )
        rows.append(("smtp", smtp))
    if workspace_url is not None:
        rows.append(("workspace_url", _checked_url(workspace_url, "workspace URL")))
    now = utc_now()
    with transaction(con):
        for key in clear:
            con.execute("DELETE FROM alert_settings WHERE key = ?", [key])
        for key, value in rows:
            con.execute(
                "INSERT OR REPLACE INTO alert_settings (key, value, set_at, set_by) VALUES (?, ?, ?, ?)",
                [key, json.dumps(value), now, by],
            )
    return delivery_settings(con)


def _settings(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM alert_settings").fetchall()}


def delivery_settings(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The delivery settings without their secrets (a webhook's secret, an SMTP password)."""
    out = _settings(con)
    if "webhook" in out:
        out["webhook"] = {"url": out["webhook"]["url"], "secret": "(set)"}
    if "smtp" in out and out["smtp"].get("password"):
        out["smtp"] = {**out["smtp"], "password": "(set)"}
    return out


def payload(alert: int, entry: int, raised_at: datetime, workspace_url: str) -> dict[str, Any]:
    """What a delivery says: the alert, its entry and a link; nothing the entry or the ad holds."""
    path = f"/alerts/A{alert}"
    return {
        "alert": f"A{alert}",
        "entry": f"W{entry}",
        "raised_at": raised_at.isoformat() + "Z",
        "path": path,
        "url": workspace_url.rstrip("/") + path,
    }


def _send_webhook(config: dict[str, Any], body: dict[str, Any]) -> None:
    import httpx

    data = json.dumps(body, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(config["secret"].encode(), stamp, data),
        "User-Agent": "threadline-alerts",
    }
    answer = httpx.post(
        config["url"], content=data, headers=headers, timeout=_TIMEOUT, follow_redirects=False
    )
    if not 200 <= answer.status_code < 300:
        raise OSError(f"the webhook answered {answer.status_code}")


def mail(config: dict[str, Any], body: dict[str, Any]) -> EmailMessage:
    """The message an alert is delivered as: its id, its entry's and the link; nothing else."""
    message = EmailMessage()
    message["Subject"] = f"Threadline: new alert {body['alert']}"
    message["From"] = config["sender"]
    message["To"] = ", ".join(config["to"])
    # A Date and a Message-ID, as RFC 5322 asks (mail servers score or refuse mail without them);
    # the id's domain is the sender's, so that making one never waits on a DNS lookup.
    message["Date"] = formatdate(usegmt=True)
    domain = str(config["sender"]).rpartition("@")[2].strip(" >") or "threadline.invalid"
    message["Message-ID"] = make_msgid("threadline-alert", domain=domain)
    message.set_content(
        f"A watchlist entry ({body['entry']}) raised the alert {body['alert']} at {body['raised_at']}.\n\n"
        f"Sign in to see it: {body['url']}\n"
    )
    return message


def _send_mail(config: dict[str, Any], body: dict[str, Any]) -> None:
    message = mail(config, body)
    with smtplib.SMTP(config["host"], int(config.get("port") or 25), timeout=_TIMEOUT) as smtp:
        if config.get("starttls"):
            # The system's trusted roots and the host name checked: smtplib's own default context
            # (no context given) verifies neither, so STARTTLS alone would not stop an impostor.
            smtp.starttls(context=ssl.create_default_context())
        if config.get("user"):
            smtp.login(config["user"], config.get("password") or "")
        refused = smtp.send_message(message)
    if refused:  # some recipients refused (all refused raises): tried again for every one
        raise OSError(f"the mail server refused {len(refused)} of {len(config['to'])} recipients")


SENDERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "webhook": _send_webhook,
    "smtp": _send_mail,
}


@dataclass(frozen=True)
class _Outcome:
    alert: int
    entry: int
    channel: str
    attempts: int
    error: str | None


# What the audit receives for each attempt: (action, object, detail), appended by the caller's
# ``audit`` on the writer's connection, inside the transaction that records the outcomes.
AuditEntries = list[tuple[str, str | None, dict[str, Any]]]
AUDIT_ACTION = "deliver alert"


class Deliverer:
    """The server's delivery thread: every ``poll`` seconds, send the deliveries that are due
    (read on its own cursor), then give their outcomes to ``record`` (a writer job), which hands
    one audit entry per attempt to ``audit`` in the same transaction, holding ``books``."""

    def __init__(
        self,
        cursor: Callable[[], duckdb.DuckDBPyConnection],
        record: Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], Any],
        workspace_url: str,
        *,
        poll: float = 1.0,
        retry: float = 5.0,
        attempts: int = 8,
        audit: Callable[[duckdb.DuckDBPyConnection, AuditEntries], None] | None = None,
        books: AbstractContextManager[Any] | None = None,
    ) -> None:
        self._cursor = cursor
        self._audit = audit
        # Held around the whole transaction that records outcomes and appends their audit
        # entries (a server's ``books``): another append starting before this one commits would
        # change the audit's head row under it, and DuckDB refuses the second of the two.
        self._books = books if books is not None else nullcontext()
        self._record = record
        self.workspace_url = workspace_url
        self.poll = poll
        self.retry = retry
        self.attempts = attempts
        self._stop = threading.Event()
        self._busy: set[tuple[int, str]] = set()  # sent, outcome not recorded yet
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="threadline-alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.run_once()
            except Exception:  # the next round tries again
                _log.exception("delivering alerts failed")

    def run_once(self) -> int:
        """Send what is due; returns how many were tried."""
        con = self._cursor()
        settings = _settings(con)
        if not any(k in settings for k in SENDERS):
            return 0
        due = con.execute(
            """
            SELECT d.alert, d.channel, d.attempts, a.entry, a.raised_at
            FROM alert_deliveries d JOIN alerts a ON a.alert = d.alert
            WHERE d.status = 'pending' AND d.next_at <= ?
            ORDER BY d.alert LIMIT 100
            """,
            [utc_now()],
        ).fetchall()
        workspace = settings.get("workspace_url") or self.workspace_url
        outcomes = []
        for alert, channel, attempts, entry, raised_at in due:
            key = (int(alert), str(channel))
            with self._lock:
                if key in self._busy:
                    continue
                self._busy.add(key)
            error = None
            config = settings.get(channel)
            try:
                if config is None:
                    raise OSError(f"{channel} is no longer configured")
                SENDERS[channel](config, payload(int(alert), int(entry), raised_at, workspace))
            except Exception as exc:  # any failure is retried, whatever it is
                error = f"{type(exc).__name__}: {exc}"[:300]
            outcomes.append(_Outcome(key[0], int(entry), key[1], int(attempts) + 1, error))
        if outcomes:
            self._record_outcomes(outcomes)
        return len(outcomes)

    def _record_outcomes(self, outcomes: list[_Outcome]) -> None:
        retry, most = self.retry, self.attempts

        def job(con: duckdb.DuckDBPyConnection) -> None:
            now = utc_now()
            try:
                # No kept answer of a server reads deliveries or the audit: touches nothing.
                with self._books, transaction(con, touches=()):
                    entries: AuditEntries = []
                    for o in outcomes:
                        if o.error is None:
                            status, next_at, sent = "sent", now, now
                        else:
                            status = "failed" if o.attempts >= most else "pending"
                            wait = min(retry * 2 ** (o.attempts - 1), _MAX_WAIT)
                            next_at, sent = now + timedelta(seconds=wait), None
                        con.execute(
                            "UPDATE alert_deliveries SET status = ?, attempts = ?, next_at = ?,"
                            " last_error = ?, sent_at = ? WHERE alert = ? AND channel = ?",
                            [status, o.attempts, next_at, o.error, sent, o.alert, o.channel],
                        )
                        detail: dict[str, Any] = {
                            "entry": f"W{o.entry}",
                            "channel": o.channel,
                            "attempt": o.attempts,
                            "outcome": "sent" if o.error is None else "failed",
                            "status": status,  # sent, pending (tried again at next_at) or failed
                        }
                        if o.error is not None:
                            detail["error"] = o.error
                            if status == "pending":
                                detail["next_at"] = next_at.isoformat() + "Z"
                        entries.append((AUDIT_ACTION, f"A{o.alert}", detail))
                    if self._audit is not None:
                        self._audit(con, entries)
            finally:
                with self._lock:
                    self._busy.difference_update((o.alert, o.channel) for o in outcomes)

        pending = self._record(job)
        if hasattr(pending, "add_done_callback"):  # a writer's future: a failed record is logged

            def logged(done: Any) -> None:
                if not done.cancelled() and done.exception() is not None:
                    _log.error("recording alert deliveries failed: %s", done.exception())

            pending.add_done_callback(logged)


def deliveries(con: duckdb.DuckDBPyConnection, alert: int | None = None) -> list[dict[str, Any]]:
    """The deliveries (of one alert, or all), as rows for the API and the CLI."""
    where, params = ("WHERE alert = ?", [alert]) if alert is not None else ("", [])
    rows = con.execute(
        "SELECT alert, channel, status, attempts, next_at, last_error, sent_at FROM alert_deliveries "
        f"{where} ORDER BY alert, channel",
        params,
    ).fetchall()
    keys = ("alert", "channel", "status", "attempts", "next_at", "last_error", "sent_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]
