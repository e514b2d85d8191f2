"""The workspace server under load (issue 14): latency per route, idle and while ads arrive.

    .venv/bin/python bench/serve.py                        # 100,000-ad store, 20 clients, 10,000 ads in
    .venv/bin/python bench/serve.py --ads 20000 --ingest 2000 --requests 100

A store of ``--ads`` synthetic text-only ads is made and served (`threadline serve` on a free
loopback port). ``--clients`` threads, each with its own HTTP connection and a read token, send a
mix of the requests a detective's screens make: the triage queue (a page of 50), a network's view,
an ad, and a search (a phone typed as people type it, or a name). Each client sends
``--requests`` requests or stops after ``--seconds``, whichever comes first, so the run is bounded.

Phases: idle (only the clients), then the same clients while ``--ingest`` new ads go in through
the server (`threadline ingest` hands them to the running server's writer), then while ``--push``
text-only ads are pushed by a crawler to ``POST /api/v1/ads`` in batches of ``--push-batch`` (goal
>= 300 ads/s sustained, linked as they come), then ``--small``
ingests of ``--small-batch`` ads one after another with the server's resident memory read before,
during and after. Reported: p50/p95/p99 per route and phase (goal p95 <= 150 ms idle and <= 300 ms
during the ingest on a 2-core machine), the ingest throughput under load against the same ingest
with no server (into a copy of the store), and the server's RSS (goal: no growth beyond 10%).
Where the CLI cannot hand an ingest to the server yet, that phase says so and is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from threadline.synth import generate

OUT = Path(__file__).resolve().parent / "out"
CLI = [sys.executable, "-m", "threadline.cli"]
ROUTES = ("queue", "network", "ad", "search")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"threadline {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Load:
    """Client threads sending the screens' requests, each latency kept per route."""

    def __init__(self, url: str, token: str, samples: dict[str, list[str]], seed: int) -> None:
        self.url, self.token, self.samples, self.seed = url, token, samples, seed
        self.latency: dict[str, list[float]] = {r: [] for r in ROUTES}
        self.errors: dict[str, int] = {}
        self.kept: dict[str, int] = dict.fromkeys(ROUTES, 0)  # answered from the server's kept answers
        self._lock = threading.Lock()

    def _request(self, client: httpx.Client, rng: random.Random) -> None:
        route = rng.choice(ROUTES)
        if route == "queue":
            path, params = "/api/v1/networks", {"limit": "50", "offset": str(50 * rng.randrange(4))}
        elif route == "network":
            path, params = f"/api/v1/networks/{rng.choice(self.samples['networks'])}", {}
        elif route == "ad":
            path, params = f"/api/v1/ads/{rng.choice(self.samples['ads'])}", {}
        else:
            path, params = "/api/v1/search", {"q": rng.choice(self.samples["queries"])}
        t = time.perf_counter()
        answer = client.get(path, params=params)
        took = time.perf_counter() - t
        with self._lock:
            if answer.status_code == 200:
                self.latency[route].append(took)
                self.kept[route] += answer.headers.get("X-Threadline-Answer") == "kept"
            else:
                key = f"{route} {answer.status_code}"
                self.errors[key] = self.errors.get(key, 0) + 1

    def run(self, clients: int, requests: int, seconds: float, until: threading.Event | None = None) -> None:
        deadline = time.perf_counter() + seconds

        def client_loop(k: int) -> None:
            rng = random.Random(self.seed * 1000 + k)
            headers = {"Authorization": f"Bearer {self.token}"}
            with httpx.Client(base_url=self.url, headers=headers, timeout=60) as client:
                for _ in range(requests):
                    if time.perf_counter() > deadline or (until is not None and until.is_set()):
                        return
                    self._request(client, rng)

        threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def table(self, phase: str) -> list[dict[str, Any]]:
        rows = []
        for route in ROUTES:
            ms = [x * 1000 for x in self.latency[route]]
            rows.append(
                {
                    "phase": phase,
                    "route": route,
                    "requests": len(ms),
                    "p50_ms": _percentile(ms, 0.5),
                    "p95_ms": _percentile(ms, 0.95),
                    "p99_ms": _percentile(ms, 0.99),
                    "kept": self.kept[route] / len(ms) if ms else 0.0,
                }
            )
        return rows


