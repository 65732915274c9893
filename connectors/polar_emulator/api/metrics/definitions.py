"""Polar's 55 metrics as Polar's server keeps them: slug, display name, type, source and total.

Written from polarsource/polar at commit c6c3645e639e (2026-08-22):
`server/polar/metrics/metrics.py` gives each metric's slug, display name, `MetricType` and the
`get_cumulative` rule behind `totals`; `server/polar/metrics/schemas.py` builds the response
models from `METRICS`, so the response lists the metrics in that order: the Postgres ones, then
the Tinybird ones, then the ones computed from a period's other values.

The emulator stands for Polar and shares nothing with the client library, which keeps its own
metric catalogue; a test (tests/connectors/polar_emulator) checks that the two agree.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

SCALAR = "scalar"
CURRENCY = "currency"  # integer cents of the settlement currency
CURRENCY_SUB_CENT = "currency_sub_cent"  # float cents (costs)
PERCENTAGE = "percentage"  # a fraction in [0, 1]

POSTGRES = "postgres"  # server/polar/metrics/queries.py
TINYBIRD = "tinybird"  # server/tinybird/endpoints/*.pipe
POST_COMPUTE = "post_compute"  # computed from the other values of the same period

Period = Mapping[str, int | float | None]


@dataclass(frozen=True)
class Aggregate:
    """One slug's values folded over the periods: their sum, or the last period's value."""

    how: str  # "sum" | "last"
    slug: str | None = None  # None: the metric's own slug

    def over(self, periods: Sequence[Period], own_slug: str) -> int | float:
        """The folded value; a missing or null value counts as 0, as in Polar."""
        slug = self.slug or own_slug
        if self.how == "sum":
            return sum(period.get(slug) or 0 for period in periods)
        if self.how == "last":
            return (periods[-1].get(slug) or 0) if periods else 0
        raise ValueError(f"unknown aggregation {self.how!r}")


@dataclass(frozen=True)
class TotalRule:
    """How Polar's `totals` fold one metric over the returned periods."""

    numerator: Aggregate
    denominator: Aggregate | None = None  # a ratio: numerator / denominator, 0.0 unless > 0
    cast: type[int] | type[float] | None = None  # Polar wraps the value in int(...) / float(...)

    def apply(self, periods: Sequence[Period], own_slug: str) -> int | float:
        """The total of the metric `own_slug` over these periods."""
        value = self.numerator.over(periods, own_slug)
        if self.denominator is not None:
            denominator = self.denominator.over(periods, own_slug)
            return value / denominator if denominator > 0 else 0.0
        return self.cast(value) if self.cast is not None else value


SUM = TotalRule(Aggregate("sum"))
LAST = TotalRule(Aggregate("last"))
LAST_AS_INT = TotalRule(Aggregate("last"), cast=int)
LAST_AS_FLOAT = TotalRule(Aggregate("last"), cast=float)


def _ratio(numerator: Aggregate, denominator: Aggregate) -> TotalRule:
    return TotalRule(numerator, denominator)


# Per period, Polar divides for these scalar metrics too, so their values are floats.
_FRACTIONAL_SCALARS = frozenset({"average_seats_per_customer"})


@dataclass(frozen=True)
class PolarMetric:
    """One metric of `GET /v1/metrics/`."""

    slug: str
    display_name: str
    type: str  # scalar | currency | currency_sub_cent | percentage
    source: str  # postgres | tinybird | post_compute
    total_rule: TotalRule

    @property
    def fractional(self) -> bool:
        """Whether per-period values are floats (ratios, sub-cent costs) rather than integers."""
        return self.type in (PERCENTAGE, CURRENCY_SUB_CENT) or self.slug in _FRACTIONAL_SCALARS

    def total(self, periods: Sequence[Period]) -> int | float:
        """The value Polar reports in `totals` for these periods (only the slugs they hold)."""
        return self.total_rule.apply(periods, self.slug)

    def description(self) -> dict[str, str]:
        """The metric's entry in the response's `metrics` object."""
        return {"slug": self.slug, "display_name": self.display_name, "type": self.type}


_CANCELLATION_REASONS = (
    ("customer_service", "Customer Service"),
    ("low_quality", "Low Quality"),
    ("missing_features", "Missing Features"),
    ("switched_service", "Switched Service"),
    ("too_complex", "Too Complex"),
    ("too_expensive", "Too Expensive"),
    ("unused", "Unused"),
    ("other", "Other"),
)

