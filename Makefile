# airpipe: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.DEFAULT_GOAL := help

help: ## Show this help
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/airpipe: setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/airpipe ## Create .venv and install airpipe with its test tools (and bubblewrap, chromium, chromedriver, as root on Debian)
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null; }; }; } || \
	  echo "note: bubblewrap (bwrap) is not installed: connectors run without a sandbox (see AIRPIPE_SANDBOX)"
	@{ [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }; }; } || \
	  echo "note: chromium and chromium-driver are not installed: the dashboard's browser tests skip"

serve: install ## Serve the API on 127.0.0.1:8000 (embedded: SQLite + in-process worker)
	$(BIN)/airpipe serve

worker: install ## Run a job worker (production: set AIRPIPE_DATABASE_URL and AIRPIPE_REDIS_URL)
	$(BIN)/airpipe worker

migrate: install ## Create or upgrade the database schema
	$(BIN)/airpipe migrate

test: install ## Run the test suite (PostgreSQL/Redis tests skip when those servers are down)
	$(BIN)/pytest

test-connectors: install ## Install real connectors from PyPI and run them end to end (slow at first: downloads)
	$(BIN)/pytest -m pypi tests/integration

lint: install ## Check style with ruff and types with mypy (settings in setup.cfg)
	$(BIN)/ruff check airpipe tests
	$(BIN)/mypy airpipe

bench: install ## Benchmarks: Faker -> Local JSON vs the source alone; PostgreSQL -> PostgreSQL vs psql \copy; sandbox start cost; API vs bare Starlette
	$(BIN)/python bench/sync_bench.py $(SYNC_BENCH_ARGS)
	$(BIN)/python bench/pg_bench.py $(PG_BENCH_ARGS)
	$(BIN)/python bench/sandbox_bench.py $(SANDBOX_BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-api

bench-api: install ## API vs bare Starlette: gets in req/s, list pages at 10,000 connections and 100,000 jobs (SQLite and PostgreSQL)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }; }; } || \
	  echo "note: wrk is not installed: the API bench uses its Python client (slower than the server)"
	$(BIN)/python bench/api_bench.py $(API_BENCH_ARGS)

spec: install ## Regenerate specs/openapi.json and specs/public-openapi.json from the route tables and the Structs
	$(BIN)/airpipe openapi > specs/openapi.json
	$(BIN)/airpipe openapi --public > specs/public-openapi.json

.PHONY: help install serve worker migrate test test-connectors lint bench bench-api spec
