"""What the commands do with the files they are pointed at: outputs that are their own inputs,
folders named like patterns, damaged and foreign stores, FIFOs, links out of an input folder,
user files in a run's output folders. Every refusal is one line, "threadline: ...", and a
non-zero exit; nothing the user has is lost.

Synthetic data only (fictional NXX-555-01XX numbers). Commands that start process pools, or
could hang, run as real processes (with a timeout, so a hang fails the test); the rest through
`threadline.cli.main`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from threadline.cli import main
from threadline.engines import glob_escape, input_files
from threadline.engines.local import run_local
from threadline.engines.outputs import OUTPUTS, LoadError, check_output, clear_output
from threadline.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError

ADS = [
    {"id": "a1", "source": "t", "body": "Mia, 24, new in town. Text (713) 555-0142."},
    {"id": "a2", "source": "t", "body": "Mia visiting Dallas. Call 713-555-0142.", "location": "Dallas, TX"},
    {"id": "a3", "source": "t", "body": "Ruby in Houston, call 832-555-0107.", "location": "Houston, TX"},
]


def _process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command as a real process; a hang past ``timeout`` fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def _call(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The command in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _refusal(code: int, err: str) -> str:
    """The one line a refused command printed (checked to be exactly one, and an error)."""
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("threadline: "), (code, err)
    assert "Traceback" not in err
    return lines[0]


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    return _refusal(result.returncode, result.stderr)


def _write_ads(path: Path, ads: list[dict[str, str]] = ADS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ads), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ads.jsonl, a linked and scored store (scored.duckdb), a store never linked
    (unlinked.duckdb) and the local engine's output of the ads (run/)."""
    folder = tmp_path_factory.mktemp("built")
    ads = _write_ads(folder / "ads.jsonl")
    for name, more in (("scored", ()), ("unlinked", ("--no-link",))):
        result = _process("ingest", str(ads), "--db", str(folder / f"{name}.duckdb"), "-q", *more)
        assert result.returncode == 0, result.stderr
    run_local(ads, folder / "run", workers=1)
    return folder


# -- 1. an output that is an input or the store ------------------------------------------------


def _spell(tmp_path: Path, target: Path, how: str) -> Path:
    """Another name for ``target``."""
    if how == "same":
        return target
    if how == "other spelling":
        (tmp_path / "sub").mkdir(exist_ok=True)
        return tmp_path / "sub" / ".." / "." / target.relative_to(tmp_path)
    alias = tmp_path / f"alias-{how.replace(' ', '-')}"
    if how == "symlink":
        alias.symlink_to(target)
    else:
        os.link(target, alias)
    return alias


SPELLINGS = ["same", "other spelling", "symlink", "hard link"]


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("what", ["scores", "networks"])
def test_export_refuses_to_write_over_its_store(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, what: str
) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(built / "scored.duckdb", db)
    before = db.read_bytes()
    line = _refusal(*_call(capsys, "export", what, "--db", db, "-o", _spell(tmp_path, db, how))[::2])
    assert "reads" in line
    assert db.read_bytes() == before
    with Store.open(db, read_only=True) as store:
        assert store.counts().ads == 3


@pytest.mark.parametrize("how", SPELLINGS)
def test_extract_refuses_to_write_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    ads = _write_ads(tmp_path / "ads.jsonl")
    before = ads.read_bytes()
    output = _spell(tmp_path, ads, how)
    _refusal(*_call(capsys, "extract", ads, "--no-images", "-q", "-o", output)[::2])
    assert ads.read_bytes() == before


