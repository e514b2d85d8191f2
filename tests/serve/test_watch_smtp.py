"""Alerts delivered by mail (issue 16), to a real SMTP server (aiosmtpd) this test starts on
loopback: an admin configures SMTP delivery with `threadline alerts config` (handed to the running
server), an analyst's entry matches a pushed ad, and the mail that arrives names the alert and links
into the workspace, never the identifiers, the entry's note or anything of the ad. A mail server
that holds a delivery open does not hold up pushes; one that refuses is tried again until it
takes the mail; every attempt, sent or failed, is in the audit, without identifiers. Made-up ads;
numbers from the fictional 555-01xx range (docs/DESIGN.md section 4)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import json
import os
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from server_support import free_port, serving, threadline

from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor
from threadline.store import Store

ADMIN = Actor("root", "os-user", "cli")
PASSWORD = "a long enough password"
TIMEOUT = 120.0  # httpx's per-request cap on a loaded machine, never an assertion
POLLS = 1200  # bounded waits (each 0.05 s): a count, never a clock in an assertion
SENDER = "threadline@unit.example"
DUTY = "duty@unit.example"
WORKSPACE = "https://threadline.unit.example"


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps each message it accepts. The first DATA it is sent waits for
    ``release`` when ``hold_first`` (then is refused), and the next ``refuse`` are refused with
    451 (try again later): a mail server that hangs, then one that is busy."""

    hold_first: bool = False
    refuse: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    got: list[Any] = field(default_factory=list)  # aiosmtpd envelopes
    tried: int = 0  # DATA commands received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tried += 1
        if self.tried == 1 and self.hold_first:
            for _ in range(POLLS):
                if self.release.is_set():
                    break
                await asyncio.sleep(0.05)
            return "451 4.3.0 held, then refused: try again later"
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 busy: try again later"
        self.got.append(envelope)
        return "250 2.0.0 accepted"


@contextmanager
def mail_server(box: Mailbox, **smtp: Any) -> Iterator[int]:
    """A real SMTP server on loopback for the block (``smtp``: aiosmtpd's SMTP options); its port."""
    port = free_port()
    # ready_timeout: how long start() may wait for it to answer, a cap on a loaded machine.
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=60.0, **smtp)
    controller.start()
    try:
        yield port
    finally:
        box.release.set()
        controller.stop()


@dataclass
class Served:
    url: str
    db: Path
    env: dict[str, str]
    push_token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("watch-smtp")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    db = folder / "store.duckdb"
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", PASSWORD, by=ADMIN)
            push = tokens.add_token(store, "ana", "push", by=ADMIN)[0]
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    with serving(db, env, folder / "server.log", "--link-after", "0.2", "--alert-retry", "0.05") as url:
        yield Served(url, db, env, push)


