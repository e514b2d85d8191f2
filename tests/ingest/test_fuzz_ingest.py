"""The ingest invariant, fuzzed: files mixing valid records with broken and mutated ones.

Every input record ends as exactly one of new ad, new version, seen again or quarantined (with a
reason), the command prints the four counts and exits 0 exactly when at least one record was
stored or seen again, and a second run of the same file stores nothing new.

Hypothesis writes the files: truncated lines, stray quotes, wrong types, timestamps at the edge
of the calendar, numbers past a double, deep nesting, huge fields, invalid UTF-8, junk and
repeated image references. `make test` runs a few examples; `make fuzz` runs many
(THREADLINE_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from threadline.cli import cli
from threadline.ingest.validate import MAX_FIELD_BYTES

EXAMPLES = int(os.environ.get("THREADLINE_FUZZ_EXAMPLES", "6"))
_COUNTS = re.compile(
    r"ingest: ([\d,]+) records: ([\d,]+) new ads, ([\d,]+) new versions, ([\d,]+) seen again, "
    r"(?:([\d,]+) gone, )?([\d,]+) quarantined"
)

# -- what the files hold --------------------------------------------------------------------------

_IDS = st.sampled_from(["a1", "a2", "a3", "b1", "b2", 7, "x y", "ünï"])
_PHONES = st.integers(100, 199).map(lambda n: f"(713) 555-0{n}")
_TIMES = st.sampled_from(
    [
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00",
        "2026-05-01 10:00:00+05:30",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59",
        "not a time",
        "",
    ]
)
_NUMBERS = st.sampled_from(
    ["1e400", "-1e400", "1e308", "123456789012345678901234567890", "-0.0", "NaN", "0x10"]
)
_IMAGES = st.sampled_from(
    [
        "img/noise.png",
        "img/empty.jpg",
        "img/forbidden.jpg",
        "img/missing.jpg",
        "../outside.png",
        "img",
        "ads.jsonl",
    ]
)


@st.composite
def _valid(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {"id": draw(_IDS), "body": f"New in town, call {draw(_PHONES)}"}
    if draw(st.booleans()):
        record["title"] = draw(st.text(max_size=30))
    if draw(st.booleans()):
        record["posted_at"] = draw(_TIMES)
    if draw(st.booleans()):
        record["source"] = draw(st.sampled_from(["siteA", "siteB"]))
    if draw(st.integers(0, 3)) == 0:
        record["images"] = draw(st.lists(_IMAGES, max_size=4))
    if draw(st.integers(0, 3)) == 0:
        record["fields"] = draw(
            st.dictionaries(
                st.sampled_from(["age", "name", "phone"]), st.one_of(st.text(max_size=10), st.integers())
            )
        )
    if draw(st.integers(0, 4)) == 0:
        record["extra"] = draw(
            st.recursive(st.none() | st.integers() | st.text(max_size=8), st.lists, max_leaves=6)
        )
    return record


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    record = draw(_valid())
    text = json.dumps(record, ensure_ascii=draw(st.booleans()))
    kind = draw(
        st.sampled_from(
            ["valid"] * 6
            + [
                "truncated",
                "stray quote",
                "wrong type",
                "number",
                "deep",
                "huge",
                "bytes",
                "not object",
                "gone",
            ]
        )
    )
    if kind == "truncated":
        text = text[: draw(st.integers(1, max(1, len(text) - 1)))]
    elif kind == "stray quote":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + '"' + text[at:]
    elif kind == "wrong type":
        field = draw(st.sampled_from(["id", "body", "title", "images", "fields", "source", "posted_at"]))
        record[field] = draw(st.sampled_from([[1, 2], {"a": 1}, True, 3.5, None, ""]))
        text = json.dumps(record)
    elif kind == "number":
        text = text[:-1] + f', "n": {draw(_NUMBERS)}}}'
    elif kind == "deep":
        text = text[:-1] + f', "deep": {_nested(draw(st.sampled_from([20, 40, 600])))}}}'
    elif kind == "huge":
        record["blob"] = "x" * (MAX_FIELD_BYTES + draw(st.sampled_from([-100, 10])))
        text = json.dumps(record)
    elif kind == "bytes":
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\ud800"])) + raw[at:]
    elif kind == "not object":
        text = draw(st.sampled_from(["[1, 2]", '"text"', "42", "null", "{}"]))
    elif kind == "gone":
        text = json.dumps({"id": record["id"], "gone": True, "captured_at": "2026-05-02T00:00:00Z"})
    if not text.strip():
        text = "{"
    return text.encode()


def _corpus(folder: Path) -> None:
    images = folder / "img"
    images.mkdir(parents=True)
    rng = random.Random(1)
    noise = Image.new("RGB", (64, 64))
    noise.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 64)])
    noise.save(images / "noise.png")
    (images / "empty.jpg").write_bytes(b"")
    (images / "forbidden.jpg").write_text("<html><body>403 Forbidden</body></html>")
    (folder.parent / "outside.png").write_bytes(b"\x89PNG not really")


def _counts(output: str) -> tuple[int, ...]:
    match = _COUNTS.search(output)
    assert match, output
    return tuple(int((group or "0").replace(",", "")) for group in match.groups())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 10,  # the few examples of `make test` are the same every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    lines=st.lists(_line(), min_size=1, max_size=25),
    csv_too=st.booleans(),
    stray=st.none() | st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
)
def test_every_record_is_accounted_for_and_a_second_run_adds_nothing(
    tmp_path_factory: Any, lines: list[bytes], csv_too: bool, stray: tuple[int, int] | None
) -> None:
    folder = tmp_path_factory.mktemp("fuzz") / "corpus"
    _corpus(folder)
    path = folder / "ads.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    db = folder.parent / "s.duckdb"
    runner = CliRunner()

    first = runner.invoke(cli, ["ingest", str(path), "--db", str(db), "-q", "--workers", "2"])
    read, new_ads, new_versions, seen, gone, quarantined = _counts(first.output)
    assert read == len(lines)  # every line is one record: none is blank
    assert new_ads + new_versions + seen + gone + quarantined == read
    accepted = new_ads + new_versions + seen + gone
    assert (first.exit_code == 0) == (accepted > 0), first.output
    assert first.exception is None or isinstance(first.exception, SystemExit), first.exception

    second = runner.invoke(cli, ["ingest", str(path), "--db", str(db), "-q", "--workers", "2"])
    # Read again, every record is a sighting: seen again (or, for a crawler's report, gone again).
    assert _counts(second.output) == (read, 0, 0, accepted - gone, gone, quarantined)
    assert (second.exit_code == 0) == (accepted > 0), second.output

    # The batch pipeline decides each record alike, and says so in the same four counts.
    output = folder.parent / "run"
    run = runner.invoke(cli, ["run", "--engine", "local", "--input", str(path), "--output", str(output)])
    assert _counts(run.output.replace("run (local):", "ingest:")) == (
        read,
        new_ads,
        new_versions,
        seen,
        gone,
        quarantined,
    )
    assert (run.exit_code == 0) == (accepted > 0), run.output

    if csv_too:  # the same records as CSV: a JSON object's fields become columns
        records = []
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                value = {"id": line.decode("utf-8", "replace")}
            if isinstance(value, dict):
                records.append(value)
        columns = sorted({key for r in records for key in r}) or ["id"]
        rows = [
            [
                (v if isinstance(v, str) else json.dumps(v)) if k in r else ""
                for k, v in ((k, r.get(k)) for k in columns)
            ]
            for r in records
        ]
        rows = [row for row in rows if any(cell.strip() for cell in row)]  # a blank row is no record
        csv_path = folder / "feed.csv"
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(rows)
        body = text.getvalue()
        if stray is not None:  # a stray quote somewhere: it may glue or split records
            lines_of = body.split("\n")
            row, at = stray[0] % len(lines_of), stray[1]
            lines_of[row] = (
                lines_of[row][: at % (len(lines_of[row]) + 1)]
                + '"'
                + lines_of[row][at % (len(lines_of[row]) + 1) :]
            )
            body = "\n".join(lines_of)
        csv_path.write_bytes(body.encode("utf-8", "surrogatepass"))
        result = runner.invoke(cli, ["ingest", str(csv_path), "--db", str(db), "-q", "--workers", "2"])
        counts = _counts(result.output)
        assert sum(counts[1:]) == counts[0], result.output
        assert (result.exit_code == 0) == (sum(counts[1:5]) > 0), result.output
        if stray is None:
            assert counts[0] == len(rows), result.output
