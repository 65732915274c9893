"""Done when: every period summary equals the `totals` Polar (the emulator) returns for the
same organization and dates, metric by metric - integers exactly, floats within 1e-9 relative."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from connectors.polar.catalogue import metrics_by_slug
from tests.dbt.conftest import query
from tests.dbt.dbt_runner import DbtSession
from tests.dbt.emulated_warehouse import EmulatedWarehouse, emulated_warehouse

SCENARIOS = {"default": {}, "single": {}, "empty": {}, "many": {"orgs": 4}}
WARNING = (
    "organizations use different currencies (eur, usd); aggregated values are summed without "
    "conversion — see the per-organization detail"
)


@pytest.fixture(scope="module", params=list(SCENARIOS))
def loaded(
    request: pytest.FixtureRequest,
    dbt_session: DbtSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmulatedWarehouse]:
    """One scenario loaded and built once for the whole module."""
    scenario = request.param
    work_dir = tmp_path_factory.mktemp(f"emulated_{scenario}")
    with emulated_warehouse(dbt_session, work_dir, scenario, **SCENARIOS[scenario]) as built:
        yield built


def polar_totals(loaded: EmulatedWarehouse, scope: str, start: date, end: date) -> dict[str, Any]:
    """What Polar answers for the scope and dates (`all` = every active organization summed)."""
    if scope == "all" and not loaded.organization_ids:
        return {slug: 0 for slug in metrics_by_slug()}  # no organization: nothing to ask Polar
    ids = loaded.organization_ids if scope == "all" else [scope]
    response = loaded.client.get_metrics(
        start_date=start, end_date=end, interval="day", timezone="UTC", organization_ids=ids
    )
    return response.totals


def assert_matches_polar(loaded: EmulatedWarehouse, rows: list[tuple[Any, ...]]) -> int:
    """Compare (scope, start, end, metric, value) rows with Polar's totals; rows compared."""
    by_range: dict[tuple[str, date, date], dict[str, float]] = defaultdict(dict)
    for scope, start, end, metric, value in rows:
        by_range[(scope, start, end)][metric] = value
    for (scope, start, end), values in by_range.items():
        totals = polar_totals(loaded, scope, start, end)
        assert set(values) == set(metrics_by_slug())
        for metric, value in values.items():
            expected, label = totals[metric], f"{loaded.scenario} {scope} {start}..{end} {metric}"
            if scope == "all" and rounding_slack(loaded, metric, start, end):
                assert abs(value - expected) <= rounding_slack(loaded, metric, start, end), label
            elif isinstance(expected, int):
                assert value == expected, label
            else:
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), label
    return len(rows)


def rounding_slack(loaded: EmulatedWarehouse, metric: str, start: date, end: date) -> float:
    """Cents an additive money rollup may differ from Polar's own `all` total by.

    Money computed from sub-cent costs (cashflow, gross margin) is rounded once per organization
    and day in the rollup, but once per day by Polar's server-side sum: half a cent per rounding.
    """
    definition = metrics_by_slug()[metric]
    if definition.org_aggregation != "additive" or definition.unit != "cents":
        return 0.0
    days = (end - start).days + 1 if definition.total_numerator_agg == "sum" else 1
    return 0.5 * (len(loaded.organization_ids) + 1) * days


def compared_scopes(loaded: EmulatedWarehouse) -> list[str]:
    """One organization (the first active one) and the `all` rollup."""
    return loaded.organization_ids[:1] + ["all"]


def test_every_standard_period_equals_polar_totals(loaded: EmulatedWarehouse) -> None:
    rows = query(
        loaded.path,
        "select scope, start_date, end_date, metric, value from marts.polar_period_summary "
        "where scope in (select unnest(?::varchar[]))",
        [compared_scopes(loaded)],
    )
    periods = query(loaded.path, "select distinct period from marts.polar_period_summary")
    assert len(periods) == 6
    assert assert_matches_polar(loaded, rows) == 6 * len(compared_scopes(loaded)) * 55


def test_custom_in_window_ranges_through_the_macro_equal_polar_totals(
    loaded: EmulatedWarehouse,
) -> None:
    today = loaded.today
    ranges = [
        (today - timedelta(days=20), today - timedelta(days=6)),
        (today - timedelta(days=1), today),
    ]
    ranges.append((today - timedelta(days=89), today - timedelta(days=60)))
    for start, end in ranges:
        rows = query(
            loaded.path,
            "select scope, start_date, end_date, metric, value from marts.polar_summary(?, ?) "
            "where scope in (select unnest(?::varchar[]))",
            [start, end, compared_scopes(loaded)],
        )
        assert assert_matches_polar(loaded, rows) == len(compared_scopes(loaded)) * 55


def test_previous_value_equals_polar_totals_of_the_preceding_range(
    loaded: EmulatedWarehouse,
) -> None:
    rows = query(
        loaded.path,
        "select scope, previous_start_date, previous_end_date, metric, previous_value "
        "from marts.polar_period_summary where period = 'last_30_days' and scope = 'all'",
    )
    assert assert_matches_polar(loaded, rows) == 55


def test_currency_check_reflects_the_organizations_currencies(loaded: EmulatedWarehouse) -> None:
    expected = {
        "default": [(2, "eur, usd", True, WARNING)],
        "single": [(1, "usd", False, None)],
        "empty": [(0, None, False, None)],
        "many": [(4, "usd", False, None)],
    }[loaded.scenario]
    assert (
        query(
            loaded.path,
            "select active_organization_count, currencies, currency_mismatch, currency_warning "
            "from marts.polar_currency_check",
        )
        == expected
    )


def test_per_organization_marts_have_one_row_set_per_active_organization(
    loaded: EmulatedWarehouse,
) -> None:
    daily = query(
        loaded.path,
        "select organization_id, count(*) from marts.polar_metrics_daily group by 1 order by 1",
    )
    assert daily == [(org_id, 90) for org_id in sorted(loaded.organization_ids)]
    scopes = query(loaded.path, "select distinct scope from marts.polar_period_summary order by 1")
    assert scopes == sorted([(org_id,) for org_id in loaded.organization_ids] + [("all",)])
    rollup_days = query(loaded.path, "select count(*) from marts.polar_metrics_daily_all")
    assert rollup_days == [(90,)]


def test_all_scope_is_zero_exactly_when_there_is_no_organization(
    loaded: EmulatedWarehouse,
) -> None:
    nonzero = query(
        loaded.path,
        "select count(*) from marts.polar_period_summary where scope = 'all' and value <> 0",
    )[0][0]
    assert (nonzero == 0) == (not loaded.organization_ids)
