"""Raw Polar assets: organizations, then the daily metrics window, into DuckDB `raw.*`."""

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from connectors.polar.errors import NeedsReauthError, PolarError
from orchestration.defs.common.pools import OWNERS, WAREHOUSE_POOL
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar import checks
from orchestration.defs.polar.partitions import connection_partitions, polar_for
from orchestration.defs.polar.resources import PolarResource
from orchestration.extract.metrics import RefreshOutcome, refresh_metrics, scope_table_markdown
from orchestration.extract.organizations import record_connection_status, sync_organizations
from orchestration.extract.recheck import RECHECK_KIND, recheck_window

if TYPE_CHECKING:
    from connectors.polar.connection import PolarConnection

GROUP = "polar_raw"
KINDS = {"polar", "duckdb"}


def usable_connection(polar: PolarResource, warehouse: WarehouseResource) -> "PolarConnection":
    """The stored connection, or ONE clear failure when it is missing or needs reconnecting."""
    try:
        connection = polar.open_connection()
        connection.ensure_usable()
    except PolarError as error:
        raise connection_failure(polar, warehouse, error) from None
    return connection


def connection_failure(
    polar: PolarResource, warehouse: WarehouseResource, error: PolarError
) -> dg.Failure:
    """A non-retried failure with the error's fix; `needs_reauth` is stored for the dashboard."""
    if isinstance(error, NeedsReauthError):
        record_connection_status(
            warehouse.file(),
            connection_name=polar.connection_name,
            environment=polar.settings().environment.name,
            status="needs_reauth",
        )
    return dg.Failure(description=str(error), allow_retries=False)


@dg.asset(
    group_name=GROUP,
    partitions_def=connection_partitions,
    kinds=KINDS,
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Every Polar organization the connection can see, rediscovered on each refresh (new ones "
        "appear without reconnecting), in `raw.polar_organizations`, with the connection's state "
        "in `raw.polar_connections`. Only organizations with status `active` are queried."
    ),
)
def polar_organizations(
    context: dg.AssetExecutionContext, polar: PolarResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Discover organizations and store them with the connection metadata."""
    polar = polar_for(context, polar)
    connection = usable_connection(polar, warehouse)
    settings = polar.settings()
    try:
        with polar.client(connection) as client:
            organizations = sync_organizations(
                client,
                warehouse_path=warehouse.file(),
                connection_name=polar.connection_name,
                environment=settings.environment.name,
                connection_status=connection.status,
            )
    except PolarError as error:
        raise connection_failure(polar, warehouse, error) from None
    connection.save_organizations(organizations)
    active = [o for o in organizations if o.is_queried]
    context.log.info(f"{len(organizations)} organizations, {len(active)} active (queried)")
    lines = ["| organization | id | status | queried |", "|---|---|---|---|"]
    lines += [
        f"| {_md(o.name)} | `{o.id}` | {o.status} | {'yes' if o.is_queried else 'no'} |"
        for o in organizations
    ]
    return dg.MaterializeResult(
        metadata={
            "organizations": len(organizations),
            "active_organizations": len(active),
            "connection": polar.connection_name,
            "environment": settings.environment.name,
            "organizations_table": dg.MetadataValue.md("\n".join(lines)),
        }
    )


class MetricsRefreshConfig(dg.Config):
    """Run config of `polar_metrics_daily`."""

    recent_only: bool = Field(
        default=False,
        description="Fetch only yesterday and today (the hourly 'today' refresh) instead of the "
        "whole window.",
    )


@dg.asset(
    deps=[polar_organizations],
    group_name=GROUP,
    partitions_def=connection_partitions,
    kinds=KINDS,
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    check_specs=checks.CHECK_SPECS,
    description=(
        "Daily Polar metrics (all 55 slugs) for the window ending today in the reporting "
        "timezone: one call per active organization (concurrent, bounded) plus Polar's "
        "server-side `all` series, in `raw.polar_metrics` (long rows). Each organization's window "
        "is replaced in one transaction; older days stay as history. An organization that fails "
        "keeps its previous data: the asset still succeeds with refresh status `partial` and the "
        "check `polar_metrics_every_organization_loaded` fails naming it."
    ),
)
def polar_metrics_daily(
    context: dg.AssetExecutionContext,
    config: MetricsRefreshConfig,
    polar: PolarResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Fetch the window for every active organization and `all`; replace it per organization."""
    polar = polar_for(context, polar)
    connection = usable_connection(polar, warehouse)
    settings = polar.settings()
    window = polar.window()
    kind = "window"
    if config.recent_only:
        # Yesterday too: its last hours may have changed since the previous run.
        window, kind = (max(window[0], window[1] - timedelta(days=1)), window[1]), "recent"
    elif widened := recheck_window(
        warehouse.file(),
        polar.connection_name,
        window,
        every_days=settings.recheck_every_days,
        recheck_days=settings.recheck_days,
    ):
        window, kind = widened, RECHECK_KIND
        context.log.info(f"Re-checking older days for restatements: {window[0]}..{window[1]}")
    with polar.client(connection) as client:
        outcome = refresh_metrics(
            client,
            warehouse_path=warehouse.file(),
            connection_name=polar.connection_name,
            organizations=connection.organizations(),
            timezone=settings.timezone,
            window=window,
            concurrency=settings.concurrency,
            refresh_id=context.run.run_id,
            kind=kind,
        )
    for status in outcome.failed:
        context.log.error(f"Organization {status.label} ({status.scope_id}) failed: {status.error}")
    if any(s.needs_reauth for s in outcome.failed):
        raise dg.Failure(description=next(s.error for s in outcome.failed if s.needs_reauth))
    if outcome.status == "failed":
        raise dg.Failure(
            description="Every organization failed; previous data kept. "
            + "; ".join(f"{s.label}: {s.error}" for s in outcome.failed)
        )
    yield dg.MaterializeResult(metadata=outcome_metadata(outcome))
    yield checks.every_organization_loaded(outcome)
    yield checks.schema_matches_catalogue(outcome)


def outcome_metadata(outcome: RefreshOutcome) -> dict[str, object]:
    """Materialization metadata: counts, window, per-organization table, MRR and revenue."""
    return {
        "refresh_status": outcome.status,
        "rows_written": outcome.rows_written,
        "organizations": sum(1 for s in outcome.statuses if s.scope_id != "all"),
        "organizations_failed": len(outcome.failed),
        "window": f"{outcome.window_start}..{outcome.window_end} ({outcome.timezone})",
        "window_start": outcome.window_start.isoformat(),
        "window_end": outcome.window_end.isoformat(),
        "per_organization": dg.MetadataValue.md(scope_table_markdown(outcome)),
        "mrr_today_cents": float(outcome.latest_values.get("monthly_recurring_revenue", 0.0)),
        "revenue_today_cents": float(outcome.latest_values.get("revenue", 0.0)),
        "schema_drift": dg.MetadataValue.json(outcome.drift),
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
