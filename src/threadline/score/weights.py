"""Prior score weights (``threadline/data/score_weights.tsv``), checked like the lexicon.

A unit uses its own file by setting ``THREADLINE_WEIGHTS`` or passing a path. Every broken row is
reported with its file and line, all at once (`WeightsError`); none is skipped.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

from threadline._tsv import DataFileError, Problem, read_file, read_rows

__all__ = ["COLUMNS", "ENV_VAR", "LEVELS", "Weight", "Weights", "WeightsError", "load_weights"]

ENV_VAR = "THREADLINE_WEIGHTS"
COLUMNS = ("feature", "level", "floor", "cap", "weight", "reason", "source")
LEVELS = ("network", "ad")


@dataclass(frozen=True, slots=True)
class Weight:
    """One feature's prior: ``weight`` log-odds per unit of the value above ``floor``, to ``cap``."""

    feature: str
    level: str
    floor: float
    cap: float
    weight: float
    reason: str
    source: str
    line: int

    def contribution(self, value: float) -> float:
        """Monotone: never negative, never decreasing in ``value``."""
        return self.weight * (min(max(value, self.floor), self.cap) - self.floor)

    def explain(self, value: float, detail: str | None) -> str:
        try:
            return self.reason.format(value=value, detail=detail or "")
        except (ValueError, KeyError, IndexError):
            return f"{self.feature} = {value:g}"


class WeightsError(DataFileError):
    """Every problem found in a weights file, one per line of the message."""

    what = "score weights"


@dataclass(frozen=True, slots=True)
class Weights:
    """The checked weights of one file: biases and per-feature priors by level."""

    path: str
    bias: dict[str, float]
    features: dict[tuple[str, str], Weight]  # (level, feature) -> weight

    def level(self, level: str) -> list[Weight]:
        return [w for (lv, _), w in sorted(self.features.items()) if lv == level]


def _number(raw: str, column: str) -> tuple[float, str | None]:
    try:
        value = float(raw)
    except ValueError:
        return 0.0, f"{column} {raw!r} is not a number"
    if not math.isfinite(value):
        return 0.0, f"{column} {raw!r} is not a finite number"
    return value, None


def _parse(text: str, name: str) -> Weights:
    problems: list[Problem] = []
    bias: dict[str, float] = {}
    features: dict[tuple[str, str], Weight] = {}
    header_seen = False
    for line, cells in read_rows(text, "\t"):
        cells = [c.strip() for c in cells]
        if not header_seen:
            header_seen = True
            if tuple(cells) != COLUMNS:
                problems.append(Problem(name, line, f"header must be {' | '.join(COLUMNS)}"))
                break
            continue
        if len(cells) != len(COLUMNS):
            problems.append(Problem(name, line, f"{len(cells)} columns, expected {len(COLUMNS)}"))
            continue
        feature, level, floor_raw, cap_raw, weight_raw, reason, source = cells
        row_problems = []
        if not feature:
            row_problems.append("feature is empty")
        if level not in LEVELS:
            row_problems.append(f"level {level!r} is not one of {', '.join(LEVELS)}")
        numbers = {}
        for column, raw in (("floor", floor_raw), ("cap", cap_raw), ("weight", weight_raw)):
            numbers[column], problem = _number(raw, column)
            if problem:
                row_problems.append(problem)
        if not source:
            row_problems.append("source is empty: every weight says where it comes from")
        if feature == "bias":
            if not row_problems and level in bias:
                row_problems.append(f"a second bias for level {level}")
            if not row_problems:
                bias[level] = numbers["weight"]
        else:
            if not reason:
                row_problems.append("reason is empty")
            if numbers["weight"] < 0:
                row_problems.append("weight is negative: more evidence must never lower a score")
            if numbers["cap"] < numbers["floor"]:
                row_problems.append("cap is below floor")
            if (level, feature) in features:
                row_problems.append(f"{feature} ({level}) is listed twice")
            if not row_problems:
                features[level, feature] = Weight(
                    feature, level, line=line, reason=reason, source=source, **numbers
                )
        problems += [Problem(name, line, p) for p in row_problems]
    if not header_seen:
        problems.append(Problem(name, 0, "no header"))
    for level in LEVELS:
        if header_seen and level not in bias and not problems:
            problems.append(Problem(name, 0, f"no bias row for level {level}"))
    if problems:
        raise WeightsError(problems)
    return Weights(name, bias, features)


def load_weights(path: str | os.PathLike[str] | None = None) -> Weights:
    """Read and check ``path``, else ``$THREADLINE_WEIGHTS``, else the shipped weights."""
    name, text = read_file(path, ENV_VAR, "score_weights.tsv", WeightsError)
    return _parsed(text, name)


@functools.lru_cache(maxsize=8)
def _parsed(text: str, name: str) -> Weights:
    """`_parse`, once per file content: a server shows the weights' reasons on every queue row
    (the result is frozen and nothing changes its maps; an edited file is new text, parsed again)."""
    return _parse(text, name)
