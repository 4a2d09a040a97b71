# The front door. `make run` and `make test` set everything up on a machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help setup browser run test test-all lint format bench bench-m sample clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install the pinned stack

CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser: ## install Debian's chromium (headless report tests) when it is missing
	@if [ ! -x $(CHROMIUM) ]; then \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| { $(SUDO) apt-get update && \
		     $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; \
	fi

run: setup ## run the nightly job on the bundled sample data into data/warehouse.duckdb
	$(BIN)/rcm nightly

test: setup browser ## run the default test suite (unit + integration; slow/benchmark excluded)
	$(BIN)/python -m pytest -q || test $$? -eq 5  # 5 = pytest collected no tests

test-all: setup browser ## the default suite plus the slow, large-data tests
	$(BIN)/python -m pytest -q -m 'not benchmark'

lint: setup ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup ## ruff format
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup ## benchmarks at the small sizes: load, rcm era vs pyx12, nightly S (~30 min)
	$(BIN)/python -m pytest -q -m benchmark -s
	$(BIN)/python benchmarks/bench_era.py
	$(BIN)/python benchmarks/bench_nightly.py --size S

BENCH_M ?= /tmp/rcm-bench-m

bench-m: setup ## nightly at M (1M encounters, both Prefect modes), then the least a night can take (2-3 hours, ~25 GB of disk in BENCH_M)
	$(BIN)/python benchmarks/bench_nightly.py --size M --work $(BENCH_M) --keep --reuse
	$(BIN)/python benchmarks/bench_budget.py --work $(BENCH_M)

sample: setup ## regenerate the committed sample landing folder (fixed seed)
	rm -rf data/sample/landing
	$(BIN)/rcm generate --out data/sample/landing --encounters 160 --seed 7 --start-date 2026-01-01 --days 45

clean: ## remove the virtualenv, warehouse and build output
	rm -rf $(VENV) data/warehouse.duckdb* dbt/target dbt/logs .pytest_cache
