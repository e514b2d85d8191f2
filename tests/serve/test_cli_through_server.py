"""The command line while `threadline serve` holds the store: its commands are handed to the server
(a real one, a subprocess on a free loopback port, on a store made by `synth` and `ingest`) over
the Unix socket named in the lock file, and print what they print without it. No mocks; nothing
waits on a clock: the server is polled until it answers, a bounded number of times."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from server_support import free_port, start_server, threadline, wait_until_up

from threadline import read
from threadline.handoff import running_server
from threadline.service import accounts, audit, tokens
from threadline.service._common import Actor, os_actor
from threadline.store import Store

TIMEOUT = 120.0  # per request or command on a loaded machine, never an assertion
ADMIN = Actor("root", "os-user", "cli")


def _threadline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return threadline(*args, env=env, timeout=600)


@dataclass
class Running:
    db: Path
    folder: Path
    env: dict[str, str]
    url: str
    token: str  # a read token
    proc: subprocess.Popen[str]
    before: dict[str, int] = field(default_factory=dict)  # ads and versions before the tests
    served: dict[str, str] = field(default_factory=dict)  # reads' outputs through the server

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _threadline(*args, env=self.env)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=TIMEOUT)


def _renamed(src: Path, dst: Path, suffix: str) -> dict[tuple[str, str], int]:
    """A copy of the corpus ``src`` whose every ad has a new id: all new ads to the store.
    Returns its ads, each with its number of records (an edited ad has one per version)."""
    ads: dict[tuple[str, str], int] = {}
    with dst.open("w", encoding="utf-8") as out:
        for line in src.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record["id"] = f"{record['id']}{suffix}"
            out.write(json.dumps(record) + "\n")
            key = (record["source"], record["id"])
            ads[key] = ads.get(key, 0) + 1
    return ads


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("handoff")
    env = {**os.environ, audit.KEY_DIR_ENV: str(folder / "keys")}
    made = _threadline("synth", str(folder / "corpus"), "--ads", "150", "--seed", "7", "--no-images", env=env)
    assert made.returncode == 0, made.stderr
    db = folder / "store.duckdb"
    ingested = _threadline("ingest", str(folder / "corpus" / "ads.jsonl"), "--db", str(db), "-q", env=env)
    assert ingested.returncode == 0, ingested.stderr
    os.environ[audit.KEY_DIR_ENV] = env[audit.KEY_DIR_ENV]  # the token below signs the same audit
    try:
        with Store.open(db) as store:
            accounts.add_user(store, "ana", "analyst", "correct horse battery staple", by=ADMIN)
            token = tokens.add_token(store, "ana", "read", by=ADMIN)[0]
            counts = store.counts()
    finally:
        del os.environ[audit.KEY_DIR_ENV]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    proc = start_server(db, port, env, log)
    running = Running(db, folder, env, url, token, proc, {"ads": counts.ads, "versions": counts.versions})
    try:
        wait_until_up(proc, url, log)
        yield running
    finally:
        running.stop()


def test_the_lock_file_names_an_owner_only_socket(running: Running) -> None:
    server = running_server(running.db)
    assert server is not None and server.pid == running.proc.pid and server.url == running.url
    assert stat.S_ISSOCK(server.socket.stat().st_mode)
    assert stat.S_IMODE(server.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.socket.parent.stat().st_mode) == 0o700  # only the owner enters
    # the socket's app is not on the TCP port
    answer = httpx.post(f"{running.url}/cli", json={"command": ["summary"], "params": {}})
    assert answer.status_code in (401, 404), answer.text


def test_an_ingest_through_the_server_stores_every_record_once(running: Running) -> None:
    new = running.folder / "new.jsonl"
    records = _renamed(running.folder / "corpus" / "ads.jsonl", new, "-new")
    n = sum(records.values())
    ingested = running.run("ingest", str(new), "--db", str(running.db), "-q")
    assert ingested.returncode == 0, ingested.stderr
    lines = ingested.stdout.splitlines()
    assert lines[0].startswith(f"ingest: {n:,} records: ") and "0 quarantined" in lines[0], lines
    assert lines[1].startswith("link: ") and lines[2].startswith("score: "), lines
    # the API sees the new ads, each record stored once (a version per record of an edited ad)
    headers = {"Authorization": f"Bearer {running.token}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=TIMEOUT) as client:
        edited = [key for key, count in records.items() if count > 1][:3]
        for source, ad_id in [*list(records)[:3], *edited]:
            ad = client.get(f"/api/v1/ads/{source}/{ad_id}")
            assert ad.status_code == 200, ad.text
            assert len(ad.json()["versions"]) == records[source, ad_id]
    summary = running.run("summary", "--db", str(running.db))
    assert summary.returncode == 0, summary.stderr
    ads = running.before["ads"] + len(records)
    versions = running.before["versions"] + n
    assert f": {ads:,} ads, {versions:,} versions," in summary.stdout.splitlines()[0], summary.stdout


def test_a_label_and_a_merge_through_the_server(running: Running) -> None:
    headers = {"Authorization": f"Bearer {running.token}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=TIMEOUT) as client:
        queue = client.get("/api/v1/networks", params={"limit": 1}).json()["items"]
        network = queue[0]["network"]
        ads = client.get(f"/api/v1/networks/{network}").json()["ads"]["items"]
    labelled = running.run("label", network, "trafficking", "--db", str(running.db), "--analyst", "ann")
    assert labelled.returncode == 0, labelled.stderr
    assert labelled.stdout.startswith("L1 recorded: ") and network in labelled.stdout
    refs = [f"{a['source']}:{a['id']}" for a in ads[:2]]
    merged = running.run("merge", *refs, "--db", str(running.db), "--analyst", "ann", "--note", "same")
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.splitlines()[0] == "D1 recorded"
    refused = running.run("label", "N99999999", "unsure", "--db", str(running.db), "--analyst", "ann")
    assert refused.returncode == 1 and refused.stderr.startswith("threadline: "), refused.stderr
    listed = running.run("labels", "--db", str(running.db))
    assert listed.stdout.startswith(f"L1 {network} trafficking by ann "), listed.stdout


def test_a_backup_while_the_server_writes_is_a_consistent_store(running: Running) -> None:
    new = running.folder / "more.jsonl"
    n = len(_renamed(running.folder / "corpus" / "ads.jsonl", new, "-more"))
    before = _ads(running.run("summary", "--db", str(running.db)).stdout)
    writing = subprocess.Popen(
        [sys.executable, "-m", "threadline.cli", "ingest", str(new), "--db", str(running.db), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=running.env,
    )
    out = running.folder / "backup"
    made = running.run("backup", "--db", str(running.db), "-o", str(out))
    _, err_text = writing.communicate(timeout=600)
    assert writing.returncode == 0, err_text
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("backup: ") and str(running.folder / "keys") in made.stdout
    manifest = json.loads((out / "threadline-backup.json").read_text(encoding="utf-8"))
    assert manifest["audit_key"] == str(running.folder / "keys" / audit.KEY_FILE_NAME)
    # no more readable than the store itself
    assert stat.S_IMODE((out / "store.duckdb").stat().st_mode) == stat.S_IMODE(running.db.stat().st_mode)
    with Store.open(out / "store.duckdb") as copy:
        ads = copy.counts().ads
        # the ingest ran before the backup or after it, never half (both are the writer's jobs)
        assert ads == manifest["ads"] and ads in (before, before + n), (ads, before, n)
        assert copy.query("SELECT count(*) FROM ad_links")[0][0] == ads
        assert [d.decision.ref for d in read.decision_list(copy.connection)] == ["D1"]
        assert [lab.ref for lab in read.label_list(copy.connection)] == ["L1"]
        assert audit.verify(copy, key_dir=running.folder / "keys").problem is None
    assert _ads(running.run("summary", "--db", str(running.db)).stdout) == before + n


def _ads(summary: str) -> int:
    match = re.match(r"store .*: ([\d,]+) ads,", summary)
    assert match, summary
    return int(match.group(1).replace(",", ""))


def test_admin_commands_through_the_server(running: Running) -> None:
    verified = running.run("audit", "verify", "--db", str(running.db))
    assert verified.returncode == 0 and "chain intact" in verified.stdout, verified.stderr
    added = running.run("token", "add", "--user", "ana", "--scope", "read", "--db", str(running.db))
    assert added.returncode == 0, added.stderr
    with httpx.Client(base_url=running.url, timeout=TIMEOUT) as client:
        headers = {"Authorization": f"Bearer {added.stdout.strip()}"}
        assert client.get("/api/v1/hubs", headers=headers).status_code == 200  # the new token works
    listed = running.run("token", "list", "--db", str(running.db))
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["T1", "T2"], listed.stdout

    # `user add` and `user password` read the new password here (stdin) and hand it over apart
    def with_password(password: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "threadline.cli", *args, "--db", str(running.db)],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=running.env,
            timeout=600,
        )

    first, second = "bo's first long passphrase", "bo's second long passphrase"
    added_user = with_password(first, "user", "add", "bo", "--role", "analyst")
    assert added_user.returncode == 0 and added_user.stdout == "user: added bo (analyst)\n", added_user.stderr
    short = with_password("short", "user", "password", "bo")  # checked: refused with one line
    assert short.returncode == 1 and len(short.stderr.strip().splitlines()) == 1, short.stderr
    with httpx.Client(base_url=running.url, timeout=TIMEOUT) as client:
        assert client.post("/login", json={"name": "bo", "password": first}).status_code == 200
    changed = with_password(second, "user", "password", "bo")
    assert changed.returncode == 0 and changed.stdout == "user: new password for bo\n", changed.stderr
    with httpx.Client(base_url=running.url, timeout=TIMEOUT) as client:
        assert client.post("/login", json={"name": "bo", "password": first}).status_code == 401
        assert client.post("/login", json={"name": "bo", "password": second}).status_code == 200
    # audited as the OS user from the command line; the password is nowhere in the audit
    exported = running.run("audit", "export", "--db", str(running.db))
    assert exported.returncode == 0, exported.stderr
    entries = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    acts = [(e["action"], e["object"], e["origin"]) for e in entries if e["object"] == "bo"]
    assert ("user add", "bo", "cli") in acts and ("user password", "bo", "cli") in acts, acts
    assert first not in exported.stdout and second not in exported.stdout


READS = [
    ("summary",),
    ("hubs", "--limit", "5"),
    ("decisions",),
    ("labels",),
    ("networks", "--top", "3"),
]


def test_sources_home_regions_through_the_server(running: Running) -> None:
    """`source set` and `source list` run in the server; an ingest through it reads a UK source's
    ad without a location in GB (its prices in pounds, its London number as +44)."""
    db = str(running.db)
    made = running.run("source", "set", "ukboard", "--region", "gb", "--db", db)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "source ukboard: home region GB\n"
    refused = running.run("source", "set", "ukboard", "--region", "XX", "--db", db)
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert refused.stderr.startswith("threadline: --region: 'XX' is not a region"), refused.stderr
    listed = running.run("source", "list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [["ukboard", "GB"]]
    ads = running.folder / "ukboard.jsonl"
    record = {"id": "uk-1", "source": "ukboard", "body": "call 020 7946 0123 anytime, 80 half hour"}
    ads.write_text(json.dumps(record) + "\n", encoding="utf-8")
    ingested = running.run("ingest", str(ads), "--db", db, "-q", "--no-link")
    assert ingested.returncode == 0, ingested.stderr
    headers = {"Authorization": f"Bearer {running.token}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=TIMEOUT) as client:
        answer = client.get("/api/v1/ads/ukboard/uk-1")
    assert answer.status_code == 200, answer.text
    extracted = answer.json()["extracted"]
    assert {e["value"] for e in extracted if e["kind"] == "phone"} == {"+442079460123"}
    assert {json.loads(e["detail"])["currency"] for e in extracted if e["kind"] == "price"} == {"GBP"}


def test_reads_print_the_same_with_and_without_the_server(running: Running) -> None:
    listed = running.run("networks", "--db", str(running.db), "--top", "1").stdout
    network = re.findall(r"\bN\d{8}\b", listed)[0]
    reads = [*READS, ("explain", network, "--limit", "3")]
    served = {}
    for args in reads:
        done = running.run(*args, "--db", str(running.db))
        assert done.returncode == 0, (args, done.stderr)
        served[args] = done.stdout
    running.stop()
    assert running_server(running.db) is None
    for args in reads:
        done = running.run(*args, "--db", str(running.db))
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout == served[args], args
    # what the command line did through the server is in the audit, as the OS user from the cli
    with Store.open(running.db, read_only=True) as store:
        entries = list(audit.iter_entries(store.connection, limit=10_000))
    by_cli = [e for e in entries if e.origin == "cli" and e.actor_kind == "os-user"]
    acts = {(e.action, e.object) for e in by_cli}
    assert ("label", "L1") in acts and ("merge", "D1") in acts, acts
    assert {e.actor for e in by_cli if e.action in ("label", "merge")} == {os_actor().name}
    assert any(e.action == "ingest" for e in by_cli) and any(e.action == "read network" for e in by_cli)
    verified = running.run("audit", "verify", "--db", str(running.db))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # and the same commands act on the file itself now
    labelled = running.run("label", network, "unsure", "--db", str(running.db), "--analyst", "bo")
    assert labelled.returncode == 0 and labelled.stdout.startswith("L2 recorded: "), labelled.stderr


def test_capture_keeps_each_threads_output_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command the server runs prints into its own buffers; other threads print as before."""
    import io
    import threading

    from threadline import _capture

    real_out, real_err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", real_out)
    monkeypatch.setattr(sys, "stderr", real_err)
    _capture.install()
    _capture.install()  # once only: not a proxy of a proxy
    caught: dict[str, tuple[str, str]] = {}
    inside, printed = threading.Event(), threading.Event()

    def command(name: str) -> None:
        with _capture.capture() as (out, err):
            inside.set()
            print(f"{name} out")
            print(f"{name} err", file=sys.stderr)
            printed.wait(timeout=TIMEOUT)
        caught[name] = (out.getvalue(), err.getvalue())

    worker = threading.Thread(target=command, args=("worker",))
    worker.start()
    inside.wait(timeout=TIMEOUT)
    print("main out")  # while the worker captures
    printed.set()
    worker.join()
    assert caught["worker"] == ("worker out\n", "worker err\n")
    assert real_out.getvalue() == "main out\n" and real_err.getvalue() == ""
