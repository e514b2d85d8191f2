# Two commands matter on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo
DEMO_ADS ?= 3000

.PHONY: demo test install lint typecheck unit bench fuzz clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Re-installs only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/threadline synth $(DEMO)/corpus --ads $(DEMO_ADS) --seed 7 --malformed 13
	$(BIN)/threadline ingest $(DEMO)/corpus/ads.jsonl --db $(DEMO)/threadline.duckdb
	$(BIN)/threadline summary --db $(DEMO)/threadline.duckdb

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

# The ingest invariant under many more generated hostile files than `make test` runs.
fuzz: install
	THREADLINE_FUZZ_EXAMPLES=$${THREADLINE_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q tests/test_fuzz_ingest.py

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/link.py
	$(BIN)/python bench/score.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
