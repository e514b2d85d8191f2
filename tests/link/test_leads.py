"""From a lead to the ads: `networks`, `find`, `ad` and `explain` on small synthetic stores."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
from click.testing import CliRunner

from threadline.cli import _marked, cli
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.score.scorer import score_store
from threadline.score.weights import load_weights
from threadline.store import Store
from threadline.synth import generate


def _build(folder: Path, ads: Path) -> Path:
    db = folder / "s.duckdb"
    with Store.open(db) as store:
        ingest_file(ads, store, workers=0)
        link(store.connection)
        score_store(store.connection)
    return db


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 synthetic ads (seed 3: some 55 networks), ingested, linked and scored once."""
    folder = tmp_path_factory.mktemp("leads")
    generate(folder / "c", 600, 3, images=True)
    return _build(folder, folder / "c" / "ads.jsonl")


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _sql(db: Path, query: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


_PER_NETWORK = """
    SELECT n.network, n.logit, MAX(COALESCE(a.posted_at, a.captured_at)) AS last, COUNT(*) AS ads
    FROM network_scores n JOIN ad_links l ON l.network = n.network
    JOIN latest_ads a ON a.source = l.source AND a.id = l.id GROUP BY ALL
"""


def _listed(output: str) -> list[str]:
    return re.findall(r"^\s+\d+\. (N\d+) ", output, flags=re.M)


def test_networks_are_ranked_by_priority_then_recency_then_size(store: Path) -> None:
    rows = _sql(store, _PER_NETWORK)
    expected = sorted(rows, key=lambda r: (-r[1], -r[2].timestamp(), -r[3], r[0]))
    output = _run("networks", "--top", "5", "--db", str(store))
    assert _listed(output) == [r[0] for r in expected[:5]]
    assert "logit" in output and "last 20" in output
    # Every score the same (as nine networks at 1.000 look): recency decides, then size.
    tied = store.parent / "tied.duckdb"
    shutil.copy(store, tied)
    with duckdb.connect(str(tied)) as con:
        con.execute("UPDATE network_scores SET logit = 20.0, score = 1.0")
    by_time = sorted(rows, key=lambda r: (-r[2].timestamp(), -r[3], r[0]))
    assert _listed(_run("networks", "--top", "5", "--db", str(tied))) == [r[0] for r in by_time[:5]]
    assert by_time[:5] != expected[:5]  # the check above tells the two orders apart


def test_networks_since_keeps_recent_networks_only(store: Path) -> None:
    rows = _sql(store, _PER_NETWORK)
    dates = sorted(r[2] for r in rows)
    cut = dates[len(dates) // 2]
    output = _run("networks", "--top", "100", "--since", f"{cut:%Y-%m-%d}", "--db", str(store))
    listed = set(_listed(output))
    assert listed == {r[0] for r in rows if f"{r[2]:%Y-%m-%d}" >= f"{cut:%Y-%m-%d}"}
    assert 0 < len(listed) < len(rows)


def test_find_a_phone_typed_five_ways_gives_one_answer(store: Path) -> None:
    phone, ads = _sql(
        store,
        "SELECT value, COUNT(DISTINCT source || ':' || ad_id) FROM extractions"
        " WHERE kind = 'phone' AND value LIKE '+1__________' GROUP BY value"
        " HAVING COUNT(DISTINCT ad_id) BETWEEN 3 AND 30 ORDER BY value LIMIT 1",
    )[0]
    assert isinstance(phone, str)
    area, mid, line = phone[2:5], phone[5:8], phone[8:]
    typed = [f"{area}-{mid}-{line}", f"({area}) {mid}-{line}", f"+1 {area} {mid} {line}", phone[2:], phone]
    answers = {_run("find", t, "--db", str(store), "--limit", "100").split("\n", 1)[1] for t in typed}
    assert len(answers) == 1
    answer = answers.pop()
    carrying = {
        f"{s}:{i}"
        for s, i in _sql(store, "SELECT DISTINCT source, ad_id FROM extractions WHERE value = ?", [phone])
    }
    assert len(carrying) == ads
    assert set(re.findall(r"^    (\S+:\S+) ", answer, flags=re.M)) == carrying
    assert _run("find", f"{area}-{mid}-{line}", "--db", str(store)).startswith(
        f"{area}-{mid}-{line}: phone {phone}:"
    )
    missing = CliRunner().invoke(cli, ["find", "212-555-0100", "--db", str(store)])
    assert missing.exit_code != 0


def test_find_by_ad_id_and_by_network_id(store: Path) -> None:
    source, ad_id, network, person = _sql(
        store, "SELECT source, id, network, person FROM ad_links ORDER BY ad_key DESC LIMIT 1"
    )[0]
    by_ad = _run("find", f"{source}:{ad_id}", "--db", str(store))
    assert f"ad {source}:{ad_id}: 1 ads, 1 networks, 1 persons" in by_ad
    assert f"    {network}  priority" in by_ad and f"{person}" in by_ad
    big, size = _sql(store, "SELECT network, ads FROM network_scores ORDER BY ads DESC LIMIT 1")[0]
    by_network = _run("find", str(big).lower(), "--db", str(store), "--limit", "3")
    assert by_network.startswith(f"{str(big).lower()}: network {big}: {size:,} ads, 1 networks")
    assert f"    {big}  priority" in by_network and f"... {int(size) - 3:,} more" in by_network


def test_ad_shows_text_versions_and_image_paths(store: Path) -> None:
    source, ad_id = _sql(
        store,
        "SELECT a.source, a.id FROM ads a JOIN ad_images i ON i.source = a.source AND i.ad_id = a.id"
        " AND i.version = a.version WHERE a.version = 2 ORDER BY a.source, a.id LIMIT 1",
    )[0]
    output = _run("ad", f"{source}:{ad_id}", "--db", str(store))
    body, url = _sql(store, "SELECT body, url FROM latest_ads WHERE source = ? AND id = ?", [source, ad_id])[
        0
    ]
    assert "version 2 of 2" in output and "    v1  ingested" in output and "    v2  ingested" in output
    assert f"url:      {url}" in output
    for (path,) in _sql(
        store, "SELECT path FROM ad_images WHERE source = ? AND ad_id = ? AND version = 2", [source, ad_id]
    ):
        assert f"    {path}  (sha256 " in output
    words = [w for w in str(body).split() if w.isalpha() and len(w) > 5]
    assert words and all(w in output for w in words)
    assert "[[" in output and "]]" in output  # not a terminal: plain markers
    assert "\x1b" not in output


HOSTILE = [
    {
        "id": "h1",
        "source": "t",
        "title": "\x1b[2J\x1b[HNew\x1b]0;pwned\x07 in town",
        "body": "Call \x1b[31m713-555-0142\x1b[0m now\r\u202eevil\x08 \x9b31m done\x1b",
        "location": "Dallas, TX",
        "url": "https://t.example/h1\x1b[5m",
    },
    {"id": "h2", "source": "t", "body": "Text 713-555-0142 for Dallas."},
]


def test_ad_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    ads = tmp_path / "ads.jsonl"
    ads.write_text("".join(json.dumps(ad) + "\n" for ad in HOSTILE), encoding="utf-8")
    db = _build(tmp_path, ads)
    output = _run("ad", "t:h1", "--db", str(db))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", output), repr(output)
    assert "[[713-555-0142]]" in output and "pwned" not in output
    assert "New in town" in output and "https://t.example/h1" in output
    # On a terminal the marks are styles, and they are the only escape sequences written.
    body = str(HOSTILE[0]["body"])
    start = body.index("713")
    styled = _marked(body, [(start, start + 12, "phone")], colour=True)
    ours = click.style(body[start : start + 12], fg="cyan", bold=True)
    assert ours in styled and "\x1b" not in styled.replace(ours, "")


def test_explain_lists_ads_and_its_score_adds_up(store: Path) -> None:
    network, logit, size = _sql(
        store, "SELECT network, logit, ads FROM network_scores ORDER BY logit DESC LIMIT 1"
    )[0]
    output = _run("explain", str(network), "--db", str(store), "--limit", "3")
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "starting point" in line)
    end = next(i for i, line in enumerate(lines) if "= logit" in line)
    numbers = [float(line.split()[0]) for line in lines[start:end]]
    assert numbers[0] == pytest.approx(load_weights().bias["network"])
    assert len(numbers) == 1 + 3 + 1  # bias, three reasons, the rest in one line
    assert sum(numbers) == pytest.approx(float(logit), abs=0.005)
    assert float(lines[end].split()[0]) == pytest.approx(float(logit), abs=0.0005)
    latest = _sql(
        store,
        "SELECT a.source || ':' || a.id FROM ad_links l"
        " JOIN latest_ads a ON a.source = l.source AND a.id = l.id"
        " WHERE l.network = ? ORDER BY COALESCE(a.posted_at, a.captured_at) DESC NULLS LAST, a.source, a.id"
        " LIMIT 3",
        [network],
    )
    listed = re.findall(r"^    (\S+:\S+) ", output, flags=re.M)
    assert listed == [r[0] for r in latest]
    assert f"... {int(size) - 3:,} more" in output
    assert "min(ads showing it, 3) / 3" in " ".join(output.split())  # why a sign weighs differently


def test_networks_by_label(store: Path) -> None:
    from threadline.score.learn import label_network

    labelled = store.parent / "labelled.duckdb"
    shutil.copy(store, labelled)
    ranked = [r[0] for r in _sql(labelled, "SELECT network FROM network_scores ORDER BY logit DESC")]
    with Store.open(labelled) as opened:
        label_network(opened.connection, ranked[3], "trafficking", analyst="kim")
        label_network(opened.connection, ranked[1], "independent", analyst="kim")
    output = _run("networks", "--label", "trafficking", "--db", str(labelled))
    assert _listed(output) == [ranked[3]] and "[trafficking]" in output
    assert _listed(_run("networks", "--label", "unsure", "--db", str(labelled))) == []
