"""MRR movements for people (a table) and for scripts (JSON with integer cents).

Read by `polar-metrics movements`; the numbers come from orchestration.outputs.analytics and are
formatted through orchestration.outputs.formatting, like the summary and the dashboard.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.outputs.analytics import MOVEMENTS, MonthMovements
from orchestration.outputs.formatting import (
    MISSING,
    SETTLEMENT_CURRENCY,
    format_money,
    format_ratio_percent,
    terminal_safe,
)

# Column label -> MonthMovements field, in the order of the bridge.
MONEY_COLUMNS = (
    ("Opening", "opening"),
    ("New", "new"),
    ("Expansion", "expansion"),
    ("Reactivation", "reactivation"),
    ("Contraction", "contraction"),
    ("Churn", "churn"),
    ("FX", "fx_impact"),
    ("Net new", "net_new"),
    ("Closing", "closing"),
)


@dataclass(frozen=True)
class MovementsReport:
    """What `movements` prints: the connection, scope (and its name), the period and its rows."""

    connection: str
    scope: str
    scope_name: str
    period: str  # `months` or a standard period (last_30_days, ...)
    rows: Sequence[MonthMovements]


def format_movements_table(report: MovementsReport) -> str:
    """A fixed-width table: one line per month (or one for a standard period), money in dollars."""
    name = terminal_safe(report.scope_name)
    lines = [f"{report.connection} · {name} · MRR movements · {report.period}"]
    header = ("Month" if report.period == "months" else "Days", *(c for c, _ in MONEY_COLUMNS),
              "Quick ratio")  # fmt: skip
    body = [_cells(row, report.period) for row in report.rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines.append(_line(header, widths))
    lines.append("  ".join("-" * width for width in widths))
    lines += [_line(cells, widths) for cells in body]
    if not body:
        lines.append("(no subscriptions in the warehouse yet: run `polar-metrics refresh`)")
    if any(row.is_partial for row in report.rows):
        lines.append("* partial: includes today, up to the last refresh")
    return "\n".join(lines)


def _cells(row: MonthMovements, period: str) -> tuple[str, ...]:
    when = row.month.strftime("%Y-%m") if period == "months" else f"{row.month} .. {row.end}"
    when += " *" if row.is_partial else ""
    money = [
        format_money(row.amount(field) if field in MOVEMENTS else getattr(row, field),
                     SETTLEMENT_CURRENCY)
        for _, field in MONEY_COLUMNS
    ]  # fmt: skip
    ratio = MISSING if row.quick_ratio is None else f"{row.quick_ratio:.2f}"
    return (when, *money, ratio)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest]).rstrip()


def movements_to_json(report: MovementsReport) -> str:
    """The report as JSON: money as integer cents of USD, losses negative, ratios as fractions."""
    document: dict[str, Any] = {
        "connection": report.connection,
        "scope": report.scope,
        "scope_name": report.scope_name,
        "period": report.period,
        "currency": SETTLEMENT_CURRENCY,
        "rows": [_json_row(row) for row in report.rows],
    }
    return json.dumps(document, indent=2)


def _json_row(row: MonthMovements) -> dict[str, Any]:
    return {
        "start_date": row.month.isoformat(),
        "end_date": row.end.isoformat(),
        "is_partial": row.is_partial,
        "opening_mrr": row.opening,
        **{f"{movement}_mrr": row.amount(movement) for movement in MOVEMENTS},
        "fx_impact_mrr": row.fx_impact,
        "net_new_mrr": row.net_new,
        "closing_mrr": row.closing,
        "quick_ratio": row.quick_ratio,
        "logo_churn": row.logo_churn,
        "net_revenue_retention": row.net_revenue_retention,
        "gross_revenue_retention": row.gross_revenue_retention,
        "text": {
            "net_new_mrr": format_money(row.net_new, SETTLEMENT_CURRENCY),
            "net_revenue_retention": format_ratio_percent(row.net_revenue_retention),
        },
    }
