"""The marts built by the real dbt on synthetic raw data, checked against Python's reference.

`connectors.polar.catalogue.MetricDefinition.total` is the reference for Polar's `totals`.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.polar.catalogue import MetricDefinition, metrics_by_slug
from tests.dbt.conftest import BuiltWarehouse, query
from tests.dbt.raw_fixture import TODAY, DailyValues, window_days

PERIOD_STARTS = {
    "today": TODAY,
    "yesterday": TODAY - timedelta(days=1),
    "last_7_days": TODAY - timedelta(days=6),
    "last_30_days": TODAY - timedelta(days=29),
    "last_90_days": TODAY - timedelta(days=89),
    "month_to_date": TODAY.replace(day=1),
}


def reference_total(
    built: BuiltWarehouse, metric: MetricDefinition, scope: str, start: date, end: date
) -> int | float:
    """Polar's total for the scope and range, computed in Python from the daily series."""
    days = window_days()
    if scope == "all" and metric.org_aggregation != "polar_all":
        organizations = [values for key, values in built.series.items() if key != "all"]
        series = [
            {slug: sum(org[index][slug] for org in organizations) for slug in org_day}
            for index, org_day in enumerate(organizations[0])
        ]
    else:
        series = built.series[scope]
    periods: list[DailyValues] = [v for d, v in zip(days, series, strict=True) if start <= d <= end]
    return metric.total(periods)


def assert_close(actual: float, expected: float, label: str) -> None:
    """Integers exactly, floats within 1e-9 relative."""
    if isinstance(expected, int):
        assert actual == expected, label
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), label


def test_period_summary_equals_polar_totals_for_every_scope_period_and_metric(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    rows = query(
        synthetic_warehouse.path,
        "select scope, period, start_date, end_date, metric, value, previous_value, is_partial "
        "from marts.polar_period_summary",
    )
    catalogue = metrics_by_slug()
    assert len(rows) == 3 * len(PERIOD_STARTS) * len(catalogue)  # 2 organizations + all
    for scope, period, start, end, slug, value, previous, is_partial in rows:
        label = f"{scope} {period} {slug}"
        assert (start, end) == (
            PERIOD_STARTS[period],
            TODAY - timedelta(days=period == "yesterday"),
        )
        assert is_partial == (period != "yesterday"), label
        metric = catalogue[slug]
        assert_close(value, reference_total(synthetic_warehouse, metric, scope, start, end), label)
        length = (end - start).days + 1
        previous_start = start - timedelta(days=length)
        if previous_start < window_days()[0]:
            assert previous is None, label
        else:
            expected = reference_total(
                synthetic_warehouse, metric, scope, previous_start, start - timedelta(days=1)
            )
            assert_close(previous, expected, f"previous {label}")


def test_summary_macro_answers_custom_ranges_with_the_same_rules(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    catalogue = metrics_by_slug()
    for start, end in [
        (date(2026, 2, 3), date(2026, 2, 17)),
        (date(2025, 12, 16), date(2025, 12, 20)),
    ]:
        rows = query(
            synthetic_warehouse.path,
            "select scope, metric, value, previous_value, period, start_date, end_date "
            "from marts.polar_summary(?, ?)",
            [start, end],
        )
        assert len(rows) == 3 * len(catalogue)
        for scope, slug, value, previous, period, row_start, row_end in rows:
            assert (period, row_start, row_end) == ("custom", start, end)
            expected = reference_total(synthetic_warehouse, catalogue[slug], scope, start, end)
            assert_close(value, expected, f"{scope} {slug} {start}..{end}")
            if start == window_days()[0]:
                assert previous is None  # the preceding range is not in the warehouse


def test_currency_check_names_both_currencies_of_active_organizations(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    assert query(synthetic_warehouse.path, "select * from marts.polar_currency_check") == [
        (
            "default",
            2,
            "eur, usd",
            True,
            "organizations use different currencies (eur, usd); Polar converts every sale into "
            "US dollars, its settlement currency, at the sale's own rate, so the totals are USD "
            "— see the per-organization detail",
        )
    ]


def test_daily_marts_type_whole_units_as_bigint_and_fractions_as_double(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    types = dict(
        query(
            synthetic_warehouse.path,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'polar_metrics_daily'",
        )
    )
    for slug, metric in metrics_by_slug().items():
        expected = "BIGINT" if metric.unit in ("count", "cents") else "DOUBLE"
        assert types[slug] == expected, slug


def test_blocked_organization_is_listed_but_not_in_the_daily_marts(
    synthetic_warehouse: BuiltWarehouse,
) -> None:
    listed = query(
        synthetic_warehouse.path,
        "select organization_id, is_queried from marts.polar_organizations order by 1",
    )
    assert listed == [("org-blocked", False), ("org-eur", True), ("org-usd", True)]
    daily = query(
        synthetic_warehouse.path,
        "select organization_id, count(*) from marts.polar_metrics_daily group by 1 order by 1",
    )
    assert daily == [("org-eur", 90), ("org-usd", 90)]
    rollup = query(
        synthetic_warehouse.path,
        "select count(*), min(organization_count), bool_and(currency_mismatch), "
        "count(*) filter (where is_partial_day) from marts.polar_metrics_daily_all",
    )
    assert rollup == [(90, 2, True, 1)]


def test_summary_macro_works_in_the_serving_copy_that_holds_only_the_marts(
    synthetic_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    from orchestration.warehouse.serving import publish_serving_copy

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_warehouse.path, warehouse)
    published = publish_serving_copy(warehouse, tmp_path / "serving.duckdb")
    sql = "select scope, metric, value, previous_value from marts.polar_summary(?, ?) order by 1, 2"
    dates = [date(2026, 2, 3), date(2026, 2, 17)]

    assert "marts.polar_summary" in published.macros
    assert query(published.path, sql, dates) == query(synthetic_warehouse.path, sql, dates)
