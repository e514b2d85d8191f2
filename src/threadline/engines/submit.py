"""Entry point for ``spark-submit``: ``spark-submit [options] submit.py --input IN --output OUT``.

Runs ``threadline run --engine spark`` with the arguments given, in the session spark-submit
set up (its master, executors and memory settings). Print this file's path with
``python -c "import threadline.engines.submit as s; print(s.__file__)"``.
"""

from __future__ import annotations

import sys

from threadline.cli import main

if __name__ == "__main__":
    main(["run", "--engine", "spark", *sys.argv[1:]])
