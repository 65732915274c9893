"""The dbt project as Dagster sees it: where it lives, its dbt executable and warehouse path."""

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject

from connectors.polar.config import PolarSettings
from orchestration.defs.dbt.child import WAREHOUSE_ENV

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# What a refresh builds: every model, seed, snapshot and data test, not the dbt unit tests. Unit
# tests check the SQL against fixed inputs, so they cannot fail on Polar's data; run on every
# refresh they were a quarter of dbt's time (profile of a refresh, December 2026). The test suite
# runs them (tests/dbt/test_unit_tests.py), as dbt advises: in development and CI.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


def _dbt_executable() -> str:
    """The virtualenv's dbt launcher (it ends with its parent, see child.py), else plain dbt.

    Found beside the running Python even when its bin directory is not on PATH (e.g.
    `.venv/bin/pytest`); plain dbt serves a virtualenv not yet synced with the launcher.
    """
    for name in ("polar-metrics-dbt", "dbt"):
        beside = Path(sys.executable).with_name(name)
        if beside.exists():
            return str(beside)
    return shutil.which("polar-metrics-dbt") or shutil.which("dbt") or "dbt"


DBT_EXECUTABLE = _dbt_executable()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target="warehouse")


@contextmanager
def warehouse_environment(path: Path | None = None) -> Iterator[str]:
    """POLAR_METRICS_WAREHOUSE for dbt's profile: `path`, else as set, else the settings'
    default path; the previous value is back afterwards."""
    previous = os.environ.get(WAREHOUSE_ENV)
    chosen = str(path) if path else previous or str(PolarSettings.from_env().warehouse_path)
    os.environ[WAREHOUSE_ENV] = chosen
    try:
        yield chosen
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = previous
