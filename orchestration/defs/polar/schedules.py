"""Schedules: the daily full refresh and the hourly refresh of yesterday and today."""

import os

import dagster as dg

from connectors.polar.config import PolarSettings
from orchestration.defs.polar.jobs import polar_recent_refresh_job, polar_refresh_job
from orchestration.defs.polar.resources import PolarResource
from orchestration.defs.polar.sensors import connection_problem

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


def refresh_or_skip(polar: PolarResource) -> dg.RunRequest | dg.SkipReason:
    """A run, or a skip that says how to fix the connection (no run that is sure to fail)."""
    problem = connection_problem(polar)
    return dg.SkipReason(problem) if problem else dg.RunRequest()


@dg.schedule(
    job=polar_refresh_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=reporting_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Daily full refresh (POLAR_METRICS_REFRESH_CRON, default 06:00 in the reporting "
        "timezone): organizations, the 90-day metrics window, dbt marts and outputs. Skipped with "
        "the fix when the connection needs re-authorization."
    ),
)
def polar_daily_refresh(
    context: dg.ScheduleEvaluationContext, polar: PolarResource
) -> dg.RunRequest | dg.SkipReason:
    """The daily refresh of everything."""
    return refresh_or_skip(polar)


@dg.schedule(
    job=polar_recent_refresh_job,
    cron_schedule=HOURLY_CRON,
    execution_timezone=reporting_timezone(),
    default_status=(
        dg.DefaultScheduleStatus.RUNNING
        if hourly_refresh_enabled()
        else dg.DefaultScheduleStatus.STOPPED
    ),
    description=(
        "Hourly refresh of yesterday and today (POLAR_METRICS_HOURLY_CRON), so 'today so far' "
        "stays current during the day; running unless POLAR_METRICS_HOURLY_REFRESH=off."
    ),
)
def polar_hourly_today(
    context: dg.ScheduleEvaluationContext, polar: PolarResource
) -> dg.RunRequest | dg.SkipReason:
    """The hourly refresh of the most recent days."""
    return refresh_or_skip(polar)
