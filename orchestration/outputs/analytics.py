"""Subscription analytics read from the marts: MRR movements, cohort retention, trial conversion.

Shared by `polar-metrics movements` and the dashboard; duckdb and the standard library only (the
CLI must not pay for pandas, Dagster or dbt). Money stays in integer USD cents, as Polar reports
MRR, signed as in the marts: contraction and churn are negative.

Cohorts and trials are marted per organization; the `all` scope adds the organizations' counts
and MRR (a Polar customer belongs to one organization) and takes the ratios from the sums, as
marts.polar_mrr_summary does for its `all` rows.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from orchestration.outputs.marts import fetch_dicts
from orchestration.warehouse.schema import ALL_SCOPE

MONTHS_SHOWN = 12  # complete months before the current (partial) one
GAINS = ("new", "expansion", "reactivation")
LOSSES = ("contraction", "churn")
MOVEMENTS = (*GAINS, *LOSSES)
COHORT_MONTHS = 12  # months after the first paid subscription shown per cohort


@dataclass(frozen=True)
class MonthMovements:
    """One scope's MRR bridge over one month (or any range of days): cents and ratios."""

    month: date
    end: date
    is_partial: bool
    opening: int
    new: int
    expansion: int
    reactivation: int
    contraction: int
    churn: int
    fx_impact: int
    closing: int
    net_new: int
    quick_ratio: float | None = None
    logo_churn: float | None = None
    net_revenue_retention: float | None = None
    gross_revenue_retention: float | None = None

    def amount(self, movement: str) -> int:
        """A movement's signed amount: gains positive, contraction and churn negative."""
        return int(getattr(self, movement))


@dataclass(frozen=True)
class CohortCell:
    """Customers (and MRR) of one first-paid month still paying `months_since` months later."""

    cohort: date
    months_since: int
    cohort_customers: int
    retained_customers: int
    logo_retention: float | None
    revenue_retention: float | None


@dataclass(frozen=True)
class TrialMonth:
    """Trials started in one month and how they ended."""

    month: date
    started: int
    converted: int
    canceled_during_trial: int
    payment_failed: int
    still_trialing: int
    conversion_rate: float | None
    median_days_to_convert: float | None


def monthly_movements(
    con: duckdb.DuckDBPyConnection, connection: str, scope: str = ALL_SCOPE
) -> list[MonthMovements]:
    """The last MONTHS_SHOWN complete months and the current one, oldest first."""
    rows = fetch_dicts(
        con,
        "select *, last_day(month) as month_end from marts.polar_mrr_summary "
        "where connection_name = ? and organization_id = ? "
        "and month >= (select max(month) from marts.polar_mrr_summary where connection_name = ?) "
        f"- interval {MONTHS_SHOWN} month order by month",
        [connection, scope, connection],
    )
    return [_month(row) for row in rows]


def range_movements(
    con: duckdb.DuckDBPyConnection,
    connection: str,
    start: date,
    end: date,
    scope: str = ALL_SCOPE,
    is_partial: bool = False,
) -> MonthMovements:
    """The bridge over the days start..end from the daily movements (`all`: every organization)."""
    where = "connection_name = ? and date between ? and ?"
    params: list[Any] = [connection, start, end]
    if scope != ALL_SCOPE:
        where, params = where + " and organization_id = ?", [*params, scope]
    sums = ", ".join(
        f"coalesce(sum({m}_mrr), 0)::bigint as {m}" for m in (*MOVEMENTS, "fx_impact", "net_new")
    )
    (row,) = fetch_dicts(
        con,
        f"select {sums}, coalesce(sum(opening_mrr) filter (where date = ?), 0)::bigint as opening, "
        "coalesce(sum(closing_mrr) filter (where date = ?), 0)::bigint as closing "
        f"from marts.polar_mrr_movements where {where}",
        [start, end, *params],
    )
    return MonthMovements(month=start, end=end, is_partial=is_partial, **row)


