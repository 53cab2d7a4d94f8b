# Backtest: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install services lint typecheck unit bench schema clean \
	client-install client-build client-static client-unit client-bundle client-e2e chromium

## The web client (client/): Node >= 20.19 and npm. Its packages are installed again only when
## package-lock.json changes; it is built again only when one of its sources changes.
CLIENT := client
CLIENT_STAMP := $(CLIENT)/node_modules/.installed-stamp
CLIENT_BUILT := $(CLIENT)/dist/.vite/manifest.json
CLIENT_SOURCES := $(shell find $(CLIENT)/src $(CLIENT)/playground $(CLIENT)/public -type f 2>/dev/null) \
	$(wildcard $(CLIENT)/index.html $(CLIENT)/playground.html $(CLIENT)/vite.config.ts \
	$(CLIENT)/tsconfig*.json $(CLIENT)/package.json $(CLIENT)/package-lock.json) schema.graphql
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' ; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)

## numba's cache of every kernel is built here (fast once built), so that nothing compiles
## on the first request of `make run`. The web client's packages too (npm ci).
install: $(STAMP) $(CLIENT_STAMP)
	@$(BIN)/backtest warm

$(CLIENT_STAMP): $(CLIENT)/package-lock.json $(CLIENT)/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "The web client needs Node >= 20.19 and npm (https://nodejs.org): install them, then run make again." >&2; exit 1; }
	@cd $(CLIENT) && node scripts/check-node.mjs
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(CLIENT_STAMP)

client-install: $(CLIENT_STAMP)

## The client's build (client/dist, served at / by `backtest serve`), when its sources changed.
$(CLIENT_BUILT): $(CLIENT_STAMP) $(CLIENT_SOURCES)
	cd $(CLIENT) && npm run --silent build -- --logLevel warn
	@touch $(CLIENT_BUILT)

client-build: $(CLIENT_BUILT)

## The main job: migrate the database (SQLite under ./data by default, or DATABASE_URL), store
## the synthetic demo candles when missing, create the demo user (its password is printed once,
## when it is created), then serve the API and its playground on http://127.0.0.1:8000.
run: install client-build
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

## Every Python test but the deployment checks (deploy-check runs those, after installing what
## they need) and the fuzzers (marked `fuzz`: `make fuzz`).
unit: install services
	$(BIN)/python -m pytest -q --ignore=tests/deploy

## The client's static checks: lint, types, and the generated GraphQL types being up to date.
client-static: client-install
	cd $(CLIENT) && npx eslint . --max-warnings 0
	cd $(CLIENT) && npx vue-tsc --noEmit -p tsconfig.app.json
	cd $(CLIENT) && npm run --silent codegen:check

client-unit: client-install
	cd $(CLIENT) && npx vitest run --project unit

## A fresh build, and its initial JavaScript within the budget (scripts/budget.mjs).
client-bundle: client-install
	cd $(CLIENT) && npm run --silent build -- --logLevel warn
	cd $(CLIENT) && npm run --silent budget

## Debian's Chromium for the browser tests (never a downloaded browser).
chromium:
	@test -x $(CHROMIUM) || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing Debian's chromium (apt-get)"; \
		$$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; }

## The browser tests: a real `backtest serve` (temporary SQLite) driven through Chromium.
client-e2e: install chromium client-bundle
	cd $(CLIENT) && npx vitest run --project e2e

## Everything CI checks: lint, import layers, types, the deployment files, every test (Python,
## the fuzzers, then the web client's).
test: lint typecheck client-static deploy-check unit fuzz client-unit client-bundle client-e2e

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
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache $(CLIENT)/node_modules $(CLIENT)/dist $(CLIENT)/artifacts

## The deployment files (docker/): compose.yaml checked by Debian's docker-compose (`config`,
## installed with apt-get when missing), the Kubernetes manifests against Kubernetes' own
## schemas (kubernetes-validate, offline, strict), and their invariants (tests/deploy); with
## TimescaleDB (PGlite's TimescaleDB build from npm, tests only) the hypertable set-up runs.
.PHONY: deploy-check
DOCKER_COMPOSE := /usr/bin/docker-compose
K8S_VERSION := 1.30.0
K8S_MANIFESTS := $(filter-out docker/k8s/kustomization.yaml,$(wildcard docker/k8s/*.yaml))
deploy-check: $(STAMP)
	@test -x $(DOCKER_COMPOSE) || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing Debian's docker-compose (apt-get)"; \
		$$SUDO apt-get install -y docker-compose || { $$SUDO apt-get update && $$SUDO apt-get install -y docker-compose; }; }
	$(DOCKER_COMPOSE) -f docker/compose.yaml config --quiet
	$(BIN)/kubernetes-validate --strict --quiet -k $(K8S_VERSION) $(K8S_MANIFESTS)
	cd tests/deploy/pglite && npm ci --no-audit --no-fund --legacy-peer-deps --loglevel=error
	$(BIN)/python -m pytest -q tests/deploy

## The fuzzers against a real `backtest serve`, on SQLite then PostgreSQL (tests/fuzz, left out
## of `make unit`): schemathesis over HTTP (anonymous, a trader, an admin) and a fuzz of the
## subscriptions' websocket. Budget: FUZZ_MAX_EXAMPLES per operation and run (default 25),
## FUZZ_WS_EXAMPLES per websocket fuzzer (default 25); FUZZ_SEED changes the fixed seed.
.PHONY: fuzz
fuzz: install services
	$(BIN)/python -m pytest -q -m fuzz tests/fuzz
