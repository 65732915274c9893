"""The entity assets, materialized by Dagster over loopback into a temporary DuckDB.

Polar here is the emulator (OAuth, organizations, metrics) with the fake entity endpoints in
front of it on the same origin. When the emulator serves the entity endpoints itself, only the
`entity_polar` fixture changes.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from starlette.responses import JSONResponse

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar_emulator.app import create_app
from connectors.polar_emulator.config import EmulatorConfig
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.assets import polar_organizations
from orchestration.defs.polar.entity_assets import ENTITY_ASSETS
from orchestration.defs.polar.resources import PolarResource
from tests.fake_polar.app import create_fake_app
from tests.fake_polar.server import in_front_of, serve
from tests.fake_polar.world import FakeWorld
from tests.orchestration.conftest import query
from tests.orchestration.extract.entity_helpers import ENTITIES, listed_ids, stored_ids
from tests.orchestration.helpers import materialize_partition

HISTORY_DAYS = 100


@dataclass
class EntityPolar:
    """The served Polar, its fake entity world, and the warehouse of this module."""

    world: FakeWorld
    warehouse: Path


@pytest.fixture(scope="module")
def entity_polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EntityPolar]:
    """Emulator + fake entity endpoints on one loopback origin, connected through OAuth."""
    state_dir = tmp_path_factory.mktemp("state")
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario="default",
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = create_app(config)
        world = FakeWorld(start=datetime.now(UTC) - timedelta(days=HISTORY_DAYS))
        base_url = stack.enter_context(serve(in_front_of(create_fake_app(world), emulator)))
        state = emulator.state.emulator
        env = emulator_environment(
            base_url, state.demo_client_id, state.demo_client_secret, state_dir
        )
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            connection = connect_headless(PolarSettings.from_env(), "default", port)
            for organization in connection.organizations():
                if organization.is_queried:
                    world.add_organization(organization.id, organization.name)
            world.advance(HISTORY_DAYS - 1)
            yield EntityPolar(world, Path(env["POLAR_METRICS_WAREHOUSE"]))


def materialize_entities(**run: Any) -> dg.ExecuteInProcessResult:
    """Organizations, then the five entity assets (and their checks)."""
    return materialize_partition(
        [polar_organizations, *ENTITY_ASSETS],
        resources={"polar": PolarResource(), "warehouse": WarehouseResource()},
        raise_on_error=False,
        **run,
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values of one asset's materialization."""
    events = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in events[-1].metadata.items()}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str, str]]:
    """check name -> (passed, severity, description)."""
    return {
        e.check_name: (e.passed, e.severity.value, e.description or "")
        for e in result.get_asset_check_evaluations()
    }


def test_every_entity_asset_syncs_its_rows_and_reports_rows_and_requests(
    entity_polar: EntityPolar,
) -> None:
    result = materialize_entities()
    assert result.success
    for entity in ENTITIES:
        stored = stored_ids(entity_polar.warehouse, entity)
        assert stored == listed_ids(entity_polar.world, entity) and stored, entity
        meta = metadata(result, f"polar_{entity}")
        assert meta["rows_written"] >= len(stored) and meta["requests"] >= 1
        assert meta["organizations_failed"] == 0 and "| organization |" in meta["per_organization"]
        assert not any(email in str(meta) for email in entity_polar.world.emails)
    assert all(passed for passed, _, _ in checks(result).values()), checks(result)
    assert len(checks(result)) == 15
    spent = query(
        entity_polar.warehouse,
        "select entity, sum(requests_last_sync) from raw.polar_entity_sync group by 1",
    )
    assert {e: n for e, n in spent} == {
        e: metadata(result, f"polar_{e}")["requests"] for e in ENTITIES
    }


def test_a_missing_scope_is_a_warning_on_its_asset_while_the_others_sync(
    entity_polar: EntityPolar,
) -> None:
    entity_polar.world.denied_scopes = {"refunds:read"}
    try:
        result = materialize_entities()
    finally:
        entity_polar.world.denied_scopes = set()
    assert result.success
    passed, severity, description = checks(result)["polar_refunds_scope_granted"]
    assert (passed, severity) == (False, "WARN")
    assert "`refunds:read`" in description and "polar-metrics connect" in description
    assert metadata(result, "polar_refunds")["missing_scope"] == "refunds:read"
    assert metadata(result, "polar_orders")["rows_written"] > 0


def test_unknown_fields_are_a_schema_drift_warning_and_are_kept(entity_polar: EntityPolar) -> None:
    entity_polar.world.extra_fields = {"products": {"shiny_new_field": True}}
    try:
        result = materialize_entities()
    finally:
        entity_polar.world.extra_fields = {}
    assert result.success
    passed, severity, description = checks(result)["polar_products_schema_matches_polar"]
    assert (passed, severity) == (False, "WARN") and "shiny_new_field" in description
    assert query(
        entity_polar.warehouse,
        "select bool_and(json_extract(item, '$.shiny_new_field')::boolean) from raw.polar_products",
    ) == [(True,)]


def test_the_daily_job_syncs_entities_and_the_hourly_one_does_not() -> None:
    from orchestration.definitions import defs

    daily = defs.resolve_job_def("polar_refresh_job")
    hourly = defs.resolve_job_def("polar_recent_refresh_job")
    names = {f"polar_{e}" for e in ENTITIES}
    assert names <= {node.name for node in daily.graph.node_defs}
    assert not names & {node.name for node in hourly.graph.node_defs}
    orders = defs.resolve_assets_def("polar_orders")
    assert dg.AssetKey("polar_refunds") in orders.asset_deps[dg.AssetKey("polar_orders")]
    assert orders.op.pool == "duckdb_warehouse"


def test_a_polar_without_the_entity_endpoints_warns_instead_of_failing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A Polar (an older deployment, or a proxy) answering 404 on the entity lists."""
    state_dir = tmp_path_factory.mktemp("plain")
    not_served = JSONResponse({"detail": "Not Found"}, status_code=404)
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario="single",
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = create_app(config)
        base_url = stack.enter_context(serve(in_front_of(not_served, emulator)))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        state = emulator.state.emulator
        env = emulator_environment(
            base_url, state.demo_client_id, state.demo_client_secret, state_dir
        )
        for name, value in env.items():
            patch.setenv(name, value)
        connect_headless(PolarSettings.from_env(), "default", port)
        result = materialize_entities()
        assert result.success
        passed, severity, description = checks(result)["polar_orders_scope_granted"]
        assert (passed, severity) == (False, "WARN") and "does not serve" in description
        assert PolarConnection.open(PolarSettings.from_env(), "default").status == "active"
