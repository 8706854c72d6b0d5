# tracerail: the two commands a newcomer runs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= $(CURDIR)/.tracerail-data
PORT   ?= 4318
# Pinned versions of every dependency, written by `make lock` (pip-tools); installs follow it.
LOCK   := constraints.txt
# How far `make test-future` / `make test-past` move the clock.
SHIFT  ?= 365d

.PHONY: run test test-future test-past install lock system-deps lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when the project's dependency list or the lock changes.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

## lock: re-resolve every dependency to its newest allowed version and pin it in $(LOCK)
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q pip-tools
	$(BIN)/pip-compile -q --upgrade --extra all --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host -c lock-pins.txt \
		-o $(LOCK) pyproject.toml
	sed -i '/^tracerail @ /d' $(LOCK)  # the project itself (its extras name it), a local path

# Debian packages the test suite needs: headless Chromium drives the dashboard tests and prints
# PDF reports; faketime moves the clock for `make test-future`; wordnet-base has the WordNet 3.0
# files the shipped lexicon table is checked against. Installed only when missing;
# needs root (CI runs as root).
DEBS := chromium fonts-dejavu-core faketime wordnet-base
system-deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## run: start the collector on embedded storage and send it traffic from the demo app
run: install
	$(BIN)/python examples/run_demo.py --port $(PORT) --data-dir $(DATA)

## test: the full test suite
test: install system-deps
	$(BIN)/python -m pytest

# The suite with the clock moved $(SHIFT) ahead: Python and every process the tests start see
# the moved time (libfaketime). The in-process chDB reads the real clock (it is linked
# statically), so its TTL merges do not move; the store's reads take "now" from Python
# (collector/store/retention.py), which is what retention is evaluated against.
## test-future: the whole suite a year ahead
test-future: install system-deps
	faketime -f '+$(SHIFT)' $(BIN)/python -m pytest $(ARGS)

# A year back only where nothing stores timestamped rows in chDB: ClickHouse's TTL merges use
# the real clock, so rows stamped a year back are expired there and dropped.
PAST_TESTS ?= tests/sdk tests/guardrails tests/providers tests/deploy tests/test_packaging.py
## test-past: the tests that store nothing in chDB, a year back
test-past: install system-deps
	faketime -f '-$(SHIFT)' $(BIN)/python -m pytest $(PAST_TESTS) $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check sdk guardrails collector

typecheck: install
	$(BIN)/python tools/typecheck.py

clean:
	rm -rf $(VENV) $(DATA) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
