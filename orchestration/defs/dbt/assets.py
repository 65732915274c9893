"""The dbt models as Dagster assets: one `dbt build` in the DuckDB writer pool.

Keys are `[schema, model]` (`marts/polar_metrics_daily`), so they never clash with the raw asset
`polar_metrics_daily`; dbt sources map to the raw assets through their `meta.dagster.asset_key`
(models/staging/polar/_polar__sources.yml); dbt tests become asset checks.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.common.automation import after_batch
from orchestration.defs.common.pools import WAREHOUSE_POOL
from orchestration.defs.dbt.child import interrupts_held, stop_streaming
from orchestration.defs.dbt.manifest import ensure_manifest
from orchestration.defs.dbt.project import BUILD_ARGS, dbt_project, warehouse_environment
from orchestration.defs.dbt.runs import dbt_run_folder
from orchestration.warehouse.compaction import compact_raw_tables
from orchestration.warehouse.writer_lock import writer_lock

GROUP_NAME = "polar_marts"


class PolarDbtTranslator(DagsterDbtTranslator):
    """Asset keys by schema and name, all models in the `polar_marts` group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """`[schema, name]` for models and seeds; the raw asset key for sources."""
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Every dbt node belongs to `polar_marts`."""
        return GROUP_NAME

    def get_asset_spec(
        self,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetSpec:
        """dbt's spec; a seed also follows `polar_organizations` (SEEDS_FOLLOW)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("seed."):
            spec = spec.merge_attributes(deps=[SEEDS_FOLLOW])
        return spec

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        """Every node once after a batch of raw refreshes (common/automation.py)."""
        return after_batch()


# A seed has no dependency, so no automation condition would ever start it; built alone it
# would also run the dbt tests that read models not built yet. It follows every batch with the
# models instead, in the same dbt build (as `polar-metrics refresh`, whose build always seeds).
SEEDS_FOLLOW = dg.AssetKey("polar_organizations")
MANIFEST = ensure_manifest()

TRANSLATOR = PolarDbtTranslator(
    # Several raw tables are written by one raw asset, so several sources share its key.
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True, enable_duplicate_source_asset_keys=True
    )
)


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
    name="polar_dbt_models",
)
def polar_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Staging views, intermediate tables and the marts, with every dbt test as an asset check."""
    # dbt's child process writes the file: hold the writer lock for it, so writers of other
    # processes queue behind the build instead of failing it (or it failing them).
    with (
        warehouse_environment() as path,
        writer_lock(Path(path)),
        dbt_run_folder(context.run_id) as target_path,
    ):
        # Deleted rows and thin row groups the refresh's writers left (they do not vacuum),
        # copied away before dbt reads.
        compaction = compact_raw_tables(Path(path))
        for table in compaction.copied:
            context.log.info(
                "Compacted raw.%s: %d deleted rows of %d reclaimed, %d row groups copied",
                table.table,
                table.dead,
                table.stored,
                table.row_groups,
            )
        if compaction.failure:
            context.log.warning(
                "Compaction stopped (%s); not copied: %s. dbt builds over the tables as they are.",
                compaction.failure,
                ", ".join(f"raw.{table.table}" for table in compaction.left) or "none",
            )
        invocation = None
        events: Iterator[Any] = iter(())
        try:
            # The child is stopped in the `finally`: an interruption must not come between its
            # start and the moment `invocation` holds it.
            with interrupts_held():
                invocation = dbt.cli(BUILD_ARGS, context=context, target_path=target_path)
                events = invocation.stream()
            yield from events
        finally:
            # A failing or interrupted step never leaves dbt running, nor its stream half-read.
            if invocation is not None:
                stop_streaming(invocation.process, events)
