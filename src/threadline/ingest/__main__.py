"""``python -m threadline.ingest FILE --db STORE``: ingest one file, print the report as JSON.

A minimal runner without the CLI's linking and scoring, used by the crash-safety test and handy
for timing ingest alone. Progress goes to stderr, one line per stored batch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from threadline.ingest.pipeline import IngestError, ingest_file
from threadline.store import Store, StoreError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadline.ingest", description=__doc__)
    parser.add_argument("file", help="JSON Lines or CSV file of ads")
    parser.add_argument("--db", required=True, help="store file (created if missing)")
    parser.add_argument("--workers", type=int, default=None, help="extraction processes (default: CPUs)")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)

    def progress(done: int, read: int, total: int) -> None:
        print(f"progress {done} {read} {total}", file=sys.stderr, flush=True)

    try:
        with Store.open(args.db) as store:
            report = ingest_file(
                args.file, store, workers=args.workers, batch_size=args.batch_size, progress=progress
            )
    except (IngestError, StoreError, OSError) as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(dataclasses.asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
