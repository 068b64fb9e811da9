# One task runner; CI calls `make test` through .ci/run.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PORT   ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test test-fast lint format ingest eval bench clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# CPU torch comes from requirements-ci.txt (pinned); the package keeps a range.
install: $(VENV)/bin/python
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-ci.txt
	$(PIP) install -q -c requirements-ci.txt -e ".[dev]"

# Install, build the index when it is missing, and launch the app on the embedded store.
run: install
	$(VENV)/bin/lbw ingest
	$(VENV)/bin/streamlit run app.py --server.headless true --server.port $(PORT) --browser.gatherUsageStats false

ingest:
	$(VENV)/bin/lbw ingest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Install everything and run the whole suite (unit, integration on the real model and Chroma, app).
test: install lint
	$(PY) -m pytest -q

test-fast:
	$(PY) -m pytest -q -m "not integration and not app"

eval:
	$(VENV)/bin/lbw eval --questions eval/devset.jsonl
	$(VENV)/bin/lbw eval --questions eval/heldout.jsonl

bench:
	$(PY) bench/benchmark.py

clean:
	rm -rf .lbw .pytest_cache .ruff_cache