_POSTGRES_METRICS = (
    ("active_subscriptions", "Active Subscriptions", SCALAR, LAST),
    ("committed_subscriptions", "Committed Subscriptions", SCALAR, LAST),
    ("monthly_recurring_revenue", "Monthly Recurring Revenue", CURRENCY, LAST),
    ("trial_monthly_recurring_revenue", "Trialing MRR Including Cancelations", CURRENCY, LAST),
    (
        "committed_monthly_recurring_revenue",
        "Committed Monthly Recurring Revenue",
        CURRENCY,
        LAST,
    ),
    (
        "trial_committed_monthly_recurring_revenue",
        "Trialing Monthly Recurring Revenue",
        CURRENCY,
        LAST,
    ),
    ("average_revenue_per_user", "Average Revenue Per User", CURRENCY, LAST),
    ("checkouts", "Checkouts", SCALAR, SUM),
    ("succeeded_checkouts", "Succeeded Checkouts", SCALAR, SUM),
    ("churned_subscriptions", "Churned Subscriptions", SCALAR, SUM),
    ("churn_rate", "Churn Rate", PERCENTAGE, LAST),
    ("seats_total", "Seat Count", SCALAR, LAST),
    ("seats_claimed", "Claimed Seats", SCALAR, LAST),
    ("seats_pending", "Pending Seats", SCALAR, LAST),
    ("seat_customers", "Active Customers", SCALAR, LAST),
    ("new_seat_customers", "New Customers", SCALAR, SUM),
    ("churned_seat_customers", "Churned Customers", SCALAR, SUM),
)

_TINYBIRD_METRICS = (
    ("orders", "Orders", SCALAR, SUM),
    ("revenue", "Revenue", CURRENCY, SUM),
    ("net_revenue", "Net Revenue", CURRENCY, SUM),
    ("cumulative_revenue", "Cumulative Revenue", CURRENCY, LAST),
    ("net_cumulative_revenue", "Net Cumulative Revenue", CURRENCY, LAST),
    ("costs", "Costs", CURRENCY_SUB_CENT, SUM),
    ("cumulative_costs", "Cumulative Costs", CURRENCY_SUB_CENT, LAST),
    (
        "average_order_value",
        "Average Order Value",
        CURRENCY,
        _ratio(Aggregate("sum", "revenue"), Aggregate("sum", "orders")),
    ),
    (
        "net_average_order_value",
        "Net Average Order Value",
        CURRENCY,
        _ratio(Aggregate("sum", "net_revenue"), Aggregate("sum", "orders")),
    ),
    (
        "cost_per_user",
        "Cost Per User",
        CURRENCY_SUB_CENT,
        # Polar divides by the LAST active_subscriptions, not by users active by event.
        _ratio(Aggregate("sum", "costs"), Aggregate("last", "active_subscriptions")),
    ),
    (
        "active_user_by_event",
        "Active User (By event)",
        SCALAR,
        # Polar's total reads active_subscriptions, not this metric's own values.
        TotalRule(Aggregate("last", "active_subscriptions"), cast=int),
    ),
    ("one_time_products", "One-Time Products", SCALAR, SUM),
    ("one_time_products_revenue", "One-Time Products Revenue", CURRENCY, SUM),
    ("one_time_products_net_revenue", "One-Time Products Net Revenue", CURRENCY, SUM),
    ("new_subscriptions", "New Subscriptions", SCALAR, SUM),
    ("new_subscriptions_revenue", "New Subscriptions Revenue", CURRENCY, SUM),
    ("new_subscriptions_net_revenue", "New Subscriptions Net Revenue", CURRENCY, SUM),
    ("renewed_subscriptions", "Renewed Subscriptions", SCALAR, SUM),
    ("renewed_subscriptions_revenue", "Renewed Subscriptions Revenue", CURRENCY, SUM),
    ("renewed_subscriptions_net_revenue", "Renewed Subscriptions Net Revenue", CURRENCY, SUM),
    ("canceled_subscriptions", "Canceled Subscriptions", SCALAR, SUM),
    *(
        (f"canceled_subscriptions_{reason}", f"Canceled Subscriptions - {label}", SCALAR, SUM)
        for reason, label in _CANCELLATION_REASONS
    ),
)

_POST_COMPUTE_METRICS = (
    ("annual_recurring_revenue", "Annual Recurring Revenue", CURRENCY, LAST),
    ("committed_annual_recurring_revenue", "Committed Annual Recurring Revenue", CURRENCY, LAST),
    (
        "checkouts_conversion",
        "Checkouts Conversion Rate",
        PERCENTAGE,
        _ratio(Aggregate("sum", "succeeded_checkouts"), Aggregate("sum", "checkouts")),
    ),
    ("ltv", "Lifetime Value", CURRENCY, LAST_AS_INT),
    ("gross_margin", "Gross Margin", CURRENCY, LAST),
    ("gross_margin_percentage", "Gross Margin %", PERCENTAGE, LAST),
    ("cashflow", "Cashflow", CURRENCY, SUM),
    ("average_seats_per_customer", "Average Seats per Customer", SCALAR, LAST_AS_FLOAT),
    ("seat_utilization_rate", "Seat Utilization Rate", PERCENTAGE, LAST_AS_FLOAT),
)


@cache
def metric_definitions() -> tuple[PolarMetric, ...]:
    """Every metric, in the order of Polar's response."""
    return tuple(
        PolarMetric(slug, display_name, metric_type, source, total_rule)
        for source, rows in (
            (POSTGRES, _POSTGRES_METRICS),
            (TINYBIRD, _TINYBIRD_METRICS),
            (POST_COMPUTE, _POST_COMPUTE_METRICS),
        )
        for slug, display_name, metric_type, total_rule in rows
    )


METRIC_SLUGS: tuple[str, ...] = tuple(metric.slug for metric in metric_definitions())
