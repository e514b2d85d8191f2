"""The README cannot go stale: every command it shows exists with every option it shows, the
commands of its "Using it" block run, in order, on a small synthetic store, and the outputs whose
shape it documents have that shape.

A renamed command or option, a removed choice, or an output that gained or lost a key fails here;
so does a README line naming a command that does not exist (yet). Placeholders of the README
(``store.duckdb``, ``N00000042``, ``site:123`` ...) are replaced by real files, networks and ads
of the store (`_Placeholders`).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
import pytest

from threadline.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
CORPUS_ADS = 200  # the README says 5000: a small corpus keeps this file fast
COMMENT = re.compile(r"\s+#\s")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.MULTILINE | re.DOTALL)]


def _using_it_block(text: str) -> str:
    section = text.split("\n## Using it\n", 1)[1]
    return _fenced_blocks(section)[0][1]


@dataclass(frozen=True)
class Shown:
    """One `threadline ...` command the README shows, with its comment."""

    line: str
    args: list[str]
    comment: str


def _shown(block: str) -> list[Shown]:
    """The commands of a code block (lines joined where they end in a backslash)."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        if not line.startswith("threadline "):
            continue
        parts = COMMENT.split(line, 1)
        command, comment = parts[0], parts[1] if len(parts) > 1 else ""
        out.append(Shown(line, shlex.split(command)[1:], comment))
    return out


def _all_shown() -> list[Shown]:
    return [shown for _, body in _fenced_blocks(_readme()) for shown in _shown(body)]


