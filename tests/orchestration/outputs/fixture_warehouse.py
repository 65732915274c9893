"""A small warehouse with the marts' contract (issue 5), for quick Dagster tests of the alert
checks (webhook failure, invalid rules) that need no emulator or dbt run.

The numbers are synthetic but consistent: period values follow the metric catalogue's `totals`
rules (`MetricDefinition.total`); the `drop` organization loses 90 % of its revenue in its last
three days, like the emulator's `drop` scenario.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from connectors.polar.catalogue import metric_catalogue
from tests.orchestration.outputs.fixture_analytics import add_analytics_marts

PERIOD_DAYS = {"today": 1, "yesterday": 1, "last_7_days": 7, "last_30_days": 30, "last_90_days": 90}


@dataclass(frozen=True)
class FixtureOrg:
    """One organization of a fixture scenario."""

    id: str
    name: str
    slug: str
    status: str
    currency: str
    revenue_scale: int
    drop_days: int = 0  # the last days (today included) lose 90 % of their revenue


SCENARIOS = {
    "default": [
        FixtureOrg("org-usd", "Acme Labs", "acme", "active", "usd", 4000),
        FixtureOrg("org-eur", "Euro Works", "euro", "active", "eur", 2500),
        FixtureOrg("org-review", "Pending Co", "pending", "review", "usd", 0),
    ],
    "single": [FixtureOrg("org-usd", "Solo Shop", "solo", "active", "usd", 3000)],
    "empty": [],
    "drop": [FixtureOrg("org-drop", "Acme Analytics", "acme", "active", "usd", 3000, 3)],
}


def build_fixture_warehouse(
    path: Path, scenario: str, today: date, *, connection: str = "default", status: str = "active"
) -> Path:
    """Create raw connection/refresh rows and the marts for `scenario` ending `today`."""
    orgs = SCENARIOS[scenario]
    active = [org for org in orgs if org.status == "active"]
    days = [today - timedelta(days=offset) for offset in range(119, -1, -1)]
    series = {org.id: _daily(org, days) for org in active}
    series["all"] = _sum_series(series, days) if active else [_zero(day) for day in days]
    con = duckdb.connect(str(path))
    try:
        _raw(con, connection, status, today)
        _organizations(con, connection, orgs)
        _currency_check(con, connection, active)
        _daily_marts(con, connection, series, active)
        _period_summary(con, connection, series, active, today)
        add_analytics_marts(con, connection, [org.id for org in active], today)
    finally:
        con.close()
    return path


def _daily(org: FixtureOrg, days: list[date]) -> list[dict]:
    rng = random.Random(org.id)
    rows, cumulative, mrr = [], 100_000, org.revenue_scale * 20
    drop_from = days[-1] - timedelta(days=org.drop_days - 1) if org.drop_days else None
    for day in days:
        revenue = (org.revenue_scale + rng.randint(0, org.revenue_scale)) * 10
        if drop_from and day >= drop_from:
            revenue //= 10
        cumulative += revenue
        mrr += rng.randint(-50, 80)
        row = {metric.slug: rng.randint(0, 9) for metric in metric_catalogue()}
        row.update(
            date=day,
            revenue=revenue,
            net_revenue=int(revenue * 0.9),
            cumulative_revenue=cumulative,
            monthly_recurring_revenue=mrr,
            annual_recurring_revenue=mrr * 12,
            checkouts=rng.randint(5, 20),
            succeeded_checkouts=rng.randint(0, 5),
            checkouts_conversion=0.25,
            average_revenue_per_user=mrr // 10,
            one_time_products_revenue=rng.randint(0, 500),
            active_subscriptions=40 + rng.randint(0, 5),
        )
        rows.append(row)
    return rows


def _zero(day: date) -> dict:
    return {"date": day, **{metric.slug: 0 for metric in metric_catalogue()}}


def _sum_series(series: dict[str, list[dict]], days: list[date]) -> list[dict]:
    summed = []
    for index, day in enumerate(days):
        row = _zero(day)
        for rows in series.values():
            for metric in metric_catalogue():
                row[metric.slug] += rows[index][metric.slug]
        summed.append(row)
    return summed


def _raw(con: duckdb.DuckDBPyConnection, connection: str, status: str, today: date) -> None:
    con.execute("create schema raw; create schema marts")
    con.execute(
        "create table raw.polar_connections(connection_name varchar primary key, environment "
        "varchar, status varchar, updated_at timestamptz)"
    )
    con.execute(
        "insert into raw.polar_connections values (?, 'emulator', ?, now())", [connection, status]
    )
    con.execute(
        "create table raw.polar_refreshes(refresh_id varchar primary key, connection_name varchar,"
        " started_at timestamptz, finished_at timestamptz, timezone varchar, window_start date, "
        "window_end date, status varchar, organizations_ok integer, organizations_failed integer,"
        " detail json)"
    )
    finished = datetime(today.year, today.month, today.day, 6, 0, tzinfo=UTC)
    con.execute(
        "insert into raw.polar_refreshes values ('r1', ?, ?, ?, 'UTC', ?, ?, 'success', 1, 0, "
        "'{}')",
        [connection, finished, finished, today - timedelta(days=89), today],
    )
    stopped = today if status == "disconnected" else None
    con.execute(
        "create table marts.polar_connections as select ?::varchar as connection_name, "
        "'emulator' as environment, ?::varchar as connection_status, "
        "now() as status_changed_at, ?::timestamptz as last_refreshed_at, "
        "'UTC' as reporting_timezone, ?::date as reporting_date, ?::date as data_stopped_on",
        [connection, status, finished, today, stopped],
    )


def _organizations(con: duckdb.DuckDBPyConnection, connection: str, orgs: list[FixtureOrg]) -> None:
    con.execute(
        "create table marts.polar_organizations(connection_name varchar, organization_id varchar,"
        " organization_name varchar, organization_slug varchar, organization_status varchar, "
        "presentment_currency varchar, is_queried boolean)"
    )
    for org in orgs:
        con.execute(
            "insert into marts.polar_organizations values (?, ?, ?, ?, ?, ?, ?)",
            [
                connection,
                org.id,
                org.name,
                org.slug,
                org.status,
                org.currency,
                org.status == "active",
            ],
        )


def _currency_check(
    con: duckdb.DuckDBPyConnection, connection: str, active: list[FixtureOrg]
) -> None:
    currencies = sorted({org.currency for org in active})
    mismatch = len(currencies) > 1
    warning = (
        f"organizations use different currencies ({', '.join(currencies)}); Polar converts every "
        "sale into US dollars, its settlement currency, at the sale's own rate, so the totals "
        "are USD — see the per-organization detail"
        if mismatch
        else None
    )
    con.execute(
        "create table marts.polar_currency_check as select ? as connection_name, "
        "?::integer as active_organization_count, ?::varchar as currencies, "
        "?::boolean as currency_mismatch, ?::varchar as currency_warning",
        [connection, len(active), ",".join(currencies), mismatch, warning],
    )


def _daily_marts(
    con: duckdb.DuckDBPyConnection,
    connection: str,
    series: dict[str, list[dict]],
    active: list[FixtureOrg],
) -> None:
    slugs = [metric.slug for metric in metric_catalogue()]
    con.execute(
        "create table fixture_daily(connection_name varchar, organization_id varchar, date date, "
        "metric varchar, value double)"
    )
    long_rows = [
        (connection, scope, row["date"], slug, float(row[slug]))
        for scope, rows in series.items()
        for row in rows
        for slug in slugs
    ]
    frame = pd.DataFrame(long_rows, columns=["c", "o", "d", "m", "v"])  # noqa: F841 (read by SQL)
    con.execute("insert into fixture_daily select * from frame")
    pivot = ", ".join(f"max(value) filter (where metric = '{slug}') as {slug}" for slug in slugs)
    currencies = ",".join(sorted({org.currency for org in active}))
    con.execute(
        f"create table marts.polar_metrics_daily_all as select connection_name, date, "
        f"{len(active)} as organization_count, '{currencies}' as currencies, "
        f"{'true' if ',' in currencies else 'false'} as currency_mismatch, {pivot} "
        "from fixture_daily where organization_id = 'all' group by all order by date"
    )
    con.execute(
        f"create table marts.polar_metrics_daily as select connection_name, organization_id, "
        f"date, {pivot} from fixture_daily where organization_id <> 'all' group by all"
    )


def _period_summary(
    con: duckdb.DuckDBPyConnection,
    connection: str,
    series: dict[str, list[dict]],
    active: list[FixtureOrg],
    today: date,
) -> None:
    currency_of = {org.id: org.currency for org in active}
    all_currency = ",".join(sorted(set(currency_of.values()))) or None
    rows = []
    for scope, daily in series.items():
        by_date = {row["date"]: row for row in daily}
        for period, (start, end) in _periods(today).items():
            length = (end - start).days + 1
            previous = [by_date.get(start - timedelta(days=i)) for i in range(length, 0, -1)]
            current = [by_date[start + timedelta(days=i)] for i in range(length)]
            for metric in metric_catalogue():
                value = metric.total(current)
                prev = metric.total(previous) if all(previous) else None
                change = value - prev if prev is not None else None
                ratio = change / prev if prev else None
                currency = all_currency if scope == "all" else currency_of[scope]
                if currency and "," in currency:
                    currency = None  # the `all` scope has no single currency then
                rows.append(
                    (connection, scope, None if scope == "all" else scope, period, start, end,
                     metric.slug, metric.type, metric.time_aggregation, float(value),
                     None if prev is None else float(prev), change, ratio, end == today,
                     currency, scope == "all" and "," in (all_currency or ""))
                )  # fmt: skip
    con.execute(
        "create table marts.polar_period_summary(connection_name varchar, scope varchar, "
        "organization_id varchar,"
        " period varchar, start_date date, end_date date, metric varchar, metric_type varchar, "
        "aggregation varchar, value double, previous_value double, change double, "
        "change_ratio double, is_partial boolean, presentment_currency varchar, "
        "currency_mismatch boolean)"
    )
    frame = pd.DataFrame(rows)  # noqa: F841 (read by SQL)
    con.execute("insert into marts.polar_period_summary select * from frame")


def _periods(today: date) -> dict[str, tuple[date, date]]:
    periods = {
        name: (today - timedelta(days=days - 1), today)
        for name, days in PERIOD_DAYS.items()
        if name != "yesterday"
    }
    periods["yesterday"] = (today - timedelta(days=1), today - timedelta(days=1))
    periods["month_to_date"] = (today.replace(day=1), today)
    return periods
