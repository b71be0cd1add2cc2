# Two commands do all the set-up on a fresh clone:
#   make run    install into .venv and serve the app (/) and Datasette (/data/) on http://127.0.0.1:8000/
#   make test   install everything the tests need (Debian's chromium and postgresql included) and run the whole suite
#   make bench  measure every figure of docs/performance.md against its floor and rewrite that file
#               (BENCH_ARGS="--claims 1000000" for the published size; Debian's sqlite3 is installed if missing)

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin

BENCH_ARGS ?=

.PHONY: run test lint install install-test chromium postgresql sqlite3-cli bench seed clean

run: install
	$(BIN)/claimtrack serve --host $(HOST) --port $(PORT)

# One pytest worker per core; a test module stays on one worker, so its served process, browser and
# module-scoped database are started once.
test: install-test chromium postgresql lint
	$(BIN)/python -m pytest -n auto --dist loadfile

# Style and types are settled by tools, in the same command as the tests.
lint: install-test
	$(BIN)/ruff check claimtrack tests benchmarks
	$(BIN)/ruff format --check claimtrack tests benchmarks
	$(BIN)/mypy

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# $(call apt_get,CHECK,PACKAGE): install Debian's PACKAGE (with sudo unless root) when the shell command CHECK fails.
apt_get = @{ $(1); } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2); }

# Browser tests drive Debian's chromium (never a downloaded browser build).
chromium:
	$(call apt_get,command -v chromium,chromium)

# tests/test_postgres.py starts a throwaway cluster with Debian's server programs, which Debian keeps off
# PATH in /usr/lib/postgresql/<version>/bin (claimtrack.pgcluster finds them either way).
postgresql:
	$(call apt_get,command -v initdb || ls /usr/lib/postgresql/*/bin/initdb,postgresql)

# The CSV export floors are Debian's sqlite3 command-line shell.
sqlite3-cli:
	$(call apt_get,command -v sqlite3,sqlite3)

bench: install sqlite3-cli
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

seed: install
	$(BIN)/claimtrack seed

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
