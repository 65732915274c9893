"""A warehouse that breaks Polar's invariants makes the real `dbt build` fail, naming the test."""

from pathlib import Path

import duckdb

from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtSession
from tests.dbt.raw_fixture import TODAY, create_raw_warehouse

BREAKS = [
    # ARR no longer 12 x MRR on one organization day.
    "update raw.polar_metrics set value = value + 1 where organization_id = 'org-usd' "
    "and metric_slug = 'annual_recurring_revenue' and date = ?",
    # Polar's server-side series disagrees with the sum of organizations: a warning (live data).
    "update raw.polar_metrics set value = value + 100 where organization_id = 'all' "
    "and metric_slug = 'revenue' and date = ?",
    # Net revenue above revenue: only a warning.
    "update raw.polar_metrics set value = 10 ^ 9 where organization_id = 'org-eur' "
    "and metric_slug = 'net_revenue' and date = ?",
]


def test_broken_invariants_fail_dbt_build_and_name_the_failing_tests(
    dbt_session: DbtSession, tmp_path: Path
) -> None:
    warehouse = tmp_path / WAREHOUSE_FILE_NAME
    create_raw_warehouse(warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        for statement in BREAKS:
            connection.execute(statement, [TODAY])

    outcome = dbt_session.invoke(["build"], warehouse, tmp_path)

    assert not outcome.success
    assert outcome.statuses["assert_arr_is_twelve_times_mrr"] == "fail"
    assert outcome.statuses["assert_rollup_agrees_with_polar_all_series"] == "warn"
    assert outcome.statuses["assert_net_revenue_at_most_revenue"] == "warn"
    # Everything else still built and passed: one broken invariant does not hide the others.
    assert outcome.statuses["assert_committed_mrr_at_most_mrr"] == "pass"
    assert outcome.statuses["polar_period_summary"] == "success"
