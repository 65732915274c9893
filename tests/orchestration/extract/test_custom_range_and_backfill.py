"""Custom ranges (cache or API, never cached) and the resumable history backfill."""

from datetime import timedelta
from pathlib import Path

import pytest

from connectors.polar.connection import PolarConnection
from connectors.polar.errors import InvalidRangeError
from orchestration.defs.polar.jobs import polar_custom_range_job
from orchestration.defs.polar.resources import PolarResource
from orchestration.extract.backfill import backfill_history
from orchestration.extract.custom_range import answer_custom_range
from orchestration.warehouse.schema import ALL_SCOPE
from tests.orchestration.conftest import EmulatedPolar, query
from tests.orchestration.helpers import latest_refresh, materialize_raw, metric_values

COUNT_SQL = "select count(*) from raw.polar_metrics"


@pytest.fixture
def refreshed(polar: EmulatedPolar, warehouse_path: Path) -> Path:
    """A warehouse holding one successful refresh."""
    assert materialize_raw().success
    return warehouse_path


def test_range_inside_the_window_is_answered_from_the_warehouse(
    polar: EmulatedPolar, refreshed: Path
) -> None:
    _, start, end, *_ = latest_refresh(refreshed)
    calls = polar.metrics_requests()
    answer = answer_custom_range(polar.settings(), "default", end - timedelta(days=6), end)
    assert answer.source == "warehouse" and polar.metrics_requests() == calls
    stored = metric_values(refreshed, ALL_SCOPE)
    revenue = sum(stored[(end - timedelta(days=i), "revenue")] for i in range(7))
    assert answer.totals[ALL_SCOPE]["revenue"] == revenue
    assert len(answer.daily[ALL_SCOPE]) == 7


def test_range_outside_the_window_calls_polar_once_per_scope_and_caches_nothing(
    polar: EmulatedPolar, refreshed: Path
) -> None:
    _, start, _, *_ = latest_refresh(refreshed)
    rows = query(refreshed, COUNT_SQL)
    calls = polar.metrics_requests()
    answer = answer_custom_range(
        polar.settings(), "default", start - timedelta(days=30), start - timedelta(days=1)
    )
    assert answer.source == "api" and not answer.errors
    assert polar.metrics_requests() - calls == len(answer.daily)  # organizations + `all`
    assert all(len(days) == 30 for days in answer.daily.values())
    assert query(refreshed, COUNT_SQL) == rows


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-02-10", "2026-02-01"), ("2022-12-01", "2022-12-31"), ("2025-01-01", "2025-06-30")],
)
def test_bad_ranges_fail_before_any_request(polar: EmulatedPolar, start: str, end: str) -> None:
    from datetime import date

    calls = polar.metrics_requests()
    with pytest.raises(InvalidRangeError):
        answer_custom_range(
            polar.settings(), "default", date.fromisoformat(start), date.fromisoformat(end)
        )
    assert polar.metrics_requests() == calls


def test_custom_range_job_reports_the_source_and_totals(
    polar: EmulatedPolar, refreshed: Path
) -> None:
    _, _, end, *_ = latest_refresh(refreshed)
    result = polar_custom_range_job.execute_in_process(
        run_config={
            "ops": {"polar_custom_range": {"config": {"start": str(end), "end": str(end)}}}
        },
        resources={"polar": PolarResource()},
    )
    assert result.success
    [materialization] = [
        e.event_specific_data.metadata for e in result.all_events if e.is_successful_output
    ]
    assert materialization["source"].value == "warehouse"
    totals = result.output_for_node("polar_custom_range")
    assert totals[ALL_SCOPE]["revenue"] == metric_values(refreshed, ALL_SCOPE)[(end, "revenue")]
    bad = polar_custom_range_job.execute_in_process(
        run_config={"ops": {"polar_custom_range": {"config": {"start": "x", "end": str(end)}}}},
        resources={"polar": PolarResource()},
        raise_on_error=False,
    )
    assert not bad.success
    # The run config names the connection: one that does not exist fails with the fix.
    elsewhere = {"start": str(end), "end": str(end), "connection": "nowhere"}
    other = polar_custom_range_job.execute_in_process(
        run_config={"ops": {"polar_custom_range": {"config": elsewhere}}},
        resources={"polar": PolarResource()},
        raise_on_error=False,
    )
    [failure] = [e for e in other.all_events if e.is_step_failure]
    assert "polar-metrics connect --connection nowhere" in failure.step_failure_data.error.message


def test_backfill_writes_history_before_the_window_and_resumes(
    polar: EmulatedPolar, refreshed: Path
) -> None:
    _, window_start, window_end, *_ = latest_refresh(refreshed)
    window_rows = query(
        refreshed,
        "select organization_id, date, metric_slug, value, fetched_at from raw.polar_metrics "
        "order by all",
    )
    connection = PolarConnection.open(polar.settings(), "default")
    since = window_start - timedelta(days=400)
    progress: list[tuple[int, int]] = []
    with polar.client() as client:
        first = backfill_history(
            client,
            warehouse_path=refreshed,
            connection_name="default",
            organizations=connection.organizations(),
            timezone="UTC",
            since=since,
            current_window_start=window_start,
            concurrency=4,
            on_progress=lambda done, total, _: progress.append((done, total)),
        )
        assert not first.failures
        scopes = sum(1 for o in connection.organizations() if o.is_queried) + 1
        assert first.windows_total == 2 * scopes  # 400 days = 367 + 33 days, per scope
        assert progress[-1] == (first.windows_total, first.windows_total)
        calls = polar.metrics_requests()
        again = backfill_history(
            client,
            warehouse_path=refreshed,
            connection_name="default",
            organizations=connection.organizations(),
            timezone="UTC",
            since=since,
            current_window_start=window_start,
            concurrency=4,
        )
    assert (again.windows_skipped, again.rows_written) == (again.windows_total, 0)
    assert polar.metrics_requests() == calls  # resumed: nothing fetched twice
    history = query(
        refreshed,
        "select count(distinct date), min(date), max(date) from raw.polar_metrics "
        "where organization_id = 'all' and date < ?",
        [window_start],
    )
    assert history == [(400, since, window_start - timedelta(days=1))]
    assert (
        query(
            refreshed,
            "select organization_id, date, metric_slug, value, fetched_at from raw.polar_metrics "
            "where date between ? and ? order by all",
            [window_start, window_end],
        )
        == window_rows
    )
