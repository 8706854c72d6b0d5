# tracerail: the two commands a newcomer runs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= $(CURDIR)/.tracerail-data
PORT   ?= 4318

.PHONY: run test install system-deps lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when the project's dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the test suite needs: headless Chromium drives the dashboard tests and prints
# PDF reports. Installed only when missing; needs root (CI runs as root).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

## run: start the collector on embedded storage and send it traffic from the demo app
run: install
	$(BIN)/python examples/run_demo.py --port $(PORT) --data-dir $(DATA)

## test: the full test suite
test: install system-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check sdk guardrails collector

typecheck: install
	$(BIN)/python tools/typecheck.py

clean:
	rm -rf $(VENV) $(DATA) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
