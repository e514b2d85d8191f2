# Two commands matter on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo
DEMO_ADS ?= 3000

.PHONY: demo demo-store test install install-spark browser evidence-deps lint typecheck unit bench fuzz screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Re-installs only when the project's metadata changes. The demo needs only the project and its
# dev tools; the Spark extra (pyspark, about 450 MB) is added for the tests (the Spark parity
# tests run Spark) and for `threadline run --engine spark`. One virtualenv, one marker per extra:
# `make test` after `make demo` adds pyspark without installing the rest again.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(VENV)/.installed-spark: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@

install: $(VENV)/.installed-dev
install-spark: $(VENV)/.installed-spark

# The demo: a synthetic store (`demo-store`, which ends: scripts and checks use it), then served
# as the workspace on http://127.0.0.1:8000 until Ctrl-C, with an admin "demo" given a new random
# password each time (printed).
demo: demo-store
	@pw=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))'); \
	echo "$$pw" | $(BIN)/threadline user add demo --role admin --password-stdin --db $(DEMO)/threadline.duckdb 2>/dev/null \
	  || echo "$$pw" | $(BIN)/threadline user password demo --password-stdin --db $(DEMO)/threadline.duckdb; \
	echo "sign in as demo, password $$pw (README: The workspace server)"
	$(BIN)/threadline serve --db $(DEMO)/threadline.duckdb

demo-store: install
	$(BIN)/threadline synth $(DEMO)/corpus --ads $(DEMO_ADS) --seed 7 --malformed 13
	$(BIN)/threadline ingest $(DEMO)/corpus/ads.jsonl --db $(DEMO)/threadline.duckdb
	$(BIN)/threadline summary --db $(DEMO)/threadline.duckdb

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install-spark
	$(BIN)/pytest -q

# The browser tests (tests/serve/test_pages.py) drive Debian's chromium through Playwright
# (Playwright's own browser download is not used). Installed here when missing and run as root
# (CI: `.ci/run` on a clean clone); otherwise the tests skip with one line saying why, except
# under CI=true, where a missing browser fails the run.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; \
	elif [ "$$CI" = true ]; then echo "no $(CHROMIUM): install Debian's chromium (apt-get install chromium)" >&2; exit 1; \
	else echo "no $(CHROMIUM): the browser tests will skip (sudo apt-get install chromium)"; fi

# The evidence tests (tests/evidence) render report.pdf with WeasyPrint (pango, the DejaVu font),
# read it back with poppler-utils (pdftotext, pdftoppm) and check signatures with OpenSSH's
# ssh-keygen -Y verify. Installed here as root when missing (CI: `.ci/run`); otherwise those tests
# skip with one line saying why, except under CI=true, where a missing tool fails the run.
EVIDENCE_DEBS ?= poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 openssh-client
evidence-deps:
	@if command -v pdftotext >/dev/null && command -v ssh-keygen >/dev/null && fc-list 2>/dev/null | grep -q DejaVuSans; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(EVIDENCE_DEBS) \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(EVIDENCE_DEBS); }; \
	elif [ "$$CI" = true ]; then echo "missing: apt-get install $(EVIDENCE_DEBS)" >&2; exit 1; \
	else echo "missing pdftotext, ssh-keygen or DejaVu: some evidence tests will skip (sudo apt-get install $(EVIDENCE_DEBS))"; fi

test: browser evidence-deps lint typecheck unit

# The README's screenshots of the pages, taken again by the browser tests.
screenshots: install browser
	THREADLINE_SCREENSHOTS=1 $(BIN)/pytest -q tests/serve/test_pages.py tests/serve/test_pages_workspace.py \
	  tests/serve/test_pages_network_drawings.py tests/serve/test_pages_admin.py

# The ingest invariant under many more generated hostile files than `make test` runs.
fuzz: install
	THREADLINE_FUZZ_EXAMPLES=$${THREADLINE_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/ingest/test_fuzz_ingest.py

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/phones.py
	$(BIN)/python bench/link.py
	$(BIN)/python bench/link.py --popular-shares 0,0.1,0.3,0.5 --images both --skip-scale
	$(BIN)/python bench/link_independent.py
	$(BIN)/python bench/score.py
	$(BIN)/python bench/score.py --popular-shares 0,0.1,0.3,0.5 --images both
	$(BIN)/python bench/repeat.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