def period_dates(
    con: duckdb.DuckDBPyConnection, connection: str, period: str
) -> tuple[date, date, bool] | None:
    """A standard period's (start, end, is_partial) as marts.polar_period_summary defines it."""
    rows = fetch_dicts(
        con,
        "select start_date, end_date, bool_or(is_partial) as is_partial "
        "from marts.polar_period_summary where connection_name = ? and period = ? "
        "group by all",
        [connection, period],
    )
    return (
        (rows[0]["start_date"], rows[0]["end_date"], bool(rows[0]["is_partial"])) if rows else None
    )


def cohort_retention(
    con: duckdb.DuckDBPyConnection, connection: str, scope: str = ALL_SCOPE
) -> list[CohortCell]:
    """The last MONTHS_SHOWN + 1 cohorts, months 0..COHORT_MONTHS after the first payment."""
    rows = fetch_dicts(
        con,
        "select cohort_month, months_since_start, cohort_customers, retained_customers, "
        "revenue_retention from marts.polar_cohort_retention where connection_name = ? "
        "and organization_id = ? and months_since_start <= ? and cohort_month >= "
        "(select max(cohort_month) from marts.polar_cohort_retention where connection_name = ?) "
        f"- interval {MONTHS_SHOWN} month order by cohort_month, months_since_start",
        [connection, scope, COHORT_MONTHS, connection],
    )
    return [
        CohortCell(
            cohort=row["cohort_month"],
            months_since=int(row["months_since_start"]),
            cohort_customers=int(row["cohort_customers"]),
            retained_customers=int(row["retained_customers"]),
            logo_retention=int(row["retained_customers"]) / int(row["cohort_customers"])
            if row["cohort_customers"]
            else None,
            revenue_retention=row["revenue_retention"],
        )
        for row in rows
    ]


def trial_months(
    con: duckdb.DuckDBPyConnection, connection: str, scope: str = ALL_SCOPE
) -> list[TrialMonth]:
    """Trials by the month they started: the last MONTHS_SHOWN complete months and this one
    (`all`: the mart's rows over every organization, its median over all their trials)."""
    rows = fetch_dicts(
        con,
        "select period_start, trials_started, converted, canceled_during_trial, payment_failed, "
        "still_trialing, median_days_to_convert "
        "from marts.polar_trial_conversion where connection_name = ? and organization_id = ? "
        "and period = 'month' and period_start >= "
        "(select max(period_start) from marts.polar_trial_conversion where connection_name = ?) "
        f"- interval {MONTHS_SHOWN} month order by period_start",
        [connection, scope, connection],
    )
    return [
        TrialMonth(
            month=row["period_start"],
            started=int(row["trials_started"]),
            converted=int(row["converted"]),
            canceled_during_trial=int(row["canceled_during_trial"]),
            payment_failed=int(row["payment_failed"]),
            still_trialing=int(row["still_trialing"]),
            conversion_rate=_share(row["converted"], row["trials_started"] - row["still_trialing"]),
            median_days_to_convert=row["median_days_to_convert"],
        )
        for row in rows
    ]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _month(row: dict[str, Any]) -> MonthMovements:
    return MonthMovements(
        month=row["month"],
        end=row["month_end"],
        is_partial=bool(row["is_partial_month"]),
        opening=int(row["opening_mrr"]),
        new=int(row["new_mrr"]),
        expansion=int(row["expansion_mrr"]),
        reactivation=int(row["reactivation_mrr"]),
        contraction=int(row["contraction_mrr"]),
        churn=int(row["churn_mrr"]),
        fx_impact=int(row["fx_impact_mrr"]),
        closing=int(row["closing_mrr"]),
        net_new=int(row["net_new_mrr"]),
        quick_ratio=row.get("quick_ratio"),
        logo_churn=row.get("logo_churn_rate"),
        net_revenue_retention=row.get("net_revenue_retention"),
        gross_revenue_retention=row.get("gross_revenue_retention"),
    )
