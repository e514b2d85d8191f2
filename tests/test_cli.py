"""The `threadline` command as users and outside checks run it (docs/DESIGN.md section 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from threadline.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"

ADS = [
    {
        "id": "a1",
        "source": "t",
        "body": "Hi, I'm Mia, 24. Text seven one three, five five five, oh one four two.",
    },
    {
        "id": "a2",
        "source": "t",
        "body": "Mia visiting Dallas. Call (713) 555-0142.",
        "location": "Dallas, TX",
    },
    {"id": "a3", "source": "t", "title": "Ruby", "location": "London", "fields": {"phone": "020 7946 0311"}},
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def ads_file(tmp_path: Path) -> Path:
    path = tmp_path / "ads.jsonl"
    path.write_text("".join(json.dumps(ad) + "\n" for ad in ADS) + "{broken\n", encoding="utf-8")
    return path


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        out.append((prefix + name, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, prefix + name + " "))
    return out


@pytest.mark.parametrize(("name", "command"), _commands(cli))
def test_every_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    assert command.help and len(command.help) > 20, name
    assert f"threadline {name}" in README.read_text(encoding="utf-8"), name


def test_extract_writes_the_contract_and_reports_bad_lines(ads_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run("extract", str(ads_file), "-o", str(out), "--no-images")
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["a1"]["phones"] == rows["a2"]["phones"] == ["+17135550142"]
    assert rows["a3"]["phones"] == ["+442079460311"]
    assert rows["a1"]["ages"] == [24]
    assert ":4: invalid JSON" in result.stderr  # the broken line, with its number


@pytest.mark.parametrize(
    "args",
    [
        ("extract", "/does/not/exist.jsonl"),
        ("ingest", "/does/not/exist.jsonl", "--db", "x.duckdb"),
        ("ingest", "README.md"),  # --db missing
        ("no-such-command",),
        ("export", "networks", "--db", "/does/not/exist.duckdb"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("threadline: "), result.stderr


def test_ingest_export_explain_and_hubs(ads_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    result = run("ingest", str(ads_file), "--db", str(db), "-q")
    assert result.returncode == 0, result.stderr
    assert "3 new ads" in result.stdout and "1 quarantined" in result.stdout
    assert "link: 3 ads in 2 networks" in result.stdout
    exported = run("export", "networks", "--db", str(db))
    rows = {r["id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert set(rows) == {"a1", "a2", "a3"}
    assert rows["a1"]["network"] == rows["a2"]["network"] != rows["a3"]["network"]
    explained = run("explain", rows["a1"]["network"], "--db", str(db))
    assert explained.returncode == 0, explained.stderr
    assert "phone" in explained.stdout and "+17135550142" in explained.stdout
    assert run("explain", "N99999999", "--db", str(db)).returncode != 0
    assert run("hubs", "--db", str(db)).stdout.strip() == "no hubs"
    # An analyst's word that the shared number is a switchboard splits the two ads.
    marked = run("mark-hub", "phone", "+17135550142", "--db", str(db), "--analyst", "kim")
    assert marked.returncode == 0, marked.stderr
    rows = {
        r["id"]: r for r in map(json.loads, run("export", "networks", "--db", str(db)).stdout.splitlines())
    }
    assert rows["a1"]["network"] != rows["a2"]["network"]
    assert "marked by kim" in run("hubs", "--db", str(db)).stdout
