"""The workspace's HTML pages (issue 15's speed goals): latency per page, and the browser's view.

    .venv/bin/python bench/pages.py                     # the 100k-ad store bench/serve.py made
    .venv/bin/python bench/pages.py --store S.duckdb --corpus CORPUS --work /tmp/pages

The store (``--store``; by default the one `bench/serve.py` makes, with its corpus beside it) is
copied into ``--work`` with its audit key and served from there (`threadline serve` on a free
loopback port): the original is never written. A user and a read token are added to the copy, and
a case holding two networks when the store has none (so that a case page can be read).

Over HTTP, each client signs in as a browser does (the sign-in form's token and cookie, then the
session cookie; the page carries the session's CSRF token, checked to be there) and asks for
the pages a detective reads, chosen at random: the queue (``/``, its first four pages), a network
from the queue's top 200, the largest network, an ad, search results (a phone typed as people
type it, or a name), the hubs, the decisions and a case (``--pages``: some of them only). One client
alone, then ``--clients`` at once, each sending its next request as soon as it has the last answer
(no pause: latency under load is then about clients / throughput); each sends ``--requests``
requests or stops after ``--seconds``. Reported: p50/p95/p99 per page (goal p95 <= 300 ms with 20
clients on a 2-core machine, for the queue, network, ad and search pages), and the machine's load
average before and after each run (other work on the machine slows every figure).

In the browser (Playwright driving Debian's chromium, as the browser tests do): the largest
network's page, from the navigation until its graph is drawn (``#graph[data-state=drawn]``, set by
static/network.js once cytoscape has laid it out; goal < 2 s), and the queue's first paint; the
median of ``--loads`` loads in one signed-in tab (the static files cached after the first).

Printed, and written to bench/out/pages-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from serve import CLI, OUT, _cli, _free_port, _percentile, _samples

PASSWORD = "bench-password-1234"
CHROMIUM = Path("/usr/bin/chromium")
PAGES = ("queue", "network", "largest network", "ad", "search", "hubs", "decisions", "case")
GOAL_MS = 300.0  # p95, 20 clients: the queue, network, ad and search pages (issue 15)
GOAL_PAGES = ("queue", "network", "ad", "search")


def _sign_in(client: httpx.Client) -> str:
    """Sign in through the form as a browser does; the session's CSRF token (from the queue page)."""
    form = client.get("/login", params={"next": "/"})
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError(f"no sign-in form at /login ({form.status_code})")
    done = client.post(
        "/login", data={"login_token": token.group(1), "next": "/", "name": "bench", "password": PASSWORD}
    )
    if done.status_code != 303 or done.headers.get("location") != "/":
        raise RuntimeError(f"sign-in refused: {done.status_code} {done.headers.get('location')}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    if csrf is None:
        raise RuntimeError("signed in, but the page carries no CSRF token")
    return csrf.group(1)


class Load:
    """Signed-in clients reading pages at random, each latency kept per page."""

    def __init__(
        self, url: str, samples: dict[str, list[str]], seed: int, pages: tuple[str, ...] = PAGES
    ) -> None:
        self.url, self.samples, self.seed = url, samples, seed
        self.pages = tuple(p for p in pages if p != "case" or samples["cases"])
        self.latency: dict[str, list[float]] = {p: [] for p in self.pages}
        self.bytes: dict[str, list[int]] = {p: [] for p in self.pages}
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()

    def path(self, page: str, rng: random.Random) -> str:
        s = self.samples
        if page == "queue":
            return "/" if rng.random() < 0.5 else f"/?offset={50 * rng.randrange(1, 4)}"
        if page == "network":
            return f"/networks/{rng.choice(s['networks'])}"
        if page == "largest network":
            return f"/networks/{s['largest'][0]}"
        if page == "ad":
            source, _, ad = rng.choice(s["ads"]).partition("/")
            return f"/ads/{source}/{ad}"
        if page == "search":
            return "/search?" + httpx.QueryParams({"q": rng.choice(s["queries"])}).__str__()
        if page == "case":
            return f"/cases/{rng.choice(s['cases'])}"
        return f"/{page}"

    def run(self, clients: int, requests: int, seconds: float) -> None:
        ready = threading.Barrier(clients)
        failed: list[BaseException] = []

        def client_loop(k: int) -> None:
            rng = random.Random(self.seed * 1000 + k)
            try:
                with httpx.Client(base_url=self.url, timeout=120) as client:
                    _sign_in(client)
                    ready.wait()  # every client signed in before any is timed
                    deadline = time.perf_counter() + seconds
                    for _ in range(requests):
                        if time.perf_counter() > deadline:
                            return
                        page = rng.choice(self.pages)
                        path = self.path(page, rng)
                        t = time.perf_counter()
                        answer = client.get(path)
                        took = time.perf_counter() - t
                        with self._lock:
                            if answer.status_code == 200:
                                self.latency[page].append(took)
                                self.bytes[page].append(len(answer.content))
                            else:
                                key = f"{page} {answer.status_code}"
                                self.errors[key] = self.errors.get(key, 0) + 1
            except BaseException as exc:  # said after the run, not lost in a thread
                ready.abort()
                failed.append(exc)

        threads = [threading.Thread(target=client_loop, args=(k,), daemon=True) for k in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            raise RuntimeError(f"a client failed: {failed[0]!r}") from failed[0]

    def table(self, clients: int) -> list[dict[str, Any]]:
        rows = []
        for page in self.pages:
            ms = [x * 1000 for x in self.latency[page]]
            if not ms:
                continue
            rows.append(
                {
                    "clients": clients,
                    "page": page,
                    "requests": len(ms),
                    "p50_ms": _percentile(ms, 0.5),
                    "p95_ms": _percentile(ms, 0.95),
                    "p99_ms": _percentile(ms, 0.99),
                    "kib": statistics.mean(self.bytes[page]) / 1024,
                }
            )
        return rows


# -- in the browser ---------------------------------------------------------------------------------

# Before any of the page's own scripts: the moment network.js marks the graph drawn, kept on the
# page (a MutationObserver, not a poll: the time is the page's own).
_WATCH_GRAPH = """
new MutationObserver((changes, seen) => {
  for (const change of changes) {
    if (change.target.id === "graph" && change.target.dataset.state === "drawn") {
      window.__graphDrawnAt = performance.now();
      seen.disconnect();
    }
  }
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-state"] });
"""
_TIMES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
  const box = document.getElementById("graph");
  return {
    response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    first_paint: paint["first-paint"] ?? null,
    first_contentful_paint: paint["first-contentful-paint"] ?? null,
    graph_drawn: window.__graphDrawnAt ?? null,
    nodes: box ? Number(box.dataset.nodes) : null, edges: box ? Number(box.dataset.edges) : null,
  };
}"""


def browser_times(url: str, network: str, loads: int) -> dict[str, Any]:
    """The largest network's page until its graph is drawn, and the queue's first paint: each
    ``loads`` times in one signed-in tab (ms from the navigation's start, the page's own clock)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
            context.add_init_script(_WATCH_GRAPH)
            tab = context.new_page()
            tab.goto("/login?next=/")
            tab.fill("input[name=name]", "bench")
            tab.fill("input[name=password]", PASSWORD)
            tab.click("button[type=submit]")
            tab.wait_for_url(f"{url}/")
            network_loads, queue_loads = [], []
            for _ in range(loads):
                t = time.perf_counter()
                tab.goto(f"/networks/{network}")
                tab.wait_for_selector('#graph[data-state="drawn"]', state="attached", timeout=120_000)
                wall = (time.perf_counter() - t) * 1000
                network_loads.append({**tab.evaluate(_TIMES), "wall": wall})
            for _ in range(loads):
                tab.goto("/", wait_until="load")
                for _ in range(500):  # the paint entries come a frame after the load (no eval: CSP)
                    times = tab.evaluate(_TIMES)
                    if times["first_contentful_paint"] is not None:
                        break
                    time.sleep(0.02)
                queue_loads.append(times)
        finally:
            browser.close()

    def median(rows: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return statistics.median(values) if values else None

    out["largest_network"] = {
        "network": network,
        "loads": network_loads,
        "median_graph_drawn_ms": median(network_loads, "graph_drawn"),
        "median_wall_ms": median(network_loads, "wall"),
        "median_response_end_ms": median(network_loads, "response_end"),
        "median_dom_content_loaded_ms": median(network_loads, "dom_content_loaded"),
        "median_first_contentful_paint_ms": median(network_loads, "first_contentful_paint"),
        "nodes": network_loads[-1]["nodes"],
        "edges": network_loads[-1]["edges"],
    }
    out["queue"] = {
        "loads": queue_loads,
        "median_first_paint_ms": median(queue_loads, "first_paint"),
        "median_first_contentful_paint_ms": median(queue_loads, "first_contentful_paint"),
        "median_response_end_ms": median(queue_loads, "response_end"),
        "median_load_ms": median(queue_loads, "load"),
    }
    return out


# -- the run ----------------------------------------------------------------------------------------


def _serve(store: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "serve", "--db", str(store), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    for _ in range(3000):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()}")
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server never answered /healthz")


def _cases(url: str, token: str, networks: list[str], work: Path, env: dict[str, str]) -> list[str]:
    """The store's cases; with none, one made (through the running server) holding two networks."""
    headers = {"Authorization": f"Bearer {token}"}
    found = httpx.get(f"{url}/api/v1/cases", headers=headers, timeout=60).json()
    refs = [str(c.get("ref") or f"C{c['case_id']}") for c in found["items"]]
    if refs:
        return refs
    ref = _cli("case", "new", "bench case", "--db", str(work), "--analyst", "bench", env=env).strip()
    _cli("case", "add", ref, *networks[:2], "--db", str(work), "--analyst", "bench", env=env)
    return [ref]


def serve_copy(
    store: Path, keys: Path, work_dir: Path, name: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, str, Path, dict[str, str]]:
    """A copy of ``store`` (and its audit keys) served from ``work_dir``, with a user and a read
    token named "bench": (server, url, token, the copy, the environment the CLI needs)."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    work = work_dir / name
    shutil.copy(store, work)
    env = {**os.environ, "THREADLINE_KEY_DIR": str(work_dir / "keys"), **(extra_env or {})}
    if keys.exists():
        shutil.copytree(keys, work_dir / "keys")
    _cli("user", "add", "bench", "--role", "analyst", "--password-stdin", "--db", str(work),
         stdin=PASSWORD + "\n", env=env)  # fmt: skip
    token = _cli("token", "add", "--user", "bench", "--scope", "read", "--db", str(work), env=env).strip()
    server, url = _serve(work, env, work_dir / "server.log")
    return server, url, token, work, env


def largest_and_cases(
    url: str, token: str, samples: dict[str, list[str]], work: Path, env: dict[str, str]
) -> Any:
    """Adds the largest network and the cases to ``samples``; gives the largest network's row."""
    headers = {"Authorization": f"Bearer {token}"}
    [largest] = httpx.get(
        f"{url}/api/v1/networks", params={"sort": "size", "limit": "1"}, headers=headers, timeout=120
    ).json()["items"]
    samples["largest"] = [str(largest["network"])]
    samples["cases"] = _cases(url, token, samples["networks"], work, env)
    return largest


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    made = OUT / "serve-100000-6161"
    parser.add_argument("--store", type=Path, default=made / "store.duckdb", help="copied, never written")
    parser.add_argument("--corpus", type=Path, help="its corpus (default: the store's folder's corpus/)")
    parser.add_argument(
        "--keys", type=Path, help="its audit key folder (default: the store's folder's keys/)"
    )
    parser.add_argument("--work", type=Path, default=OUT / "pages", help="where the copy is served from")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60, help="requests per client, at most")
    parser.add_argument("--single-requests", type=int, default=400, help="requests of the lone client")
    parser.add_argument("--seconds", type=float, default=300.0, help="each run's time, at most")
    parser.add_argument("--loads", type=int, default=5, help="browser loads of each page")
    parser.add_argument("--seed", type=int, default=1515)
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help=f"the pages asked for, at random (default: {','.join(PAGES)})",
    )
    parser.add_argument("--no-browser", action="store_true", help="leave out the browser's figures")
    args = parser.parse_args(argv)
    if not args.store.exists():
        parser.error(f"no store at {args.store}: `python bench/serve.py` makes it (or give --store)")
    pages = tuple(p.strip() for p in args.pages.split(",") if p.strip())
    if not pages or set(pages) - set(PAGES):
        parser.error(f"--pages: some of {', '.join(PAGES)}")
    corpus = args.corpus or args.store.parent / "corpus"
    keys = args.keys or args.store.parent / "keys"

    server, url, token, work, env = serve_copy(args.store, keys, args.work, "pages.duckdb")
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        samples = _samples(url, token, corpus)
        largest = largest_and_cases(url, token, samples, work, env)
        results["largest_network"] = {"network": largest["network"], "ads": largest.get("ads")}
        print(f"pages of {url}: largest network {largest['network']} ({largest.get('ads')} ads)", flush=True)

        rows: list[dict[str, Any]] = []
        errors: dict[str, int] = {}
        results["load_average_1m"] = {"before": os.getloadavg()[0]}  # the machine before our load
        for clients, requests in ((1, args.single_requests), (args.clients, args.requests)):
            load = Load(url, samples, args.seed + clients, pages)
            t0 = time.perf_counter()
            load.run(clients, requests, args.seconds)
            took, load_1m = time.perf_counter() - t0, os.getloadavg()[0]  # others' work shows here
            results["load_average_1m"][str(clients)] = load_1m
            print(
                f"  {clients} client{'s' if clients > 1 else ''}: {took:.0f}s (load {load_1m:.1f})",
                flush=True,
            )
            rows += load.table(clients)
            errors |= {f"{clients} clients {k}": v for k, v in load.errors.items()}
        results["latency"] = rows
        results["errors"] = errors

        if args.no_browser:
            pass
        elif CHROMIUM.exists():
            results["browser"] = browser_times(url, samples["largest"][0], args.loads)
        else:
            print(f"no {CHROMIUM}: the browser's figures are left out (make browser)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"{'clients':>7} {'page':<16} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'KiB':>6}")
    for row in results["latency"]:
        mark = "  over 300" if row["page"] in GOAL_PAGES and row["p95_ms"] > GOAL_MS else ""
        print(
            f"{row['clients']:>7} {row['page']:<16} {row['requests']:>8,} {row['p50_ms']:>8.1f} "
            f"{row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['kib']:>6.0f}{mark}"
        )
    print(f"(goal: p95 <= {GOAL_MS:.0f} ms with {args.clients} clients for {', '.join(GOAL_PAGES)})")
    if results["errors"]:
        print(f"non-200 answers: {results['errors']}")
    if "browser" in results:
        net, queue = results["browser"]["largest_network"], results["browser"]["queue"]
        print(
            f"browser, largest network {net['network']} ({net['nodes']} nodes, {net['edges']} edges), "
            f"median of {args.loads}: graph drawn at {net['median_graph_drawn_ms']:.0f} ms (goal < 2000; "
            f"HTML received {net['median_response_end_ms']:.0f} ms, DOM ready "
            f"{net['median_dom_content_loaded_ms']:.0f} ms, first contentful paint "
            f"{net['median_first_contentful_paint_ms']:.0f} ms)"
        )
        print(
            f"browser, queue, median of {args.loads}: first paint {queue['median_first_paint_ms']:.0f} ms, "
            f"first contentful paint {queue['median_first_contentful_paint_ms']:.0f} ms "
            f"(HTML received {queue['median_response_end_ms']:.0f} ms, load {queue['median_load_ms']:.0f} ms)"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "pages-results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
