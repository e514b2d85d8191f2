# Two commands matter on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo
DEMO_ADS ?= 3000

.PHONY: demo demo-store test install install-spark lint typecheck unit bench fuzz clean

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

test: lint typecheck unit

# The ingest invariant under many more generated hostile files than `make test` runs.
fuzz: install
	THREADLINE_FUZZ_EXAMPLES=$${THREADLINE_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/test_fuzz_ingest.py

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/phones.py
	$(BIN)/python bench/link.py
	$(BIN)/python bench/link.py --popular-shares 0,0.1,0.3,0.5 --images both --skip-scale
	$(BIN)/python bench/score.py
	$(BIN)/python bench/score.py --popular-shares 0,0.1,0.3,0.5 --images both
	$(BIN)/python bench/repeat.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
