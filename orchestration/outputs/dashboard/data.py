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
    change_tone,
    format_change,
    format_metric,
)
from orchestration.outputs.marts import (
    connection_state,
    currency_warning,
    fetch_dicts,
    organizations,
)
from orchestration.outputs.periods import today_so_far

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
DISCONNECTED_STATUSES = ("disconnected", "inactive")  # the marts' word, the token store's word


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
    reporting_timezone: str | None = None
    data_stopped_on: date | None = None
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

    @property
    def disconnected(self) -> bool:
        """True once `polar-metrics disconnect` ran: the numbers stop at `data_stopped_on`."""
        return self.connection_status in DISCONNECTED_STATUSES

    @property
    def today_label(self) -> str:
        """`today so far, as of 14:05`: today is a running day, as of the latest refresh."""
        return today_so_far(self.last_refresh, self.reporting_timezone)


def load_dashboard_data(con: duckdb.DuckDBPyConnection, connection: str) -> DashboardData:
    """Read the marts for one connection."""
    state = connection_state(con, connection)
    summary_rows = fetch_dicts(
        con,
        "select * from marts.polar_period_summary where connection_name = ?",
        [connection],
    )
    return DashboardData(
        connection=connection,
        environment=state.get("environment"),
        connection_status=state.get("connection_status"),
        last_refresh=state.get("last_refreshed_at"),
        today=state.get("reporting_date"),
        organizations=organizations(con, connection),
        currency_warning=currency_warning(con, connection),
        values=_formatted_values(summary_rows),
        periods=_period_dates(summary_rows),
        daily=_daily_series(con, connection),
        reporting_timezone=state.get("reporting_timezone"),
        data_stopped_on=state.get("data_stopped_on"),
        movements=monthly_movements(con, connection),
        cohorts=cohort_retention(con, connection),
        trials=trial_months(con, connection),
    )


def _formatted_values(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict]]]:
    values: dict[str, dict[str, dict[str, dict]]] = {}
    for row in rows:
        scope = str(row["scope"])
        metric = str(row["metric"])
        currency = SETTLEMENT_CURRENCY
        ratio = row.get("change_ratio")
        cell = {
            "value": row.get("value"),
            "text": format_metric(metric, row.get("value"), currency),
            "previous": format_metric(metric, row.get("previous_value"), currency),
            "change": format_change(ratio, partial=bool(row.get("is_partial"))),
            "direction": change_direction(ratio),
            "tone": change_tone(metric, ratio),
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
