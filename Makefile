# tracerail: the two commands a newcomer runs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= $(CURDIR)/.tracerail-data
PORT   ?= 4318
# Pinned versions of every dependency, written by `make lock` (pip-tools); installs follow it.
LOCK   := constraints.txt
# How many days `make test-future` / `make test-past` move the clock.
SHIFT  ?= 365

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
# PDF reports; wordnet-base has the WordNet 3.0
# files the shipped lexicon table is checked against. Installed only when missing;
# needs root (CI runs as root).
DEBS := chromium fonts-dejavu-core wordnet-base
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

# The suite with the clock moved $(SHIFT) days ahead: the test process and every Python
# process it starts import tests/support/clock_shift/sitecustomize.py, which moves Python's
# clock with time-machine. The in-process chDB keeps the real clock (it is linked statically;
# no tool moves it), which is why the store's reads take "now" from Python
# (collector/store/retention.py). libfaketime was tried first: it made thread waits with a
# timeout hang.
CLOCK_SHIFT := TRACERAIL_TEST_TIME_SHIFT_DAYS
SHIFTED := PYTHONPATH=$(CURDIR)/tests/support/clock_shift
## test-future: the whole suite a year ahead
test-future: install system-deps
	$(SHIFTED) $(CLOCK_SHIFT)=$(SHIFT) $(BIN)/python -m pytest $(ARGS)

# A year back only where nothing stores timestamped rows in chDB: ClickHouse applies TTL with
# its own clock at insert and merge, so rows stamped a year back are dropped as expired.
# tests/sdk/test_spool.py sends its spans to a real collector on chDB, so it is left out.
PAST_TESTS ?= tests/sdk tests/guardrails tests/providers tests/deploy tests/test_packaging.py \
	--ignore=tests/sdk/test_spool.py
## test-past: the tests that store nothing in chDB, a year back
test-past: install system-deps
	$(SHIFTED) $(CLOCK_SHIFT)=-$(SHIFT) $(BIN)/python -m pytest $(PAST_TESTS) $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check sdk guardrails collector

typecheck: install
	$(BIN)/python tools/typecheck.py

clean:
	rm -rf $(VENV) $(DATA) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
