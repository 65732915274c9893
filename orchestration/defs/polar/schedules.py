"""Schedules: per connection partition, the daily raw refresh and the hourly refresh of today.

Each tick requests one run of the raw-only job per connected connection (the token store's
`active` and `needs_reauth` ones); the dbt marts and outputs follow once after the batch
(their automation condition, automation.py). A connection that needs re-authorization is
requested too: its run fails at once with the fix, and only its own partition fails.
"""

import os

import dagster as dg

from connectors.polar.config import PolarSettings
from orchestration.defs.polar.jobs import polar_raw_recent_job, polar_raw_refresh_job
from orchestration.defs.polar.partitions import connected_names, ensure_partition
from orchestration.defs.polar.resources import PolarResource

DAILY_CRON = os.environ.get("POLAR_METRICS_REFRESH_CRON", "0 6 * * *")
HOURLY_CRON = os.environ.get("POLAR_METRICS_HOURLY_CRON", "0 * * * *")
# "Today" stays current unless switched off (a deployment that only wants daily numbers).
SWITCHED_OFF = ("off", "false", "0", "no")


def hourly_refresh_enabled() -> bool:
    """POLAR_METRICS_HOURLY_REFRESH: `on` (default) or `off`."""
    value = os.environ.get("POLAR_METRICS_HOURLY_REFRESH", "on")
    return value.strip().lower() not in SWITCHED_OFF


def reporting_timezone() -> str:
    """The reporting timezone the schedules run in (POLAR_METRICS_TIMEZONE, default UTC)."""
    try:
        return PolarSettings.from_env().timezone
    except Exception:  # a bad setting is reported by the runs themselves, with the fix
        return "UTC"


def run_per_connection(
    context: dg.ScheduleEvaluationContext, polar: PolarResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """One run per connected connection's partition (added first when `connect` ran without
    DAGSTER_HOME and the partition sensor has not caught up yet)."""
    names = connected_names(polar.settings())
    if not names:
        return dg.SkipReason("No connection: run `polar-metrics connect` first.")
    tick = context.scheduled_execution_time.isoformat()
    for name in names:
        ensure_partition(context.instance, name)
    return [dg.RunRequest(run_key=f"{tick}:{name}", partition_key=name) for name in names]


@dg.schedule(
    job=polar_raw_refresh_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=reporting_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Daily full refresh (POLAR_METRICS_REFRESH_CRON, default 06:00 in the reporting "
        "timezone): one run per connection partition (organizations, the 90-day metrics "
        "window, entities); dbt marts and outputs follow once after the batch. A connection "
        "that needs re-authorization fails its own partition with the fix."
    ),
)
def polar_daily_refresh(
    context: dg.ScheduleEvaluationContext, polar: PolarResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """The daily refresh of every connection."""
    return run_per_connection(context, polar)


@dg.schedule(
    job=polar_raw_recent_job,
    cron_schedule=HOURLY_CRON,
    execution_timezone=reporting_timezone(),
    default_status=(
        dg.DefaultScheduleStatus.RUNNING
        if hourly_refresh_enabled()
        else dg.DefaultScheduleStatus.STOPPED
    ),
    description=(
        "Hourly refresh of yesterday and today per connection partition "
        "(POLAR_METRICS_HOURLY_CRON), so 'today so far' stays current during the day; running "
        "unless POLAR_METRICS_HOURLY_REFRESH=off."
    ),
)
def polar_hourly_today(
    context: dg.ScheduleEvaluationContext, polar: PolarResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """The hourly refresh of the most recent days of every connection."""
    return run_per_connection(context, polar)
