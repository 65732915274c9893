"""The subscription analytics marts (issue 12) in the fixture warehouse, by their contract columns
(dbt_project/models/marts/_polar__analytics_marts.yml; the columns the outputs read).

Synthetic but consistent: each organization's daily MRR bridge holds (opening + movements =
closing, closing = next day's opening); the monthly summary and the `all` scope are sums of it,
so a reader that adds or rolls up wrongly disagrees with these tables.
"""

import random
from datetime import date, timedelta

import duckdb
import pandas as pd

HISTORY_DAYS = 420  # a little over 13 months: 12 complete months and the current one
MOVEMENT_COLUMNS = ("new", "expansion", "reactivation", "contraction", "churn", "fx_impact")


def add_analytics_marts(
    con: duckdb.DuckDBPyConnection, connection: str, org_ids: list[str], today: date
) -> None:
    """Create marts.polar_mrr_movements, _mrr_summary, _cohort_retention, _trial_conversion."""
    _daily_movements(con, connection, org_ids, today)
    _monthly_summary(con, today)
    _cohorts(con, connection, org_ids, today)
    _trials(con, connection, org_ids, today)


def _daily_movements(
    con: duckdb.DuckDBPyConnection, connection: str, org_ids: list[str], today: date
) -> None:
    columns = ", ".join(f"{name}_mrr bigint" for name in MOVEMENT_COLUMNS)
    con.execute(
        "create table marts.polar_mrr_movements(connection_name varchar, organization_id varchar, "
        f"date date, opening_mrr bigint, {columns}, closing_mrr bigint, net_new_mrr bigint)"
    )
    rows = []
    for org_id in org_ids:
        rng, mrr = random.Random(org_id), 0
        for offset in range(HISTORY_DAYS - 1, -1, -1):
            moves = {
                "new": rng.choice((0, 0, 2900, 4900)),
                "expansion": rng.choice((0, 0, 0, 1000)),
                "reactivation": rng.choice((0,) * 9 + (2900,)),
                "contraction": min(mrr, rng.choice((0, 0, 0, 500))),
                "churn": 0,
                "fx_impact": rng.choice((0, 0, 0, 7, -5)) if mrr else 0,
            }
            moves["churn"] = min(mrr - moves["contraction"], rng.choice((0, 0, 0, 2900)))
            moves["contraction"], moves["churn"] = -moves["contraction"], -moves["churn"]
            net_new = sum(value for name, value in moves.items() if name != "fx_impact")
            closing = mrr + net_new + moves["fx_impact"]
            rows.append([connection, org_id, today - timedelta(days=offset), mrr,
                         *moves.values(), closing, net_new])  # fmt: skip
            mrr = closing
    _insert(con, "marts.polar_mrr_movements", rows)


def _monthly_summary(con: duckdb.DuckDBPyConnection, today: date) -> None:
    sums = ", ".join(
        f"sum({name}_mrr)::bigint as {name}_mrr" for name in (*MOVEMENT_COLUMNS, "net_new")
    )
    con.execute(
        f"""
        create table marts.polar_mrr_summary as
        with scoped as (
            select * from marts.polar_mrr_movements
            union all
            select connection_name, 'all', date, sum(opening_mrr), sum(new_mrr),
                   sum(expansion_mrr), sum(reactivation_mrr), sum(contraction_mrr),
                   sum(churn_mrr), sum(fx_impact_mrr), sum(closing_mrr), sum(net_new_mrr)
            from marts.polar_mrr_movements group by all
        ), monthly as (
            select connection_name, organization_id, date_trunc('month', date)::date as month,
                   arg_min(opening_mrr, date)::bigint as opening_mrr,
                   {sums}, arg_max(closing_mrr, date)::bigint as closing_mrr
            from scoped group by all
        )
        select *, month = date_trunc('month', ?::date) as is_partial_month,
               (new_mrr + expansion_mrr + reactivation_mrr)
                   / -nullif(contraction_mrr + churn_mrr, 0) as quick_ratio,
               0.02::double as logo_churn_rate,
               (opening_mrr + expansion_mrr + contraction_mrr + churn_mrr)
                   / nullif(opening_mrr, 0) as net_revenue_retention,
               (opening_mrr + contraction_mrr + churn_mrr) / nullif(opening_mrr, 0)
                   as gross_revenue_retention
        from monthly
        """,
        [today],
    )


