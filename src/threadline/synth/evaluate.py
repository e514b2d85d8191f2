"""Scoring extraction against a synthetic corpus's ground truth (truth.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["load_truth", "phone_scores"]


def load_truth(corpus_dir: Path) -> dict[tuple[str, str], set[str]]:
    """(source, id) -> the E.164 numbers really printed in its latest version (footers included)."""
    truth: dict[tuple[str, str], set[str]] = {}
    with (corpus_dir / "truth.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            truth[row["source"], row["id"]] = set(row["phones"])
    return truth


def phone_scores(
    found: dict[tuple[str, str], set[str]], truth: dict[tuple[str, str], set[str]]
) -> dict[str, float | int]:
    """Precision and recall per (ad, number) pair, over the ads present in ``truth``."""
    tp = fp = fn = 0
    for key, want in truth.items():
        got = found.get(key, set())
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }
