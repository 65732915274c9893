"""The dbt project as Dagster sees it: where it lives, and its manifest prepared by dbt itself.

The manifest is made by the project's own command (`dbt parse`) whenever it is missing or older
than a project file - on first import after cloning, and after every edit under `dagster dev` -
so no one ever has to run a hand step.
"""

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject

from connectors.polar.config import PolarSettings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
WAREHOUSE_ENV = "POLAR_METRICS_WAREHOUSE"
# What `dbt parse` reads: a change to any of these makes the prepared manifest stale.
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")
# The virtualenv's dbt even when its bin directory is not on PATH (e.g. `.venv/bin/pytest`).
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target="warehouse")


@contextmanager
def warehouse_environment() -> Iterator[str]:
    """POLAR_METRICS_WAREHOUSE for dbt's profile: as set, or the settings' default path."""
    previous = os.environ.get(WAREHOUSE_ENV)
    path = previous or str(PolarSettings.from_env().warehouse_path)
    os.environ[WAREHOUSE_ENV] = path
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)


def newest_project_file_mtime(project_dir: Path = DBT_PROJECT_DIR) -> float:
    """The latest modification time of the files `dbt parse` reads (symlinks followed)."""
    newest = 0.0
    for name in PROJECT_SOURCES:
        root = project_dir / name
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        for path in paths:
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_current(project: DbtProject = dbt_project) -> bool:
    """True when manifest.json exists and is newer than every project file."""
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= newest_project_file_mtime(
        project.project_dir
    )


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """The path of an up-to-date manifest.json, running `dbt parse` first when needed."""
    if manifest_is_current(project):
        return project.manifest_path
    # Imports of the definitions in several processes at once (tests, the webserver and a run
    # worker) must not parse into the same target directory together.
    lock_path = project.project_dir / project.target_path / "manifest.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock, warehouse_environment():
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_current(project):
            from orchestration.defs.dbt.resources import dbt_resource

            dbt_resource().cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path
