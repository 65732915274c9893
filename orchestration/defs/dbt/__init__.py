"""Dagster definitions of the dbt project: the models as assets and the `dbt` resource."""

import dagster as dg

from orchestration.defs.dbt.assets import polar_dbt_models
from orchestration.defs.dbt.resources import dbt_resource

defs = dg.Definitions(assets=[polar_dbt_models], resources={"dbt": dbt_resource()})
