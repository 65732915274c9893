"""The dbt manifest, prepared by dbt itself (`dbt parse`) whenever it is missing or stale.

On first import after cloning, and after every edit under `dagster dev`, so no one ever has to
run a hand step.
"""

import fcntl
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.defs.dbt.project import DBT_PROJECT_DIR, dbt_project, warehouse_environment
from orchestration.defs.dbt.resources import dbt_resource

# What `dbt parse` reads: a change to any of these makes the prepared manifest stale.
PROJECT_SOURCES = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "tests",
)


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
    with warehouse_environment() as configured:
        # Parsed as if beside a warehouse of the configured name (parsing opens no file): dbt
        # runs in the warehouse's directory with that bare name (child.py), so every build's
        # profile renders the same and a state directory's first build reuses this parse.
        beside = lock_path.parent / Path(configured).name
    with lock_path.open("w") as lock, warehouse_environment(beside):
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_current(project):
            dbt_resource().cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path
