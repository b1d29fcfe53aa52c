# Two commands matter: `make demo` (set up, build the demo scenario, summarise it) and
# `make test` (set up, lint, type-check and run the whole suite). Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_EVENTS ?= 1000000

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/reachwatch demo

lint: setup
	$(BIN)/ruff check src tests benchmarks training
	$(BIN)/ruff format --check src tests benchmarks training
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/ingest_throughput.py --events $(BENCH_EVENTS)
	$(BIN)/python benchmarks/search_latency.py --posts 1000000
	$(BIN)/python benchmarks/ingest_memory.py --events 5000000
	$(BIN)/python benchmarks/sqlite_layouts.py --events $(BENCH_EVENTS)
	$(BIN)/python benchmarks/jetstream_live.py --events 500000
	$(BIN)/python benchmarks/dossier_latency.py --engagements 1000000
	$(BIN)/python benchmarks/coordination_vs_toolkit.py --events 1000000
	$(BIN)/python benchmarks/communities_1m.py --edges 1000000

clean:
	rm -rf $(VENV) build *.egg-info reachwatch-demo.db* bench-data
