"""The `dbt` resource: dbt's CLI, pointed at the warehouse the pipeline writes."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource

from orchestration.defs.dbt.project import DBT_EXECUTABLE, dbt_project, warehouse_environment


class PolarDbtCliResource(DbtCliResource):
    """dbt CLI whose profile gets POLAR_METRICS_WAREHOUSE (the settings' default when unset)."""

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        """Start a dbt command; the subprocess inherits the warehouse path."""
        # dagster-dbt copies os.environ when it starts the subprocess, inside this call.
        with warehouse_environment():
            return super().cli(args, **kwargs)


def dbt_resource() -> PolarDbtCliResource:
    """The resource bound to the key `dbt`."""
    return PolarDbtCliResource(
        project_dir=dbt_project, target="warehouse", dbt_executable=DBT_EXECUTABLE
    )


defs = dg.Definitions(resources={"dbt": dbt_resource()})
