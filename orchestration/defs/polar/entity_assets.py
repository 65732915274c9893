"""Raw entity assets: products, customers, subscriptions, refunds and orders of every active
organization, synced incrementally into `raw.polar_<entity>` (group `polar_raw`).

Five assets rather than one multi-asset: each is its own dbt source and shows its own rows,
requests, scope and drift in the UI; a missing scope warns on one asset while the others run.
They share the writer pool, so they run one after another anyway. `polar_orders` runs after
`polar_refunds`: it re-reads the older orders that the refunds just read say were refunded.
"""

import logging
from collections.abc import Iterator, Sequence

import dagster as dg

from connectors.polar.entities import ENDPOINTS
from connectors.polar.errors import NeedsReauthError, PolarError
from connectors.polar.pii import pii_policy
from orchestration.defs.common.pools import OWNERS, WAREHOUSE_POOL
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.assets import (
    GROUP,
    KINDS,
    connection_failure,
    polar_organizations,
    usable_connection,
)
from orchestration.defs.polar.entity_checks import check_specs, entity_check_results
from orchestration.defs.polar.partitions import connection_partitions, polar_for
from orchestration.defs.polar.resources import PolarResource
from orchestration.extract.entities import (
    PROGRESS_LOGGER,
    EntityProgress,
    EntitySyncOutcome,
    organization_table_markdown,
    sync_entity,
)
from orchestration.extract.entity_run import SyncPolicy

STRATEGY = {
    "products": "the full list every sync (one request for most organizations); products "
    "deleted at Polar stay, with `missing_since` set",
    "customers": "new customers every sync (newest first down to the cursor), every customer "
    "once per POLAR_METRICS_CUSTOMERS_SWEEP_DAYS (7); deleted ones stay, with `missing_since`",
    "subscriptions": "started since the cursor, then every non-terminal one and those canceled "
    "in the look-back (POLAR_METRICS_ORDERS_LOOKBACK_DAYS, 35)",
    "refunds": "newest first down to the cursor minus the look-back (35 days)",
    "orders": "oldest first from the cursor minus the look-back (35 days), plus older orders "
    "that new refunds touched",
}


def entity_asset(entity: str, deps: Sequence[dg.AssetsDefinition] = ()) -> dg.AssetsDefinition:
    """The asset syncing `entity` for every active organization of the connection."""
    name = f"polar_{entity}"
    endpoint = ENDPOINTS[entity]

    @dg.asset(
        name=name,
        deps=[polar_organizations, *deps],
        group_name=GROUP,
        partitions_def=connection_partitions,
        kinds=KINDS,
        owners=OWNERS,
        pool=WAREHOUSE_POOL,
        check_specs=check_specs(name, entity, endpoint.scope),
        description=(
            f"Polar {entity} of every active organization in `raw.polar_{entity}`, keyed by "
            f"(connection_name, id), typed columns plus the whole JSON `item`: {STRATEGY[entity]}. "
            "The first sync pages the whole history and resumes where it stopped. Personal data "
            "as POLAR_METRICS_CUSTOMER_PII says (hash by default)."
        ),
    )
    def sync_asset(
        context: dg.AssetExecutionContext, polar: PolarResource, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        outcome = run_sync(context, entity, polar_for(context, polar), warehouse)
        yield dg.MaterializeResult(metadata=entity_metadata(outcome))
        yield from entity_check_results(name, outcome)

    sync_asset.__doc__ = f"Sync {entity} of every active organization (incremental)."
    return sync_asset


def run_sync(
    context: dg.AssetExecutionContext,
    entity: str,
    polar: PolarResource,
    warehouse: WarehouseResource,
) -> EntitySyncOutcome:
    """The sync itself; fails only when every organization failed or the token is dead."""
    connection = usable_connection(polar, warehouse)
    settings = polar.settings()
    progress = logging.getLogger(PROGRESS_LOGGER)

    def on_progress(step: EntityProgress) -> None:
        progress.info(step.describe())  # from worker threads: a plain logger, not context.log

    try:
        with polar.client(connection) as client:
            outcome = sync_entity(
                client,
                warehouse_path=warehouse.file(),
                connection_name=polar.connection_name,
                organizations=connection.organizations(),
                entity=entity,
                policy=SyncPolicy(settings.orders_lookback_days, settings.customers_sweep_days),
                pii=pii_policy(settings),
                on_progress=on_progress,
                concurrency=settings.concurrency,
            )
    except NeedsReauthError as error:
        raise connection_failure(polar, warehouse, error) from None
    except PolarError as error:  # configuration (PII key): the same for every organization
        raise dg.Failure(description=str(error), allow_retries=False) from None
    for synced in outcome.organizations:
        context.log.info(
            f"{entity} of {synced.label}: {synced.status} ({synced.mode}), {synced.rows} rows, "
            f"{synced.requests} requests, {synced.seconds} s"
        )
    for failed in outcome.failed:
        context.log.error(f"{entity} of {failed.label} ({failed.organization_id}): {failed.error}")
    if outcome.scope_error:
        context.log.warning(outcome.scope_error)
    if outcome.organizations and len(outcome.failed) == len(outcome.organizations):
        raise dg.Failure(
            description=f"Every organization failed to sync {entity}; rows kept. "
            + "; ".join(f"{o.label}: {o.error}" for o in outcome.failed)
        )
    return outcome


def entity_metadata(outcome: EntitySyncOutcome) -> dict[str, object]:
    """Rows and requests spent, per organization, with the missing scope and drift."""
    return {
        "entity": outcome.entity,
        "rows_written": outcome.rows,
        "requests": outcome.requests,
        "organizations": len(outcome.organizations),
        "organizations_failed": len(outcome.failed),
        "missing_scope": outcome.missing_scope or "",
        "per_organization": dg.MetadataValue.md(organization_table_markdown(outcome)),
        "schema_drift": dg.MetadataValue.json(outcome.drift),
    }


polar_products = entity_asset("products")
polar_customers = entity_asset("customers")
polar_subscriptions = entity_asset("subscriptions")
polar_refunds = entity_asset("refunds")
polar_orders = entity_asset("orders", deps=[polar_refunds])

ENTITY_ASSETS = (polar_products, polar_customers, polar_subscriptions, polar_refunds, polar_orders)
