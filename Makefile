# One-word targets; each creates the virtual environment it needs (.venv) on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The PostgreSQL half of the suite (README, "PostgreSQL for the tests"); scripts/services
# makes sure it answers before the tests run.
CALENDAR_TOOL_TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test
export CALENDAR_TOOL_TEST_POSTGRES

# Where `make run`'s sample subscription sends reminders: `make receiver` listens there.
WEBHOOK_URL ?= http://127.0.0.1:8900/hooks/sample
# Where `make run` serves the feeds and the page.
SERVE ?= 127.0.0.1:8000

.PHONY: help install services lint test run receiver bench clean bytecode

help:  ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# ical.js, the tests' independent feed parser: only the tests need node.
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP) bytecode  ## Create .venv and install the tool, its test dependencies and ical.js

# The package's modules compiled ahead, as `pip install` of a wheel compiles them: an editable
# install leaves that to Python, which writes nothing where PYTHONDONTWRITEBYTECODE is set and
# so compiles every module on every command (50 ms of a `list`). Only stale files are redone.
# (bench/run.py compiles them itself, for the commands it measures.)
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q calendar_tool

services: $(STAMP)  ## Check PostgreSQL and Chromium for the tests; start or install them if missing
	scripts/services

lint: $(STAMP)  ## ruff and mypy --strict
	$(BIN)/ruff check calendar_tool tests bench
	$(BIN)/mypy

test: services lint $(NODE_STAMP) bytecode  ## Bring up PostgreSQL and Chromium (`services`), lint, then run the whole suite
	$(BIN)/pytest -q

run: $(STAMP) bytecode  ## Validate, subscribe `sample`, run the scheduler and serve on :8000 (Ctrl-C stops)
	$(BIN)/calendar-tool validate
	$(BIN)/calendar-tool subscribe add sample --url '$(WEBHOOK_URL)' --estimated --if-missing
	$(BIN)/calendar-tool run --out feeds --serve $(SERVE)

receiver: $(STAMP)  ## Print the webhooks sent to 127.0.0.1:8900 (run it next to `make run`)
	$(BIN)/python -m tests.receiver --port 8900

bench: $(STAMP)  ## Measure, and write the figures into BENCHMARKS.md
	$(BIN)/python bench/run.py

# Only what `make install` and the tools rebuild: never the database (calendar-tool.db*: the
# subscriptions, their secrets, the ledger, every feed's SEQUENCE) nor the feeds.
clean:  ## Remove .venv, node_modules, .pytest_cache, .mypy_cache, .ruff_cache, *.egg-info, __pycache__, test-artifacts, .hypothesis (not the database, not feeds/)
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info test-artifacts .hypothesis
	find calendar_tool tests bench -name __pycache__ -prune -exec rm -rf {} +
