"""Custom date ranges: from the warehouse inside the cached window, else from Polar (not cached).

Shared by the Dagster job `polar_custom_range_job` and `polar-metrics summary --start/--end`.
No Dagster import; the Polar client is imported only when the range needs the API.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from connectors.polar.catalogue import metrics_by_slug
from connectors.polar.config import PolarSettings
from connectors.polar.ranges import validate_custom_range
from connectors.polar.records import Organization
from orchestration.extract.scopes import MetricsClient, local_today, scopes_for
from orchestration.warehouse.files import open_warehouse
from orchestration.warehouse.windows import latest_window

DailyValues = list[tuple[date, dict[str, float]]]


@dataclass
class CustomRangeAnswer:
    """Daily values and totals per scope (organization id or `all`) for one custom range."""

    start: date
    end: date
    source: str  # warehouse | api
    daily: dict[str, DailyValues] = field(default_factory=dict)
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def answer_custom_range(
    settings: PolarSettings,
    connection_name: str,
    start: date,
    end: date,
    *,
    today: date | None = None,
    client_factory: Callable[[], MetricsClient] | None = None,
) -> CustomRangeAnswer:
    """The range's values: validated first, then the warehouse if it covers them, else Polar."""
    validate_custom_range(start, end, today or local_today(settings.timezone))
    cached = _cached_window(settings, connection_name)
    if cached is not None and cached[0] <= start and end <= cached[1]:
        return _from_warehouse(settings, connection_name, start, end)
    organizations = _known_organizations(settings, connection_name)
    if client_factory is None:
        client_factory = _default_client_factory(settings, connection_name)
    client = client_factory()
    try:
        return _from_api(client, organizations, settings.timezone, start, end)
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def _cached_window(settings: PolarSettings, connection_name: str) -> tuple[date, date] | None:
    if not settings.warehouse_path.exists():
        return None
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return latest_window(con, connection_name)


def _from_warehouse(
    settings: PolarSettings, connection_name: str, start: date, end: date
) -> CustomRangeAnswer:
    answer = CustomRangeAnswer(start, end, "warehouse")
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            """select m.organization_id, m.date, m.metric_slug, m.value
            from raw.polar_metrics m left join raw.polar_organizations o
              on o.connection_name = m.connection_name and o.organization_id = m.organization_id
            where m.connection_name = ? and m.date between ? and ?
              and (m.organization_id = 'all' or o.is_queried)
            order by m.organization_id, m.date""",
            [connection_name, start, end],
        ).fetchall()
        names = dict(
            con.execute(
                "select organization_id, name from raw.polar_organizations "
                "where connection_name = ?",
                [connection_name],
            ).fetchall()
        )
    by_scope: dict[str, dict[date, dict[str, float]]] = {}
    for scope, day, slug, value in rows:
        by_scope.setdefault(scope, {}).setdefault(day, {})[slug] = value
    for scope, days in by_scope.items():
        answer.daily[scope] = sorted(days.items())
        answer.totals[scope] = catalogue_totals([values for _, values in answer.daily[scope]])
        answer.labels[scope] = names.get(scope, "All organizations")
    return answer


def catalogue_totals(periods: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each catalogue slug's total over the periods, by the rule Polar's `totals` use."""
    return {slug: float(m.total(periods)) for slug, m in metrics_by_slug().items()}


def _from_api(
    client: MetricsClient,
    organizations: Sequence[Organization],
    timezone: str,
    start: date,
    end: date,
) -> CustomRangeAnswer:
    answer = CustomRangeAnswer(start, end, "api")
    # One call per organization, plus Polar's own `all` series (never written to the cache).
    for scope in scopes_for(organizations):
        answer.labels[scope.scope_id] = scope.label
        try:
            response = client.get_metrics(
                start_date=start,
                end_date=end,
                interval="day",
                timezone=timezone,
                organization_ids=list(scope.organization_ids),
            )
        except Exception as error:  # one organization's failure must not hide the others
            answer.errors[scope.scope_id] = f"{type(error).__name__}: {error}"
            continue
        answer.daily[scope.scope_id] = [
            (day, {k: float(v) for k, v in p.items() if k != "timestamp"})
            for day, p in response.daily_periods(start)
        ]
        answer.totals[scope.scope_id] = {k: float(v) for k, v in response.totals.items()}
    return answer


def _known_organizations(settings: PolarSettings, connection_name: str) -> list[Organization]:
    """Organizations from the last discovery (warehouse), else from the connection's metadata."""
    if settings.warehouse_path.exists():
        with open_warehouse(settings.warehouse_path, read_only=True) as con:
            rows = con.execute(
                "select organization_id, name, slug, status, default_presentment_currency "
                "from raw.polar_organizations where connection_name = ? order by name",
                [connection_name],
            ).fetchall()
        if rows:
            return [Organization(*row) for row in rows]
    from connectors.polar.connection import PolarConnection

    return PolarConnection.open(settings, connection_name).organizations()


def _default_client_factory(
    settings: PolarSettings, connection_name: str
) -> Callable[[], MetricsClient]:
    def factory() -> MetricsClient:
        from connectors.polar.client import PolarClient
        from connectors.polar.connection import PolarConnection

        connection = PolarConnection.open(settings, connection_name)
        connection.ensure_usable()
        return PolarClient.for_connection(settings, connection_name, connection.http_auth())

    return factory
