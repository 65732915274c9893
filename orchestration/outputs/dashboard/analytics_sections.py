"""The subscription analytics on the page: MRR movements, cohort retention, trial conversion.

Gains are green and losses red; every number is formatted through
orchestration.outputs.formatting and every string is escaped. With no subscription yet, each
figure says so instead of drawing empty axes.
"""

import html
from collections.abc import Sequence
from datetime import date

from orchestration.outputs.analytics import LOSSES, CohortCell, MonthMovements, TrialMonth
from orchestration.outputs.dashboard.bar_charts import BarLine, BarSeries, stacked_bar_chart
from orchestration.outputs.dashboard.data import DashboardData
from orchestration.outputs.formatting import (
    MISSING,
    SETTLEMENT_CURRENCY,
    format_compact,
    format_money,
    format_ratio_percent,
)

MRR_SLUG = "monthly_recurring_revenue"  # axis labels in dollars, like the MRR line chart
# Movement -> (label, colour): greens for what grows MRR, reds for what shrinks it.
MOVEMENT_STYLE = {
    "new": ("New", "#0a6b2f"),
    "expansion": ("Expansion", "#1e8e3e"),
    "reactivation": ("Reactivation", "#4d7c0f"),
    "contraction": ("Contraction", "#d9480f"),
    "churn": ("Churn", "#a3001b"),
}
NET_NEW_STYLE = ("Net new MRR", "#1b1f24")
TRIAL_STYLE = {
    "converted": ("Converted", "#0a6b2f"),
    "still_trialing": ("Still trialing", "#5b6b7f"),
    "payment_failed": ("First payment failed", "#d9480f"),
    "canceled_during_trial": ("Canceled during the trial", "#a3001b"),
}
NO_SUBSCRIPTIONS = (
    "No subscriptions yet: this appears after the first subscription is synced "
    "(<code>polar-metrics refresh</code>)."
)


def analytics_section(data: DashboardData) -> str:
    """The three figures under one heading."""
    figures = movements_figure(data.movements) + trials_figure(data.trials)
    return (
        '<section aria-labelledby="analytics-title"><h2 class="section" id="analytics-title">'
        f'Subscriptions, month by month</h2><div class="charts">{figures}</div>'
        f"{cohort_heatmap(data.cohorts)}</section>"
    )


def month_label(month: date, is_partial: bool = False) -> str:
    """`Nov 26`, with a star for the current, partial month."""
    return month.strftime("%b %y") + ("*" if is_partial else "")


def _money(cents: float) -> str:
    return format_money(cents, SETTLEMENT_CURRENCY)


def _empty(testid: str, title: str) -> str:
    return (
        f'<figure data-testid="{testid}" aria-labelledby="{testid}-title">'
        f'<figcaption id="{testid}-title">{title}</figcaption>'
        f'<p class="empty" data-testid="{testid}-empty">{NO_SUBSCRIPTIONS}</p></figure>'
    )


def movements_figure(months: Sequence[MonthMovements]) -> str:
    """Stacked gains up and losses down per month, the net new MRR line, then the key ratios."""
    title = "MRR movements per month"
    if not any(m.opening or m.closing or any(m.amount(k) for k in MOVEMENT_STYLE) for m in months):
        return _empty("chart-movements", title)
    bands = [month_label(m.month, m.is_partial) for m in months]
    series = [
        BarSeries(key, label, color, [abs(m.amount(key)) for m in months], key in LOSSES)
        for key, (label, color) in MOVEMENT_STYLE.items()
    ]
    line = BarLine(*NET_NEW_STYLE, [m.net_new for m in months])
    latest = _latest_complete(months)
    summary = f"{title} from {bands[0]} to {bands[-1]}" + (
        f". {month_label(latest.month)}: "
        + ", ".join(
            f"{label} {_money(latest.amount(k))}" for k, (label, _) in MOVEMENT_STYLE.items()
        )
        + f", net new MRR {_money(latest.net_new)}"
        if latest
        else ""
    )
    return stacked_bar_chart(
        "movements", title, bands, series, _money, summary, line, _axis, _ratios(latest), wide=True
    )


def _axis(value: float) -> str:
    return ("-$" if value < 0 else "$") + format_compact(MRR_SLUG, abs(value))


def _latest_complete(months: Sequence[MonthMovements]) -> MonthMovements | None:
    return next((m for m in reversed(months) if not m.is_partial), None)


