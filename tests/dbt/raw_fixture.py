"""A small synthetic raw warehouse, created exactly as docs/internals.md specifies the raw tables.

It lets the dbt tests run without the emulator and the loader; values keep Polar's invariants
(ARR = 12 x MRR, cumulative revenue never decreasing, ...) unless a test breaks one on purpose.
"""

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas

from connectors.polar.catalogue import MetricDefinition, metric_catalogue
from orchestration.warehouse.entity_tables import ENTITY_DDL
from orchestration.warehouse.schema import SCHEMA_VERSION

RAW_DDL = """
create schema if not exists raw;
create table raw.polar_connections(connection_name varchar primary key, environment varchar,
    status varchar, updated_at timestamptz);
create table raw.polar_organizations(connection_name varchar, organization_id varchar,
    name varchar, slug varchar, status varchar, default_presentment_currency varchar,
    created_at timestamptz, is_queried boolean, discovered_at timestamptz,
    primary key (connection_name, organization_id));
create table raw.polar_metrics(connection_name varchar, organization_id varchar, date date,
    metric_slug varchar, value double, fetched_at timestamptz,
    primary key (connection_name, organization_id, date, metric_slug));
create table raw.polar_metric_definitions(connection_name varchar, slug varchar,
    display_name varchar, type varchar, drift varchar, first_seen_at timestamptz,
    last_seen_at timestamptz, primary key (connection_name, slug));
create table raw.polar_api_responses(connection_name varchar, organization_id varchar,
    start_date date, end_date date, fetched_at timestamptz, body json);
create table raw.polar_refreshes(refresh_id varchar primary key, connection_name varchar,
    started_at timestamptz, finished_at timestamptz, timezone varchar, window_start date,
    window_end date, status varchar, organizations_ok integer, organizations_failed integer,
    detail json);
create table raw.polar_metric_revisions(connection_name varchar, organization_id varchar,
    date date, metric_slug varchar, previous_value double, value double,
    previously_fetched_at timestamptz, fetched_at timestamptz,
    primary key (connection_name, organization_id, date, metric_slug, fetched_at));
create table raw.schema_version(version integer);
"""

CONNECTION = "default"
TODAY = date(2026, 3, 15)
WINDOW_DAYS = 90
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
# (id, name, status, currency, queried)
ORGANIZATIONS = (
    ("org-usd", "Acme Software", "active", "usd", True),
    ("org-eur", "Beta GmbH", "active", "eur", True),
    ("org-blocked", "Gamma", "blocked", "usd", False),
)

DailyValues = dict[str, int | float]


def window_days() -> list[date]:
    """The dates of the synthetic window, oldest first."""
    return [TODAY - timedelta(days=offset) for offset in range(WINDOW_DAYS - 1, -1, -1)]


def organization_series(
    index: int, reported: Mapping[date, DailyValues] | None = None
) -> list[DailyValues]:
    """One organization's daily values, consistent with Polar's definitions.

    `reported` replaces some base values of a day (e.g. revenue and MRR computed from synthetic
    entities) before the values derived from them (cumulative, ARR, ratios) are computed.
    """
    series: list[DailyValues] = []
    cumulative, net_cumulative, cumulative_costs = 50_000 * (index + 1), 40_000, 10.5
    for day_number, day in enumerate(window_days()):
        seed = day_number * 7 + index * 13
        values: DailyValues = {
            metric.slug: _plain_value(metric, seed) for metric in metric_catalogue()
        }
        values["orders"] = seed % 4
        values["revenue"] = values["orders"] * (1_999 + index * 500)
        values["net_revenue"] = int(values["revenue"] * 0.9)
        values["monthly_recurring_revenue"] = 10_000 * (index + 1) + day_number * 3
        values.update((reported or {}).get(day, {}))
        cumulative += values["revenue"]
        net_cumulative += values["net_revenue"]
        values["cumulative_revenue"], values["net_cumulative_revenue"] = cumulative, net_cumulative
        values["committed_monthly_recurring_revenue"] = values["monthly_recurring_revenue"] - 99
        values["annual_recurring_revenue"] = 12 * values["monthly_recurring_revenue"]
        values["committed_annual_recurring_revenue"] = (
            12 * values["committed_monthly_recurring_revenue"]
        )
        values["checkouts"] = seed % 5
        values["succeeded_checkouts"] = max(0, values["checkouts"] - 1)
        values["costs"] = round(0.37 * (seed % 9) + 0.01 * index, 4)
        cumulative_costs += values["costs"]
        values["cumulative_costs"] = cumulative_costs
        values.update(_day_ratios(values))
        series.append(values)
    return series


