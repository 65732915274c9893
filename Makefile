# Two commands for a new user: `make demo` and `make test`. Both create or refresh the virtualenv.
# `make test-all` adds the long forms (slow-marked tests, the full soak); CI runs it.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync

.PHONY: demo test test-all lint format venv browser benchmarks dagster docs clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly the locked versions (uv.lock); `uv lock` after editing pyproject.toml.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE=1 (these machines, CI) every
# process would otherwise recompile Dagster, dbt and pandas at start (~6 s each).
venv: $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode

# Debian's Chromium for the dashboard's browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get install -y -qq chromium >/dev/null || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }; }

demo: venv
	$(RUN) polar-metrics demo

# ruff, then the import-linter contracts of pyproject.toml (the layers of ARCHITECTURE.md).
lint: venv
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports

format: venv
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# Parallel workers (pytest-xdist): every emulator and receiver binds a free loopback port and
# every warehouse lives in the test's own temp dir. Tests sharing a module or a built warehouse
# are grouped onto one worker (tests/conftest.py), so it is built once; groups are handed out in
# the order tests/conftest.py sorts them (longest first), not by their number of tests.
# Three workers on two cores: some tests wait (rate-limit windows, Retry-After pauses, a
# process's start), and a third worker uses the core they leave idle (December 3rd, idle
# machine, back to back: 2 workers 5 min 29 s wall / 8 min 4 s CPU, 3 workers 4 min 55 s /
# 8 min 28 s). The long forms stay on one worker per core: they measure time and memory.
TEST_WORKERS ?= 3
SLOW_TEST_WORKERS ?= auto
PYTEST = $(RUN) pytest -q -n $(1) --dist loadgroup --no-loadscope-reorder

# Everything except the long forms (marked `slow`): under 5 minutes on two cores.
test: venv browser lint
	$(call PYTEST,$(TEST_WORKERS)) -m "not slow"

# `make test`, then the long forms it left out (nothing runs twice): the slow-marked tests and
# the full soak (POLAR_SOAK=full makes the soak test `slow`).
test-all: test
	POLAR_SOAK=full $(call PYTEST,$(SLOW_TEST_WORKERS)) -m slow

benchmarks: venv
	$(RUN) python -m benchmarks

dagster: venv
	$(RUN) dagster dev -w workspace.yaml

clean:
	rm -rf $(TOOLS) $(VENV) .demo dbt_project/target dbt_project/logs
