# Backtest: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install services lint typecheck unit bench schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' ; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)

## numba's cache of every kernel is built here (fast once built), so that nothing compiles
## on the first request of `make run`.
install: $(STAMP)
	@$(BIN)/backtest warm

## The main job: migrate the database (SQLite under ./data by default, or DATABASE_URL), store
## the synthetic demo candles when missing, create the demo user (its password is printed once,
## when it is created), then serve the API and its playground on http://127.0.0.1:8000.
run: install
	$(BIN)/backtest db migrate --seed-demo
	$(BIN)/backtest users ensure-demo
	$(BIN)/backtest serve --host 127.0.0.1 --port 8000

## PostgreSQL and Redis on 127.0.0.1 for the integration tests (started when installed but down).
services:
	@bash .ci/services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install services
	$(BIN)/python -m pytest -q

## Everything CI checks: lint, import layers, types, every test.
test: lint typecheck unit

bench: install services
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/workers.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/progress.py
	$(BIN)/python bench/time_to_result.py

## The generated schemas: the strategy document's JSON Schema and the API's schema.graphql
## (a test fails when either differs from the code).
schema: install
	$(BIN)/python -m domain.strategy.schema > docs/strategy.schema.json
	$(BIN)/python -m graph.schema_export schema.graphql

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