def _plain_value(metric: MetricDefinition, seed: int) -> int | float:
    if metric.unit in ("count", "cents"):
        return (seed * 31 + len(metric.slug)) % 50
    return round(((seed * 17 + len(metric.slug)) % 100) / 100, 4)


def _day_ratios(values: DailyValues) -> DailyValues:
    """Per-day ratios as Polar computes them (cent ratios rounded up)."""
    orders, checkouts = values["orders"], values["checkouts"]
    return {
        "average_order_value": math.ceil(values["revenue"] / orders) if orders else 0,
        "net_average_order_value": math.ceil(values["net_revenue"] / orders) if orders else 0,
        "checkouts_conversion": values["succeeded_checkouts"] / checkouts if checkouts else 0.0,
    }


def polar_all_series(organizations: list[list[DailyValues]]) -> list[DailyValues]:
    """Polar's server-side series: sums, ratios of sums, and its own value for the others."""
    series: list[DailyValues] = []
    for day_number in range(WINDOW_DAYS):
        days = [org[day_number] for org in organizations]
        values: DailyValues = {}
        for metric in metric_catalogue():
            total = sum(day.get(metric.slug, 0) for day in days)
            if metric.org_aggregation == "polar_all":
                # Server-side values that are NOT the sum of organizations (e.g. churn rate).
                total = _plain_value(metric, day_number + 1000)
            values[metric.slug] = total
        if days:
            values.update(_day_ratios(values))
        series.append(values)
    return series


def polar_all_value(series: dict, slug: str, day: date) -> int | float:
    """The value of Polar's server-side `all` series for the slug and day."""
    return series["all"][window_days().index(day)][slug]


def create_raw_warehouse(
    path: Path,
    organizations: tuple = ORGANIZATIONS,
    reported: Mapping[str, Mapping[date, DailyValues]] | None = None,
) -> dict:
    """Write the synthetic raw tables; returns the series keyed by scope for reference totals.

    `reported` gives, per organization id, day values that replace the base ones.
    """
    queried = [org for org in organizations if org[4]]
    series = {
        org[0]: organization_series(index, (reported or {}).get(org[0]))
        for index, org in enumerate(queried)
    }
    series["all"] = polar_all_series(list(series.values()))
    with duckdb.connect(str(path)) as connection:
        connection.execute(RAW_DDL)
        for statement in ENTITY_DDL:  # the entity tables, empty
            connection.execute(statement)
        connection.execute("insert into raw.schema_version values (?)", [SCHEMA_VERSION])
        connection.execute(
            "insert into raw.polar_connections values (?, 'emulator', 'active', ?)",
            [CONNECTION, NOW],
        )
        connection.executemany(
            "insert into raw.polar_organizations values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [CONNECTION, org_id, name, org_id, status, currency, NOW, is_queried, NOW]
                for org_id, name, status, currency, is_queried in organizations
            ],
        )
        rows = [
            [CONNECTION, scope, day, slug, value, NOW]
            for scope, days in series.items()
            for day, values in zip(window_days(), days, strict=True)
            for slug, value in values.items()
        ]
        metric_rows = pandas.DataFrame(
            rows, columns=["connection_name", "organization_id", "date", "slug", "value", "at"]
        )
        connection.register("metric_rows", metric_rows)
        connection.execute("insert into raw.polar_metrics select * from metric_rows")
        connection.execute(
            "insert into raw.polar_refreshes values ('r1', ?, ?, ?, 'UTC', ?, ?, 'success', ?, 0,"
            " '{}')",
            [CONNECTION, NOW, NOW, window_days()[0], TODAY, len(queried)],
        )
    return series
