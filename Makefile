# Omnia: `make run` starts the demo shop, `make test` runs every check CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
ARGS ?=
BIN := .venv/bin

# A module that fails to import fails the run but does not stop the other tests.
# pytest exits with 5 when it selected no test (e.g. no browser test written yet): not a failure.
define pytest
	$(BIN)/pytest --continue-on-collection-errors $(1) $(ARGS) || { rc=$$?; [ $$rc -eq 5 ] && echo "pytest: no tests selected" || exit $$rc; }
endef

.PHONY: help run setup venv assets translations system-packages lint test test-sqlite test-pg test-e2e bench

help:
	@echo "make run [HOST=127.0.0.1] [PORT=8000]  demo shop at http://HOST:PORT/ (prints logins)"
	@echo "make test                              everything CI runs: lint, SQLite, PostgreSQL, browser tests"
	@echo "make lint                              ruff, ruff format --check, mypy, import-linter"
	@echo "make test-sqlite | test-pg | test-e2e  one suite; ARGS='tests/orders -x' narrows it"
	@echo "make bench                             every bench/bench_*.py"

run: setup
	$(BIN)/omnia demo --host $(HOST) --port $(PORT)

setup: venv assets translations

venv:
	scripts/ensure-venv

assets:
	scripts/vendor-assets

translations: venv
	scripts/compile-translations

system-packages:
	scripts/ensure-system-packages

lint: venv
	scripts/lint

test:
	scripts/test-all

test-sqlite: setup
	unset OMNIA_DATABASE_URL; $(call pytest,-n $(WORKERS) -m "not e2e")

test-pg: system-packages setup
	scripts/with-postgres $(MAKE) --no-print-directory _pytest-pg

_pytest-pg:
	$(call pytest,-n $(WORKERS) -m "not e2e")

test-e2e: system-packages setup
	unset OMNIA_DATABASE_URL; $(call pytest,-m e2e --browser chromium)

bench: system-packages setup
	scripts/bench
