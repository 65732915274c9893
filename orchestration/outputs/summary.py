"""Period summaries read from the marts, as a table for people and as JSON for scripts.

Only duckdb and the standard library here: `polar-metrics summary` must answer in well under a
second, so nothing imports Dagster, dbt or pandas. The warehouse is opened read-only.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from connectors.polar.errors import PolarError
from orchestration.outputs.formatting import (
    SETTLEMENT_CURRENCY,
    format_change,
    format_metric,
    metric_label,
)
from orchestration.outputs.marts import (
    connection_state,
    currency_warning,
    fetch_dicts,
    resolve_scope,
)
from orchestration.outputs.periods import PERIODS, today_so_far
from orchestration.warehouse.files import WarehouseNotReadyError, open_read_only
from orchestration.warehouse.schema import ALL_SCOPE

# Re-exported: callers of this module (the CLI, the demo) open the warehouse here too.
__all__ = [  # noqa: RUF022 (grouped by role)
    "ALL_SCOPE", "PERIODS", "PeriodSummary", "SummaryRow", "WarehouseNotReadyError",
    "cached_window", "format_table", "open_read_only", "read_custom_summary",
    "read_period_summary", "resolve_scope", "select_metrics", "summary_to_json",
]  # fmt: skip

# What people look at first; the table shows these unless `--metrics` asks for others.
HEADLINE_METRICS = (
    "monthly_recurring_revenue",
    "revenue",
    "net_revenue",
    "active_subscriptions",
    "new_subscriptions",
    "churned_subscriptions",
    "trial_monthly_recurring_revenue",
    "average_revenue_per_user",
    "cumulative_revenue",
    "checkouts_conversion",
    "orders",
    "renewed_subscriptions",
    "canceled_subscriptions",
    "one_time_products",
    "one_time_products_revenue",
)


@dataclass(frozen=True)
class SummaryRow:
    """One metric of a period summary, raw and formatted."""

    metric: str
    value: float | int | None
    previous_value: float | int | None
    change: float | int | None
    change_ratio: float | None
    currency: str | None
    is_partial: bool = False  # the period includes today, a running day

    @property
    def label(self) -> str:
        """The metric's display name."""
        return metric_label(self.metric)

    @property
    def value_text(self) -> str:
        """The value as people read it (money with its symbol)."""
        return format_metric(self.metric, self.value, self.currency)

    @property
    def previous_text(self) -> str:
        """The previous period's value as people read it."""
        return format_metric(self.metric, self.previous_value, self.currency)

    @property
    def change_text(self) -> str:
        """The relative change against the previous period (marked when today is partial)."""
        return format_change(self.change_ratio, partial=self.is_partial)


@dataclass(frozen=True)
class PeriodSummary:
    """The summary of one scope (an organization or `all`) over one period."""

    connection: str
    scope: str
    period: str
    start_date: date | None
    end_date: date | None
    source: str  # warehouse | polar_api
    rows: list[SummaryRow] = field(default_factory=list)
    is_partial: bool = False
    as_of: datetime | None = None  # the latest refresh: how current "today so far" is
    reporting_timezone: str | None = None
    currency_warning: str | None = None  # the marts' mismatch flag, for the `all` scope
    connection_status: str | None = None
    data_stopped_on: date | None = None  # set once the connection is disconnected

    @property
    def today_label(self) -> str:
        """`today so far, as of 14:05` (reporting timezone)."""
        return today_so_far(self.as_of, self.reporting_timezone)

    def value(self, metric: str) -> float | int | None:
        """The raw value of one metric (None when absent)."""
        return next((row.value for row in self.rows if row.metric == metric), None)


def read_period_summary(
    con: duckdb.DuckDBPyConnection, connection: str, period: str, scope: str = ALL_SCOPE
) -> PeriodSummary:
    """One standard period (`today`, `last_7_days`, ...) from marts.polar_period_summary."""
    rows = fetch_dicts(
        con,
        "select * from marts.polar_period_summary where connection_name = ? and period = ? "
        "and scope = ? order by metric",
        [connection, period, scope],
    )
    return _with_connection_facts(con, _summary(connection, scope, period, rows, "warehouse"))


def read_custom_summary(
    con: duckdb.DuckDBPyConnection, connection: str, start: date, end: date, scope: str = ALL_SCOPE
) -> PeriodSummary:
    """An in-window custom range from the table macro marts.polar_summary(start, end)."""
    rows = fetch_dicts(
        con,
        "select * from marts.polar_summary(?::date, ?::date) where connection_name = ? "
        "and scope = ? order by metric",
        [start, end, connection, scope],
    )
    summary = _summary(connection, scope, "custom", rows, "warehouse")
    return _with_connection_facts(con, _with_dates(summary, start, end))


