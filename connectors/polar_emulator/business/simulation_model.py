"""The simulated business of one organization: products, profile and entity arrays.

Times are float epoch seconds (UTC); `inf` means "never". Money is integer cents; amounts kept
as floats are monthly-normalized USD cents before Polar's rounding.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

HISTORY_START = datetime(2023, 1, 1, tzinfo=UTC)  # Polar's metrics MIN_DATE
DAY = 86_400.0
MONTH = 30.436875 * DAY  # average Gregorian month: renewals of monthly plans
YEAR = 365.2425 * DAY
NEVER = float("inf")

# customer_cancellation_reason values (Polar's CustomerCancellationReason), then "no reason".
CANCELLATION_REASONS = (
    "customer_service",
    "low_quality",
    "missing_features",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
    "other",
    "",
)
BILLING_REASONS = (
    "purchase",
    "subscription_create",
    "subscription_cycle",
    "subscription_cycle_after_trial",
)


@dataclass(frozen=True)
class Product:
    """One product of the simulated catalogue (prices in the organization's currency)."""

    id: str
    name: str
    billing_type: str  # recurring | one_time
    interval_seconds: float  # MONTH, YEAR, or 0 for one-time products
    price_amount: int  # cents per unit (per seat for seat-based products)
    trial_days: int
    seat_based: bool = False
    add_on: bool = False
    created_at: float = 0.0
    archived_at: float = float("inf")  # archived products keep their subscribers
    description: str | None = None
    price_id: str = ""

    @property
    def interval(self) -> str | None:
        """Polar's recurring_interval: month, year, or None for one-time products."""
        if self.billing_type != "recurring":
            return None
        return "year" if self.interval_seconds >= YEAR else "month"


@dataclass(frozen=True)
class BusinessProfile:
    """The knobs that make one organization's business distinct (all drawn from its seed)."""

    seed: int
    start: float  # history begins (the organization's creation)
    currency: str  # presentment currency of every amount (converted by business.currency)
    daily_new_subscriptions: float
    yearly_growth: float
    monthly_churn: float
    trial_share: float
    daily_one_time_orders: float
    checkout_conversion: float
    daily_cost_events: float
    drop_from: float | None = None  # from then on every payment fails (the `drop` scenario)


@dataclass
class Subscriptions:
    """Every subscription ever created, one row per index."""

    created: np.ndarray  # started_at (trial start for trials)
    paid_from: np.ndarray  # trial end, or created when there is no trial
    canceled: np.ndarray  # final canceled_at, inf if never
    end: np.ndarray  # final ended_at / ends_at, inf if never
    reason: np.ndarray  # index into CANCELLATION_REASONS
    amount: np.ndarray  # presentment cents per period (net of discount), before any upgrade
    monthly_usd: np.ndarray  # USD cents per month of `amount` (MRR contribution)
    interval: np.ndarray  # seconds per billing period
    product: np.ndarray
    customer: np.ndarray
    add_on: np.ndarray  # bool: a second subscription of a customer who has a base one
    seats: np.ndarray  # 0 unless seat-based
    discounted: np.ndarray  # bool: bought with the organization's launch discount
    # Reactivations: a cancellation at period end, undone before the end (inf = none).
    first_canceled: np.ndarray
    first_end: np.ndarray
    uncanceled: np.ndarray
    # Upgrades: from `upgraded` on (a renewal), product, amount and MRR change (inf = none).
    upgraded: np.ndarray
    upgraded_product: np.ndarray
    upgraded_amount: np.ndarray
    upgraded_monthly_usd: np.ndarray


@dataclass
class Orders:
    """Paid orders sorted by time (subscription payments and one-time purchases)."""

    time: np.ndarray
    subscription: np.ndarray  # index into Subscriptions, -1 for one-time purchases
    product: np.ndarray
    customer: np.ndarray
    amount: np.ndarray  # net_amount: presentment cents after discount, before tax
    amount_usd: np.ndarray  # net_amount converted to USD cents (revenue)
    fee_usd: np.ndarray  # Polar's fee, USD cents
    refund_amount: np.ndarray  # refunded presentment cents, 0 when never refunded
    refund_usd: np.ndarray  # refund_amount converted to USD cents
    refunded_at: np.ndarray  # inf when never refunded
    billing_reason: np.ndarray  # index into BILLING_REASONS
    key: np.ndarray  # stable identity: subscription * 4096 + cycle, or 2**42 + purchase number
    cycle: np.ndarray  # billing period number of subscription payments, 0 for purchases


@dataclass
class Checkouts:
    """Checkout sessions by the time they were opened."""

    opened: np.ndarray
    succeeded: np.ndarray  # bool
    product: np.ndarray
    customer: np.ndarray  # -1 for anonymous abandoned checkouts


@dataclass
class Seats:
    """Customer seats of seat-based subscriptions; revoked when the subscription ends."""

    subscription: np.ndarray
    claimed: np.ndarray  # inf when never claimed


@dataclass
class CostEvents:
    """Ingested usage events carrying a `_cost` (float cents)."""

    time: np.ndarray
    customer: np.ndarray
    cost: np.ndarray


@dataclass
class OrganizationHistory:
    """The whole simulated history of one organization up to `horizon`."""

    products: tuple[Product, ...]
    subscriptions: Subscriptions
    orders: Orders
    checkouts: Checkouts
    seats: Seats
    cost_events: CostEvents
    customer_count: int
    customer_seed: int
    horizon: float
    customer_created: np.ndarray = field(repr=False)  # first activity of each customer
    currency: str = "usd"
    customer_index_by_id: dict[str, int] | None = field(default=None, repr=False)  # lazy
    lookups: dict[str, object] = field(default_factory=dict, repr=False)  # lazy, per history
