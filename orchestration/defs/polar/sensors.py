"""A sensor that says when the Polar connection needs reconnecting, instead of failing runs."""

import dagster as dg

from connectors.polar.errors import PolarError
from orchestration.defs.polar.jobs import polar_refresh_job
from orchestration.defs.polar.resources import PolarResource

NEEDS_REAUTH = "needs_reauth"


def connection_problem(polar: PolarResource) -> str | None:
    """What is wrong with the connection and how to fix it, or None when it is usable."""
    try:
        connection = polar.open_connection()
        status = connection.status
    except PolarError as error:
        return str(error)
    if status == NEEDS_REAUTH:
        return (
            f"Polar connection '{polar.connection_name}' needs re-authorization (Polar refused "
            f"its refresh token). Fix: run `polar-metrics connect --connection "
            f"{polar.connection_name}`; the next refresh then runs normally."
        )
    if status != "active":
        return (
            f"Polar connection '{polar.connection_name}' is {status}. Fix: run "
            f"`polar-metrics connect --connection {polar.connection_name}`."
        )
    return None


@dg.sensor(
    job=polar_refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches the Polar connection. While it needs re-authorization the tick says so with the "
        "fix (`polar-metrics connect`); when it becomes usable again it requests one refresh."
    ),
)
def polar_connection_sensor(
    context: dg.SensorEvaluationContext, polar: PolarResource
) -> dg.SensorResult | dg.SkipReason:
    """Skip with the fix while the connection is unusable; one refresh once it recovers."""
    problem = connection_problem(polar)
    if problem is not None:
        context.update_cursor(NEEDS_REAUTH)
        return dg.SkipReason(problem)
    if context.cursor == NEEDS_REAUTH:
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=None)], cursor="active")
    return dg.SkipReason(f"Polar connection '{polar.connection_name}' is usable.")
