"""The error-rate figures the evidence report's statement of method quotes (issue 17).

`bench/link.py` (network quality) and `bench/score.py` (ranking quality) each record their
headline figures in ``src/threadline/data/benchmark_figures.json``: package data, kept in the
repository (unlike bench/out/) and installed with Threadline, so the report reads them from the
file the benchmarks wrote, never from a template.
Each section says what corpus it was measured on (synthetic, with its size and seed) and when.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIGURES = Path(__file__).resolve().parents[1] / "src" / "threadline" / "data" / "benchmark_figures.json"


def record(section: str, figures: dict[str, Any], corpus: dict[str, Any], path: Path = FIGURES) -> None:
    """Replace ``section`` of the figures file with ``figures``, measured on ``corpus``."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data["measured_on"] = "synthetic data (threadline synth): no real ads"
    data[section] = {
        "corpus": {"synthetic": True, **corpus},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".figures-")
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