def _ratios(month: MonthMovements | None) -> str:
    if month is None:
        return ""
    quick = MISSING if month.quick_ratio is None else f"{month.quick_ratio:.2f}"
    facts = (
        ("quick-ratio", "Quick ratio", quick),
        ("nrr", "Net revenue retention", format_ratio_percent(month.net_revenue_retention)),
        ("grr", "Gross revenue retention", format_ratio_percent(month.gross_revenue_retention)),
        ("logo-churn", "Logo churn", format_ratio_percent(month.logo_churn)),
    )
    items = "".join(
        f'<div><dt>{label}</dt><dd data-testid="movements-{key}">{html.escape(text)}</dd></div>'
        for key, label, text in facts
    )
    return (
        f'<p class="note">{month_label(month.month)} (latest complete month; * marks the '
        f'current, partial month)</p><dl class="facts-grid">{items}</dl>'
    )


def trials_figure(trials: Sequence[TrialMonth]) -> str:
    """Trials started per month, stacked by how they ended, and the conversion figures."""
    title = "Trial conversion per month"
    if not any(t.started for t in trials):
        return _empty("chart-trials", title)
    bands = [month_label(t.month) for t in trials]
    series = [
        BarSeries(key, label, color, [getattr(t, key) for t in trials])
        for key, (label, color) in TRIAL_STYLE.items()
    ]
    started, converted = sum(t.started for t in trials), sum(t.converted for t in trials)
    latest = trials[-2] if len(trials) > 1 else trials[-1]  # the last one is still running
    days = latest.median_days_to_convert
    headline = (
        f"{converted:,} of {started:,} trials started since "
        f"{bands[0]} converted. {month_label(latest.month)}: conversion rate "
        f"{format_ratio_percent(latest.conversion_rate)}, median time to convert "
        f"{MISSING if days is None else f'{days:.1f} days'}."
    )
    footer = f'<p class="note" data-testid="trials-headline">{html.escape(headline)}</p>'
    return stacked_bar_chart("trials", title, bands, series, _count, headline, footer_html=footer)


def _count(value: float) -> str:
    return f"{abs(int(value)):,}"


def cohort_heatmap(cells: Sequence[CohortCell]) -> str:
    """A table: one row per first-paid month, one column per month since; cells shaded by the
    share of customers still paying."""
    title = "Cohort retention (customers still paying, by month of first payment)"
    if not cells:
        return _empty("cohort-heatmap", title)
    width = max(cell.months_since for cell in cells) + 1
    by_cohort: dict[date, dict[int, CohortCell]] = {}
    for cell in cells:
        by_cohort.setdefault(cell.cohort, {})[cell.months_since] = cell
    head = "".join(f'<th scope="col">M{n}</th>' for n in range(width))
    rows = "".join(_cohort_row(cohort, row, width) for cohort, row in by_cohort.items())
    return (
        '<figure class="wide" data-testid="cohort-heatmap" aria-labelledby="cohort-title">'
        f'<figcaption id="cohort-title">{title}</figcaption><div class="table-wrap">'
        '<table class="heatmap"><thead><tr><th scope="col">Cohort</th>'
        f'<th scope="col">Customers</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        '<p class="note">Darker is more retained; hover a cell for the net revenue retention.</p>'
        "</figure>"
    )


def _cohort_row(cohort: date, row: dict[int, CohortCell], width: int) -> str:
    label = cohort.strftime("%Y-%m")
    size = next(iter(row.values())).cohort_customers
    cells = "".join(_cohort_cell(label, row.get(n)) for n in range(width))
    return f'<tr><th scope="row">{label}</th><td>{size:,}</td>{cells}</tr>'


def _cohort_cell(cohort: str, cell: CohortCell | None) -> str:
    if cell is None:
        return '<td class="future"></td>'
    share = cell.logo_retention or 0.0
    lightness = 96 - 40 * max(0.0, min(share, 1.0))
    text = format_ratio_percent(cell.logo_retention)
    detail = (
        f"Cohort {cohort}, month {cell.months_since}: {cell.retained_customers:,} of "
        f"{cell.cohort_customers:,} customers ({text}); net revenue retention "
        f"{format_ratio_percent(cell.revenue_retention)}"
    )
    return (
        f'<td data-testid="cohort-cell" data-cohort="{cohort}" data-month="{cell.months_since}" '
        f'style="background:hsl(140 45% {lightness:.0f}%)" title="{html.escape(detail)}" '
        f'aria-label="{html.escape(detail)}">{html.escape(text)}</td>'
    )