def _inline_mentions() -> list[str]:
    """`threadline ...` written in the prose (not in code blocks)."""
    prose = re.sub(r"^```.*?^```", "", _readme(), flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`threadline ([^`]+)`", prose)


def _resolve(args: list[str]) -> tuple[click.Command | None, list[str], list[str]]:
    """(command, its name path, the remaining arguments), or (None, path, ...) when a name along
    the path is no command."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest or rest[0] not in command.commands:
            return None, [*path, rest[0] if rest else "(nothing)"], rest
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    return command, path, rest


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _choices_ok(param: click.Parameter, value: str) -> bool:
    """A value shown as ``a|b`` stands for each of its alternatives."""
    if not isinstance(param.type, click.Choice):
        return True
    return all(v in param.type.choices for v in value.split("|"))


def problems(args: list[str], comment: str = "", *, arguments: bool = True) -> list[str]:
    """What is wrong with ``threadline ARGS`` as the README shows it; empty when the command,
    every option (also those its comment names, such as ``or --not-hub``), every choice and (with
    ``arguments``) the number of positional arguments are as the CLI defines them."""
    command, path, rest = _resolve(args)
    name = " ".join(path)
    if command is None:
        return [f"no command `threadline {name}`"]
    options = _options(command)
    found: list[str] = []
    positional: list[str] = []
    i = 0
    while i < len(rest):
        token = rest[i]
        if token.startswith("[") and token.endswith("]"):  # [--full]: shown as optional
            token = token[1:-1]
        i += 1
        if not token.startswith("-"):
            positional.append(token)
            continue
        option, _, value = token.partition("=")
        param = options.get(option)
        if param is None:
            found.append(f"`threadline {name}` has no option {option}")
            continue
        if not (param.is_flag or param.count) and not value:
            if i >= len(rest):
                found.append(f"`threadline {name}`: {option} needs a value")
                continue
            value, i = rest[i], i + 1
        if value and not _choices_ok(param, value):
            found.append(f"`threadline {name}`: {option} {value} is not one of its choices")
    for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", comment):
        if option not in options:
            found.append(f"`threadline {name}` has no option {option} (named in the comment)")
    if arguments:
        arguments_ = [p for p in command.params if isinstance(p, click.Argument)]
        fixed = sum(p.nargs for p in arguments_ if p.nargs > 0)
        variadic = [p for p in arguments_ if p.nargs < 0]
        least = fixed + sum(1 for p in variadic if p.required)
        if len(positional) < least or (not variadic and len(positional) > fixed):
            found.append(f"`threadline {name}` takes {fixed} arguments, the README shows {positional}")
        for argument, value in zip(arguments_, positional, strict=False):
            if argument.nargs == 1 and not _choices_ok(argument, value):
                found.append(f"`threadline {name}`: {value} is not one of {argument.name}'s choices")
    return found


# -- The commands and options the README shows exist -----------------------------------------


def test_the_using_it_block_shows_commands() -> None:
    shown = _shown(_using_it_block(_readme()))
    assert len(shown) >= 10
    assert {s.args[0] for s in shown} >= {"synth", "extract", "ingest", "export"}


@pytest.mark.parametrize("shown", _all_shown(), ids=lambda s: " ".join(s.args[:2]))
def test_every_command_the_readme_shows_exists_as_shown(shown: Shown) -> None:
    assert problems(shown.args, shown.comment) == [], shown.line


def test_every_command_the_prose_names_exists() -> None:
    mentions = _inline_mentions()
    assert mentions
    wrong = {m: p for m in mentions if (p := problems(shlex.split(m), arguments=False))}
    assert wrong == {}


def test_the_check_finds_what_went_stale() -> None:
    """The checks above fail on a renamed command, option or choice, or a missing argument."""
    assert problems(["ingest", "ADS.jsonl", "--db", "s.duckdb"]) == []
    assert problems(["ingest", "ADS.jsonl", "--database", "s.duckdb"]) != []
    assert problems(["ingests", "ADS.jsonl"]) != []
    assert problems(["export", "network", "--db", "s.duckdb"]) != []
    assert problems(["run", "--engine", "local|flink", "--input", "a", "--output", "b"]) != []
    assert problems(["label", "N1", "guilty", "--analyst", "kim", "--db", "s"]) != []
    assert problems(["explain", "--db", "s.duckdb"]) != []
    assert problems(["link", "--db", "s.duckdb", "[--full]"]) == []
    assert problems(["mark-hub", "phone", "+1", "--analyst", "k", "--db", "s"], "or --not-a-hub") != []


# -- The "Using it" block runs, in order, on a small store -----------------------------------


@dataclass
class Ran:
    shown: Shown
    args: list[str]
    result: subprocess.CompletedProcess[str]


class _Placeholders:
    """Real values for the README's placeholders, chosen from the store once it has ads.

    ``site:789`` and ``site:790``: the last two ads of the largest network, split out of it;
    ``N00000042``: the network that holds ``site:789`` when the command runs (a network's id is
    its first ad's key, which a hub mark can take out of it); ``site:123`` and ``site:456``: the
    first ads of two other networks (merged, then ``site:123`` separated from ``site:789``); a
    phone `find` looks up: one of the store's."""

    def __init__(self, work: Path, corpus: Path) -> None:
        self.work, self.corpus = work, corpus
        self.store = work / "store.duckdb"
        self.chosen: dict[str, str] = {}

    def _choose(self) -> None:
        with duckdb.connect(str(self.store), read_only=True) as con:
            rows = con.execute(
                """
                SELECT network, list(source || ':' || id ORDER BY ad_key) FROM ad_links
                GROUP BY network ORDER BY count(*) DESC, network
                """
            ).fetchall()
            phone = con.execute(
                "SELECT min(value) FROM extractions WHERE kind = 'phone' AND value LIKE '+1%'"
            ).fetchall()[0][0]
        assert len(rows) >= 3 and len(rows[0][1]) >= 3, rows[:3]
        (_, ads), (_, first), (_, second) = rows[0], rows[1], rows[2]
        self.chosen = {
            "site:789": ads[-2],
            "site:790": ads[-1],
            "site:123": first[0],
            "site:456": second[0],
            # `find` looks up a number of the store, spelled as the README spells its own.
            "phone": f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}",
        }

    def _network_of(self, ad: str) -> str:
        source, _, ad_id = ad.partition(":")
        with duckdb.connect(str(self.store), read_only=True) as con:
            row = con.execute("SELECT network FROM ad_links WHERE source = ? AND id = ?", [source, ad_id])
            return str(row.fetchall()[0][0])

    def __call__(self, args: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(args):
            if token in ("N00000042", "site:123", "site:456", "site:789", "site:790"):
                if not self.chosen:
                    self._choose()
                token = self._network_of(self.chosen["site:789"]) if token[0] == "N" else self.chosen[token]
            elif args[0] == "find" and re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", token):
                if not self.chosen:
                    self._choose()
                token = self.chosen["phone"]
            elif token.startswith("[") and token.endswith("]"):
                token = token[1:-1]
            elif token in ("OUT_DIR", "ADS_DIR"):
                token = str(self.corpus)
            elif token == "ADS.jsonl":
                token = str(self.corpus / "ads.jsonl")
            elif token == "RUN_DIR":
                token = str(self.work / "run")
            elif token == "store.duckdb":
                # `load` fills a new store: the one every other command shares has ads.
                loaded = args[0] == "load"
                token = str(self.work / "loaded.duckdb" if loaded else self.store)
            elif token.endswith(".jsonl"):
                token = str(self.work / token)
            elif i and args[i - 1] == "--ads":
                token = str(min(int(token), CORPUS_ADS))
            elif i and args[i - 1] == "--engine":
                token = token.split("|")[0]
            out.append(token)
        return out


# Commands the README shows that cannot succeed on a fresh store, and the reason they must give.
EXPECTED_FAILURES = {"fit": "label"}  # `fit` needs more labelled networks than the one labelled


@pytest.fixture(scope="session")
def ran(tmp_path_factory: pytest.TempPathFactory) -> list[Ran]:
    work = tmp_path_factory.mktemp("readme")
    fill = _Placeholders(work, work / "corpus")
    out = []
    for shown in _shown(_using_it_block(_readme())):
        args = fill(shown.args)
        if args[0] != "synth" and not (fill.corpus / "ads.jsonl").exists():
            # The README's first command makes the corpus; should it move, make one here.
            subprocess.run(
                [sys.executable, "-m", "threadline.cli", "synth", str(fill.corpus), "--ads", str(CORPUS_ADS)],
                capture_output=True,
                check=True,
            )
        if args[0] == "synth" and "--malformed" not in args:
            args += ["--malformed", "3"]  # so that quarantine has something to show
        result = subprocess.run(
            [sys.executable, "-m", "threadline.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        out.append(Ran(shown, args, result))
    return out


def _by_command(ran: list[Ran]) -> Iterator[tuple[str, Ran]]:
    for r in ran:
        _, path, _ = _resolve(r.shown.args)
        yield " ".join(path), r


def test_every_command_of_the_using_it_block_runs(ran: list[Ran]) -> None:
    failed = []
    for name, r in _by_command(ran):
        expected = EXPECTED_FAILURES.get(name)
        if expected is None and r.result.returncode != 0:
            failed.append(f"{' '.join(r.args)}: exit {r.result.returncode}: {r.result.stderr[-500:]}")
        elif expected is not None and r.result.returncode != 0:
            # Failing is allowed only as every command fails: one line, with its reason.
            lines = r.result.stderr.strip().splitlines()
            assert lines and expected in lines[-1] and lines[-1].startswith("threadline: "), r.result.stderr
    assert failed == []


def _keys_in(comment: str) -> tuple[set[str], bool] | None:
    """The keys a comment documents (``{"id", "score", ...}``), and whether it lists them all."""
    match = re.search(r"\{([^{}]*)\}", comment)
    if not match:
        return None
    return set(re.findall(r'"(\w+)"', match[1])), "..." not in match[1]


def _output_file(r: Ran) -> Path | None:
    for flag in ("-o", "--output"):
        if flag in r.args[:-1]:
            return Path(r.args[r.args.index(flag) + 1])
    return None


def _lines(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows, path
    return rows


def test_json_lines_outputs_have_the_keys_their_comment_shows(ran: list[Ran]) -> None:
    checked = 0
    for _name, r in _by_command(ran):
        documented, output = _keys_in(r.shown.comment), _output_file(r)
        if documented is None or output is None or output.suffix != ".jsonl":
            continue
        keys, complete = documented
        for row in _lines(output):
            assert (set(row) == keys) if complete else (keys <= set(row)), (r.shown.line, sorted(row))
        checked += 1
    assert checked >= 2  # export networks and export scores


def test_export_scores_is_best_first_within_0_and_1(ran: list[Ran]) -> None:
    [r] = [r for name, r in _by_command(ran) if name == "export scores"]
    assert "best first" in r.shown.comment
    output = _output_file(r)
    assert output is not None
    scores = [float(row["score"]) for row in _lines(output)]  # type: ignore[arg-type]
    assert all(0 <= s <= 1 for s in scores) and scores == sorted(scores, reverse=True)


def _extract_example() -> dict[str, object]:
    text = _readme()
    block = text.split("`extract` writes one line per ad:", 1)[1]
    language, body = _fenced_blocks(block)[0]
    assert language == "json"
    example: dict[str, object] = json.loads(body.replace(", ...]", "]"))
    return example


def test_extract_writes_the_keys_of_the_readme_example(ran: list[Ran]) -> None:
    example = _extract_example()
    [r] = [r for name, r in _by_command(ran) if name == "extract"]
    output = _output_file(r)
    assert output is not None
    rows = _lines(output)
    for row in rows:
        assert set(row) == set(example), sorted(set(row) ^ set(example))
    # Each evidence entry the example shows has the keys of a real one of its kind.
    for shown in example["evidence"]:  # type: ignore[attr-defined]
        real = [e for row in rows for e in row["evidence"] if e["kind"] == shown["kind"]]  # type: ignore[attr-defined]
        assert real and any(set(shown) == set(e) for e in real), (shown, real[:1])
        assert set(shown["spans"][0]) == set(real[0]["spans"][0])


def test_synth_writes_ads_and_ground_truth_that_run_does_not_read(ran: list[Ran]) -> None:
    [synth] = [r for name, r in _by_command(ran) if name == "synth"]
    corpus = Path(synth.args[1])
    assert synth.result.stdout.strip() == str(corpus / "ads.jsonl")
    assert {"ads.jsonl", "truth.jsonl", "truth_meta.json"} <= {p.name for p in corpus.iterdir()}
    runs = [r for name, r in _by_command(ran) if name == "run"]
    for r in runs:
        assert "truth.jsonl: skipped" in r.result.stderr
        assert "run (local): " in r.result.stdout and " 3 quarantined" in r.result.stdout


def test_summary_shows_what_the_readme_says(ran: list[Ran]) -> None:
    [r] = [r for name, r in _by_command(ran) if name == "summary"]
    out = r.result.stdout
    assert "counts" in r.shown.comment and " ads, " in out
    assert "phones" in r.shown.comment and "top phones" in out
    assert "quarantined records" in r.shown.comment
    assert re.search(r"^quarantine: 3 records$", out, re.MULTILINE), out
    assert len(re.findall(r"^  \S+:\d+: ", out, re.MULTILINE)) == 3  # file:line: reason, each


# -- The same block with a server holding the store ------------------------------------------


class _ServedPlaceholders(_Placeholders):
    """The placeholders chosen through the command line: while the server holds the store, no
    other process opens it, this test's included."""

    def _threadline(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _choose(self) -> None:
        out = self.work / "chosen.jsonl"
        self._threadline("export", "networks", "--db", str(self.store), "-o", str(out))
        networks: dict[str, list[str]] = {}
        for row in _lines(out):
            networks.setdefault(str(row["network"]), []).append(f"{row['source']}:{row['id']}")
        rows = sorted(networks.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        summary = self._threadline("summary", "--db", str(self.store))
        phone = min(re.findall(r"^\s+(\+1\d{10})\s", summary, re.MULTILINE))
        assert len(rows) >= 3 and len(rows[0][1]) >= 3, rows[:3]
        (_, ads), (_, first), (_, second) = rows[0], rows[1], rows[2]
        self.chosen = {
            "site:789": ads[-2],
            "site:790": ads[-1],
            "site:123": first[0],
            "site:456": second[0],
            "phone": f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}",
        }

    def _network_of(self, ad: str) -> str:
        shown = self._threadline("ad", ad, "--db", str(self.store))
        found = re.search(r"^  network (N\d+) ", shown, re.MULTILINE)
        assert found, shown
        return found[1]


def test_the_using_it_block_runs_with_a_server_holding_the_store(tmp_path: Path) -> None:
    """Every command of the block, run while `threadline serve` holds the store: the store's
    commands hand their work to the server (tests/serve/test_cli_through_server.py) and succeed
    as they do without it."""
    import os
    import signal
    import socket
    import time

    import httpx

    from threadline.handoff import running_server

    fill = _ServedPlaceholders(tmp_path, tmp_path / "corpus")
    shown = _shown(_using_it_block(_readme()))
    server: subprocess.Popen[str] | None = None
    failed = []
    try:
        for line in shown:
            if server is None and fill.store.exists():
                # The server starts once a command of the block made the store (ingest).
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                serve = ["serve", "--db", str(fill.store), "--port", str(port)]
                with (tmp_path / "server.log").open("w") as log:
                    server = subprocess.Popen(
                        [sys.executable, "-m", "threadline.cli", *serve],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        text=True,
                        env={**os.environ, "THREADLINE_KEY_DIR": str(tmp_path / "keys")},
                    )
                for _ in range(2000):
                    assert server.poll() is None, (tmp_path / "server.log").read_text()
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.05)
                assert running_server(fill.store) is not None
            args = fill(line.args)
            result = subprocess.run(
                [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=300
            )
            _, path, _ = _resolve(line.args)
            expected = EXPECTED_FAILURES.get(" ".join(path))
            if result.returncode != 0 and (expected is None or expected not in result.stderr):
                failed.append(f"{' '.join(args)}: exit {result.returncode}: {result.stderr[-500:]}")
        assert server is not None, "no command of the block made the store"
        assert server.poll() is None, (tmp_path / "server.log").read_text()  # it ran all along
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=300)
    assert failed == []
