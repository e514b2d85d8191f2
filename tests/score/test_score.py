"""Scores: weights as data, monotone scores with reasons, export, labels and fitted weights."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_link import ALWAYS_INCREMENTAL, FOOTER, independents, ingest_and_link, phone, write_ads

from threadline.extract.lexicon import default_lexicon
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.score.learn import NotEnoughLabels, fit, label_network, revoke_label
from threadline.score.scorer import adopted_model, iter_ad_scores, score_store
from threadline.score.weights import Weight, WeightsError, load_weights
from threadline.store import Store
from threadline.synth import generate


def test_shipped_weights_load_and_every_row_has_a_source() -> None:
    weights = load_weights()
    assert set(weights.bias) == {"network", "ad"}
    assert weights.features and all(w.source and w.weight >= 0 for w in weights.features.values())


def test_broken_weights_are_reported_with_their_lines(tmp_path: Path) -> None:
    shipped = (Path(load_weights().path)).read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(shipped) if line.startswith("feature\t"))
    rows = [
        "persons_per_phone\tnetwork\t1\t5\t-0.8\tx\tsomeone 2020",  # negative
        "places\tcity\t1\t8\t0.1\tx\tsomeone 2020",  # unknown level
        "moves\tnetwork\t1\t8\tlots\tx\tsomeone 2020",  # not a number
        "hours_covered\tnetwork\t14\t24\t0.06\tx\t",  # no source
        "cheap_share\tnetwork\t0.7\t0.2\t1\tx\tsomeone 2020",  # cap below floor
        "too\tfew",
    ]
    broken = tmp_path / "w.tsv"
    broken.write_text(
        "\n".join([*shipped[: header + 1], *rows, *shipped[header + 1 :]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(WeightsError) as caught:
        load_weights(broken)
    lines = [p.line for p in caught.value.problems]
    assert lines == [header + 2 + i for i in range(len(rows))], str(caught.value)
    message = str(caught.value)
    for reason in (
        "negative",
        "level 'city'",
        "'lots' is not a number",
        "source is empty",
        "cap is below floor",
        "2 columns",
    ):
        assert reason in message


@given(
    floor=st.floats(-10, 10),
    span=st.floats(0, 10),
    weight=st.floats(0, 5),
    a=st.floats(-100, 100),
    b=st.floats(-100, 100),
)
def test_a_contribution_never_falls_as_the_value_grows(
    floor: float, span: float, weight: float, a: float, b: float
) -> None:
    w = Weight("f", "network", floor, floor + span, weight, "r", "s", 1)
    lo, hi = sorted((a, b))
    assert 0 <= w.contribution(lo) <= w.contribution(hi) <= weight * span + 1e-9


def _ad(i: int, body: str) -> dict[str, object]:
    return {"id": f"x-{i}", "source": "site", "body": body, "location": "Houston, TX"}


def _scores(store: Store) -> tuple[dict[str, float], dict[str, float]]:
    con = store.connection
    ads = dict(con.execute("SELECT id, score FROM ad_scores").fetchall())
    nets = dict(
        con.execute("SELECT l.id, n.score FROM ad_links l JOIN network_scores n USING (network)").fetchall()
    )
    return ads, nets


def test_adding_evidence_never_lowers_a_score(tmp_path: Path) -> None:
    base = [
        *independents(25),
        _ad(1, f"I'm Mia. Call {phone(40, 832)}."),
        _ad(2, f"I'm Jade. Call {phone(40, 832)}."),
    ]
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "a.jsonl", base)) as store:
        score_store(store.connection)
        ads0, nets0 = _scores(store)
        steps = [
            # indicator language in an ad of the network
            _ad(1, f"I'm Mia. New girls every week! Ask for the manager. Call {phone(40, 832)}."),
            # a third woman under the same phone: more persons per phone
            _ad(3, f"I'm Ruby. Call {phone(40, 832)}."),
            # the phone obscured
            _ad(2, "I'm Jade. Call eight three two 555 zero one four zero."),
        ]
        for n, ad in enumerate(steps):
            ingest_file(write_ads(tmp_path / f"b{n}.jsonl", [ad]), store, workers=0)
            link(store.connection)
            score_store(store.connection)
            ads1, nets1 = _scores(store)
            for ad_id in ("x-1", "x-2"):
                assert ads1[ad_id] >= ads0[ad_id] - 1e-12, (n, ad_id)
                assert nets1[ad_id] >= nets0[ad_id] - 1e-12, (n, ad_id)
            assert ads1[str(ad["id"])] > ads0.get(str(ad["id"]), 0.0)  # each step adds real evidence
            ads0, nets0 = ads1, nets1


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic corpus, ingested (linked and scored) once for the tests below."""
    folder = tmp_path_factory.mktemp("score")
    generate(folder / "c", 1500, 11, images=True)
    db = folder / "s.duckdb"
    with Store.open(db) as store:
        ingest_file(folder / "c" / "ads.jsonl", store, workers=0)
        link(store.connection)
        score_store(store.connection)
    return db


