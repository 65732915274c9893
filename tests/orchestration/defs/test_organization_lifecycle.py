"""Organizations come, go and vanish; connections break: the raw assets follow without crashing.

Each test mutates the emulator, so each gets its own (fast to start) emulator and connection.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from connectors.polar.catalogue import METRIC_SLUGS
from orchestration.defs.polar.resources import PolarResource
from orchestration.defs.polar.schedules import polar_daily_refresh
from orchestration.defs.polar.sensors import polar_connection_sensor
from orchestration.warehouse.schema import ALL_SCOPE
from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query
from tests.orchestration.helpers import active_org_ids, latest_refresh, materialize_raw


@pytest.fixture
def fresh_polar(tmp_path: Path) -> Iterator[EmulatedPolar]:
    """A `default` emulator of our own, connected, with the warehouse in tmp_path."""
    with emulated_polar(tmp_path / "state") as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLAR_METRICS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
        yield running


def warehouse_of(polar: EmulatedPolar) -> Path:
    """The warehouse file the environment points at."""
    return polar.settings().warehouse_path


def test_new_organization_is_discovered_and_loaded_on_the_next_refresh(
    fresh_polar: EmulatedPolar,
) -> None:
    assert materialize_raw().success
    before = active_org_ids(warehouse_of(fresh_polar))
    created = fresh_polar.control(
        "POST", "organizations", {"name": "Fresh Org", "status": "active", "currency": "eur"}
    )

    assert materialize_raw().success

    after = active_org_ids(warehouse_of(fresh_polar))
    assert set(after) == set(before) | {created["id"]}
    days = query(
        warehouse_of(fresh_polar),
        "select count(distinct date) from raw.polar_metrics where organization_id = ?",
        [created["id"]],
    )
    assert days == [(90,)]


def test_organization_leaving_active_is_no_longer_queried_and_keeps_its_history(
    fresh_polar: EmulatedPolar,
) -> None:
    assert materialize_raw().success
    path = warehouse_of(fresh_polar)
    leaving = active_org_ids(path)[0]
    history_sql = (
        "select count(*), max(fetched_at) from raw.polar_metrics where organization_id = ?"
    )
    history = query(path, history_sql, [leaving])[0]
    fresh_polar.control("PATCH", f"organizations/{leaving}", {"status": "offboarding"})

    assert materialize_raw().success

    assert leaving not in active_org_ids(path)
    assert query(path, history_sql, [leaving])[0] == history
    status = query(
        path,
        "select status, is_queried from raw.polar_organizations where organization_id = ?",
        [leaving],
    )
    assert status == [("offboarding", False)]
    scopes = json.loads(latest_refresh(path)[-1])["scopes"]
    assert leaving not in {scope["scope_id"] for scope in scopes}
    assert len(scopes) == len(active_org_ids(path)) + 1  # + the `all` series


def test_zero_organizations_makes_no_metrics_call_and_writes_zeros(tmp_path: Path) -> None:
    with emulated_polar(tmp_path / "state", scenario="empty") as polar:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("POLAR_METRICS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
            calls_before = polar.metrics_requests()
            assert materialize_raw().success
            assert polar.metrics_requests() == calls_before
            path = warehouse_of(polar)
    counts = query(
        path,
        "select count(distinct date), count(distinct metric_slug), sum(abs(value)), "
        "count(distinct organization_id) from raw.polar_metrics",
    )
    assert counts == [(90, len(METRIC_SLUGS), 0.0, 1)]
    assert query(path, "select distinct organization_id from raw.polar_metrics") == [(ALL_SCOPE,)]
    assert latest_refresh(path)[0] == "success"


def test_needs_reauth_fails_once_with_the_fix_and_schedules_skip(
    fresh_polar: EmulatedPolar,
) -> None:
    fresh_polar.control("POST", "revoke-all")
    fresh_polar.control("POST", "expire-access-tokens")

    result = materialize_raw()

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["polar_organizations"]
    message = failures[0].step_failure_data.error.message
    assert "polar-metrics connect" in message
    assert query(warehouse_of(fresh_polar), "select status from raw.polar_connections") == [
        ("needs_reauth",)
    ]
    # A second run makes no token call and fails the same clear way.
    exchanges = fresh_polar.control("GET", "stats")["token_exchanges"]["refresh_token"]
    assert not materialize_raw().success
    assert fresh_polar.control("GET", "stats")["token_exchanges"]["refresh_token"] == exchanges

    resources = {"polar": PolarResource()}
    with dg.build_sensor_context(resources=resources) as context:
        tick = polar_connection_sensor(context)
    assert isinstance(tick, dg.SkipReason) and "polar-metrics connect" in tick.skip_message
    # The schedule still requests its partition: that run fails at once the same clear way
    # (test_connection_partitions.py), failing only this connection's partition.
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance, resources=resources, scheduled_execution_time=datetime.now(UTC)
        ) as context,
    ):
        scheduled = polar_daily_refresh(context)
    assert isinstance(scheduled, list) and [r.partition_key for r in scheduled] == ["default"]
