"""Reading the unit-editable data files: UTF-8 text, rows with line numbers.

Shared by the lexicon (extraction's, `threadline.extract.lexicon`) and the score weights
(scoring's, `threadline.score.weights`), so it belongs to neither stage.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["DataFileError", "Problem", "read_file", "read_rows"]


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one line of a data file (line 0: the file as a whole)."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


class DataFileError(ValueError):
    """Every problem found in one data file, one per line of the message (first line: a count)."""

    what = "data file"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the {self.what}:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


def read_file(
    path: str | os.PathLike[str] | None, env_var: str, shipped: str, error: type[DataFileError]
) -> tuple[str, str]:
    """(name, text) of the data file in effect: ``path``, else ``$env_var``, else the shipped file
    ``threadline/data/<shipped>``; UTF-8 (a spreadsheet's byte-order mark dropped). A file that
    cannot be read, or is not UTF-8, raises ``error`` naming it."""
    chosen = os.fspath(path) if path is not None else os.environ.get(env_var, "")
    source: Path | Traversable = Path(chosen) if chosen else files("threadline").joinpath(f"data/{shipped}")
    name = chosen or str(source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise error([Problem(name, 0, f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error([Problem(name, line, "not UTF-8 text (save the file as UTF-8)")]) from None


def read_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every line that is not blank or a ``#`` comment."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = next(csv.reader([line], delimiter=delimiter))
        if not cells or cells[0].lstrip().startswith("#") or not any(c.strip() for c in cells):
            continue
        yield number, cells
