"""The server's CPU time per request, route by route: what a request costs, whatever the load.

    .venv/bin/python bench/cpu.py                           # the 100k-ad store bench/serve.py made
    .venv/bin/python bench/cpu.py --store S.duckdb --routes network,search --requests 40

Wall-clock latency on a loaded machine says as much about the other work as about the server;
the CPU a request costs (the server process's user + system time, every thread's, DuckDB's
included) does not. The store is copied into ``--work`` (with its audit key) and served there
(`threadline serve` on a free loopback port), with a user and a read token added. For each route
the server is asked ``--warm`` requests first (templates compiled, caches filled), then
``--requests`` requests one after another, each for another sample (a network of the queue's top
200, an ad, a phone as people type it, a name...); the process's CPU time is read before and
after. The server's own CPU while idle (its alert-delivery poll, ...) is measured for as long and
taken off. Kept answers are off (``THREADLINE_ANSWERS_MB=0``: each API request reads the store)
unless ``--kept``.

Printed, and written to bench/out/cpu-results.json.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from pages import _sign_in, largest_and_cases, serve_copy
from serve import OUT, _samples

ROUTES = (
    "queue",
    "network",
    "largest network",
    "ad",
    "search name",
    "search phone",
    "hubs",
    "decisions",
    "case",
    "api queue",
    "api network",
    "api ad",
    "api search name",
    "api search phone",
)


def _paths(route: str, s: dict[str, list[str]], k: int) -> tuple[str, bool]:
    """The ``k``-th request's path for ``route``, and whether it goes with the token (the API)."""
    names = [q for q in s["queries"] if not q.startswith("(")]
    phones = [q for q in s["queries"] if q.startswith("(")] or names
    api = route.startswith("api ")
    what = route.removeprefix("api ")
    pick = lambda xs: xs[k % len(xs)]  # noqa: E731
    if what == "queue":
        if api:
            return f"/api/v1/networks?limit=50&offset={50 * (k % 4)}", True
        return ("/" if k % 4 == 0 else f"/?offset={50 * (k % 4)}"), False
    if what == "network":
        return (f"/api/v1/networks/{pick(s['networks'])}" if api else f"/networks/{pick(s['networks'])}"), api
    if what == "largest network":
        return f"/networks/{s['largest'][0]}", False
    if what == "ad":
        return (f"/api/v1/ads/{pick(s['ads'])}" if api else f"/ads/{pick(s['ads'])}"), api
    if what.startswith("search"):
        q = pick(names if what == "search name" else phones)
        return ("/api/v1/search?" if api else "/search?") + str(httpx.QueryParams({"q": q})), api
    if what == "case":
        return f"/cases/{pick(s['cases'])}", False
    return f"/{what}", False


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _spy(pid: int, folder: Path, route: str) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (collapsed stacks, idle threads left out) until sent SIGINT."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (route.replace(" ", "-") + ".txt")
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "-p", str(pid), "--nonblocking", "-r", "200", "-f", "raw", "-o", str(out)]
    started = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the first request
    return started


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    made = OUT / "serve-100000-6161"
    parser.add_argument("--store", type=Path, default=made / "store.duckdb", help="copied, never written")
    parser.add_argument("--corpus", type=Path, help="its corpus (default: the store's folder's corpus/)")
    parser.add_argument("--work", type=Path, default=OUT / "cpu", help="where the copy is served from")
    parser.add_argument("--routes", default=",".join(ROUTES), help=f"some of {', '.join(ROUTES)}")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per route")
    parser.add_argument("--warm", type=int, default=5, help="untimed requests per route first")
    parser.add_argument("--kept", action="store_true", help="the server keeps answers (as by default)")
    parser.add_argument("--out", type=Path, default=OUT / "cpu-results.json")
    parser.add_argument(
        "--profile", type=Path, help="a folder: py-spy samples the server during each route's requests"
    )
    args = parser.parse_args(argv)
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    if not routes or set(routes) - set(ROUTES):
        parser.error(f"--routes: some of {', '.join(ROUTES)}")
    corpus = args.corpus or args.store.parent / "corpus"
    keys = args.store.parent / "keys"

    kept = {} if args.kept else {"THREADLINE_ANSWERS_MB": "0"}
    server, url, token, work, env = serve_copy(args.store, keys, args.work, "cpu.duckdb", kept)
    rows: list[dict[str, Any]] = []
    try:
        proc = psutil.Process(server.pid)
        samples = _samples(url, token, corpus)
        headers = {"Authorization": f"Bearer {token}"}
        largest_and_cases(url, token, samples, work, env)
        random.Random(5).shuffle(samples["ads"])
        with (
            httpx.Client(base_url=url, timeout=600) as browser,
            httpx.Client(base_url=url, timeout=600, headers=headers) as program,
        ):
            _sign_in(browser)
            for route in routes:
                for k in range(args.warm):
                    path, api = _paths(route, samples, 1000 + k)
                    (program if api else browser).get(path).raise_for_status()
                spy = _spy(server.pid, args.profile, route) if args.profile else None
                before, t0 = _cpu(proc), time.perf_counter()
                sizes = []
                for k in range(args.requests):
                    path, api = _paths(route, samples, k)
                    answer = (program if api else browser).get(path)
                    answer.raise_for_status()
                    sizes.append(len(answer.content))
                cpu, wall = _cpu(proc) - before, time.perf_counter() - t0
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
                idle0 = _cpu(proc)
                time.sleep(min(wall, 3.0))
                idle = (_cpu(proc) - idle0) / min(wall, 3.0) * wall  # its own ticking, for as long
                row = {
                    "route": route,
                    "requests": args.requests,
                    "cpu_ms": (cpu - idle) * 1000 / args.requests,
                    "idle_ms": idle * 1000 / args.requests,
                    "wall_ms": wall * 1000 / args.requests,
                    "kib": sum(sizes) / len(sizes) / 1024,
                }
                rows.append(row)
                print(
                    f"{route:<18} cpu {row['cpu_ms']:7.1f} ms/request (idle {row['idle_ms']:.1f}), "
                    f"wall {row['wall_ms']:7.1f} ms, {row['kib']:.0f} KiB",
                    flush=True,
                )
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except Exception:
            server.kill()
    args.out.parent.mkdir(exist_ok=True)
    said = {k: str(v) for k, v in vars(args).items()}
    args.out.write_text(json.dumps({"args": said, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