def test_a_failed_export_leaves_the_old_output_and_no_temporary_file(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "networks.jsonl"
    out.write_text("the old export\n")
    # Not linked yet: the command fails after it has started its output.
    line = _refusal(*_call(capsys, "export", "networks", "--db", built / "unlinked.duckdb", "-o", out)[::2])
    assert "not linked yet" in line
    assert out.read_text() == "the old export\n"
    assert os.listdir(folder) == ["networks.jsonl"]


def test_a_successful_export_replaces_the_output_whole(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "scores.jsonl"
    out.write_text("the old export\n")
    out.chmod(0o640)
    link = folder / "latest.jsonl"
    link.symlink_to(out.name)
    code, stdout, err = _call(capsys, "export", "scores", "--db", built / "scored.duckdb", "-o", link)
    assert code == 0, err
    assert stdout == ""
    assert sorted(json.loads(row)["id"] for row in out.read_text().splitlines()) == ["a1", "a2", "a3"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # the file's mode is kept
    assert link.is_symlink()  # the link still points at the file it named
    assert sorted(os.listdir(folder)) == ["latest.jsonl", "scores.jsonl"]


def test_an_output_that_is_a_fifo_is_written_not_replaced(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the command's open does not wait
    try:
        code, _, err = _call(capsys, "export", "networks", "--db", built / "scored.duckdb", "-o", fifo)
        assert code == 0, err
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert len(received.splitlines()) == 3


# -- 2. folders named like patterns -------------------------------------------------------------


def test_load_reads_the_folder_named_not_a_pattern_match(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    named = runs / "x[1]"
    shutil.copytree(built / "run", named)
    # x1 matches the pattern x[1]: give it one ad, where x[1] has three.
    decoy = runs / "x1"
    shutil.copytree(built / "run", decoy)
    part = decoy / "ads" / "part-0.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_parquet('{part}') LIMIT 1) TO '{part}.new' (FORMAT PARQUET)")
    os.replace(f"{part}.new", part)
    db = tmp_path / "s.duckdb"
    code, out, err = _call(capsys, "load", named, "--db", db)
    assert code == 0, err
    assert out.startswith("load: 3 ad versions")
    with Store.open(db, read_only=True) as store:
        assert store.counts().ads == 3


def test_glob_escape_makes_every_pattern_character_literal(tmp_path: Path) -> None:
    names = ["x[1]", "x1", "a*", "ab", "q?", "qq", "[ab]", "a"]
    with duckdb.connect() as con:
        for i, name in enumerate(names):
            (tmp_path / name).mkdir()
            con.execute(f"COPY (SELECT {i} AS n) TO '{tmp_path / name / 'p.parquet'}' (FORMAT PARQUET)")
        for i, name in enumerate(names):
            pattern = glob_escape(str(tmp_path / name)) + "/*.parquet"
            assert con.execute("SELECT n FROM read_parquet(?)", [pattern]).fetchall() == [(i,)], name
    # Spark's readers (Hadoop) escape with a backslash, braces included.
    assert glob_escape("/d/x[1]{a,b}*?\\", "hadoop") == "/d/x\\[1\\]\\{a,b\\}\\*\\?\\\\"


# -- 3. a damaged store is not a busy one --------------------------------------------------------


def _damaged(path: Path, how: str) -> Path:
    with Store.open(path):
        pass
    if how == "overwritten":
        with open(path, "r+b") as f:
            f.seek(3 * 4096)  # the first block after the file's headers
            f.write(b"\xa5" * 1024)
    else:
        os.truncate(path, path.stat().st_size // 2)
    return path


@pytest.mark.parametrize("how", ["overwritten", "truncated"])
def test_a_damaged_store_is_reported_as_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    db = _damaged(tmp_path / "s.duckdb", how)
    for args in (("summary", "--db", db), ("link", "--db", db)):
        line = _refusal(*_call(capsys, *args)[::2])
        assert f"{db} is damaged or not a Threadline store: " in line
        assert "another process" not in line
    with pytest.raises(StoreError, match="damaged"):
        Store.open(db)


def test_a_store_held_by_another_process_is_still_reported_as_busy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.duckdb"
    Store.open(db).close()
    holder_script = textwrap.dedent(f"""
        import sys
        from threadline.store import Store
        store = Store.open({str(db)!r})
        print("open", flush=True)
        sys.stdin.read()
    """)
    with subprocess.Popen(
        [sys.executable, "-c", holder_script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "open"
            line = _refusal(*_call(capsys, "summary", "--db", db)[::2])
            assert "open in another process" in line
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)


# -- 4. user files inside a run's output folders ------------------------------------------------


def test_run_keeps_files_it_did_not_write_in_its_output_folders(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(built / "run", out)
    notes = out / "ads" / "my-notes.txt"
    notes.write_text("keep me")
    result = _process("run", "--input", str(built / "ads.jsonl"), "--output", str(out))
    assert "ads/my-notes.txt" in _refused(result)
    assert notes.read_text() == "keep me"
    assert (out / "ads" / "part-0.parquet").exists()  # refused before clearing anything
    with pytest.raises(LoadError, match="my-notes"):
        clear_output(out)
    assert notes.read_text() == "keep me"


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", ".part-0.parquet.swp", "part-0.parquet.bak", "mine/", "part-1.parquet/"],
)
def test_anything_a_run_does_not_write_in_an_output_folder_is_refused(tmp_path: Path, extra: str) -> None:
    out = tmp_path / "out"
    (out / "ad_links").mkdir(parents=True)
    (out / "run.json").write_text('{"engine": "local"}')
    (out / "ad_links" / "part-0.parquet").write_text("")
    if extra.endswith("/"):
        (out / "ad_links" / extra).mkdir()
    else:
        (out / "ad_links" / extra).write_text("")
    with pytest.raises(LoadError, match="which no run writes"):
        check_output(out)
    with pytest.raises(LoadError, match="which no run writes"):
        clear_output(out)
    assert (out / "ad_links" / extra.rstrip("/")).exists()


def test_what_both_engines_write_is_cleared(tmp_path: Path) -> None:
    out = tmp_path / "out"
    spark = "part-00000-6d97d40a-fbb0-4165-9643-6516e8f706cb-c000.snappy.parquet"
    written = {
        "ads": ["part-0.parquet"],
        "ad_links": [spark, f".{spark}.crc", "_SUCCESS", "._SUCCESS.crc", "_temporary/0/x"],
    }
    for name, files in written.items():
        for file in files:
            (out / name / file).parent.mkdir(parents=True, exist_ok=True)
            (out / name / file).write_text("")
    (out / "run.json").write_text('{"engine": "spark"}')
    check_output(out)
    clear_output(out)
    assert os.listdir(out) == []


def test_an_output_folder_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "part-0.parquet").write_text("someone's")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text('{"engine": "local"}')
    (out / "ads").symlink_to(elsewhere)
    with pytest.raises(LoadError, match="holds ads,"):
        check_output(out)
    assert (elsewhere / "part-0.parquet").exists()


# -- 5. links out of an input folder ------------------------------------------------------------


def test_input_files_skip_links_out_of_the_folder(tmp_path: Path) -> None:
    outside = _write_ads(tmp_path / "outside" / "secret.jsonl")
    folder = tmp_path / "in"
    inside = _write_ads(folder / "sub" / "real.jsonl")
    (folder / "x.jsonl").symlink_to(outside)
    (folder / "alias.jsonl").symlink_to(inside)
    warned: list[str] = []
    found = input_files(folder, warn=warned.append)
    assert found == [folder.resolve() / "alias.jsonl", folder.resolve() / "sub" / "real.jsonl"]
    assert len(warned) == 1 and "x.jsonl" in warned[0] and str(outside) in warned[0]


def test_run_warns_of_a_link_out_of_the_input_folder_and_does_not_read_it(
    tmp_path: Path,
) -> None:
    outside = _write_ads(tmp_path / "outside.jsonl", [{"id": "s1", "source": "x", "body": "713-555-0199"}])
    folder = tmp_path / "in"
    _write_ads(folder / "ads.jsonl")
    (folder / "x.jsonl").symlink_to(outside)
    out = tmp_path / "out"
    result = _process("run", "--input", str(folder), "--output", str(out), "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert any("skipped" in line and str(outside) in line for line in result.stderr.splitlines())
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["input"] == [str(folder.resolve() / "ads.jsonl")]
    assert manifest["link"]["ads"] == 3


# -- 6. someone else's DuckDB database ----------------------------------------------------------


@pytest.mark.parametrize("table", ["ads", "notes"])
def test_a_duckdb_database_that_is_not_a_store_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    db = tmp_path / "mine.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE {table} (note VARCHAR)")
        con.execute(f"INSERT INTO {table} VALUES ('call 713-555-0142 back')")
    ads = _write_ads(tmp_path / "ads.jsonl")
    for args in (("ingest", ads, "--db", db, "-q"), ("summary", "--db", db), ("link", "--db", db)):
        line = _refusal(*_call(capsys, *args)[::2])
        assert "is a DuckDB database but not a Threadline store" in line
    for read_only in (False, True):
        with pytest.raises(StoreError, match="not a Threadline store"):
            Store.open(db, read_only=read_only)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [(table,)]


def test_an_empty_duckdb_database_becomes_a_store(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with Store.open(db) as store:
        assert store.schema_version == LATEST_VERSION


# -- 7. stores that cannot be written, stores from a newer Threadline ---------------------------


def test_a_store_from_a_newer_threadline_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.duckdb"
    Store.open(db).close()
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [LATEST_VERSION + 1])
    expected = (
        f"{db} was written by a newer Threadline (schema {LATEST_VERSION + 1}, "
        f"this one knows up to {LATEST_VERSION}): upgrade Threadline"
    )
    for args in (("summary", "--db", db), ("link", "--db", db), ("export", "networks", "--db", db)):
        assert _refusal(*_call(capsys, *args)[::2]) == f"threadline: {expected}"
    for read_only in (False, True):
        with pytest.raises(SchemaTooNewError, match="upgrade Threadline"):
            Store.open(db, read_only=read_only)


def test_a_store_whose_folder_cannot_exist_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ads = _write_ads(tmp_path / "ads.jsonl")
    db = ads / "s.duckdb"  # its "folder" is a file
    line = _refusal(*_call(capsys, "ingest", ads, "--db", db, "-q")[::2])
    assert f"cannot open store {db}" in line
    assert ads.is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_store_in_a_read_only_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ads = _write_ads(tmp_path / "ads.jsonl")
    folder = tmp_path / "ro"
    folder.mkdir()
    Store.open(folder / "kept.duckdb").close()
    folder.chmod(0o555)
    try:
        line = _refusal(*_call(capsys, "ingest", ads, "--db", folder / "new.duckdb", "-q")[::2])
        assert "new.duckdb" in line
        _refusal(
            *_call(
                capsys, "mark-hub", "phone", "+17135550142", "--analyst", "t", "--db", folder / "kept.duckdb"
            )[::2]
        )
    finally:
        folder.chmod(0o755)


def test_every_duckdb_error_reaching_the_command_line_is_one_line(
    built: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Store) -> None:
        raise duckdb.IOException("IO Error: Corrupt database file: block 7\nmore detail")

    monkeypatch.setattr(Store, "counts", broken)
    line = _refusal(*_call(capsys, "summary", "--db", built / "scored.duckdb")[::2])
    assert line == "threadline: IO Error: Corrupt database file: block 7"


# -- 8. FIFOs, folders and devices --------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_a_fifo_as_the_store_is_refused_not_waited_on(built: Path, fifo: Path) -> None:
    ads = str(built / "ads.jsonl")
    for args in (
        ("ingest", ads, "--db", str(fifo), "-q"),
        ("summary", "--db", str(fifo)),
        ("load", str(built / "run"), "--db", str(fifo)),
        ("run", "--input", ads, "--output", str(fifo.parent / "out"), "--db", str(fifo)),
    ):
        line = _refused(_process(*args, timeout=60))
        assert str(fifo) in line and ("FIFO" in line or "not a regular file" in line), line


def test_a_fifo_as_the_input_is_refused_not_waited_on(built: Path, fifo: Path, tmp_path: Path) -> None:
    for args in (
        ("extract", str(fifo), "--no-images"),
        ("ingest", str(fifo), "--db", str(tmp_path / "s.duckdb"), "-q"),
    ):
        line = _refused(_process(*args, timeout=60))
        assert str(fifo) in line and "not a regular file" in line


def test_a_folder_is_no_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder, not a store file"):
        Store.open(tmp_path)
    assert not any(tmp_path.iterdir())


def test_outputs_listed_by_check_output_are_all_checked(tmp_path: Path) -> None:
    # Every output folder is checked, not only the first: a file in the last one is found too.
    out = tmp_path / "out"
    for name in OUTPUTS:
        (out / name).mkdir(parents=True)
        (out / name / "part-0.parquet").write_text("")
    (out / "run.json").write_text('{"engine": "local"}')
    last = list(OUTPUTS)[-1]
    (out / last / "readme.md").write_text("mine")
    with pytest.raises(LoadError, match=f"{last}/readme.md"):
        check_output(out)


def test_spark_refuses_a_remote_output_holding_files_a_run_did_not_write(tmp_path: Path) -> None:
    # The check Spark makes of an output it reaches through Hadoop (hdfs://, s3a://, ...), here
    # through Hadoop's local filesystem: writing an output replaces its whole folder there.
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from threadline.engines.spark import _check_remote_output, spark_session

    out = tmp_path / "out"
    part = "part-00000-6d97d40a-fbb0-4165-9643-6516e8f706cb-c000.snappy.parquet"
    for file in (part, f".{part}.crc", "_SUCCESS", "._SUCCESS.crc"):
        (out / "ads" / file).parent.mkdir(parents=True, exist_ok=True)
        (out / "ads" / file).write_text("")
    (out / "run.json").write_text('{"engine": "spark"}')
    session = spark_session("local[1]", {})
    try:
        _check_remote_output(session, out.as_uri())
        (out / "ads" / "my-notes.txt").write_text("keep me")
        with pytest.raises(LoadError, match=r"ads/my-notes\.txt"):
            _check_remote_output(session, out.as_uri())
    finally:
        session.stop()
