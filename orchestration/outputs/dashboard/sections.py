"""The page's sections: period switcher, metric cards, daily charts, per-organization table.

Strings from data are escaped with `html.escape`; values are placed by the page's script with
`textContent`, so nothing from Polar is ever parsed as markup.
"""

import html

from orchestration.outputs.dashboard.charts import Series, line_chart
from orchestration.outputs.dashboard.data import DashboardData
from orchestration.outputs.formatting import MISSING, SETTLEMENT_CURRENCY
from orchestration.outputs.periods import DEFAULT_PERIOD as DEFAULT_KEY
from orchestration.outputs.periods import PERIOD_LABELS, PERIODS

CORE_CARDS = (
    ("monthly_recurring_revenue", "MRR"),
    ("revenue", "Revenue"),
    ("net_revenue", "Net Revenue"),
    ("active_subscriptions", "Active Subscriptions"),
    ("new_subscriptions", "New Subscriptions"),
    ("churned_subscriptions", "Churned Subscriptions"),
    ("trial_monthly_recurring_revenue", "Trial MRR"),
    ("average_revenue_per_user", "ARPU"),
)
POLAR_CARDS = (
    ("cumulative_revenue", "Cumulative Revenue"),
    ("checkouts_conversion", "Checkout Conversion"),
    ("orders", "Orders"),
    ("renewed_subscriptions", "Renewed Subscriptions"),
    ("canceled_subscriptions", "Canceled Subscriptions"),
    ("one_time_products", "One-time Products"),
    ("one_time_products_revenue", "One-time Products Revenue"),
)
# Switcher key (also the CLI's --period name) -> (mart period, button label).
# The switcher's buttons: short name -> (mart period, label).
SWITCHER = {key: (PERIODS[key], PERIOD_LABELS[PERIODS[key]]) for key in ("7d", "30d", "90d", "mtd")}
DEFAULT_PERIOD = PERIODS[DEFAULT_KEY]
ORG_TABLE_METRICS = (
    ("monthly_recurring_revenue", "MRR"),
    ("revenue", "Revenue"),
    ("net_revenue", "Net Revenue"),
    ("active_subscriptions", "Active Subscriptions"),
    ("orders", "Orders"),
)


def switcher() -> str:
    """The period buttons (aria-pressed) and the line naming the selected dates."""
    buttons = "".join(
        f'<button type="button" data-period="{period}" data-testid="period-{key}" '
        f'aria-pressed="{str(period == DEFAULT_PERIOD).lower()}">{label}</button>'
        for key, (period, label) in SWITCHER.items()
    )
    return (
        '<nav class="switcher" aria-label="Period">'
        '<span id="period-heading">Period:</span>'
        '<div role="group" aria-labelledby="period-heading"'
        f' style="display:flex;gap:8px;flex-wrap:wrap">{buttons}</div></nav>'
        '<p id="period-range" aria-live="polite" data-testid="period-range"></p>'
    )


def cards_sections(data: DashboardData) -> str:
    """The core cards and the Polar-specific cards, for the all-organizations scope."""
    return _card_section("core", "Revenue and subscriptions", CORE_CARDS, data) + _card_section(
        "polar", "Polar details", POLAR_CARDS, data
    )


def _card_section(
    key: str, title: str, cards: tuple[tuple[str, str], ...], data: DashboardData
) -> str:
    items = "".join(_card(metric, label, data) for metric, label in cards)
    return (
        f'<section aria-labelledby="cards-{key}"><h2 class="section" id="cards-{key}">'
        f"{title} — <span data-period-name>selected period</span></h2>"
        f'<ul class="cards">{items}</ul></section>'
    )


def _card(metric: str, label: str, data: DashboardData) -> str:
    values = data.values.get("all", {})
    today = values.get("today", {}).get(metric)
    yesterday = values.get("yesterday", {}).get(metric)
    return (
        f'<li class="card" data-card="{metric}" data-testid="card-{metric}" '
        f'aria-labelledby="label-{metric}"><h3 id="label-{metric}">{label}</h3>'
        f'<p class="value" data-testid="value-{metric}">{MISSING}</p>'
        f'<p class="change none" data-testid="change-{metric}"></p><dl>'
        f'<dt>Previous</dt><dd class="previous" data-testid="previous-{metric}">{MISSING}</dd>'
        f"<dt>{html.escape(data.today_label.capitalize())}</dt>"
        f'<dd data-testid="today-{metric}">{_day_text(today)}</dd>'
        f'<dt>Yesterday</dt><dd data-testid="yesterday-{metric}">{_day_text(yesterday)}</dd>'
        "</dl></li>"
    )


def _day_text(cell: dict | None) -> str:
    if not cell:
        return MISSING
    return (
        f"{html.escape(cell['text'])} "
        f'<small class="change {cell.get("tone", "none")}">({html.escape(cell["change"])})</small>'
    )


def charts(data: DashboardData) -> str:
    """Daily charts over the cached window: revenue, MRR, subscriptions."""
    dates = [row["date"] for row in data.daily]
    currency = SETTLEMENT_CURRENCY

    def column(metric: str) -> list:
        return [row.get(metric) for row in data.daily]

    charts = (
        ("revenue", "Daily revenue and net revenue", [
            Series("revenue", "Revenue", "#0b57d0", column("revenue")),
            Series("net_revenue", "Net revenue", "#b35c00", column("net_revenue")),
        ]),
        ("mrr", "Monthly recurring revenue", [
            Series("monthly_recurring_revenue", "MRR", "#0a6b2f",
                   column("monthly_recurring_revenue")),
        ]),
        ("active", "Active subscriptions", [
            Series("active_subscriptions", "Active", "#5b2a86", column("active_subscriptions")),
        ]),
        ("subscriptions", "New and churned subscriptions", [
            Series("new_subscriptions", "New", "#0b57d0", column("new_subscriptions")),
            Series("churned_subscriptions", "Churned", "#a3001b", column("churned_subscriptions")),
        ]),
    )  # fmt: skip
    figures = "".join(
        line_chart(key, title, dates, series, currency) for key, title, series in charts
    )
    return (
        '<section aria-labelledby="charts-title"><h2 class="section" id="charts-title">'
        f'Daily, last {len(dates)} days</h2><div class="charts">{figures}</div></section>'
    )


def organization_table(data: DashboardData) -> str:
    """Key metrics per active organization (shown when more than one is active)."""
    head = "".join(f'<th scope="col">{label}</th>' for _, label in ORG_TABLE_METRICS)
    rows = []
    for org in data.active_organizations:
        org_id = html.escape(org["id"])
        cells = "".join(
            f'<td data-org="{org_id}" data-metric="{metric}" '
            f'data-testid="org-{org_id}-{metric}">{MISSING}</td>'
            for metric, _ in ORG_TABLE_METRICS
        )
        rows.append(
            f'<tr data-testid="org-row-{org_id}"><th scope="row">{html.escape(org["name"])}</th>'
            f"<td>{html.escape(org['currency'].upper())}</td>{cells}</tr>"
        )
    return (
        '<section aria-labelledby="orgs-title" data-testid="organization-table">'
        '<h2 class="section" id="orgs-title">Per organization</h2><div class="table-wrap">'
        '<table><caption class="skip">Key metrics per organization for the selected period'
        '</caption><thead><tr><th scope="col">Organization</th>'
        '<th scope="col">Presentment currency</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )
