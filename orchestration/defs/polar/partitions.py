"""Connections as Dagster dynamic partitions: one partition per connection of the token store.

The token store is the source of truth; the partitions mirror it (`connect` adds one,
`disconnect` removes it, the `polar_connection_partitions` sensor reconciles). A raw asset's
step refreshes the connection named by its partition key.
"""

import os

import dagster as dg

from connectors.polar.config import PolarSettings
from orchestration.defs.polar.resources import PolarResource

PARTITIONS_NAME = "polar_connections"
connection_partitions = dg.DynamicPartitionsDefinition(name=PARTITIONS_NAME)

# Statuses of a connection that still has a partition: `needs_reauth` keeps its partition so
# its runs fail with the fix instead of vanishing; `inactive` (disconnected) loses it.
CONNECTED_STATUSES = ("active", "needs_reauth")


def polar_for(context: dg.AssetExecutionContext, polar: PolarResource) -> PolarResource:
    """The resource bound to the step's connection, the partition key (its other settings,
    from the environment or run config, kept)."""
    return polar.model_copy(update={"connection_name": context.partition_key})


def connected_names(settings: PolarSettings) -> list[str]:
    """Names of the connections in the token store that are connected (sorted)."""
    from connectors.polar.token_store import TokenStore

    rows = TokenStore(settings.token_store_path).all()
    return sorted(row.name for row in rows if row.status in CONNECTED_STATUSES)


def ensure_partition(instance: dg.DagsterInstance, connection_name: str) -> None:
    """Add the connection's partition to `instance` (nothing when it is there already)."""
    if not instance.has_dynamic_partition(PARTITIONS_NAME, connection_name):
        instance.add_dynamic_partitions(PARTITIONS_NAME, [connection_name])


def mirror_on_dagster_home(connection_name: str, *, connected: bool) -> None:
    """After `connect`/`disconnect`: add or delete the partition on DAGSTER_HOME's instance.

    Nothing without DAGSTER_HOME (no instance to keep in step; the sensor reconciles later).
    """
    if not os.environ.get("DAGSTER_HOME"):
        return
    with dg.DagsterInstance.get() as instance:
        if connected:
            ensure_partition(instance, connection_name)
        elif instance.has_dynamic_partition(PARTITIONS_NAME, connection_name):
            instance.delete_dynamic_partition(PARTITIONS_NAME, connection_name)
