"""`GET /v1/metrics/` parameters, validated in Polar's order with Polar's 422 bodies."""

from dataclasses import dataclass
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from starlette.datastructures import QueryParams

from connectors.polar_emulator.api.metrics.definitions import METRIC_SLUGS
from connectors.polar_emulator.http.query_validation import (
    Collector,
    missing,
    parse_choice,
    parse_date,
    parse_uuid4,
    validation_error,
)

INTERVALS = ("year", "month", "week", "day", "hour")  # TimeInterval enum order
BILLING_TYPES = ("one_time", "recurring")
MAX_INTERVAL_DAYS = {"hour": 7, "day": 366, "week": 7 * 53, "month": 365 * 4, "year": 365 * 10}
MIN_INTERVAL_DAYS = {"hour": 0, "day": 0, "week": 14, "month": 60, "year": 366}
MIN_DATE = date(2023, 1, 1)
RANGE_MESSAGE = (
    "The interval is too small for the given date range. "
    "Use a larger interval or reduce the date range."
)


@dataclass(frozen=True)
class MetricsQuery:
    """A validated metrics request."""

    start_date: date
    end_date: date
    interval: str
    timezone: ZoneInfo
    organization_ids: list[str] | None
    product_ids: list[str] | None
    billing_types: list[str] | None
    customer_ids: list[str] | None
    metrics: list[str] | None


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(collector: Collector, raw: str) -> ZoneInfo | None:
    if raw in _timezone_names():
        return ZoneInfo(raw)
    collector.errors.append(
        {
            "type": "TimeZoneName",
            "loc": ["query", "timezone"],
            "msg": "Invalid timezone name.",
            "input": raw,
        }
    )
    return None


def _required_date(collector: Collector, params: QueryParams, name: str) -> date | None:
    raw = params.get(name)
    if raw is None:
        collector.errors.append(missing(name))
        return None
    return collector.take(parse_date(["query", name], raw))


def _uuid_list(collector: Collector, params: QueryParams, name: str) -> list[str] | None:
    values = params.getlist(name)
    if not values:
        return None
    parsed = [collector.take(parse_uuid4(["query", name, i], raw)) for i, raw in enumerate(values)]
    return [value for value in parsed if value is not None]


def _interval(collector: Collector, params: QueryParams) -> str | None:
    raw = params.get("interval")
    if raw is None:
        collector.errors.append(missing("interval"))
        return None
    return collector.take(parse_choice(["query", "interval"], raw, INTERVALS))


def _check_slugs(metrics: list[str] | None) -> None:
    unknown = sorted(set(metrics or ()) - set(METRIC_SLUGS))
    if unknown:
        raise validation_error(
            "PolarRequestValidationError",
            [
                {
                    "type": "value_error",
                    "loc": ["query", "metrics"],
                    "msg": f"Invalid metric slugs: {', '.join(unknown)}",
                    "input": metrics,
                }
            ],
        )


def is_under_limits(start_date: date, end_date: date, interval: str) -> bool:
    """Polar's only enforced range rule: start <= end and the span within the interval's max."""
    if start_date > end_date:
        return False
    return end_date.toordinal() - start_date.toordinal() <= MAX_INTERVAL_DAYS[interval]


def parse_metrics_query(params: QueryParams) -> MetricsQuery:
    """The validated query, or EmulatorHTTPError carrying Polar's exact 422 body."""
    collector = Collector()
    start_date = _required_date(collector, params, "start_date")
    end_date = _required_date(collector, params, "end_date")
    zone = _timezone(collector, params.get("timezone", "UTC"))
    interval = _interval(collector, params)
    organization_ids = _uuid_list(collector, params, "organization_id")
    product_ids = _uuid_list(collector, params, "product_id")
    billing_raw = params.getlist("billing_type")
    billing_types = [
        collector.take(parse_choice(["query", "billing_type", i], raw, BILLING_TYPES))
        for i, raw in enumerate(billing_raw)
    ] or None
    customer_ids = _uuid_list(collector, params, "customer_id")
    metrics = params.getlist("metrics") or None
    collector.raise_if_any()
    if start_date is None or end_date is None or zone is None or interval is None:
        raise RuntimeError("a required metrics parameter was neither parsed nor reported")
    _check_slugs(metrics)
    if not is_under_limits(start_date, end_date, interval):
        raise validation_error(
            "PolarRequestValidationError",
            [
                {
                    "type": "value_error",
                    "loc": ["query"],
                    "msg": RANGE_MESSAGE,
                    "input": [start_date.isoformat(), end_date.isoformat(), interval],
                }
            ],
        )
    return MetricsQuery(
        start_date,
        end_date,
        interval,
        zone,
        organization_ids,
        product_ids,
        billing_types,
        customer_ids,
        metrics,
    )


def limits_body() -> dict[str, object]:
    """The body of `GET /v1/metrics/limits`."""
    return {
        "min_date": MIN_DATE.isoformat(),
        "intervals": {
            name: {"min_days": MIN_INTERVAL_DAYS[name], "max_days": MAX_INTERVAL_DAYS[name]}
            for name in ("hour", "day", "week", "month", "year")
        },
    }