def _cohorts(
    con: duckdb.DuckDBPyConnection, connection: str, org_ids: list[str], today: date
) -> None:
    con.execute(
        "create table marts.polar_cohort_retention(connection_name varchar, organization_id "
        "varchar, cohort_month date, months_since_start integer, cohort_customers bigint, "
        "cohort_starting_mrr bigint, retained_customers bigint, retained_mrr bigint, "
        "logo_retention double, revenue_retention double)"
    )
    current, rows = today.replace(day=1), []
    for org_id in org_ids:
        rng = random.Random(org_id)
        for age in range(13, -1, -1):  # 14 cohorts: the reader shows the latest 13
            cohort = _months_before(current, age)
            size, retained = rng.randint(5, 40), None
            for since in range(age + 1):
                retained = size if retained is None else max(0, retained - rng.randint(0, 3))
                start_mrr, kept_mrr = size * 2900, retained * 3000  # survivors expanded
                rows.append([connection, org_id, cohort, since, size, start_mrr, retained,
                             kept_mrr, retained / size, kept_mrr / start_mrr])  # fmt: skip
    _insert(con, "marts.polar_cohort_retention", rows)
    # `all`, as the mart has it: every organization's cohorts together.
    con.execute(
        "insert into marts.polar_cohort_retention select connection_name, 'all', cohort_month, "
        "months_since_start, sum(cohort_customers), sum(cohort_starting_mrr), "
        "sum(retained_customers), sum(retained_mrr), "
        "sum(retained_customers) / sum(cohort_customers), "
        "sum(retained_mrr) / nullif(sum(cohort_starting_mrr), 0) "
        "from marts.polar_cohort_retention group by all"
    )


def _trials(
    con: duckdb.DuckDBPyConnection, connection: str, org_ids: list[str], today: date
) -> None:
    con.execute(
        "create table marts.polar_trial_conversion(connection_name varchar, organization_id "
        "varchar, period varchar, period_start date, trials_started bigint, converted bigint, "
        "canceled_during_trial bigint, payment_failed bigint, still_trialing bigint, "
        "conversion_rate double, median_days_to_convert double)"
    )
    current, rows = today.replace(day=1), []
    for org_id in org_ids:
        rng = random.Random(f"trials-{org_id}")
        for age in range(14, -1, -1):
            started = rng.randint(4, 30)
            still = started // 2 if age == 0 else 0
            converted = (started - still) * 2 // 3
            failed = (started - still - converted) // 3
            canceled = started - still - converted - failed
            rate = converted / (started - still) if started > still else None
            month, days = _months_before(current, age), rng.randint(7, 14) + 0.5
            rows.append([connection, org_id, "month", month, started, converted, canceled, failed,
                         still, rate, days])  # fmt: skip
    _insert(con, "marts.polar_trial_conversion", rows)
    # `all`, as the mart has it: every organization's trials together (its median stands in
    # for the median over all their trials, which the mart computes from the trials).
    con.execute(
        "insert into marts.polar_trial_conversion select connection_name, 'all', period, "
        "period_start, sum(trials_started), sum(converted), sum(canceled_during_trial), "
        "sum(payment_failed), sum(still_trialing), "
        "sum(converted) / nullif(sum(trials_started) - sum(still_trialing), 0), "
        "median(median_days_to_convert) from marts.polar_trial_conversion group by all"
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list]) -> None:
    if rows:
        frame = pd.DataFrame(rows)  # noqa: F841 (read by DuckDB's replacement scan)
        con.execute(f"insert into {table} select * from frame")


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)
