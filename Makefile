# Backtest: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export PIP_DISABLE_PIP_VERSION_CHECK := 1

DEMO_CSV := data/demo.csv

.PHONY: run test install lint typecheck unit bench schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' ; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)

install: $(STAMP)

$(DEMO_CSV): | $(STAMP)
	@mkdir -p data
	$(BIN)/backtest demo-data --out $(DEMO_CSV)

## The main job: backtest the example strategy on the demo data set and print the metrics.
run: install $(DEMO_CSV)
	$(BIN)/backtest run --data $(DEMO_CSV) --strategy examples/sma_crossover.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q

## Everything CI checks: lint, import layers, types, every test.
test: lint typecheck unit

bench: install
	$(BIN)/python bench/engine.py

schema: install
	$(BIN)/python -m domain.strategy.schema > docs/strategy.schema.json

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
