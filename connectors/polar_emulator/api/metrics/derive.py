"""From summed components to Polar's 55 metric series (the META rules of polar-api.md 3.7)."""

import numpy as np

from connectors.polar_emulator.api.metrics.definitions import metric_definitions


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _ceil_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """ceil(numerator / denominator) per period, 0 without orders (Polar's average order value)."""
    return np.ceil(_ratio(numerator, denominator))


def _revenue_metrics(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    cumulative = c["revenue_before"] + np.cumsum(c["revenue"])
    cumulative_costs = c["costs_before"] + np.cumsum(c["costs"])
    return {
        "cumulative_revenue": cumulative,
        "net_cumulative_revenue": c["net_revenue_before"] + np.cumsum(c["net_revenue"]),
        "average_order_value": _ceil_ratio(c["revenue"], c["orders"]),
        "net_average_order_value": _ceil_ratio(c["net_revenue"], c["orders"]),
        "cumulative_costs": cumulative_costs,
        "cost_per_user": _ratio(c["costs"], c["active_user_by_event"]),
        "gross_margin": np.rint(cumulative - cumulative_costs),
        "gross_margin_percentage": _ratio(cumulative - cumulative_costs, cumulative),
        "cashflow": np.rint(c["revenue"] - c["costs"]),
    }


def _subscription_metrics(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mrr = np.rint(c["mrr"])
    committed_mrr = np.rint(c["committed_mrr"])
    arpu = np.rint(_ratio(c["mrr"], c["active_customers"]))
    churn_rate = _ratio(c["churn_canceled"], c["churn_base"])
    return {
        "monthly_recurring_revenue": mrr,
        "committed_monthly_recurring_revenue": committed_mrr,
        "trial_monthly_recurring_revenue": np.rint(c["trial_mrr"]),
        "trial_committed_monthly_recurring_revenue": np.rint(c["trial_committed_mrr"]),
        "annual_recurring_revenue": mrr * 12,
        "committed_annual_recurring_revenue": committed_mrr * 12,
        "average_revenue_per_user": arpu,
        "churn_rate": churn_rate,
        "checkouts_conversion": _ratio(c["succeeded_checkouts"], c["checkouts"]),
        "seats_pending": c["seats_total"] - c["seats_claimed"],
        "average_seats_per_customer": _ratio(c["seats_total"], c["seat_customers"]),
        "seat_utilization_rate": _ratio(c["seats_claimed"], c["seats_total"]),
    }


def _lifetime_value(series: dict[str, np.ndarray]) -> np.ndarray:
    churn_rate = series["churn_rate"]
    margin = series["average_revenue_per_user"] - series["cost_per_user"]
    value = np.trunc(_ratio(margin, churn_rate))
    return np.where(churn_rate > 0, np.maximum(0, value), 0)


def metric_series(components: dict[str, np.ndarray]) -> dict[str, list[int | float]]:
    """Every metric slug as a list of per-period values (ints, or floats for ratios)."""
    series = {**components, **_revenue_metrics(components), **_subscription_metrics(components)}
    series["ltv"] = _lifetime_value(series)
    result: dict[str, list[int | float]] = {}
    for metric in metric_definitions():
        values = np.asarray(series[metric.slug])
        if metric.fractional:
            result[metric.slug] = values.astype(np.float64).tolist()
        else:
            result[metric.slug] = np.rint(values).astype(np.int64).tolist()
    return result
