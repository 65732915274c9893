"""A warehouse that breaks Polar's invariants makes the real `dbt build` fail, naming the test."""

import shutil
from pathlib import Path

import duckdb

from orchestration.defs.dbt.project import BUILD_ARGS
from tests.dbt.conftest import BuiltWarehouse
from tests.dbt.dbt_runner import WAREHOUSE_FILE_NAME, DbtSession
from tests.dbt.raw_fixture import CONNECTION, TODAY, create_raw_warehouse, polar_all_value

ROLLUP_CHECK = "assert_rollup_agrees_with_polar_all_series"
BREAKS = [
    # ARR no longer 12 x MRR on one organization day.
    "update raw.polar_metrics set value = value + 1 where organization_id = 'org-usd' "
    "and metric_slug = 'annual_recurring_revenue' and date = ?",
    # Polar's server-side series disagrees with the rollup: an error on an emulator connection.
    "update raw.polar_metrics set value = value + 100 where organization_id = 'all' "
    "and metric_slug = 'revenue' and date = ?",
    # Net revenue above revenue: only a warning.
    "update raw.polar_metrics set value = 10 ^ 9 where organization_id = 'org-eur' "
    "and metric_slug = 'net_revenue' and date = ?",
]
# A product synced without its creation time, which the products mart requires (with five
# other columns, in one `not_null_columns` test).
NULL_CREATED_AT = (
    f"insert into raw.polar_products (connection_name, organization_id, id, fetched_at) "
    f"values ('{CONNECTION}', 'org-usd', 'product-without-created-at', ?)"
)
PRODUCTS_NOT_NULL = (
    "not_null_columns_polar_products_"
    "connection_name__organization_id__product_id__created_at__is_archived__is_deleted"
)


def test_broken_invariants_fail_dbt_build_and_name_the_failing_tests(
    dbt_session: DbtSession, tmp_path: Path
) -> None:
    warehouse = tmp_path / WAREHOUSE_FILE_NAME
    create_raw_warehouse(warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        for statement in [*BREAKS, NULL_CREATED_AT]:
            connection.execute(statement, [TODAY])

    outcome = dbt_session.invoke(BUILD_ARGS, warehouse, tmp_path)

    assert not outcome.success
    # One required column of the products mart is null in some row: one failing row (that column).
    assert outcome.statuses[PRODUCTS_NOT_NULL] == "fail"
    assert outcome.messages[PRODUCTS_NOT_NULL].startswith("Got 1 result")
    assert outcome.statuses["assert_arr_is_twelve_times_mrr"] == "fail"
    assert outcome.statuses[ROLLUP_CHECK] == "fail"  # severity error: the fixture is an emulator
    assert outcome.statuses["assert_net_revenue_at_most_revenue"] == "warn"
    # Everything else still built and passed: one broken invariant does not hide the others.
    assert outcome.statuses["assert_committed_mrr_at_most_mrr"] == "pass"
    assert outcome.statuses["polar_period_summary"] == "success"


def test_on_live_polar_a_rollup_difference_warns_by_default_and_follows_the_dbt_vars(
    dbt_session: DbtSession, tmp_path: Path
) -> None:
    """Live data move between the per-organization and `all` calls: severity and tolerance are
    the vars `polar_all_series_live_severity` / `polar_all_series_live_tolerance`."""
    warehouse = tmp_path / WAREHOUSE_FILE_NAME
    series = create_raw_warehouse(warehouse)
    revenue = polar_all_value(series, "revenue", TODAY)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("update raw.polar_connections set environment = 'production'")
        connection.execute(BREAKS[1], [TODAY])  # Polar's `all` revenue 100 cents above the sum
    relative = 100 / (revenue + 100)
    assert 0.01 < relative < 0.05

    # The check and the models it reads, built and tested (cautious: no test that also reads
    # a model left out), not the whole project.
    selection = ["--select", f"+{ROLLUP_CHECK}", "--indirect-selection", "cautious"]
    built = dbt_session.invoke([*BUILD_ARGS, *selection], warehouse, tmp_path)

    assert built.success
    assert built.statuses[ROLLUP_CHECK] == "warn"
    assert built.messages[ROLLUP_CHECK].startswith("Got 1 result")  # the one broken day

    def check(dbt_vars: str) -> tuple[str, str]:
        outcome = dbt_session.invoke(
            ["test", "--select", ROLLUP_CHECK, "--vars", dbt_vars], warehouse, tmp_path
        )
        return outcome.statuses[ROLLUP_CHECK], outcome.messages[ROLLUP_CHECK]

    assert check("{polar_all_series_live_severity: error}")[0] == "fail"
    assert check("{polar_all_series_live_tolerance: 0.01}")[0] == "warn"
    assert check("{polar_all_series_live_tolerance: 0.05}")[0] == "pass"
    status, message = check("{polar_all_series_live_severity: loud}")
    assert status == "error" and "polar_all_series_live_severity" in message


GRAIN_TEST = "unique_combination_polar_period_summary_connection_name__scope__period__metric"


def test_a_repeated_row_fails_the_grain_test_with_the_repeated_key_only(
    dbt_session: DbtSession, synthetic_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    """The grain test groups rows by a hash first, then by the columns: one repeated row is
    reported once, as one key with its two rows; rows that merely share some columns are not."""
    warehouse = tmp_path / WAREHOUSE_FILE_NAME
    shutil.copyfile(synthetic_warehouse.path, warehouse)
    selection = ["test", "--select", GRAIN_TEST]
    assert dbt_session.invoke(selection, warehouse, tmp_path).statuses[GRAIN_TEST] == "pass"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "insert into marts.polar_period_summary select * from marts.polar_period_summary "
            "where period = 'today' and metric = 'revenue' and scope = 'all'"
        )
    outcome = dbt_session.invoke(selection, warehouse, tmp_path)
    assert outcome.statuses[GRAIN_TEST] == "fail"
    assert outcome.messages[GRAIN_TEST].startswith("Got 1 result"), outcome.messages
