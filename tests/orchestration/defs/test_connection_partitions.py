"""Connections as Dagster partitions, without a daemon: the schedules ask for one run per
connected connection, the partition sensor mirrors the token store, and a connection that needs
re-authorization fails its own partition at once with the fix (no call to Polar)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.token_store import TokenStore
from orchestration.cli.headless import connect_headless
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.assets import polar_metrics_daily, polar_organizations
from orchestration.defs.polar.partitions import PARTITIONS_NAME, mirror_on_dagster_home
from orchestration.defs.polar.resources import PolarResource
from orchestration.defs.polar.schedules import polar_daily_refresh, polar_hourly_today
from orchestration.defs.polar.sensors import polar_connection_partitions, polar_connection_sensor
from tests.orchestration.conftest import EmulatedPolar, emulated_polar


def set_status(settings: PolarSettings, name: str, status: str) -> None:
    """Change a connection's status in the token store (as a refused refresh token would)."""
    store = TokenStore(settings.token_store_path)
    row = store.read(name)
    assert row is not None
    store.update(row.with_changes(status=status))


@pytest.fixture(scope="module")
def two_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """`default` active and `second` (another Polar account) needing re-authorization."""
    with emulated_polar(tmp_path_factory.mktemp("state"), scenario="demo", accounts=2) as polar:
        port = urlsplit(polar.emulator.redirect_uris[0]).port
        settings = PolarSettings.from_env()
        connect_headless(settings, "second", port, login_hint="account-2@example.com")
        set_status(settings, "second", "needs_reauth")
        yield polar


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A fresh temporary instance (no partitions yet)."""
    with dg.instance_for_test() as fresh:
        yield fresh


def test_schedules_request_one_run_per_connected_partition(
    two_accounts: EmulatedPolar, instance: dg.DagsterInstance
) -> None:
    """Both connections (the one needing re-authorization too) get a run of the raw-only job;
    run keys differ per partition, and the partitions exist before the runs are requested."""
    for schedule, job in (
        (polar_daily_refresh, "polar_raw_refresh_job"),
        (polar_hourly_today, "polar_raw_recent_job"),
    ):
        with dg.build_schedule_context(
            instance=instance,
            resources={"polar": PolarResource()},
            scheduled_execution_time=datetime(2026, 1, 2, 6, tzinfo=UTC),
        ) as context:
            requests = schedule(context)
        assert isinstance(requests, list), requests
        assert [r.partition_key for r in requests] == ["default", "second"]
        assert len({r.run_key for r in requests}) == 2
        assert schedule.job_name == job
    assert sorted(instance.get_dynamic_partitions(PARTITIONS_NAME)) == ["default", "second"]


def test_partition_sensor_adds_connected_and_deletes_disconnected(
    two_accounts: EmulatedPolar, instance: dg.DagsterInstance
) -> None:
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["gone"])
    resources = {"polar": PolarResource()}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = polar_connection_partitions(context)
    assert isinstance(result, dg.SensorResult)
    requests = {
        type(r).__name__: sorted(r.partition_keys) for r in result.dynamic_partitions_requests
    }
    assert requests == {
        "AddDynamicPartitionsRequest": ["default", "second"],
        "DeleteDynamicPartitionsRequest": ["gone"],
    }
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["default", "second"])
    instance.delete_dynamic_partition(PARTITIONS_NAME, "gone")
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        assert isinstance(polar_connection_partitions(context), dg.SkipReason)


def test_connection_sensor_refreshes_only_the_partition_that_recovered(
    two_accounts: EmulatedPolar,
) -> None:
    """The cursor holds each connection's state: `second` recovering requests its partition."""
    resources = {"polar": PolarResource()}
    with dg.build_sensor_context(resources=resources) as context:
        waiting = polar_connection_sensor(context)
        cursor = json.loads(context.cursor or "{}")
    assert isinstance(waiting, dg.SkipReason) and "connect --connection second" in str(
        waiting.skip_message
    )
    assert cursor == {"default": "active", "second": "needs_reauth"}
    set_status(two_accounts.settings(), "second", "active")
    try:
        with dg.build_sensor_context(resources=resources, cursor=json.dumps(cursor)) as context:
            recovered = polar_connection_sensor(context)
    finally:
        set_status(two_accounts.settings(), "second", "needs_reauth")
    assert isinstance(recovered, dg.SensorResult)
    assert [r.partition_key for r in recovered.run_requests or []] == ["second"]


def test_needs_reauth_partition_fails_at_once_with_the_fix(
    two_accounts: EmulatedPolar, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The partition's run fails on its first step with the reason and the command to run, and
    asks Polar nothing (the emulator's request count is unchanged)."""
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["second"])
    before = sum(two_accounts.control("GET", "stats")["requests"].values())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLAR_METRICS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
        result = dg.materialize(
            [polar_organizations, polar_metrics_daily],
            resources={"polar": PolarResource(), "warehouse": WarehouseResource()},
            instance=instance,
            partition_key="second",
            raise_on_error=False,
        )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["polar_organizations"]
    message = failures[0].step_failure_data.error.message
    assert "'second'" in message and "polar-metrics connect --connection second" in message
    assert sum(two_accounts.control("GET", "stats")["requests"].values()) == before


def test_connect_and_disconnect_mirror_the_partition_on_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `connect` and `disconnect` call: the partition appears once (idempotent) and goes,
    on the instance DAGSTER_HOME names; without DAGSTER_HOME nothing is touched."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    mirror_on_dagster_home("acme", connected=True)  # no instance: nothing to do, no error
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    mirror_on_dagster_home("acme", connected=True)
    mirror_on_dagster_home("acme", connected=True)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(PARTITIONS_NAME) == ["acme"]
    mirror_on_dagster_home("acme", connected=False)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(PARTITIONS_NAME) == []
