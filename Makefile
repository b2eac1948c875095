# edupulse — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := $(HOME)/.cache/edupulse/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help setup services demo test test-fast lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/edupulse: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@touch $@

setup: $(BIN)/edupulse ## Create .venv with the locked dependencies

demo: setup ## Set up, then run a live simulated course on the embedded default
	$(BIN)/edupulse demo

# The real servers the scale-out tests use, each started by its own script (one line each).
services: ## Start the test services (PostgreSQL and Chromium from Debian packages, Kafka from Maven Central; idempotent)
	bash scripts/services/postgres.sh up
	bash scripts/services/kafka.sh up
	bash scripts/services/chromium.sh up

# With EDUPULSE_TEST_SERVICES=required a test whose service is missing fails instead of skipping.
test: setup services ## Set up, start the services, then run the whole test suite (lint and types included)
	EDUPULSE_TEST_SERVICES=required $(BIN)/pytest

test-fast: setup ## Only the fast in-process tests
	$(BIN)/pytest -m "not integration"

lint: setup ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: setup ## Format and autofix
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: setup ## Run the benchmarks (see docs/benchmarks.md)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/lake.py
	$(MAKE) services
	$(BIN)/python bench/store_commit.py

clean: ## Remove the virtualenv, caches and demo data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache edupulse-data