def _with_connection_facts(con: duckdb.DuckDBPyConnection, summary: PeriodSummary) -> PeriodSummary:
    """The summary with its connection's status, refresh time and currency warning."""
    state = connection_state(con, summary.connection)
    warning = currency_warning(con, summary.connection) if summary.scope == ALL_SCOPE else None
    fields = {
        **summary.__dict__,
        "as_of": state.get("last_refreshed_at"),
        "reporting_timezone": state.get("reporting_timezone"),
        "connection_status": state.get("connection_status"),
        "data_stopped_on": state.get("data_stopped_on"),
        "currency_warning": warning,
    }
    return PeriodSummary(**fields)


def cached_window(con: duckdb.DuckDBPyConnection, connection: str) -> tuple[date, date] | None:
    """The cached window (start, end) of the connection's latest refresh, if any."""
    rows = fetch_dicts(
        con,
        "select window_start, window_end from raw.polar_refreshes where connection_name = ? "
        "and status in ('success', 'partial') order by finished_at desc nulls last limit 1",
        [connection],
    )
    return (rows[0]["window_start"], rows[0]["window_end"]) if rows else None


def _summary(
    connection: str, scope: str, period: str, rows: list[dict], source: str
) -> PeriodSummary:
    first = rows[0] if rows else {}
    return PeriodSummary(
        connection=connection,
        scope=scope,
        period=period,
        start_date=first.get("start_date"),
        end_date=first.get("end_date"),
        source=source,
        rows=[_row(row) for row in rows],
        is_partial=bool(first.get("is_partial")),
    )


def _row(row: dict) -> SummaryRow:
    return SummaryRow(
        metric=str(row["metric"]),
        value=row.get("value"),
        previous_value=row.get("previous_value"),
        change=row.get("change"),
        change_ratio=row.get("change_ratio"),
        currency=SETTLEMENT_CURRENCY,
        is_partial=bool(row.get("is_partial")),
    )


def _with_dates(summary: PeriodSummary, start: date, end: date) -> PeriodSummary:
    fields = {**summary.__dict__, "start_date": start, "end_date": end}
    return PeriodSummary(**fields)


def select_metrics(summary: PeriodSummary, metrics: Sequence[str] | None) -> PeriodSummary:
    """The summary restricted to `metrics` (default: the headline metrics), in that order."""
    wanted = list(metrics) if metrics else list(HEADLINE_METRICS)
    by_metric = {row.metric: row for row in summary.rows}
    unknown = [metric for metric in wanted if metric not in by_metric and summary.rows]
    if metrics and unknown:
        raise PolarError(
            f"Unknown metric(s) {', '.join(unknown)}; known: {', '.join(sorted(by_metric))}."
        )
    rows = [by_metric[metric] for metric in wanted if metric in by_metric]
    fields = {**summary.__dict__, "rows": rows}
    return PeriodSummary(**fields)


def format_table(summary: PeriodSummary) -> str:
    """A fixed-width table: metric, value, previous period, change."""
    when = f"{summary.start_date} .. {summary.end_date}" if summary.start_date else "no data"
    period = summary.today_label if summary.period == "today" else summary.period
    partial = ""
    if summary.is_partial and summary.period != "today":
        partial = f" (includes {summary.today_label})"
    title = f"{summary.connection} · {summary.scope} · {period} · {when}{partial}"
    header = ("Metric", "Value", "Previous", "Change")
    lines = [
        (row.label, row.value_text, row.previous_text, row.change_text) for row in summary.rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]
    out = [title, *_warnings(summary)]
    out += [_table_line(header, widths), "  ".join("-" * width for width in widths)]
    out += [_table_line(line, widths) for line in lines]
    if not lines:
        out.append("(no metrics for this period: run `polar-metrics refresh`)")
    return "\n".join(out)


def _warnings(summary: PeriodSummary) -> list[str]:
    """Lines to read before the numbers: a disconnected connection, a currency mismatch."""
    lines = []
    if summary.data_stopped_on is not None:
        lines.append(
            f"Disconnected: the data stopped on {summary.data_stopped_on} "
            "(`polar-metrics connect` to resume)."
        )
    if summary.currency_warning:
        lines.append(f"Currency warning: {summary.currency_warning}")
    return lines


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest]).rstrip()


def summary_to_json(summary: PeriodSummary) -> str:
    """The summary as JSON: raw numbers (money in cents) plus their formatted text."""
    document: dict[str, Any] = {
        "connection": summary.connection,
        "scope": summary.scope,
        "period": summary.period,
        "start_date": _iso(summary.start_date),
        "end_date": _iso(summary.end_date),
        "is_partial": summary.is_partial,
        "as_of": summary.as_of.isoformat() if summary.as_of else None,
        "reporting_timezone": summary.reporting_timezone,
        "connection_status": summary.connection_status,
        "data_stopped_on": _iso(summary.data_stopped_on),
        "currency_warning": summary.currency_warning,
        "source": summary.source,
    }
    document["metrics"] = {
        row.metric: {
            "value": row.value,
            "previous_value": row.previous_value,
            "change": row.change,
            "change_ratio": row.change_ratio,
            "change_is_partial": row.is_partial,  # today is still running: not a like-for-like
            "currency": row.currency,  # money in cents of this currency
            "text": row.value_text,
        }
        for row in summary.rows
    }
    return json.dumps(document, indent=2, default=float)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
