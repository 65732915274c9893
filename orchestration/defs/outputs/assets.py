"""The dashboard asset: one self-contained HTML page written from the marts after every build."""

from pathlib import Path

import dagster as dg

from connectors.polar.errors import PolarError
from orchestration.defs.common.automation import after_batch
from orchestration.defs.common.pools import OWNERS, WAREHOUSE_POOL
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.dbt.child import end_with_parent
from orchestration.defs.polar.resources import PolarResource
from orchestration.outputs.dashboard.data import DashboardData, load_dashboard_data
from orchestration.outputs.dashboard.render import write_dashboard
from orchestration.outputs.dashboard.tenant_pages import (
    DASHBOARD_FILE,
    alert_notices,
    alert_rules,
    write_tenant_pages,
)
from orchestration.warehouse.files import open_read_only
from orchestration.warehouse.serving import served_connections

GROUP = "polar_outputs"
MART_KEYS = [
    dg.AssetKey(["marts", name])
    for name in (
        "polar_period_summary",
        "polar_metrics_daily_all",
        "polar_metrics_daily",
        "polar_currency_check",
        "polar_organizations",
        "polar_mrr_summary",
        "polar_mrr_movements",
        "polar_cohort_retention",
        "polar_trial_conversion",
    )
]


def dashboard_path(warehouse: WarehouseResource) -> Path:
    """Where the page is written: next to the warehouse file."""
    return warehouse.file().with_name(DASHBOARD_FILE)


@dg.asset(
    key="polar_dashboard",
    group_name=GROUP,
    # After the serving copy: each tenant's page is read from its tenant serving file.
    deps=[*MART_KEYS, dg.AssetKey("polar_serving_copy")],
    automation_condition=after_batch(),
    kinds={"html", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "The revenue dashboard: one HTML file (open it in any browser, it makes no network "
        "request) with MRR, revenue, subscriptions and Polar's checkout and order numbers for "
        "today, yesterday and 7/30/90 days or month to date, daily charts, a per-organization "
        "table, the MRR movements per month, a cohort retention heatmap and trial conversion, "
        "the currency-mismatch banner and any revenue alert. Rebuilt from the marts after "
        "every refresh; the file path is in the metadata."
    ),
)
def polar_dashboard(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, polar: PolarResource
) -> dg.MaterializeResult:
    """Writes the dashboard HTML file next to the warehouse."""
    with open_read_only(warehouse.file()) as con:
        data = load_dashboard_data(con, polar.connection_name)
        data.alerts = alert_notices(con, polar.connection_name, alert_rules())
        # Each connection's own page beside its tenant serving file: never two connections.
        # Processes started for many tenants end with this one (a kill leaves none behind).
        tenant_pages = write_tenant_pages(
            warehouse.file(),
            served_connections(warehouse.file()),
            con,
            start_process=end_with_parent,
        )
    data.connection_status = _live_status(polar) or data.connection_status
    path = write_dashboard(data, dashboard_path(warehouse))
    context.log.info("Dashboard written to %s (+%d tenant pages)", path, len(tenant_pages))
    return dg.MaterializeResult(metadata=_metadata(path, data))


def _live_status(polar: PolarResource) -> str | None:
    # The token store knows about a refused refresh token before the next refresh writes it.
    try:
        return polar.open_connection().status
    except (PolarError, OSError, ImportError):
        return None


def _metadata(path: Path, data: DashboardData) -> dict[str, dg.MetadataValue]:
    return {
        "path": dg.MetadataValue.path(str(path)),
        "url": dg.MetadataValue.url(path.resolve().as_uri()),
        "organizations": dg.MetadataValue.int(len(data.active_organizations)),
        "alerts": dg.MetadataValue.int(len(data.alerts)),
        "currency_mismatch": dg.MetadataValue.bool(bool(data.currency_warning)),
    }
