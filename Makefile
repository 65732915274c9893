# Two commands for a new user: `make demo` and `make test`. Both create or refresh the virtualenv.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync

.PHONY: demo test lint format venv browser benchmarks dagster docs clean

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

test: venv browser lint
	$(RUN) pytest -q

benchmarks: venv
	$(RUN) python -m benchmarks

dagster: venv
	$(RUN) dagster dev -w workspace.yaml

clean:
	rm -rf $(TOOLS) $(VENV) .demo dbt_project/target dbt_project/logs
