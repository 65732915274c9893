"""Per-organization metric components for one query: additive arrays, one value per bucket.

Components add up across organizations (customers and subscriptions belong to one
organization), so a multi-organization call sums them before the ratios are derived, as
Polar computes one series over the union of the organizations.
"""

from dataclasses import dataclass

import numpy as np

from connectors.polar_emulator.api.metrics.arrays import (
    bucket_index,
    count_before,
    flow,
    open_at,
)
from connectors.polar_emulator.api.metrics.window import BucketWindow
from connectors.polar_emulator.business.simulation_model import (
    CANCELLATION_REASONS,
    DAY,
    OrganizationHistory,
)
from connectors.polar_emulator.business.timeline import subscriptions_at

CHURN_LOOKBACK = 30 * DAY
REASON_COMPONENTS = tuple(
    f"canceled_subscriptions_{reason}"
    for reason in CANCELLATION_REASONS
    if reason not in ("", "other")
)


@dataclass(frozen=True)
class RowFilter:
    """Which products and customers of one organization a query keeps (None = all)."""

    products: np.ndarray | None  # bool per product index
    customers: np.ndarray | None  # customer indexes

    def keep(self, product: np.ndarray, customer: np.ndarray) -> np.ndarray:
        """Mask of rows passing the product and customer filters."""
        mask = np.ones(product.size, dtype=bool)
        if self.products is not None:
            mask &= self.products[product]
        if self.customers is not None:
            mask &= np.isin(customer, self.customers)
        return mask


def _visible_subscriptions(
    history: OrganizationHistory, window: BucketWindow, rows: RowFilter
) -> dict[str, np.ndarray]:
    subs = history.subscriptions
    now = subscriptions_at(subs, window.now)  # Polar reads each subscription's current row
    keep = (subs.created <= window.now) & rows.keep(now.product, subs.customer)
    return {
        "created": subs.created[keep],
        "paid_from": subs.paid_from[keep],
        "canceled": now.canceled[keep],
        "end": now.end[keep],
        "reason": subs.reason[keep],
        "monthly_usd": now.monthly_usd[keep],
        "add_on": subs.add_on[keep],
        "seats": subs.seats[keep],
        "index": np.flatnonzero(keep),
    }


def _subscription_states(
    subs: dict[str, np.ndarray], window: BucketWindow
) -> dict[str, np.ndarray]:
    at = window.ends  # "active in the bucket" = started before its end and not ended before it
    created, paid_from, end, usd = (
        subs["created"],
        subs["paid_from"],
        subs["end"],
        subs["monthly_usd"],
    )
    committed = np.isinf(end)
    in_trial_until = np.minimum(paid_from, end)
    return {
        "active_subscriptions": open_at(created, end, at),
        "committed_subscriptions": count_before(created[committed], at),
        "mrr": open_at(paid_from, end, at, usd),
        "committed_mrr": open_at(paid_from[committed], end[committed], at, usd[committed]),
        "trial_mrr": open_at(created, in_trial_until, at, usd),
        "trial_committed_mrr": open_at(
            created[committed], in_trial_until[committed], at, usd[committed]
        ),
        "active_customers": open_at(created[~subs["add_on"]], end[~subs["add_on"]], at),
        **_churn(subs, window),
    }


def _churn(subs: dict[str, np.ndarray], window: BucketWindow) -> dict[str, np.ndarray]:
    if window.interval == "year":
        since, until = window.starts, window.ends
    else:
        since, until = window.starts - CHURN_LOOKBACK, window.starts
    canceled = count_before(subs["canceled"], until) - count_before(subs["canceled"], since)
    return {"churn_canceled": canceled, "churn_base": open_at(subs["created"], subs["end"], since)}


def _subscription_flows(subs: dict[str, np.ndarray], window: BucketWindow) -> dict[str, np.ndarray]:
    edges, size = window.flow_edges, window.size
    series = window.series_edges
    created_bucket = bucket_index(subs["created"], series)
    ends_same_bucket = bucket_index(subs["end"], series) == created_bucket
    new = np.bincount(created_bucket[(created_bucket >= 0) & ~ends_same_bucket], minlength=size)
    canceled_bucket = bucket_index(subs["canceled"], edges)
    flows = {
        "new_subscriptions": new,
        "churned_subscriptions": flow(subs["end"], edges, np.inf),  # scheduled ends count too
        "canceled_subscriptions": np.bincount(
            canceled_bucket[canceled_bucket >= 0], minlength=size
        ),
        "canceled_subscriptions_other": np.zeros(size, dtype=np.int64),
    }
    for code, reason in enumerate(CANCELLATION_REASONS):
        chosen = canceled_bucket[(canceled_bucket >= 0) & (subs["reason"] == code)]
        slug = (
            "canceled_subscriptions_other"
            if reason in ("", "other")
            else f"canceled_subscriptions_{reason}"
        )
        flows[slug] = flows.get(slug, 0) + np.bincount(chosen, minlength=size)
    return flows


def _seat_components(
    history: OrganizationHistory, subs: dict[str, np.ndarray], window: BucketWindow
) -> dict[str, np.ndarray]:
    seat_subs = subs["seats"] > 0
    position = np.full(history.subscriptions.created.size, -1)
    position[subs["index"]] = np.arange(subs["index"].size)
    owner = position[history.seats.subscription]
    seated = owner >= 0
    owner = owner[seated]
    claimed = history.seats.claimed[seated]
    claimed = np.where(claimed <= window.now, claimed, np.inf)
    revoked, created = subs["end"][owner], subs["created"][owner]
    return {
        "seats_total": open_at(created, revoked, window.ends),
        "seats_claimed": open_at(claimed, revoked, window.ends),
        "seat_customers": open_at(subs["created"][seat_subs], subs["end"][seat_subs], window.ends),
        "new_seat_customers": flow(subs["created"][seat_subs], window.flow_edges, window.now),
        "churned_seat_customers": flow(subs["end"][seat_subs], window.flow_edges, window.now),
    }


def subscription_components(
    history: OrganizationHistory, window: BucketWindow, rows: RowFilter
) -> dict[str, np.ndarray]:
    """Subscription, churn, cancellation and seat components of one organization."""
    subs = _visible_subscriptions(history, window, rows)
    return {
        **_subscription_states(subs, window),
        **_subscription_flows(subs, window),
        **_seat_components(history, subs, window),
    }
