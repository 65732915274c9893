"""Polar restates ended days; the warehouse keeps old and new values and the marts say so.

The emulator's clock control makes N days of business happen at once: refunds move net revenue
back to the original order's day, cancellations change past days' committed MRR. Two refreshes
of the real assets around it must leave every changed value in raw.polar_metric_revisions and
marts.polar_metric_restatements, equal to what the emulator's /v1/metrics/ now says.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from orchestration.cli.runner import DOWNSTREAM_JOB, run_refresh
from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query
from tests.orchestration.helpers import active_org_ids, latest_refresh, materialize_raw

FIRST_WINDOW_DAYS = 40  # the first refresh stores 40 days ...
WINDOW_DAYS = 20  # ... later ones keep 20 fresh, so 20 stored days are older than the window


@dataclass
class Restated:
    """The emulator after two refreshes, and the values stored by the first one."""

    polar: EmulatedPolar
    first_values: dict[tuple[str, date, str], float]


@pytest.fixture(scope="module")
def restated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restated]:
    """Refresh (40 days), advance the business 35 days, refresh again (20-day window + recheck)."""
    state = tmp_path_factory.mktemp("restatements")
    with emulated_polar(state, scenario="demo") as polar, pytest.MonkeyPatch.context() as env:
        env.setenv("POLAR_METRICS_WINDOW_DAYS", str(FIRST_WINDOW_DAYS))
        assert materialize_raw().success
        first = stored_values(polar.settings().warehouse_path)
        env.setenv("POLAR_METRICS_WINDOW_DAYS", str(WINDOW_DAYS))
        polar.control("POST", "clock", {"advance_days": 35})
        assert materialize_raw().success
        yield Restated(polar, first)


def stored_values(warehouse: Path) -> dict[tuple[str, date, str], float]:
    """(organization, date, slug) -> value in raw.polar_metrics."""
    rows = query(
        warehouse, "select organization_id, date, metric_slug, value from raw.polar_metrics"
    )
    return {(org, day, slug): value for org, day, slug, value in rows}


def served(polar: EmulatedPolar, org_id: str, start: date, end: date) -> dict:
    """(date, slug) -> value as the emulator serves them now."""
    org_ids = [] if org_id == "all" else [org_id]
    with polar.client() as client:
        if org_id == "all":
            org_ids = active_org_ids(polar.settings().warehouse_path)
        response = client.get_metrics(
            start_date=start, end_date=end, timezone="UTC", organization_ids=org_ids
        )
    return {
        (day, slug): float(value)
        for day, period in response.daily_periods(start)
        for slug, value in period.items()
        if slug != "timestamp"
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_restated_days_keep_old_and_new_values_equal_to_what_polar_now_says(
    restated: Restated,
) -> None:
    polar = restated.polar
    warehouse = polar.settings().warehouse_path
    status, start, end, *_, detail = latest_refresh(warehouse)
    # Due on the first refresh that has older days stored: the window reached back over them.
    assert status == "success" and '"kind": "recheck"' in detail
    assert (end - start).days + 1 == FIRST_WINDOW_DAYS
    revisions = query(
        warehouse,
        "select organization_id, date, metric_slug, previous_value, value "
        "from raw.polar_metric_revisions",
    )
    assert revisions, "advancing the business 20 days restated no stored day"
    # Cancellations scheduled since then change past days' committed MRR.
    assert "committed_monthly_recurring_revenue" in {slug for _, _, slug, _, _ in revisions}
    assert any(day < end - timedelta(days=WINDOW_DAYS - 1) for _, day, *_ in revisions)
    # Every ended day whose value changed is recorded, with the first refresh's value; today
    # only grows (not a restatement).
    now_stored = stored_values(warehouse)
    changed = {
        key: (old, now_stored[key])
        for key, old in restated.first_values.items()
        if key[1] < end and now_stored.get(key, old) != old
    }
    assert {(o, d, s): (p, v) for o, d, s, p, v in revisions} == changed
    for org_id in {org for org, *_ in revisions}:
        now_served = served(polar, org_id, start, end)
        for _, day, slug, previous, value in (r for r in revisions if r[0] == org_id):
            assert value == now_served[(day, slug)], (org_id, day, slug)
            assert previous != value


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_restatements_mart_shows_what_the_latest_refresh_changed_and_marts_carry_fetched_at(
    restated: Restated,
) -> None:
    warehouse: Path = restated.polar.settings().warehouse_path
    report = run_refresh(job_name=DOWNSTREAM_JOB)
    assert report.success, report.failed_steps
    mart = query(
        warehouse,
        "select scope, date, metric, previous_value, value, change "
        "from marts.polar_metric_restatements order by all",
    )
    raw = query(
        warehouse,
        "select organization_id, date, metric_slug, previous_value, value, value - previous_value "
        "from raw.polar_metric_revisions order by all",
    )
    assert mart == raw  # both refreshes' changes are the latest refresh's (the first had none)
    for table in ("polar_metrics_daily", "polar_metrics_daily_all", "polar_period_summary"):
        missing = query(warehouse, f"select count(*) from marts.{table} where fetched_at is null")
        assert missing == [(0,)], table
    # The re-check is weekly: a refresh right after it keeps to the window, and the mart then
    # shows only what that refresh changed (the business moves on meanwhile).
    assert materialize_raw().success
    _, start, end, *_, detail = latest_refresh(warehouse)
    assert '"kind": "window"' in detail and (end - start).days + 1 == WINDOW_DAYS
    assert run_refresh(job_name=DOWNSTREAM_JOB).success
    latest = query(
        warehouse,
        "select organization_id, date, metric_slug from raw.polar_metric_revisions "
        "where fetched_at >= (select max(started_at) from raw.polar_refreshes) order by all",
    )
    shown = query(warehouse, "select scope, date, metric from marts.polar_metric_restatements")
    assert sorted(shown) == latest