def _samples(url: str, token: str, corpus: Path) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        queue = client.get("/api/v1/networks", params={"limit": "200"}).json()
    networks = [str(row["network"]) for row in queue["items"]]
    ads, queries = [], []
    rng = random.Random(7)
    with (corpus.parent / "base.jsonl").open(encoding="utf-8") as lines:  # the ads served from the start
        for line in lines:
            if rng.random() < 0.01:
                ad = json.loads(line)
                ads.append(f"{ad.get('source') or 'ads'}/{ad['id']}")
    truth = corpus / "truth.jsonl"
    with truth.open(encoding="utf-8") as lines:
        for line in lines:
            if rng.random() < 0.01:
                row = json.loads(line)
                for phone in row.get("phones", [])[:1]:
                    digits = "".join(c for c in str(phone) if c.isdigit())[-10:]
                    if len(digits) == 10:  # typed as a person types it
                        queries.append(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")
    queries += ["Mia", "Luna", "Ruby", "Jade"]
    if not networks or not ads:
        raise RuntimeError("the store gave no networks or ads to sample")
    return {"networks": networks, "ads": ads, "queries": queries}


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=10_000, help="ads ingested through the server")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300, help="requests per client and phase, at most")
    parser.add_argument("--seconds", type=float, default=120.0, help="each phase's time, at most")
    parser.add_argument("--small", type=int, default=100, help="small ingests in a row")
    parser.add_argument("--small-batch", type=int, default=20, help="ads per small ingest")
    parser.add_argument("--push", type=int, default=10_000, help="ads pushed to POST /api/v1/ads")
    parser.add_argument("--push-batch", type=int, default=500, help="ads per push")
    parser.add_argument("--seed", type=int, default=6161)
    parser.add_argument(
        "--no-kept", action="store_true", help="the server keeps no answers (every request reads the store)"
    )
    args = parser.parse_args(argv)

    folder = OUT / f"serve-{args.ads}-{args.seed}"
    extra = args.ingest + args.small * args.small_batch
    corpus = folder / "corpus"
    store = folder / "store.duckdb"
    if not (folder / ".done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        generate(corpus, args.ads + extra, args.seed, images=False)
        lines = (corpus / "ads.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / "base.jsonl").write_text("".join(lines[: args.ads]), encoding="utf-8")
        bulk = lines[args.ads : args.ads + args.ingest]
        (folder / "bulk.jsonl").write_text("".join(bulk), encoding="utf-8")
        for k in range(args.small):
            start = args.ads + args.ingest + k * args.small_batch
            (folder / f"small-{k}.jsonl").write_text(
                "".join(lines[start : start + args.small_batch]), encoding="utf-8"
            )
        _cli("ingest", str(folder / "base.jsonl"), "--db", str(store), "-q")
        print(f"store: {args.ads:,} ads made and ingested in {time.perf_counter() - t0:.0f}s", flush=True)
        (folder / ".done").touch()
    # A folder made by an earlier run holds the bulk and small ingests that run asked for: what
    # is timed is what its files hold, and the run says when that is less than asked.
    with (folder / "bulk.jsonl").open("rb") as f:
        bulk_ads = sum(1 for _ in f)
    small = [p for p in (folder / f"small-{k}.jsonl" for k in range(args.small)) if p.exists()]
    if bulk_ads != args.ingest or len(small) != args.small:
        print(
            f"{folder.name} was made for another run: {bulk_ads:,} ads ingested (--ingest "
            f"{args.ingest:,}), {len(small)} small ingests (--small {args.small}); remove the folder "
            "to make it for these",
            flush=True,
        )
    pushed = folder / f"push-{args.push}.jsonl"
    if args.push and not pushed.exists():  # a feed of its own: new ads, not new versions
        generate(folder / "push-corpus", args.push, args.seed + 7, images=False)
        with pushed.open("w", encoding="utf-8") as out:
            for line in (folder / "push-corpus" / "ads.jsonl").read_text(encoding="utf-8").splitlines():
                out.write(json.dumps({**json.loads(line), "source": "pushfeed"}) + "\n")
    work = folder / "run.duckdb"
    shutil.copy(store, work)
    env = {**os.environ, "THREADLINE_KEY_DIR": str(folder / "keys")}
    if args.no_kept:
        env["THREADLINE_ANSWERS_MB"] = "0"
    _cli("user", "add", "bench", "--role", "analyst", "--password-stdin", "--db", str(work),
         stdin="bench-password-1234\n", env=env)  # fmt: skip
    token = _cli("token", "add", "--user", "bench", "--scope", "read", "--db", str(work), env=env).strip()
    push_token = _cli(
        "token", "add", "--user", "bench", "--scope", "push", "--db", str(work), env=env
    ).strip()

    # The same bulk ingest with no server, into another copy: the throughput to compare with.
    idle_copy = folder / "idle.duckdb"
    shutil.copy(store, idle_copy)
    t0 = time.perf_counter()
    _cli("ingest", str(folder / "bulk.jsonl"), "--db", str(idle_copy), "-q")
    idle_ingest = bulk_ads / (time.perf_counter() - t0)
    idle_copy.unlink()
    print(f"ingest of {bulk_ads:,} ads with no server: {idle_ingest:,.0f} ads/s", flush=True)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--db",
            str(work),
            "--port",
            str(port),
            "--push-rate",
            "1000",
            "--push-burst",
            "1000",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    results: dict[str, Any] = {"args": vars(args), "idle_ingest_ads_per_s": idle_ingest}
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped: {(folder / 'server.log').read_text()}")
            time.sleep(0.2)
        proc = psutil.Process(server.pid)
        samples = _samples(url, token, corpus)

        idle = Load(url, token, samples, args.seed)
        idle.run(args.clients, args.requests, args.seconds)
        rows = idle.table("idle")

        busy = Load(url, token, samples, args.seed + 1)
        finished = threading.Event()
        outcome: dict[str, Any] = {}

        def ingest() -> None:
            t = time.perf_counter()
            try:
                _cli("ingest", str(folder / "bulk.jsonl"), "--db", str(work), "-q", env=env)
                outcome["ads_per_s"] = bulk_ads / (time.perf_counter() - t)
            except RuntimeError as exc:
                outcome["error"] = str(exc)
            finally:
                finished.set()

        feeder = threading.Thread(target=ingest)
        feeder.start()
        busy.run(args.clients, 10**9, max(args.seconds, 3600), until=finished)
        feeder.join()
        if "error" in outcome:
            print(f"ingest through the server: not possible here ({outcome['error']})", flush=True)
        else:
            rows += busy.table("during ingest")
            results["ingest_under_load_ads_per_s"] = outcome["ads_per_s"]

        if args.push:
            pushing = Load(url, token, samples, args.seed + 2)
            pushed_done = threading.Event()

            def push() -> None:
                lines = pushed.read_text(encoding="utf-8").splitlines(keepends=True)
                headers = {"Authorization": f"Bearer {push_token}", "Content-Type": "application/x-ndjson"}
                t = time.perf_counter()
                try:
                    with httpx.Client(base_url=url, timeout=600, headers=headers) as client:
                        for i in range(0, len(lines), args.push_batch):
                            body = "".join(lines[i : i + args.push_batch]).encode("utf-8")
                            answer = client.post("/api/v1/ads", content=body)
                            answer.raise_for_status()
                    outcome["push_ads_per_s"] = len(lines) / (time.perf_counter() - t)
                except httpx.HTTPError as exc:
                    outcome["push_error"] = str(exc)
                finally:
                    pushed_done.set()

            crawler = threading.Thread(target=push)
            crawler.start()
            pushing.run(args.clients, 10**9, max(args.seconds, 3600), until=pushed_done)
            crawler.join()
            rows += pushing.table("during push")
            results["push_ads_per_s"] = outcome.get("push_ads_per_s")
            if "push_error" in outcome:
                print(f"push: failed ({outcome['push_error']})", flush=True)

        rss = [proc.memory_info().rss / 2**20]
        small_errors = 0
        for path in small:
            try:
                _cli("ingest", str(path), "--db", str(work), "-q", env=env)
            except RuntimeError as exc:
                small_errors += 1
                print(f"small ingest refused: {exc}", flush=True)
            rss.append(proc.memory_info().rss / 2**20)
        results["rss_mib"] = {
            "before": rss[0],
            "peak": max(rss),
            "after": rss[-1],
            "failed_ingests": small_errors,
        }
        results["latency"] = rows
        results["errors"] = {**idle.errors, **{f"busy {k}": v for k, v in busy.errors.items()}}
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    print(f"{'phase':<14} {'route':<8} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'kept':>6}")
    for row in results["latency"]:
        print(
            f"{row['phase']:<14} {row['route']:<8} {row['requests']:>8,} {row['p50_ms']:>8.1f} "
            f"{row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['kept']:>6.0%}"
        )
    print("(kept: answered from the answers the server keeps until the store changes)")
    if "ingest_under_load_ads_per_s" in results:
        print(
            f"ingest: {results['ingest_under_load_ads_per_s']:,.0f} ads/s under load, "
            f"{idle_ingest:,.0f} ads/s with no server"
        )
    if results.get("push_ads_per_s"):
        print(
            f"push: {results['push_ads_per_s']:,.0f} ads/s sustained ({args.push:,} text-only ads, batch "
            f"{args.push_batch}, {args.clients} clients browsing; goal >= 300)"
        )
    m = results["rss_mib"]
    growth = m["after"] / m["before"] - 1
    print(
        f"server RSS over {len(small)} ingest(s) of {args.small_batch} ads: before {m['before']:,.0f} MiB, "
        f"peak {m['peak']:,.0f}, after {m['after']:,.0f} ({growth:+.1%}; goal within +10%)"
        + (f"; {m['failed_ingests']} ingests refused" if m["failed_ingests"] else "")
    )
    if results["errors"]:
        print(f"non-200 answers: {results['errors']}")
    OUT.mkdir(exist_ok=True)
    (OUT / "serve-results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
