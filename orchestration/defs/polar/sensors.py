"""Sensors: the connection partitions kept in step with the token store, and every connection
watched so one that recovers from needing re-authorization is refreshed at once."""

import json

import dagster as dg

from connectors.polar.errors import PolarError
from orchestration.defs.polar.jobs import polar_raw_refresh_job
from orchestration.defs.polar.partitions import (
    PARTITIONS_NAME,
    connected_names,
    connection_partitions,
)
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
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Keeps the `polar_connections` partitions equal to the token store's connected "
        "connections (adds new ones, deletes disconnected ones), whoever changed the store."
    ),
)
def polar_connection_partitions(
    context: dg.SensorEvaluationContext, polar: PolarResource
) -> dg.SensorResult | dg.SkipReason:
    """Add the missing partitions, delete the partitions of disconnected connections."""
    wanted = set(connected_names(polar.settings()))
    present = set(context.instance.get_dynamic_partitions(PARTITIONS_NAME))
    added, deleted = sorted(wanted - present), sorted(present - wanted)
    if not added and not deleted:
        return dg.SkipReason(f"{len(present)} connection partition(s), in step.")
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if added:
        requests.append(connection_partitions.build_add_request(added))
    if deleted:
        requests.append(connection_partitions.build_delete_request(deleted))
    context.log.info(f"Partitions added: {added}; deleted: {deleted}")
    return dg.SensorResult(dynamic_partitions_requests=requests)


@dg.sensor(
    job=polar_raw_refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches every Polar connection. While one needs re-authorization the tick says so with "
        "the fix (`polar-metrics connect`); when it becomes usable again it requests one refresh "
        "of that connection's partition."
    ),
)
def polar_connection_sensor(
    context: dg.SensorEvaluationContext, polar: PolarResource
) -> dg.SensorResult | dg.SkipReason:
    """A cursor of each connection's last state; one run per connection that recovered."""
    previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    states, problems, recovered = {}, [], []
    for name in connected_names(polar.settings()):
        problem = connection_problem(polar.model_copy(update={"connection_name": name}))
        states[name] = NEEDS_REAUTH if problem else "active"
        if problem:
            problems.append(problem)
        elif previous.get(name) == NEEDS_REAUTH:
            recovered.append(name)
    requests = [dg.RunRequest(partition_key=name) for name in recovered]
    if not requests:
        context.update_cursor(json.dumps(states, sort_keys=True))
        usable = f"{len(states) - len(problems)} connection(s) usable."
        return dg.SkipReason(" ".join([*problems, usable]))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(states, sort_keys=True))
