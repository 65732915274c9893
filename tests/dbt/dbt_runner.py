"""Run the real dbt (in this process, through `dbtRunner`) on warehouse files.

dbt parses the project once per test session; every build reuses that manifest, which keeps a
build to a few seconds. Each invocation writes its artifacts and logs under its own directory
(never the repository), so builds of several warehouses do not mix.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner, dbtRunnerResult

from orchestration.defs.dbt.project import BUILD_ARGS, DBT_PROJECT_DIR

# dbt-duckdb names the database after the file: every warehouse shares the parsed manifest only
# when every file has this name.
WAREHOUSE_FILE_NAME = "warehouse.duckdb"


@contextmanager
def warehouse_env(warehouse: Path) -> Iterator[None]:
    """POLAR_METRICS_WAREHOUSE set for the duration of one dbt invocation."""
    previous = os.environ.get("POLAR_METRICS_WAREHOUSE")
    os.environ["POLAR_METRICS_WAREHOUSE"] = str(warehouse)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("POLAR_METRICS_WAREHOUSE", None)
        else:
            os.environ["POLAR_METRICS_WAREHOUSE"] = previous


def release_warehouse() -> None:
    """Close the DuckDB file dbt-duckdb keeps open in this process, so tests can read it."""
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
        DuckDBConnectionManager._ENV = None


@dataclass
class DbtOutcome:
    """What one dbt command did: success, seconds, and the status of every node by name."""

    success: bool
    seconds: float
    statuses: dict[str, str]
    messages: dict[str, str]


class DbtSession:
    """The dbt project parsed once; `invoke` runs commands against any warehouse file."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        parsed = self._run(["parse"], work_dir / WAREHOUSE_FILE_NAME, work_dir / "parse", None)
        if not parsed.success:
            raise AssertionError(f"dbt parse failed: {parsed.exception}")
        self.manifest = parsed.result

    def invoke(self, args: list[str], warehouse: Path, work_dir: Path) -> DbtOutcome:
        """Run `dbt <args>` on the warehouse; artifacts under `work_dir/target`."""
        if warehouse.name != WAREHOUSE_FILE_NAME:
            raise ValueError(f"name the warehouse file {WAREHOUSE_FILE_NAME}, not {warehouse.name}")
        started = time.perf_counter()
        result = self._run(args, warehouse, work_dir / "target", self.manifest)
        seconds = time.perf_counter() - started
        if result.exception is not None:
            raise AssertionError(f"dbt {' '.join(args)} crashed: {result.exception}")
        node_results: list[Any] = list(getattr(result.result, "results", None) or [])
        return DbtOutcome(
            success=result.success,
            seconds=seconds,
            statuses={r.node.name: str(r.status) for r in node_results},
            messages={r.node.name: str(r.message) for r in node_results},
        )

    def build(self, warehouse: Path, work_dir: Path) -> DbtOutcome:
        """A refresh's `dbt build`; raises with the failing nodes when it does not succeed."""
        outcome = self.invoke(BUILD_ARGS, warehouse, work_dir)
        if not outcome.success:
            failing = {
                name: outcome.messages[name]
                for name, status in outcome.statuses.items()
                if status not in ("success", "pass")
            }
            raise AssertionError(f"dbt build failed: {failing}")
        return outcome

    @staticmethod
    def _run(args: list[str], warehouse: Path, target: Path, manifest: Any) -> dbtRunnerResult:
        options = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        options += ["--target-path", str(target), "--log-path", str(target), "--quiet"]
        with warehouse_env(warehouse):
            try:
                return dbtRunner(manifest=manifest).invoke([*args, *options])
            finally:
                release_warehouse()
