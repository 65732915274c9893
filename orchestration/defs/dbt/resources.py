"""The `dbt` resource: dbt's CLI, pointed at the warehouse the pipeline writes."""

import os
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

from orchestration.defs.dbt.child import PARENT_ENV
from orchestration.defs.dbt.project import DBT_EXECUTABLE, dbt_project, warehouse_environment


class PolarDbtCliResource(DbtCliResource):
    """dbt CLI whose profile gets POLAR_METRICS_WAREHOUSE (the settings' default when unset)."""

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        """Start a dbt command; the subprocess inherits the warehouse path and its parent's pid."""
        # dagster-dbt copies os.environ when it starts the subprocess, inside this call.
        with warehouse_environment():
            os.environ[PARENT_ENV] = str(os.getpid())
            return super().cli(args, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt asks `dbt --version` (a whole dbt start, 1-3 s) per resource; the launcher
        # runs the installed dbt-core, whose version the package metadata already says.
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        # dagster-dbt loads dbt's project, profile and adapter in this process (seconds) only
        # for column metadata and row counts, which these assets do not fetch.
        return None


def dbt_resource() -> PolarDbtCliResource:
    """The resource bound to the key `dbt`."""
    return PolarDbtCliResource(
        project_dir=dbt_project, target="warehouse", dbt_executable=DBT_EXECUTABLE
    )


defs = dg.Definitions(resources={"dbt": dbt_resource()})