def _kinds(db: Path) -> dict[str, str]:
    truth = db.parent / "c" / "truth.jsonl"
    return {r["id"]: r["kind"] for r in map(json.loads, truth.read_text().splitlines())}


def test_every_ad_has_a_score_and_reasons_and_operations_come_first(corpus_store: Path) -> None:
    kinds = _kinds(corpus_store)
    with Store.open(corpus_store, read_only=True) as store:
        records = list(iter_ad_scores(store.connection))
        [(linked,)] = store.connection.execute("SELECT COUNT(*) FROM ad_links").fetchall()
    assert len(records) == linked
    assert all(0 <= r["score"] <= 1 and r["reasons"] and "not a finding" in r["note"] for r in records)
    assert [r["score"] for r in records] == sorted((r["score"] for r in records), reverse=True)
    # Reasons add up to the score.
    for r in records[:50]:
        logit = sum(x["contribution"] for x in r["reasons"])
        assert abs(1 / (1 + 2.718281828459045**-logit) - r["score"]) < 1e-3
    top = records[: len(records) // 5]
    assert sum(kinds[r["id"]] != "independent" for r in top) / len(top) > 0.8
    bottom = records[-len(records) // 5 :]
    assert sum(kinds[r["id"]] == "independent" for r in bottom) / len(bottom) > 0.9


def _network_kinds(store: Store, kinds: dict[str, str]) -> dict[str, str]:
    members: dict[str, list[str]] = defaultdict(list)
    for ad_id, network in store.connection.execute("SELECT id, network FROM ad_links").fetchall():
        members[network].append(kinds[ad_id])
    return {n: Counter(v).most_common(1)[0][0] for n, v in members.items()}


def test_fitted_weights_are_used_only_when_they_beat_the_priors(corpus_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(corpus_store, db)
    kinds = _kinds(corpus_store)
    with Store.open(db) as store:
        con = store.connection
        net_kind = _network_kinds(store, kinds)
        with pytest.raises(NotEnoughLabels):
            fit(con, analyst="kim")
        # Labels that agree with the priors: nothing to gain, the priors stay.
        operations = sorted(n for n, k in net_kind.items() if k != "independent")
        loners = sorted(n for n, k in net_kind.items() if k == "independent")[:40]
        ids = [label_network(con, n, "trafficking", analyst="kim") for n in operations]
        ids += [label_network(con, n, "independent", analyst="kim") for n in loners]
        report = fit(con, analyst="kim")
        assert report.prior_ap >= report.model_ap and not report.adopted
        assert adopted_model(con) is None
        # A unit whose labels follow something the priors barely weigh (here: the networks
        # that post in many places, among the independents too) gets weights that rank them
        # better, and they are used.
        for label_id in ids:
            revoke_label(con, label_id, analyst="kim")
        score_store(con)
        moved = dict(
            con.execute(
                "SELECT unit, value FROM score_parts WHERE level = 'network' AND feature = 'places'"
            ).fetchall()
        )
        plain = [n for n in net_kind if n not in moved]
        for n in sorted(moved)[:30]:
            label_network(con, n, "trafficking", analyst="lee")
        for n in sorted(plain)[:30]:
            label_network(con, n, "independent", analyst="lee")
        report = fit(con, analyst="lee")
        assert report.adopted and report.model_ap > report.prior_ap
        # Fitted under a non-negativity constraint: a sign may drop to 0, never count against.
        assert all(w >= 0 for w in report.coefficients.values()), report.coefficients
        assert adopted_model(con) is not None
        assert score_store(con).model == f"model {report.model_id}"
        [(models,)] = con.execute("SELECT COUNT(*) FROM score_models").fetchall()
        assert models == 2  # both fits are kept, adopted or not


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_score_commands(corpus_store: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    shutil.copy(corpus_store, db)
    exported = _cli("export", "scores", "--db", db)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert rows and all({"id", "score", "reasons"} <= set(r) for r in rows)
    rescored = _cli("score", "--db", db)
    assert rescored.returncode == 0 and "prior weights" in rescored.stdout
    network = rows[0]["network"]
    labelled = _cli("label", network, "trafficking", "--db", db, "--analyst", "kim")
    assert labelled.returncode == 0 and "L1 recorded" in labelled.stdout
    refused = _cli("fit", "--db", db, "--analyst", "kim")
    assert refused.returncode != 0 and refused.stderr.startswith("threadline: need at least")
    assert _cli("label", "N99999999", "trafficking", "--db", db, "--analyst", "kim").returncode != 0
    empty = tmp_path / "empty.duckdb"
    Store.open(empty).close()
    assert "not scored yet" in _cli("export", "scores", "--db", str(empty)).stderr


def test_footer_numbers_and_other_hubs_are_not_the_networks_own(tmp_path: Path) -> None:
    # 25 independents share the site's footer number: it is a hub, so nobody gets "25 persons
    # under one phone".
    ads = write_ads(tmp_path / "a.jsonl", list(independents(25)))
    with ingest_and_link(tmp_path, "s", ads) as store:
        score_store(store.connection)
        rows = store.connection.execute(
            "SELECT COUNT(*) FROM score_parts WHERE feature = 'persons_per_phone'"
        ).fetchall()
        assert rows == [(0,)]
        assert FOOTER  # (the footer is in every ad)


def test_a_units_own_lexicon_applies_to_stored_ads_after_rematch(
    corpus_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "s.duckdb")
    shutil.copy(corpus_store, db)
    own = tmp_path / "own.tsv"
    shipped = Path(default_lexicon().path).read_text(encoding="utf-8")
    # A phrase the unit has seen in its own cases (every synthetic ad offers "text" contact).
    own.write_text(shipped + "local.text_only\tphrase\ttext only\tlocal\t2.0\tunit case file 2026\t\n")
    monkeypatch.setenv("THREADLINE_LEXICON", str(own))

    def local_parts() -> int:
        with Store.open(db, read_only=True) as store:
            sql = "SELECT COUNT(*) FROM score_parts WHERE feature = 'lexicon:local'"
            return int(store.connection.execute(sql).fetchall()[0][0])

    assert _cli("score", "--db", db).returncode == 0
    assert local_parts() == 0  # stored ads were matched with the shipped lexicon
    result = _cli("score", "--db", db, "--rematch")
    assert result.returncode == 0, result.stderr
    assert "ads read again" in result.stdout
    assert local_parts() > 0
    with Store.open(db, read_only=True) as store:
        said = store.connection.execute(
            "SELECT DISTINCT lower(json_extract_string(detail, '$.text')) FROM extractions"
            " WHERE value = 'local.text_only'"
        ).fetchall()
    # (the matcher reads punctuation as a word break: "Text. Only" matches too)
    assert {" ".join(re.findall(r"\w+", text)) for (text,) in said} == {"text only"}


def _scores_snapshot(con: Any) -> tuple[list[tuple[object, ...]], ...]:
    """Ad and network scores and score parts, sorted: what an incremental run must equal."""
    return (
        sorted(con.execute("SELECT ad_key, network, round(score, 12) FROM ad_scores").fetchall()),
        sorted(con.execute("SELECT network, ads, round(score, 12) FROM network_scores").fetchall()),
        sorted(
            con.execute(
                "SELECT level, unit, feature, round(value, 9), detail, round(contribution, 12)"
                " FROM score_parts"
            ).fetchall()
        ),
    )


def test_scoring_only_what_a_link_run_changed_equals_scoring_everything(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    generate(folder, 900, 23, images=False)
    lines = (folder / "ads.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    days = []
    for d, part in enumerate((lines[:600], lines[600:800], lines[800:])):
        days.append(tmp_path / f"day{d}.jsonl")
        days[-1].write_text("".join(part), encoding="utf-8")

    with Store.open(tmp_path / "daily.duckdb") as store:
        rescored = []
        for day in days:
            ingest_file(day, store, workers=0)
            relinked = link(store.connection, ALWAYS_INCREMENTAL).relinked
            report = score_store(store.connection, inputs_built=True, changed="_changed_networks")
            rescored.append((relinked, report.rescored))
        daily = _scores_snapshot(store.connection)
        assert rescored[-1][1] < report.ads, rescored  # the last day scored only what it changed
        score_store(store.connection)  # everything, from scratch
        assert _scores_snapshot(store.connection) == daily


def test_a_moved_local_median_rescores_only_the_networks_whose_cheap_share_it_moves(tmp_path: Path) -> None:
    # Houston's hourly median goes from 200 to 210 on day 1, when only strangers are added.
    # cheap_share counts above 0.2 (`score_weights.tsv`): an ad at 100 (0.5, then 0.52) and one
    # at 165 (0.175, nothing; then 0.21) must be scored again; those at 200 (0.05 at most) and
    # 500 (0) need not, though their place's median moved.
    def priced(key: str, number: str, rate: int) -> dict[str, object]:
        return {
            "id": key,
            "source": "site",
            "body": f"New here. Call {number}. Rates: ${rate} per hour.",
            "location": "Houston, TX",
        }

    market = [priced(f"m-{i}", phone(i, 281), 200) for i in range(30)]
    leads = [priced("cheap", phone(1, 832), 100), priced("near", phone(2, 832), 165)]
    dear = priced("dear", phone(3, 832), 500)
    days = [
        write_ads(tmp_path / "d0.jsonl", [*market, *leads, dear]),
        write_ads(tmp_path / "d1.jsonl", [priced(f"n-{i}", phone(i, 346), 220) for i in range(31)]),
    ]

    def cheap_parts(con: Any) -> dict[str, float]:
        rows = con.execute(
            "SELECT l.id, p.value FROM score_parts p JOIN ad_links l ON l.network = p.unit"
            " WHERE p.feature = 'cheap_share'"
        ).fetchall()
        return {ad_id: round(value, 2) for ad_id, value in rows}

    with Store.open(tmp_path / "s.duckdb") as store:
        con = store.connection
        medians = []
        for day in days:
            ingest_file(day, store, workers=0)
            link(con, ALWAYS_INCREMENTAL)
            score_store(con, inputs_built=True, changed="_changed_networks")
            houston = "SELECT median FROM score_local_prices WHERE place LIKE 'Houston%'"
            medians.append(con.execute(houston).fetchall())
            if day == days[0]:
                assert cheap_parts(con) == {"cheap": 0.5}
        assert medians == [[(200.0,)], [(210.0,)]]
        scored = {i for (i,) in con.execute("SELECT id FROM score_links").fetchall()}
        assert {"cheap", "near"} <= scored  # their cheap_share moved: scored again
        assert "dear" not in scored and not scored & {f"m-{i}" for i in range(30)}  # below 0.2 both times
        assert cheap_parts(con) == {"cheap": 0.52, "near": 0.21}
        incremental = _scores_snapshot(con)
        score_store(con)  # everything, from scratch
        assert _scores_snapshot(con) == incremental


def test_a_failed_scoring_run_is_caught_up_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller = phone(41, 832)
    days = [
        write_ads(tmp_path / "d0.jsonl", [*independents(25), _ad(1, f"I'm Mia. Call {controller}.")]),
        write_ads(
            tmp_path / "d1.jsonl", [_ad(2, f"I'm Jade. Call {controller}."), *independents(3, start=25)]
        ),
        write_ads(tmp_path / "d2.jsonl", list(independents(2, start=28))),
    ]
    with Store.open(tmp_path / "s.duckdb") as store:
        con = store.connection
        for n, day in enumerate(days):
            ingest_file(day, store, workers=0)
            link(con, ALWAYS_INCREMENTAL)
            if n == 1:  # this run's scoring fails (a unit's weights file went missing)
                monkeypatch.setenv("THREADLINE_WEIGHTS", str(tmp_path / "missing.tsv"))
                with pytest.raises(WeightsError):
                    score_store(con, inputs_built=True, changed="_changed_networks")
                monkeypatch.delenv("THREADLINE_WEIGHTS")
            else:
                score_store(con, inputs_built=True, changed="_changed_networks")
        [(linked, scored)] = con.execute(
            "SELECT (SELECT COUNT(*) FROM ad_links), (SELECT COUNT(*) FROM ad_scores)"
        ).fetchall()
        assert scored == linked == 32
        assert {n for (n,) in con.execute("SELECT network FROM ad_links").fetchall()} == {
            n for (n,) in con.execute("SELECT network FROM network_scores").fetchall()
        }


def test_hostile_characters_never_reach_a_reason(tmp_path: Path) -> None:
    ads = write_ads(
        tmp_path / "a.jsonl", [_ad(1, "Barely\x1b\u202e\x07 legal and young and fresh, call 713 555 0142")]
    )
    with ingest_and_link(tmp_path, "s", ads) as store:
        score_store(store.connection)
        [record] = list(iter_ad_scores(store.connection))
    shown = " ".join(r["reason"] for r in record["reasons"])
    assert "legal" in shown
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in shown)


def test_a_broken_lexicon_is_one_line_on_the_command_line(corpus_store: Path, tmp_path: Path) -> None:
    broken = tmp_path / "lexicon.tsv"
    broken.write_text(
        "id\tkind\ttext\tcategory\tweight\tsource\tnote\nx\tword\ty\tz\t9\t\t\n", encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "threadline.cli", "score", "--db", str(corpus_store)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "THREADLINE_LEXICON": str(broken)},
    )
    assert result.returncode != 0
    assert result.stderr.startswith("threadline: ") and len(result.stderr.strip().splitlines()) == 1
    assert "lexicon.tsv:2:" in result.stderr and "more)" in result.stderr


def test_rematch_reads_an_ad_as_extraction_does_within_the_field_budget(tmp_path: Path) -> None:
    from threadline.extract.text import MAX_FIELD_CHARS
    from threadline.score.rematch import rematch

    filler = "new in town " * (MAX_FIELD_CHARS // 12 + 50)  # past the field's budget
    ad = {"id": "long", "source": "site", "body": f"100% real, call {phone(5)}. {filler} 100% real again"}
    with ingest_and_link(tmp_path, "s", write_ads(tmp_path / "ads.jsonl", [ad])) as store:
        con = store.connection
        sql = "SELECT value, span_start FROM extractions WHERE kind = 'indicator' ORDER BY ALL"
        at_ingest = con.execute(sql).fetchall()
        assert at_ingest and all(start < MAX_FIELD_CHARS for _, start in at_ingest)
        rematch(con)
        assert con.execute(sql).fetchall() == at_ingest
