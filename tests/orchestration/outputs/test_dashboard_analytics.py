"""The dashboard's subscription analytics: MRR movements chart, cohort heatmap, trial figure.

The page `polar-metrics demo` wrote (the real pipeline on the emulator's demo business, built
once per session) is opened in headless Chromium; every bar, cell and label is compared with the
mart rows it comes from. The empty states use a fixture warehouse without subscriptions.
"""

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.outputs.analytics import MonthMovements
from orchestration.outputs.dashboard.analytics_sections import MOVEMENT_STYLE, month_label
from orchestration.outputs.dashboard.data import load_dashboard_data
from orchestration.outputs.dashboard.render import render_dashboard, write_dashboard
from tests.orchestration.outputs.conftest import (
    ARTIFACTS,
    FIXTURE_TODAY,
    DemoBusiness,
    displayed_number,
)
from tests.orchestration.outputs.fixture_warehouse import build_fixture_warehouse
from tests.orchestration.outputs.test_dashboard_browser import opened
from tests.orchestration.outputs.test_dashboard_render import dashboard_data

CONNECTION = "default"
SLOW = pytest.mark.slow  # needs the demo build (~2.5 min once per session); each test < 5 s


def mart(warehouse: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def warehouse(demo_business: DemoBusiness) -> Path:
    return demo_business.warehouse


@pytest.fixture(scope="module")
def page_path(demo_business: DemoBusiness) -> Path:
    """The page the demo's refresh wrote with the dashboard asset."""
    return demo_business.dashboard


def rgb(color: str) -> tuple[int, int, int]:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def test_gains_are_green_and_losses_red_below_zero() -> None:
    month = MonthMovements(date(2026, 10, 1), date(2026, 10, 31), False, 1000, 500, 200, 100, -50,
                           -300, 0, 1450, 450)  # fmt: skip
    page = render_dashboard(dashboard_data(movements=[month]))
    bars = re.findall(r'data-series="(\w+)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" '
                      r'height="([\d.]+)" fill="(#\w+)"', page)  # fmt: skip
    assert {series for series, *_ in bars} == set(MOVEMENT_STYLE)
    zero = max(float(y) + float(h) for series, y, h, _ in bars if series == "new")
    for series, y, height, fill in bars:
        red, green, _ = rgb(fill)
        if series in ("contraction", "churn"):
            assert red > green and float(y) >= zero - 0.2, (series, fill)  # red, hangs down
        else:
            assert green > red and float(y) + float(height) <= zero + 0.2, (series, fill)


def test_every_figure_has_an_empty_state_without_subscriptions() -> None:
    page = render_dashboard(dashboard_data())
    for testid in ("chart-movements-empty", "chart-trials-empty", "cohort-heatmap-empty"):
        assert f'data-testid="{testid}"' in page
    assert "No subscriptions yet" in page and 'data-testid="bar-' not in page


@SLOW
@pytest.mark.browser
def test_movements_chart_has_five_bars_and_a_point_per_mart_month(
    browser: Any, warehouse: Path, page_path: Path
) -> None:
    months = mart(
        warehouse,
        "select * from (select * from marts.polar_mrr_summary where organization_id = 'all' "
        "order by month desc limit 13) order by month",
    )
    with opened(browser, page_path) as (page, requests):
        chart = page.get_by_test_id("chart-movements")
        assert chart.locator("[data-testid=bar-movements]").count() == 5 * len(months)
        assert chart.locator("[data-testid=point-movements]").count() == len(months)
        labels = chart.locator("svg text").all_text_contents()
        for row in months:
            assert month_label(row["month"], row["is_partial_month"]) in labels
        churn = chart.locator(
            f"[data-testid=bar-movements][data-band='{month_label(months[-2]['month'])}']"
            "[data-series=churn] title"
        ).text_content()
        shown = churn.split(": ")[1]  # a loss reads negative: `-$377.00`
        assert shown.startswith("-$") or not months[-2]["churn_mrr"]
        assert displayed_number(shown) == pytest.approx(-months[-2]["churn_mrr"] / 100, abs=0.005)
        latest = months[-2]  # the last complete month
        nrr = page.get_by_test_id("movements-nrr").inner_text()
        assert displayed_number(nrr) == pytest.approx(
            latest["net_revenue_retention"] * 100, abs=0.05
        )
        label = chart.locator("svg").get_attribute("aria-label")
        assert month_label(latest["month"]) in label and "net new MRR" in label
        chart.screenshot(path=str(ARTIFACTS / "dashboard-movements.png"))
        assert requests == [page_path.as_uri()]


@SLOW
@pytest.mark.browser
def test_cohort_heatmap_has_a_cell_per_mart_row(
    browser: Any, warehouse: Path, page_path: Path
) -> None:
    rows = mart(  # the mart's `all` rows: the organizations' cohorts together
        warehouse,
        "select cohort_month, months_since_start, cohort_customers, retained_customers "
        "from marts.polar_cohort_retention where organization_id = 'all' "
        "and cohort_month >= (select max(cohort_month) from marts.polar_cohort_retention) "
        "- interval 12 month and months_since_start <= 12",
    )
    with opened(browser, page_path) as (page, _):
        cells = page.locator("[data-testid=cohort-cell]")
        assert cells.count() == len(rows)
        row = max(rows, key=lambda r: (r["months_since_start"], r["cohort_month"]))
        cell = page.locator(
            f"[data-testid=cohort-cell][data-cohort='{row['cohort_month']:%Y-%m}']"
            f"[data-month='{row['months_since_start']}']"
        )
        share = row["retained_customers"] / row["cohort_customers"] * 100
        assert displayed_number(cell.inner_text()) == pytest.approx(share, abs=0.05)
        assert f"{row['retained_customers']} of {row['cohort_customers']}" in (
            cell.get_attribute("aria-label")
        )
        page.get_by_test_id("cohort-heatmap").screenshot(
            path=str(ARTIFACTS / "dashboard-cohorts.png")
        )


@SLOW
@pytest.mark.browser
def test_trial_figure_stacks_each_month_s_trials_and_states_the_conversion(
    browser: Any, warehouse: Path, page_path: Path
) -> None:
    rows = mart(  # the mart's `all` rows: the organizations' trials together
        warehouse,
        "select period_start, trials_started as started, converted, still_trialing "
        "from marts.polar_trial_conversion where period = 'month' and organization_id = 'all' "
        "order by period_start desc limit 13",
    )[::-1]
    with opened(browser, page_path) as (page, _):
        figure = page.get_by_test_id("chart-trials")
        assert figure.locator("[data-testid=bar-trials]").count() == 4 * len(rows)
        headline = page.get_by_test_id("trials-headline").inner_text()
        converted, started = (sum(r[k] for r in rows) for k in ("converted", "started"))
        assert f"{converted:,} of {started:,} trials" in headline
        latest = rows[-2]  # the last complete month: its trials are decided
        rate = latest["converted"] / (latest["started"] - latest["still_trialing"])
        shown = re.search(r"conversion rate ([\d.]+) %", headline)
        assert shown and float(shown.group(1)) == pytest.approx(rate * 100, abs=0.05)


@pytest.mark.browser
def test_organizations_without_subscriptions_see_the_empty_states(
    browser: Any, tmp_path: Path
) -> None:
    path = build_fixture_warehouse(tmp_path / "w.duckdb", "single", FIXTURE_TODAY)
    with duckdb.connect(str(path)) as con:
        for table in ("mrr_movements", "mrr_summary", "cohort_retention", "trial_conversion"):
            con.execute(f"delete from marts.polar_{table}")
        data = load_dashboard_data(con, CONNECTION)
    page_path = write_dashboard(data, tmp_path / "page.html")
    with opened(browser, page_path) as (page, _):
        for testid in ("chart-movements-empty", "chart-trials-empty", "cohort-heatmap-empty"):
            assert page.get_by_test_id(testid).is_visible()
        assert page.locator("[data-testid^=bar-]").count() == 0
