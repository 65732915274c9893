"""The real raw assets, materialized against the emulator over loopback into a temp DuckDB."""

import json
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.assets import polar_metrics_daily, polar_organizations
from orchestration.defs.polar.resources import PolarResource
from orchestration.defs.polar.sensors import polar_connection_sensor
from orchestration.extract.scopes import local_today
from orchestration.warehouse.schema import ALL_SCOPE
from orchestration.warehouse.windows import latest_window
from tests.orchestration.conftest import EmulatedPolar, query
from tests.orchestration.helpers import (
    active_org_ids,
    check_results,
    latest_refresh,
    materialize_partition,
    materialize_raw,
    metric_values,
    metrics_metadata,
)


def served_values(polar: EmulatedPolar, org_ids: list[str], start, end) -> dict:  # noqa: ANN001
    """(date, slug) -> value exactly as the emulator serves them for these organization ids."""
    with polar.client() as client:
        response = client.get_metrics(
            start_date=start, end_date=end, timezone="UTC", organization_ids=org_ids
        )
    return {
        (day, slug): float(value)
        for day, period in response.daily_periods(start)
        for slug, value in period.items()
        if slug != "timestamp"
    }


def test_window_values_equal_what_the_emulator_serves_day_by_day(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    result = materialize_raw()
    assert result.success
    status, start, end, ok, failed, _ = latest_refresh(warehouse_path)
    assert (status, failed) == ("success", 0)
    assert (end - start).days + 1 == 90
    org_ids = active_org_ids(warehouse_path)
    assert ok == len(org_ids) >= 2
    for org_id in org_ids:
        stored = metric_values(warehouse_path, org_id)
        assert len({day for day, _ in stored}) == 90
        assert stored == served_values(polar, [org_id], start, end)
    assert metric_values(warehouse_path, ALL_SCOPE) == served_values(polar, org_ids, start, end)


def test_metadata_reports_rows_window_organizations_and_headline_numbers(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    result = materialize_raw()
    metadata = metrics_metadata(result)
    rows = query(warehouse_path, "select count(*) from raw.polar_metrics")[0][0]
    assert metadata["rows_written"] == rows > 0
    assert metadata["organizations"] == len(active_org_ids(warehouse_path))
    assert metadata["refresh_status"] == "success"
    _, start, end, *_ = latest_refresh(warehouse_path)
    assert metadata["window"] == f"{start}..{end} (UTC)"
    mrr = metric_values(warehouse_path, ALL_SCOPE)[(end, "monthly_recurring_revenue")]
    assert metadata["mrr_today_cents"] == mrr
    assert "| organization |" in metadata["per_organization"]
    assert check_results(result) == {
        "polar_metrics_every_organization_loaded": True,
        "polar_metrics_schema_matches_catalogue": True,
    }
    definitions = query(
        warehouse_path,
        "select count(*), count(*) filter (drift = 'known') from raw.polar_metric_definitions",
    )[0]
    assert definitions == (55, 55)


def test_rerunning_the_same_window_gives_identical_tables(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    snapshot_sql = (
        "select organization_id, date, metric_slug, value from raw.polar_metrics order by all"
    )
    assert materialize_raw().success
    first = query(warehouse_path, snapshot_sql)
    assert materialize_raw().success
    assert query(warehouse_path, snapshot_sql) == first
    organizations_sql = "select * exclude (discovered_at) from raw.polar_organizations order by all"
    assert len(query(warehouse_path, organizations_sql)) >= 2


def test_rate_limited_call_waits_for_retry_after_then_succeeds(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    polar.faults(
        fail_next={"count": 1, "status": 429, "retry_after": 1, "path_prefix": "/v1/metrics/"}
    )
    result = materialize_raw()
    assert result.success
    assert latest_refresh(warehouse_path)[0] == "success"
    assert polar.control("GET", "stats")["rate_limited"] >= 1


def test_server_error_then_success_loads_every_organization(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    polar.faults(fail_next={"count": 2, "status": 503, "path_prefix": "/v1/metrics/"})
    assert materialize_raw().success
    assert latest_refresh(warehouse_path)[0] == "success"


def test_timeout_then_success_loads_every_organization(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    polar.faults(timeout_next={"count": 1, "seconds": 3, "path_prefix": "/v1/metrics/"})
    assert materialize_raw(request_timeout_seconds=1.0).success
    assert latest_refresh(warehouse_path)[0] == "success"


def test_malformed_json_then_success_loads_every_organization(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    polar.faults(malformed_json_next={"count": 1, "path_prefix": "/v1/metrics/"})
    assert materialize_raw().success
    assert latest_refresh(warehouse_path)[0] == "success"


def test_failing_organization_keeps_its_data_while_the_others_are_refreshed(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    assert materialize_raw().success
    org_ids = active_org_ids(warehouse_path)
    failing, healthy = org_ids[0], org_ids[1]
    fetched_sql = (
        "select max(fetched_at), count(*) from raw.polar_metrics where organization_id = ?"
    )
    before_failing = query(warehouse_path, fetched_sql, [failing])[0]
    before_healthy = query(warehouse_path, fetched_sql, [healthy])[0]
    polar.faults(fail_organization={"organization_id": failing, "status": 500, "count": None})

    result = materialize_raw()

    assert result.success  # the asset succeeds; the check says what failed
    assert query(warehouse_path, fetched_sql, [failing])[0] == before_failing
    after_healthy = query(warehouse_path, fetched_sql, [healthy])[0]
    assert after_healthy[0] > before_healthy[0] and after_healthy[1] == before_healthy[1]
    status, *_, ok, failed, detail = latest_refresh(warehouse_path)
    assert (status, failed, ok) == ("partial", 1, len(org_ids) - 1)
    failed_scopes = [s for s in json.loads(detail)["scopes"] if not s["ok"]]
    assert {s["scope_id"] for s in failed_scopes} == {failing, ALL_SCOPE}
    assert "500" in failed_scopes[0]["error"]
    assert check_results(result)["polar_metrics_every_organization_loaded"] is False
    assert failing in metrics_metadata(result)["per_organization"]


def test_window_ends_today_and_older_history_stays_while_the_recheck_is_off(
    polar: EmulatedPolar, warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh writes only its window; a stored older day changes only through the slower
    re-check of older days (switched off here; tests/orchestration/defs/test_restatements.py
    proves the re-check restates such days)."""
    monkeypatch.setenv("POLAR_METRICS_RECHECK_EVERY_DAYS", "0")
    assert materialize_raw().success
    _, start, end, *_ = latest_refresh(warehouse_path)
    assert end == local_today("UTC") and (end - start).days == 89
    org_id = active_org_ids(warehouse_path)[0]
    history_day = start - timedelta(days=5)
    con_sql = "insert into raw.polar_metrics values ('default', ?, ?, 'revenue', 123.0, now())"
    con = duckdb.connect(str(warehouse_path))
    con.execute(con_sql, [org_id, history_day])
    con.close()
    assert materialize_raw().success
    kept = query(
        warehouse_path,
        "select value from raw.polar_metrics where organization_id = ? and date = ?",
        [org_id, history_day],
    )
    assert kept == [(123.0,)]


def test_recent_refresh_rewrites_yesterday_and_today_only(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    assert materialize_raw().success
    _, start, end, *_ = latest_refresh(warehouse_path)
    result = materialize_partition(
        [polar_organizations, polar_metrics_daily],
        resources={"polar": PolarResource(), "warehouse": WarehouseResource()},
        run_config={"ops": {"polar_metrics_daily": {"config": {"recent_only": True}}}},
    )
    assert result.success
    status, recent_start, recent_end, *_, detail = latest_refresh(warehouse_path)
    assert (recent_start, recent_end, json.loads(detail)["kind"]) == (
        end - timedelta(days=1),
        end,
        "recent",
    )
    days = query(warehouse_path, "select count(distinct date) from raw.polar_metrics")
    assert days == [(90,)]
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert latest_window(con, "default") == (start, end)  # the cached window is unchanged


def test_connection_sensor_requests_one_refresh_when_the_connection_recovers(
    polar: EmulatedPolar,
) -> None:
    resources = {"polar": PolarResource()}
    was_down = json.dumps({"default": "needs_reauth"})
    with dg.build_sensor_context(resources=resources, cursor=was_down) as context:
        recovered = polar_connection_sensor(context)
    assert isinstance(recovered, dg.SensorResult)
    assert [r.partition_key for r in recovered.run_requests or []] == ["default"]
    was_up = json.dumps({"default": "active"})
    with dg.build_sensor_context(resources=resources, cursor=was_up) as context:
        steady = polar_connection_sensor(context)
    assert isinstance(steady, dg.SkipReason)
