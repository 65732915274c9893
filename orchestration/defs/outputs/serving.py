"""The serving copy asset: the marts published to a read-only file for BI tools."""

import dagster as dg

from orchestration.defs.common.automation import after_batch
from orchestration.defs.common.pools import OWNERS, WAREHOUSE_POOL
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.outputs.assets import GROUP, MART_KEYS
from orchestration.warehouse.serving import publish_serving_copy, serving_path_for
from orchestration.warehouse.tenant_copies import publish_tenant_copies
from orchestration.warehouse.writer_lock import writer_lock


@dg.asset(
    key="polar_serving_copy",
    group_name=GROUP,
    deps=MART_KEYS,
    automation_condition=after_batch(),
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "The marts copied to a separate read-only DuckDB file for BI tools (DuckDB CLI, DBeaver, "
        "Metabase, Superset). It is replaced atomically after every successful dbt build, so a "
        "reader sees a whole refresh or the previous one and never blocks the pipeline."
    ),
)
def polar_serving_copy(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Publishes the marts to `<warehouse>.serving.duckdb`."""
    source = warehouse.file()
    with writer_lock(source):  # read whole: no other process's writer half-way through
        published = publish_serving_copy(source, serving_path_for(source))
        # One file per tenant, holding only its rows: a tenant's BI tool opens just its own.
        tenants = publish_tenant_copies(source)  # copied again only where the rows changed
    context.log.info(
        "Serving copy published to %s (+%d tenant files, %d of them unchanged and kept)",
        published.path, len(tenants.paths), len(tenants.unchanged),
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "tables": dg.MetadataValue.json(published.tables),
            "rows": sum(published.tables.values()),
            "macros": ", ".join(published.macros),
            "tenant_files": dg.MetadataValue.json({k: str(v) for k, v in tenants.paths.items()}),
            "tenant_files_copied": len(tenants.copied),
        }
    )