@contextmanager
def _signed_in(s: Served) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=s.url, timeout=TIMEOUT) as client:
        answer = client.post("/login", json={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        yield client, answer.json()["csrf_token"]


def _push(s: Served, records: list[dict[str, Any]]) -> httpx.Response:
    with httpx.Client(
        base_url=s.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {s.push_token}"}
    ) as c:
        return c.post("/api/v1/ads", json=records)


def _configure_smtp(s: Served, port: int, *more: str) -> dict[str, Any]:
    """`threadline alerts config` while the server runs: an admin's command, handed to it."""
    done = threadline(
        "alerts",
        "config",
        *more,
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-from",
        SENDER,
        "--smtp-to",
        DUTY,
        "--workspace-url",
        WORKSPACE,
        "--db",
        str(s.db),
        env=s.env,
    )
    assert done.returncode == 0, done.stderr
    shown: dict[str, Any] = json.loads(done.stdout)
    return shown


def _poll(check: Any) -> Any:
    for _ in range(POLLS):
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("never happened")


def _audit_entries(s: Served) -> list[dict[str, Any]]:
    exported = threadline("audit", "export", "--db", str(s.db), env=s.env)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines()]


def _deliveries_audited(s: Served, alert: str) -> list[dict[str, Any]]:
    return [
        e["detail"]
        for e in _audit_entries(s)
        if e["action"] == "deliver alert" and e["object"] == alert and e["detail"]["channel"] == "smtp"
    ]


def test_an_alert_is_mailed_with_a_link_into_the_workspace_and_no_identifier(served: Served) -> None:
    box = Mailbox()
    with mail_server(box) as port, _signed_in(served) as (ana, csrf):
        shown = _configure_smtp(served, port)
        assert shown["smtp"]["host"] == "127.0.0.1" and shown["smtp"]["to"] == [DUTY]
        made = ana.post(
            "/api/v1/watchlist",
            json={
                "kind": "identifiers",
                "spec": {"values": ["(713) 555-0161", "@rozmarie_example"]},
                "note": "tip from a hotline",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201, made.text
        pushed = _push(
            served,
            [
                {"id": "s1", "source": "boardS", "title": "New in town", "body": "text 713.555.0161 now"},
                {"id": "s2", "source": "boardS", "title": "New in town", "body": "text 713.555.0162 now"},
            ],
        )
        assert [r["status"] for r in pushed.json()["records"]] == ["new", "new"]
        [alert] = [a for a in ana.get("/api/v1/alerts").json()["items"] if a["source"] == "boardS"]
        assert alert["why"] == [{"part": "identifier", "value": "+17135550161"}]

        [envelope] = _poll(lambda: box.got[:1])
        assert envelope.mail_from == SENDER and envelope.rcpt_tos == [DUTY]
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert message["Subject"] == f"Threadline: new alert {alert['alert']}"
        assert message["From"] == SENDER and message["To"] == DUTY
        assert message["Date"] and message["Message-ID"]
        body = message.get_content()
        assert f"{WORKSPACE}/alerts/{alert['alert']}" in body and alert["entry"] in body
        # Nothing of the entry or the ad: whoever gets the mail signs in to see why. (Message-ID,
        # Date and the time raised are left out of this look: random and clock digits may hold 555.)
        said = body.replace(alert["raised_at"], "") + "".join(
            f"{k}: {v}\n" for k, v in message.items() if k not in ("Message-ID", "Date")
        )
        assert alert["raised_at"] in body
        for secret in ("555", "0161", "+1713", "rozmarie", "hotline", "boardS", "s1", "New in town"):
            assert secret not in said, secret

        detail = _poll(
            lambda: (
                (d := ana.get(f"/api/v1/alerts/{alert['alert']}").json())["deliveries"]
                and d["deliveries"][0]["status"] == "sent"
                and d
            )
        )
        assert [(x["channel"], x["attempts"]) for x in detail["deliveries"]] == [("smtp", 1)]

    # The attempt is in the audit: which alert, which channel, that it was sent; no identifier.
    [entry] = _deliveries_audited(served, alert["alert"])
    assert entry == {
        "entry": alert["entry"],
        "channel": "smtp",
        "attempt": 1,
        "outcome": "sent",
        "status": "sent",
    }
    configured = [e for e in _audit_entries(served) if e["action"] == "alerts config"]
    assert configured and configured[-1]["actor_kind"] == "os-user"


def test_a_mail_server_that_hangs_or_refuses_holds_up_no_push_and_is_tried_again(served: Served) -> None:
    box = Mailbox(hold_first=True, refuse=4)
    with mail_server(box) as port, _signed_in(served) as (ana, csrf):
        _configure_smtp(served, port)
        made = ana.post(
            "/api/v1/watchlist",
            json={"kind": "identifiers", "spec": {"values": ["212-555-0178"]}},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201, made.text

        def ad(n: int) -> list[dict[str, Any]]:
            return [{"id": f"h{n}", "source": "boardT", "title": "Hi", "body": f"call 212 555 0178 ({n})"}]

        first = _push(served, ad(0))
        assert first.status_code == 200 and first.json()["counts"]["new"] == 1
        [held] = [a["alert"] for a in ana.get("/api/v1/alerts").json()["items"] if a["source"] == "boardT"]
        # The mail server now holds the first delivery open, answering nothing, until released:
        # pushes meanwhile are stored and answered while that attempt is still on its way (not
        # recorded: attempts 0). Were ingest waiting on deliveries, they would be answered only
        # once the attempt had ended.
        _poll(lambda: box.tried == 1)
        during = [_push(served, ad(n)) for n in (1, 2)]
        assert [a.status_code for a in during] == [200, 200]
        assert [a.json()["counts"]["new"] for a in during] == [1, 1]
        [waiting] = ana.get(f"/api/v1/alerts/{held}").json()["deliveries"]
        assert waiting["status"] == "pending" and waiting["attempts"] == 0
        box.release.set()

        raised = sorted(
            (
                a["alert"]
                for a in ana.get("/api/v1/alerts?limit=500").json()["items"]
                if a["source"] == "boardT"
            ),
            key=lambda ref: int(ref[1:]),
        )
        assert len(raised) == 3

        def all_sent() -> Any:
            found = [ana.get(f"/api/v1/alerts/{a}").json()["deliveries"] for a in raised]
            return all(d and d[0]["status"] == "sent" for d in found) and [d[0] for d in found]

        sent = _poll(all_sent)
        # One held then refused, four refused: five failed attempts in all, each tried again.
        assert sum(d["attempts"] - 1 for d in sent) == 5
        assert max(d["attempts"] for d in sent) >= 2
        assert sorted(m.rcpt_tos[0] for m in box.got) == [DUTY] * 3
        subjects = sorted(
            email.message_from_bytes(m.original_content, policy=email.policy.default)["Subject"]
            for m in box.got
        )
        assert subjects == sorted(f"Threadline: new alert {a}" for a in raised)

    # Every attempt audited: the failed ones with the mail server's refusal, then the one sent.
    for alert, delivery in zip(raised, sent, strict=True):
        audited = _deliveries_audited(served, alert)
        assert [e["attempt"] for e in audited] == list(range(1, delivery["attempts"] + 1))
        assert [e["outcome"] for e in audited] == ["failed"] * (delivery["attempts"] - 1) + ["sent"]
        for e in audited[:-1]:
            # (The held attempt ends with the refusal, or with the client's own timeout.)
            assert e["status"] == "pending" and e["next_at"]
            assert "451" in e["error"] or "timed out" in e["error"]
        assert all("555" not in e.get("error", "") and "boardT" not in json.dumps(e) for e in audited)


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A server's TLS context with a certificate for 127.0.0.1 that nobody's roots trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def test_starttls_checks_the_mail_servers_certificate(served: Served, tmp_path: Path) -> None:
    """With --smtp-starttls, a server whose certificate no trusted root signed gets no mail (the
    standard library's STARTTLS, given no context, would have sent it)."""
    box = Mailbox()
    tls = _self_signed(tmp_path)
    with (
        mail_server(box, tls_context=tls, require_starttls=True) as port,
        _signed_in(served) as (ana, csrf),
    ):
        assert _configure_smtp(served, port, "--smtp-starttls")["smtp"]["starttls"] is True
        made = ana.post(
            "/api/v1/watchlist",
            json={"kind": "identifiers", "spec": {"values": ["415-555-0191"]}},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201, made.text
        pushed = _push(served, [{"id": "t1", "source": "boardU", "title": "Hi", "body": "call 415 555 0191"}])
        assert pushed.json()["counts"]["new"] == 1
        [alert] = [a["alert"] for a in ana.get("/api/v1/alerts").json()["items"] if a["source"] == "boardU"]

        def refused() -> Any:
            [d] = ana.get(f"/api/v1/alerts/{alert}").json()["deliveries"]
            return d["attempts"] >= 2 and d

        delivery = _poll(refused)
        assert delivery["status"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"]
        assert box.got == [] and box.tried == 0  # not even the envelope went out
    audited = _deliveries_audited(served, alert)
    assert [e["outcome"] for e in audited[:2]] == ["failed", "failed"]
    assert "CERTIFICATE_VERIFY_FAILED" in audited[0]["error"]
