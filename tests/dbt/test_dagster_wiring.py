"""The dbt project as Dagster assets: keys, group, pool, sources, checks, and a real materialize."""

import json
import os
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from orchestration.defs.common.pools import WAREHOUSE_POOL
from orchestration.defs.dbt.assets import GROUP_NAME, polar_dbt_models
from orchestration.defs.dbt.manifest import manifest_is_current
from orchestration.defs.dbt.project import DBT_PROJECT_DIR, warehouse_environment
from orchestration.defs.dbt.resources import dbt_resource, defs
from tests.dbt.conftest import BuiltWarehouse, query
from tests.dbt.dbt_runner import DbtSession
from tests.dbt.raw_fixture import create_raw_warehouse

MARTS = (
    "polar_metrics_daily",
    "polar_metrics_daily_all",
    "polar_period_summary",
    "polar_currency_check",
    "polar_organizations",
    "polar_orders",
    "polar_subscriptions",
    "polar_customers",
    "polar_products",
    "polar_refunds",
    "polar_entity_reconciliation",
)
ENTITIES = ("products", "customers", "subscriptions", "orders", "refunds")
SNAPSHOT = dg.AssetKey(["history", "polar_subscription_history"])


def test_models_are_keyed_by_schema_and_name_in_the_polar_marts_group() -> None:
    specs = {spec.key: spec for spec in polar_dbt_models.specs}
    for mart in MARTS:
        assert specs[dg.AssetKey(["marts", mart])].group_name == GROUP_NAME
    assert dg.AssetKey(["staging", "stg_polar__metrics"]) in specs
    # The amount history is a dbt snapshot: an asset too, built by the same `dbt build`.
    assert specs[SNAPSHOT].group_name == GROUP_NAME
    # The raw asset `polar_metrics_daily` keeps its own key; the mart never clashes with it.
    assert dg.AssetKey("polar_metrics_daily") not in specs


def test_sources_map_to_the_raw_extraction_assets() -> None:
    deps = {spec.key: {dep.asset_key for dep in spec.deps} for spec in polar_dbt_models.specs}
    assert (
        dg.AssetKey("polar_metrics_daily") in deps[dg.AssetKey(["staging", "stg_polar__metrics"])]
    )
    assert (
        dg.AssetKey("polar_organizations")
        in deps[dg.AssetKey(["staging", "stg_polar__organizations"])]
    )
    for entity in ENTITIES:  # the entity sync's assets, one per raw table
        staging = dg.AssetKey(["staging", f"stg_polar__{entity}"])
        assert dg.AssetKey(f"polar_{entity}") in deps[staging], entity


def test_dbt_build_runs_in_the_duckdb_pool_with_tests_as_asset_checks() -> None:
    assert polar_dbt_models.op.pool == WAREHOUSE_POOL
    check_keys = {key.name for key in polar_dbt_models.check_keys}
    assert "unique_combination_polar_period_summary_connection_name__scope__period__metric" in (
        check_keys
    )
    singular_tests = {path.stem for path in (DBT_PROJECT_DIR / "tests" / "singular").glob("*.sql")}
    assert singular_tests and singular_tests <= check_keys  # every invariant shows in Dagster
    reconciliation = dg.AssetKey(["marts", "polar_entity_reconciliation"])
    reconciliation_checks = {
        key.name for key in polar_dbt_models.check_keys if key.asset_key == reconciliation
    }
    assert {
        "assert_entities_reconcile_exactly_on_the_emulator",
        "assert_entities_reconcile_within_tolerance_on_live_polar",
    } <= reconciliation_checks
    assert isinstance(defs.resources["dbt"], dg.ConfigurableResource)


def test_warehouse_path_defaults_to_the_settings_when_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLAR_METRICS_WAREHOUSE", raising=False)
    monkeypatch.setenv("POLAR_METRICS_HOME", str(tmp_path))
    with warehouse_environment() as path:
        assert path == str(tmp_path / "warehouse.duckdb")


def test_materializing_the_dbt_assets_builds_the_marts_and_passes_every_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_warehouse(warehouse)
    monkeypatch.setenv("POLAR_METRICS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("POLAR_METRICS_HOME", str(tmp_path))  # dbt's run folders go there

    result = dg.materialize([polar_dbt_models], resources={"dbt": dbt_resource()})

    assert result.success
    assert list((tmp_path / "dbt" / "runs").glob("*/run_results.json"))
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert {dg.AssetKey(["marts", mart]) for mart in MARTS} <= materialized
    assert SNAPSHOT in materialized
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(evaluation.passed for evaluation in evaluations)
    assert query(warehouse, "select count(*) from marts.polar_currency_check") == [(1,)]


def test_dbt_docs_generate_describes_every_mart(
    dbt_session: DbtSession, synthetic_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    # --no-compile: the catalog is what this test reads; every node's compilation is what each
    # `dbt build` of the suite already proves (the compile took most of this test's 17 s).
    outcome = dbt_session.invoke(
        ["docs", "generate", "--no-compile"], synthetic_warehouse.path, tmp_path
    )

    assert outcome.success
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    nodes = {node["metadata"]["name"] for node in catalog["nodes"].values()}
    assert set(MARTS) <= nodes


def test_manifest_is_stale_after_any_project_file_changes(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: probe\nversion: '1'\nprofile: probe\n")
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "probe.sql"
    model.write_text("select 1")
    project = DbtProject(project_dir=tmp_path)
    assert not manifest_is_current(project)  # never parsed

    project.manifest_path.parent.mkdir()
    project.manifest_path.write_text("{}")
    os.utime(model, (1, 1))
    assert manifest_is_current(project)

    model.write_text("select 2")  # an edit after the last parse
    assert not manifest_is_current(project)

    (tmp_path / "snapshots").mkdir()
    snapshot = tmp_path / "snapshots" / "probe.yml"
    snapshot.write_text("snapshots: []\n")
    os.utime(model, (1, 1))
    os.utime(project.manifest_path, (5, 5))
    os.utime(snapshot, (10, 10))  # only the snapshot changed after the last parse
    assert not manifest_is_current(project)
