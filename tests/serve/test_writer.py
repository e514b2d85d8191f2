"""The one writer and the readers' cursors (threadline.serve._writer), on a real store: a reader
is never held up by the writer's open transaction and sees the last committed state; relinks
asked for while one waits in the queue are one run. Events, not clocks, order the threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from threadline.serve import Context
from threadline.serve._app import create_app
from threadline.service import audit
from threadline.store import Store, StoreError


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    store = Store.open(tmp_path / "store.duckdb")
    store.connection.execute("CREATE TABLE probe (x INTEGER); INSERT INTO probe VALUES (1)")
    context = Context(store)
    context.start()
    yield context
    context.close()


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM probe").fetchall()[0][0])


def test_a_reader_sees_the_last_committed_state_while_the_writer_holds_a_transaction(ctx: Context) -> None:
    inside, release = threading.Event(), threading.Event()

    def long_write(con: duckdb.DuckDBPyConnection) -> int:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO probe VALUES (2)")
        inside.set()
        release.wait()  # a link run, as long as the test wants
        con.execute("COMMIT")
        return _count(con)

    done = ctx.writer.submit("long write", long_write)
    assert inside.wait(timeout=60)
    # The writer is mid-transaction: readers read (and audit) without waiting for it.
    seen = []

    def read() -> None:
        seen.append(_count(ctx.cursor()))
        ctx.audit(audit.Actor("ana", "user", "127.0.0.1"), "read probe")

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive() and seen == [1]
    assert not done.done()
    release.set()
    assert done.result(timeout=60) == 2
    assert _count(ctx.cursor()) == 2  # committed: the next read sees it


def test_jobs_run_one_at_a_time_in_order_and_a_failure_goes_to_its_caller(ctx: Context) -> None:
    order: list[int] = []

    def job(n: int) -> Callable[[duckdb.DuckDBPyConnection], int]:
        def run(con: duckdb.DuckDBPyConnection) -> int:
            if n == 2:
                raise LookupError("no such thing")
            con.execute("INSERT INTO probe VALUES (?)", [n])
            order.append(n)
            return n

        return run

    futures = [ctx.writer.submit(f"job {n}", job(n)) for n in range(5)]
    with pytest.raises(LookupError):
        futures[2].result(timeout=60)
    assert [f.result(timeout=60) for i, f in enumerate(futures) if i != 2] == [0, 1, 3, 4]
    assert order == [0, 1, 3, 4]


def test_after_a_commit_that_failed_half_way_the_writer_writes_nothing_more(ctx: Context) -> None:
    # DuckDB's rollback of a commit that ran out of memory leaves the keys in the indexes
    # (`store._tx.failed_commit`); the same failure raised as DuckDB raises it, wrapped once as
    # the ingest wraps it. Jobs before it ran; no job after it runs, each is refused with why.
    def failing(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO probe VALUES (7)")
        try:
            raise duckdb.TransactionException(
                "TransactionContext Error: Failed to commit: failed to pin block"
            )
        except duckdb.TransactionException as exc:
            raise RuntimeError("the store stopped accepting writes") from exc

    def write(con: duckdb.DuckDBPyConnection) -> int:
        con.execute("INSERT INTO probe VALUES (8)")
        return _count(con)

    assert ctx.writer.submit("before", write).result(timeout=60) == 2
    with pytest.raises(RuntimeError):
        ctx.writer.submit("failing", failing).result(timeout=60)
    for _ in range(2):
        with pytest.raises(StoreError, match="writes no more; restart it"):
            ctx.writer.submit("after", write).result(timeout=60)
    assert _count(ctx.cursor()) == 3  # the failing job's own row, and nothing of the refused ones
    # The health check says so, for a supervisor to restart the server.
    assert _health(ctx) == (503, "writer stopped")


def _health(ctx: Context) -> tuple[int, str]:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/healthz")

    answer = asyncio.run(get())
    return answer.status_code, answer.json()["status"]


def test_the_health_check_is_ok_while_the_writer_writes(ctx: Context) -> None:
    assert _health(ctx) == (200, "ok")


def test_relinks_asked_for_while_one_waits_are_one_run(ctx: Context) -> None:
    release = threading.Event()
    blocker = ctx.writer.submit("busy", lambda con: release.wait())
    runs: list[int] = []

    def relink(con: duckdb.DuckDBPyConnection) -> int:
        runs.append(1)
        return len(runs)

    first = ctx.writer.submit_relink(relink)
    second = ctx.writer.submit_relink(relink)
    assert first is second  # the queued run will see both changes
    release.set()
    blocker.result(timeout=60)
    assert first.result(timeout=60) == 1
    third = ctx.writer.submit_relink(relink)  # after it started: a new run
    assert third is not first and third.result(timeout=60) == 2


def test_a_job_leaves_no_temporary_tables_on_the_writer(ctx: Context) -> None:
    # A link or score run leaves its step tables behind; a server writes all day, so each job's
    # are dropped when it ends and memory holds the store, not the last run.
    def run(con: duckdb.DuckDBPyConnection) -> int:
        for k in range(3):
            con.execute(f"CREATE TEMP TABLE step_{k} AS SELECT range AS x FROM range(1000)")
        return int(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0])

    assert ctx.writer.submit("a run", run).result(timeout=60) == 3

    def left(con: duckdb.DuckDBPyConnection) -> int:
        return int(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0])

    assert ctx.writer.submit("after", left).result(timeout=60) == 0
    assert _count(ctx.cursor()) == 1  # the store's own tables stay


def test_concurrent_audit_entries_are_written_in_batches_and_all_kept(ctx: Context) -> None:
    # Readers append their entries together (group commit): every one is kept, each thread's in
    # its own order, and the chain verifies.
    threads, each = 12, 15
    start = threading.Barrier(threads)

    def read(k: int) -> None:
        start.wait()
        for i in range(each):
            ctx.audit(audit.Actor(f"user{k}", "user", "127.0.0.1"), "read network", f"N{i:08d}")

    workers = [threading.Thread(target=read, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    rows = ctx.cursor().execute("SELECT actor, object FROM audit_log ORDER BY seq").fetchall()
    for k in range(threads):
        assert [o for a, o in rows if a == f"user{k}"] == [f"N{i:08d}" for i in range(each)]
    result = audit.verify(ctx.cursor())
    assert result.ok and result.entries == len(rows) == threads * each


def test_the_server_deletes_expired_sessions_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from threadline.serve import Settings
    from threadline.service import accounts, sessions
    from threadline.service._common import Actor

    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    store = Store.open(tmp_path / "store.duckdb")
    accounts.add_user(
        store, "ana", "analyst", "correct horse battery staple", by=Actor("root", "os-user", "cli")
    )
    long_ago = datetime.now(UTC) - timedelta(days=30)
    sessions.create_session(store, "ana", "127.0.0.1", now=long_ago)
    sessions.create_session(store, "ana", "127.0.0.1")  # in use: kept
    context = Context(store, Settings(purge_seconds=0.01))
    context.start()
    try:
        for _ in range(3000):  # bounded: a sweep every hundredth of a second
            left = context.cursor().execute("SELECT count(*) FROM sessions").fetchall()[0][0]
            if left == 1:
                break
            threading.Event().wait(0.01)
        assert left == 1
    finally:
        context.close()


def _niceness() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_writer_and_its_ingests_workers_run_below_the_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from threadline.ingest._work import NICE_ENV, exit_with
    from threadline.serve import Settings

    monkeypatch.setenv(audit.KEY_DIR_ENV, str(tmp_path / "keys"))
    monkeypatch.delenv(NICE_ENV, raising=False)
    base = _niceness()
    context = Context(Store.open(tmp_path / "store.duckdb"), Settings(writer_nice=5))
    context.start()
    try:
        writer_nice = context.writer.submit("probe", lambda con: _niceness()).result(timeout=120)
        assert writer_nice == min(base + 5, 19) and _niceness() == base  # the readers' threads are not
        assert os.environ[NICE_ENV] == "5"

        def workers_nice(con: object = None) -> int:
            with ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with,
                initargs=(os.getpid(),),
            ) as pool:
                return int(pool.submit(os.nice, 0).result(timeout=120))

        assert workers_nice() == min(base + 5, 19)
        # Started from the writer's thread, as a server's pushes and handed-over ingests start
        # them, workers inherit its niceness: they run 5 steps nicer than the server, not 10.
        assert context.writer.submit("pool", workers_nice).result(timeout=240) == min(base + 5, 19)
    finally:
        context.close()


def test_every_commit_of_the_writer_makes_kept_answers_stale_even_mid_job(ctx: Context) -> None:
    """An ingest is one job that commits batch after batch: a read after a batch's commit must not
    be given an answer kept from before it, though the job still runs."""
    import time

    from threadline.serve._answers import Answer
    from threadline.store._tx import transaction

    committed, release = threading.Event(), threading.Event()
    changes = ctx.writer.changes
    before = changes.count
    ctx.answers.put("k", Answer(b"old", None, before, frozenset({"ads"}), time.monotonic(), False))

    def batches(con: duckdb.DuckDBPyConnection) -> int:
        with transaction(con, touches=("ads",)):
            con.execute("INSERT INTO probe VALUES (2)")
        committed.set()
        release.wait(timeout=120)
        return 0

    job = ctx.writer.submit("ingest", batches, told=True)
    try:
        assert committed.wait(timeout=120)
        assert changes.count > before and ctx.writer.running == "ingest"
        assert ctx.answers.get("k", changes, busy=ctx.writer.untold) is None
        assert _count(ctx.cursor()) == 2  # and a read now sees the batch
    finally:
        release.set()
        job.result(timeout=120)


def test_an_ingest_batch_touches_ads_only_and_an_untold_job_everything(tmp_path: Path, ctx: Context) -> None:
    """A batch of ads written by an ingest (`Store.write_batch`) touches "ads" only: a kept view
    of a network holds through it, and through the end of a job whose writes all said what they
    touch; a job that did not say (raw SQL) counts as touching everything when it ends."""
    import time

    from threadline.ingest import ingest_file
    from threadline.serve._answers import Answer

    ads = tmp_path / "ads.jsonl"
    ads.write_text(
        '{"id": "a1", "source": "s", "title": "Mia", "body": "Call 713-555-0142, sweet and discreet."}\n',
        encoding="utf-8",
    )
    changes = ctx.writer.changes

    def keep(key: str, tags: set[str]) -> None:
        ctx.answers.put(
            key, Answer(key.encode(), None, changes.count, frozenset(tags), time.monotonic(), False)
        )

    def kept(key: str) -> bool:
        return ctx.answers.get(key, changes, busy=ctx.writer.untold) is not None

    keep("network", {"net:N00000001"})
    keep("ad", {"ads", "net:N00000001"})

    def ingest_only(con: duckdb.DuckDBPyConnection) -> tuple[bool, bool]:
        assert con is ctx.store.connection  # the writer's, as a handed-over `ingest` runs it
        report = ingest_file(ads, ctx.store, workers=0)
        assert report.new_ads == 1
        return kept("network"), kept("ad")

    assert ctx.writer.submit("ingest", ingest_only, told=True).result(timeout=120) == (True, False)
    assert kept("network")  # the job's end says nothing more

    def raw(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO probe VALUES (3)")  # no transaction block: nothing said

    ctx.writer.submit("raw", raw).result(timeout=120)
    assert not kept("network")  # an untold job's end counts as a change of everything
