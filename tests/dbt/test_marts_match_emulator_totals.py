"""Done when: every period summary equals the `totals` Polar (the emulator) returns for the
same scope and dates, metric by metric, in every reporting timezone.

The warehouse is filled the product's way (emulator over loopback, OAuth, the real extraction,
the real `dbt build`, tests/dbt/emulated_warehouse.py), once per scenario x timezone, and every
value of `marts.polar_period_summary` - each organization and the `all` rollup, each standard
period, each of the 55 metrics - is compared with Polar's answer for the same dates in the same
timezone. Integers (cents, counts) must be equal; floats (ratios, sub-cent costs) within
FLOAT_RELATIVE_TOLERANCE.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from connectors.polar.catalogue import metrics_by_slug
from tests.dbt.conftest import query
from tests.dbt.dbt_runner import DbtSession
from tests.dbt.emulated_warehouse import EmulatedWarehouse, emulated_warehouse

pytestmark = pytest.mark.slow  # eight emulated warehouses: 70-90 s on two cores

SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "single": {},
    "empty": {},
    "many": {"orgs": 4},
}
# UTC, a negative offset (-8/-7 h, with daylight saving) and a half-hour offset (+5:30).
TIMEZONES = ("UTC", "America/Los_Angeles", "Asia/Kolkata")
# The multi-organization scenarios in every timezone; the others in UTC.
CASES = [(scenario, tz) for scenario in ("default", "many") for tz in TIMEZONES] + [
    ("single", "UTC"),
    ("empty", "UTC"),
]
PERIODS = 6
# Floats are Polar's ratios (Σ/Σ) and sub-cent costs: a sum of up to 90 doubles, in another order
# than Polar's, differs from it by at most ~100 ulp (~1e-14 relative); 1e-9 is far above that
# noise and far below any real difference (a thousandth of a cent on $1,000).
FLOAT_RELATIVE_TOLERANCE = 1e-9
WARNING = (
    "organizations use different currencies (eur, usd); Polar converts every sale into US "
    "dollars, its settlement currency, at the sale's own rate, so the totals are USD — see the "
    "per-organization detail"
)


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-{tz}" for s, tz in CASES])
def loaded(
    request: pytest.FixtureRequest,
    dbt_session: DbtSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmulatedWarehouse]:
    """One scenario loaded in one reporting timezone and built once for the whole module."""
    scenario, timezone = request.param
    work_dir = tmp_path_factory.mktemp(f"emulated_{scenario}")
    with emulated_warehouse(
        dbt_session, work_dir, scenario, timezone, **SCENARIOS[scenario]
    ) as built:
        yield built


def polar_totals(loaded: EmulatedWarehouse, scope: str, start: date, end: date) -> dict[str, Any]:
    """What Polar answers for the scope and dates (`all` = every active organization summed)."""
    if scope == "all" and not loaded.organization_ids:
        return {slug: 0 for slug in metrics_by_slug()}  # no organization: nothing to ask Polar
    ids = loaded.organization_ids if scope == "all" else [scope]
    response = loaded.client.get_metrics(
        start_date=start,
        end_date=end,
        interval="day",
        timezone=loaded.timezone,
        organization_ids=ids,
    )
    return response.totals


def differences_from_polar(
    loaded: EmulatedWarehouse, rows: list[tuple[Any, ...]]
) -> tuple[int, list[str]]:
    """Compare (scope, period, start, end, metric, value) rows with Polar's totals.

    Returns how many values were compared and one line per value that differs. Periods are
    compared separately even when two cover the same dates (month to date on the 1st is today).
    """
    by_period: dict[tuple[str, str, date, date], dict[str, float]] = defaultdict(dict)
    for scope, period, start, end, metric, value in rows:
        by_period[(scope, period, start, end)][metric] = value
    answers: dict[tuple[str, date, date], dict[str, Any]] = {}
    compared, differences = 0, []
    for (scope, period, start, end), values in by_period.items():
        if (scope, start, end) not in answers:
            answers[(scope, start, end)] = polar_totals(loaded, scope, start, end)
        totals = answers[(scope, start, end)]
        assert set(values) == set(metrics_by_slug()), (scope, period)
        for metric, value in values.items():
            expected = totals[metric]
            compared += 1
            if not equals_polar(value, expected):
                differences.append(
                    f"{loaded.scenario} {loaded.timezone} {scope} {period} {start}..{end} "
                    f"{metric}: ours {value!r}, Polar {expected!r}"
                )
    return compared, differences


def equals_polar(value: float | None, expected: int | float) -> bool:
    """Integers exactly; floats within FLOAT_RELATIVE_TOLERANCE (1e-12 absolute near zero)."""
    if value is None:
        return False
    if isinstance(expected, int):
        return value == expected
    return value == pytest.approx(expected, rel=FLOAT_RELATIVE_TOLERANCE, abs=1e-12)


def every_scope(loaded: EmulatedWarehouse) -> list[str]:
    """Each active organization and the `all` rollup."""
    return [*loaded.organization_ids, "all"]


def test_every_period_of_every_scope_equals_polar_totals(loaded: EmulatedWarehouse) -> None:
    rows = query(
        loaded.path,
        "select scope, period, start_date, end_date, metric, value from marts.polar_period_summary",
    )
    periods = query(loaded.path, "select distinct period from marts.polar_period_summary")
    assert len(periods) == PERIODS
    compared, differences = differences_from_polar(loaded, rows)
    assert not differences, f"{len(differences)} of {compared} differ:\n" + "\n".join(differences)
    assert compared == PERIODS * len(every_scope(loaded)) * len(metrics_by_slug())


def test_custom_in_window_ranges_through_the_macro_equal_polar_totals(
    loaded: EmulatedWarehouse,
) -> None:
    today = loaded.today
    ranges = [
        (today - timedelta(days=20), today - timedelta(days=6)),
        (today - timedelta(days=1), today),
        (today - timedelta(days=89), today - timedelta(days=60)),
    ]
    for start, end in ranges:
        rows = query(
            loaded.path,
            "select scope, period, start_date, end_date, metric, value "
            "from marts.polar_summary(?, ?)",
            [start, end],
        )
        compared, differences = differences_from_polar(loaded, rows)
        assert not differences, "\n".join(differences)
        assert compared == len(every_scope(loaded)) * len(metrics_by_slug())


def test_previous_value_equals_polar_totals_of_the_preceding_range(
    loaded: EmulatedWarehouse,
) -> None:
    rows = query(
        loaded.path,
        "select scope, period, previous_start_date, previous_end_date, metric, previous_value "
        "from marts.polar_period_summary where period = 'last_30_days'",
    )
    compared, differences = differences_from_polar(loaded, rows)
    assert not differences, "\n".join(differences)
    assert compared == len(every_scope(loaded)) * len(metrics_by_slug())


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


def test_the_rollup_check_passes_as_an_error_level_test_on_the_emulator(
    loaded: EmulatedWarehouse,
) -> None:
    """On an emulator connection every difference from Polar's `all` series would be an ERROR."""
    assert loaded.build.statuses["assert_rollup_agrees_with_polar_all_series"] == "pass"
