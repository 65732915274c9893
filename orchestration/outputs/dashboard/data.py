"""Everything the dashboard shows, read from the marts of one connection (read-only).

The values are formatted here, once, so the page only swaps prepared text when the period changes.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from orchestration.outputs.analytics import (
    CohortCell,
    MonthMovements,
    TrialMonth,
    cohort_retention,
    monthly_movements,
    trial_months,
)
from orchestration.outputs.formatting import (
    SETTLEMENT_CURRENCY,
    change_direction,
    format_change,
    format_metric,
)
from orchestration.outputs.marts import fetch_dicts, organizations

CHART_METRICS = (
    "revenue",
    "net_revenue",
    "monthly_recurring_revenue",
    "active_subscriptions",
    "new_subscriptions",
    "churned_subscriptions",
)
CHART_DAYS = 90  # the cached window; older backfilled history is not charted
REAUTH_STATUS = "needs_reauth"


@dataclass
class DashboardData:
    """One connection's dashboard content: header facts, formatted period values, daily series."""

    connection: str
    environment: str | None
    connection_status: str | None
    last_refresh: datetime | None
    today: date | None
    organizations: list[dict[str, Any]]
    currency_warning: str | None
    # scope ('all' or organization id) -> period -> metric -> formatted cell
    values: dict[str, dict[str, dict[str, dict[str, Any]]]]
    periods: dict[str, tuple[date | None, date | None]]
    daily: list[dict[str, Any]]
    alerts: list[dict[str, str]] = field(default_factory=list)
    # Subscription analytics of the `all` scope (orchestration.outputs.analytics).
    movements: list[MonthMovements] = field(default_factory=list)
    cohorts: list[CohortCell] = field(default_factory=list)
    trials: list[TrialMonth] = field(default_factory=list)

    @property
    def active_organizations(self) -> list[dict[str, Any]]:
        """The organizations whose metrics are pulled (status `active`)."""
        return [org for org in self.organizations if org["is_queried"]]

    @property
    def needs_reauth(self) -> bool:
        """True when Polar refused the refresh token and the user must reconnect."""
        return self.connection_status == REAUTH_STATUS


def load_dashboard_data(con: duckdb.DuckDBPyConnection, connection: str) -> DashboardData:
    """Read the marts (and the connection's raw status rows) for one connection."""
    header = _connection_row(con, connection)
    refresh = _latest_refresh(con, connection)
    summary_rows = fetch_dicts(
        con,
        "select * from marts.polar_period_summary where connection_name = ?",
        [connection],
    )
    return DashboardData(
        connection=connection,
        environment=header.get("environment"),
        connection_status=header.get("status"),
        last_refresh=refresh.get("finished_at"),
        today=refresh.get("window_end"),
        organizations=organizations(con, connection),
        currency_warning=_currency_warning(con, connection),
        values=_formatted_values(summary_rows),
        periods=_period_dates(summary_rows),
        daily=_daily_series(con, connection),
        movements=monthly_movements(con, connection),
        cohorts=cohort_retention(con, connection),
        trials=trial_months(con, connection),
    )


def _connection_row(con: duckdb.DuckDBPyConnection, connection: str) -> dict[str, Any]:
    rows = fetch_dicts(
        con,
        "select environment, status from raw.polar_connections where connection_name = ?",
        [connection],
    )
    return rows[0] if rows else {}


def _latest_refresh(con: duckdb.DuckDBPyConnection, connection: str) -> dict[str, Any]:
    rows = fetch_dicts(
        con,
        "select finished_at, window_end from raw.polar_refreshes where connection_name = ? "
        "order by finished_at desc nulls last limit 1",
        [connection],
    )
    return rows[0] if rows else {}


def _currency_warning(con: duckdb.DuckDBPyConnection, connection: str) -> str | None:
    rows = fetch_dicts(
        con, "select * from marts.polar_currency_check where connection_name = ?", [connection]
    )
    if not rows or not rows[0].get("currency_mismatch"):
        return None
    row = rows[0]
    return str(row["currency_warning"]) if row.get("currency_warning") else None


def _formatted_values(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict]]]:
    values: dict[str, dict[str, dict[str, dict]]] = {}
    for row in rows:
        scope = str(row["scope"])
        metric = str(row["metric"])
        currency = SETTLEMENT_CURRENCY
        cell = {
            "value": row.get("value"),
            "text": format_metric(metric, row.get("value"), currency),
            "previous": format_metric(metric, row.get("previous_value"), currency),
            "change": format_change(row.get("change_ratio")),
            "direction": change_direction(row.get("change_ratio")),
        }
        values.setdefault(scope, {}).setdefault(str(row["period"]), {})[metric] = cell
    return values


def _period_dates(rows: list[dict[str, Any]]) -> dict[str, tuple[date | None, date | None]]:
    return {str(row["period"]): (row.get("start_date"), row.get("end_date")) for row in rows}


def _daily_series(con: duckdb.DuckDBPyConnection, connection: str) -> list[dict[str, Any]]:
    columns = ", ".join(CHART_METRICS)
    return fetch_dicts(
        con,
        f"select date, {columns} from marts.polar_metrics_daily_all where connection_name = ? "
        "and date > (select max(date) from marts.polar_metrics_daily_all "
        f"where connection_name = ?) - {CHART_DAYS} order by date",
        [connection, connection],
    )
