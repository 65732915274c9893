"""Dagster definitions of the Polar source: resources, raw assets, checks, jobs, schedules."""

import dagster as dg

from orchestration.defs.polar.assets import polar_metrics_daily, polar_organizations
from orchestration.defs.polar.jobs import (
    polar_custom_range_job,
    polar_recent_refresh_job,
    polar_refresh_job,
)
from orchestration.defs.polar.resources import PolarResource, WarehouseResource, env_or_none
from orchestration.defs.polar.schedules import polar_daily_refresh, polar_hourly_today
from orchestration.defs.polar.sensors import polar_connection_sensor


def polar_resource() -> PolarResource:
    """The resource as configured by the environment; secrets only as `EnvVar` references."""
    return PolarResource(
        client_id=env_or_none("POLAR_CLIENT_ID"),
        client_secret=env_or_none("POLAR_CLIENT_SECRET"),
        token_keys=env_or_none("POLAR_TOKEN_KEYS"),
    )


defs = dg.Definitions(
    assets=[polar_organizations, polar_metrics_daily],
    jobs=[polar_refresh_job, polar_recent_refresh_job, polar_custom_range_job],
    schedules=[polar_daily_refresh, polar_hourly_today],
    sensors=[polar_connection_sensor],
    resources={"polar": polar_resource(), "warehouse": WarehouseResource()},
)
