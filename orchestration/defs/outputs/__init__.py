"""Dagster definitions of what people see: the dashboard asset and the revenue alert checks."""

import dagster as dg

from orchestration.defs.outputs.assets import polar_dashboard
from orchestration.defs.outputs.checks import alert_checks_from_env
from orchestration.defs.outputs.serving import polar_serving_copy

defs = dg.Definitions(
    assets=[polar_dashboard, polar_serving_copy], asset_checks=alert_checks_from_env()
)
