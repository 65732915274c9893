"""Evaluates alert rules against the marts of one connection (read-only)."""

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from orchestration.outputs.alerts.rules import AlertRule
from orchestration.outputs.formatting import (
    SETTLEMENT_CURRENCY,
    format_change,
    format_metric,
    metric_label,
)
from orchestration.outputs.marts import fetch_dicts, find_scope
from orchestration.warehouse.schema import ALL_SCOPE

OPERATIONS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class AlertResult:
    """What one rule found: triggered or not, the numbers compared and a sentence for people."""

    rule: AlertRule
    scope: str  # organization id or `all`
    alert_date: date | None  # the data's "today"; deliveries are deduplicated per this date
    triggered: bool
    evaluated: bool  # False when the warehouse lacks the data to decide
    current: float | None
    baseline: float | None
    message: str


def evaluate_rules(
    con: duckdb.DuckDBPyConnection, connection: str, rules: list[AlertRule]
) -> list[AlertResult]:
    """Every rule's result for `connection`."""
    today = _today(con, connection)
    return [_evaluate(con, connection, rule, today) for rule in rules]


def _today(con: duckdb.DuckDBPyConnection, connection: str) -> date | None:
    rows = fetch_dicts(
        con,
        "select window_end from raw.polar_refreshes where connection_name = ? "
        "order by finished_at desc nulls last limit 1",
        [connection],
    )
    return rows[0]["window_end"] if rows else None


def _evaluate(
    con: duckdb.DuckDBPyConnection, connection: str, rule: AlertRule, today: date | None
) -> AlertResult:
    scope = find_scope(con, connection, rule.scope)
    if scope is None:
        return _skipped(rule, rule.scope, today, f"no organization {rule.scope!r} in the warehouse")
    summary = _summary_row(con, connection, rule, scope)
    if summary is None or summary["value"] is None:
        return _skipped(rule, scope, today, "no value for this period yet")
    current, currency = float(summary["value"]), SETTLEMENT_CURRENCY
    if rule.comparison == "threshold":
        triggered = OPERATIONS[rule.op or ">"](current, rule.value)
        return _result(rule, scope, today, triggered, current, rule.value, currency)
    if rule.comparison == "previous_period":
        baseline = summary.get("previous_value")
    else:
        start = summary["start_date"]
        baseline = _trailing_average(con, connection, scope, rule, start)
    if baseline is None:
        return _skipped(rule, scope, today, "the baseline is not fully in the warehouse")
    triggered = _changed_beyond(rule, current, float(baseline))
    return _result(rule, scope, today, triggered, current, float(baseline), currency)


def _changed_beyond(rule: AlertRule, current: float, baseline: float) -> bool:
    # A zero baseline has no relative change: a drop from 0 is impossible, a rise is not a ratio.
    if baseline <= 0:
        return False
    change_percent = (current - baseline) / baseline * 100
    limit = rule.percent or 0.0
    return change_percent < -limit if rule.change == "drop" else change_percent > limit


def _summary_row(
    con: duckdb.DuckDBPyConnection, connection: str, rule: AlertRule, scope: str
) -> dict | None:
    rows = fetch_dicts(
        con,
        "select * from marts.polar_period_summary where connection_name = ? and period = ? "
        "and metric = ? and scope = ?",
        [connection, rule.period, rule.metric, scope],
    )
    return rows[0] if rows else None


def _trailing_average(
    con: duckdb.DuckDBPyConnection, connection: str, scope: str, rule: AlertRule, day: date
) -> float | None:
    days = rule.days or 1
    first, last = day - timedelta(days=days), day - timedelta(days=1)
    # The metric name is validated against the catalogue, so it is safe as a column name.
    if scope == ALL_SCOPE:
        sql = (
            f"select {rule.metric} as v from marts.polar_metrics_daily_all "
            "where connection_name = ?"
        )
        params: list = [connection]
    else:
        sql = (
            f"select {rule.metric} as v from marts.polar_metrics_daily where connection_name = ? "
            "and organization_id = ?"
        )
        params = [connection, scope]
    rows = fetch_dicts(con, sql + " and date between ? and ?", [*params, first, last])
    values = [row["v"] for row in rows if row["v"] is not None]
    return sum(values) / days if len(values) == days else None


def _result(
    rule: AlertRule,
    scope: str,
    today: date | None,
    triggered: bool,
    current: float,
    baseline: float | None,
    currency: str | None,
) -> AlertResult:
    scope_text = "all organizations" if scope == ALL_SCOPE else f"organization {scope}"
    period = rule.period.replace("_", " ")
    now_text = format_metric(rule.metric, current, currency)
    base_text = format_metric(rule.metric, baseline, currency)
    verdict = "ALERT" if triggered else "ok"
    change = f" ({format_change((current - baseline) / baseline)})" if baseline else ""
    message = (
        f"{verdict}: {metric_label(rule.metric)} for {scope_text}, {period}: {now_text} "
        f"against {base_text}{change} (rule: {rule.explain()})."
    )
    return AlertResult(rule, scope, today, triggered, True, current, baseline, message)


def _skipped(rule: AlertRule, scope: str, today: date | None, why: str) -> AlertResult:
    return AlertResult(rule, scope, today, False, False, None, None, f"not evaluated: {why}")
