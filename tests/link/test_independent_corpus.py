"""Linking on the corpus written apart from the project's generator (tests/corpora/independent.py):
its operations, independents, copied popular texts and hub numbers follow a model the linker's
authors did not write, so a rule fitted to `threadline.synth` shows here. bench/link_independent.py
runs the same corpus at three shares of copied texts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from corpora.independent import generate, read_truth
from threadline.ingest import ingest_file
from threadline.link import link
from threadline.store import Store

Partition = dict[tuple[str, str], str]


def bcubed(pred: Partition, truth: Partition) -> tuple[float, float]:
    """B-cubed precision and recall of ``pred`` against ``truth`` over the ads both hold (as
    bench/link.py's `bcubed`)."""
    keys = [k for k in truth if k in pred]
    cells = Counter((pred[k], truth[k]) for k in keys)
    pred_sizes = Counter(pred[k] for k in keys)
    true_sizes = Counter(truth[k] for k in keys)
    precision = sum(c * c / pred_sizes[p] for (p, _), c in cells.items()) / len(keys)
    recall = sum(c * c / true_sizes[t] for (_, t), c in cells.items()) / len(keys)
    return precision, recall


def test_networks_on_the_independent_corpus(tmp_path: Path) -> None:
    # Half of the independents copy one of five popular texts. The full corpus (scale 1: 2,996
    # ads, 40 operations) rather than a fifth of it: at about 600 ads a corpus holds 8 operations,
    # one split or joined operation moves recall or precision by 10-20 points, and the figures
    # swing with the seed (scale 0.2, seeds 1, 2, 3, 7: network recall 0.70-0.93, precision
    # 0.77-0.99; seed 3 joins five operations of one region into 154 ads through name, age and
    # city corroborations). At scale 1, measured at this commit (seed 7): network B-cubed
    # precision 0.991, recall 0.960, largest predicted network 69 ads = the largest true one;
    # seeds 1, 2, 3 gave precision 0.980-0.995, recall 0.940-0.966. About 7 s (ingest in this
    # process, then link). The bounds fail where linking goes wrong: everything joined gives
    # precision 0.008 and one network of 2,996 ads; trusting the planted hub numbers
    # (LinkParams(hub_co_phones=10_000)) gave precision 0.48 and a network of 1,545 ads; each
    # woman of an operation on her own gives recall 0.59.
    corpus = generate(tmp_path / "corpus", scale=1.0, popular_share=0.5, seed=7)
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_file(corpus.ads, store, workers=0)
        link(store.connection)
        rows = store.connection.execute("SELECT source, id, network FROM ad_links").fetchall()
    truth = read_truth(corpus)
    pred = {(source, ad_id): network for source, ad_id, network in rows}
    assert len(pred) == len(truth) == corpus.ad_count
    precision, recall = bcubed(pred, {key: row["network"] for key, row in truth.items()})
    assert precision >= 0.95, precision
    assert recall >= 0.9, recall
    largest_true = max(Counter(row["network"] for row in truth.values()).values())
    largest = max(Counter(pred.values()).values())
    assert largest <= 2 * largest_true, (largest, largest_true)
