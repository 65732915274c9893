"""Helpers shared by the extraction tests: materialize the real raw assets, read results."""

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.assets import polar_metrics_daily, polar_organizations
from orchestration.defs.polar.partitions import ensure_partition
from orchestration.defs.polar.resources import PolarResource
from tests.orchestration.conftest import query


def materialize_partition(
    assets: Sequence[dg.AssetsDefinition], connection_name: str = "default", **run: Any
) -> dg.ExecuteInProcessResult:
    """Materialize raw assets as the connection's partition, on an ephemeral instance that has
    it (as the schedules and the CLI run them)."""
    instance = dg.DagsterInstance.ephemeral()
    ensure_partition(instance, connection_name)
    return dg.materialize(assets, instance=instance, partition_key=connection_name, **run)


def materialize_raw(**polar_config: Any) -> dg.ExecuteInProcessResult:
    """Materialize `polar_organizations` -> `polar_metrics_daily` (and their checks)."""
    return materialize_partition(
        [polar_organizations, polar_metrics_daily],
        polar_config.get("connection_name", "default"),
        resources={"polar": PolarResource(**polar_config), "warehouse": WarehouseResource()},
        raise_on_error=False,
    )


def metrics_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The metadata values of the `polar_metrics_daily` materialization."""
    materializations = result.asset_materializations_for_node("polar_metrics_daily")
    assert materializations, "polar_metrics_daily was not materialized"
    return {key: value.value for key, value in materializations[-1].metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """check name -> passed."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def metric_values(path: Path, scope: str) -> dict[tuple[date, str], float]:
    """(date, slug) -> value of one scope in `raw.polar_metrics`."""
    rows = query(
        path,
        "select date, metric_slug, value from raw.polar_metrics where organization_id = ?",
        [scope],
    )
    return {(day, slug): value for day, slug, value in rows}


def active_org_ids(path: Path) -> list[str]:
    """Ids of the queried organizations in the warehouse."""
    rows = query(
        path,
        "select organization_id from raw.polar_organizations where is_queried order by 1",
    )
    return [r[0] for r in rows]


def latest_refresh(path: Path) -> tuple[Any, ...]:
    """(status, window_start, window_end, ok, failed, detail) of the latest refresh."""
    return query(
        path,
        "select status, window_start, window_end, organizations_ok, organizations_failed, detail "
        "from raw.polar_refreshes order by finished_at desc limit 1",
    )[0]
